"""Renaming, tagging and annotating a stored session: a small dialog, kept in the store."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

from profiler.store import SessionRow


class SessionEditDialog(QDialog):
    """Name, tags (comma-separated) and a free note of one session; ``values()`` once
    accepted. OK stays disabled while the name is empty."""

    def __init__(self, row: SessionRow, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Session #{row.id}")
        self.setObjectName("sessionEditDialog")
        self.session_id = row.id
        form = QFormLayout(self)
        self.name = QLineEdit(row.name, self)
        self.tags = QLineEdit(", ".join(row.tags), self)
        self.tags.setPlaceholderText("baseline, cuda-12, after-upgrade")
        self.tags.setToolTip("Words to find the session by in History, separated by commas")
        self.note = QPlainTextEdit(row.note, self)
        self.note.setPlaceholderText("What was special about this session")
        self.note.setMinimumHeight(90)
        form.addRow("Name", self.name)
        form.addRow("Tags", self.tags)
        form.addRow("Note", self.note)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        form.addRow(self.buttons)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.name.textChanged.connect(self._check)
        self.resize(460, 260)

    def _check(self, text: str) -> None:
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setEnabled(bool(text.strip()))
        ok.setToolTip("" if text.strip() else "A session needs a name")

    def values(self) -> tuple[str, list[str], str]:
        """The name, the tags and the note as entered."""
        tags = [t.strip() for t in self.tags.text().split(",") if t.strip()]
        return self.name.text().strip(), tags, self.note.toPlainText().strip()
