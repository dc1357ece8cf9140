"""A non-modal message banner: shown inside the window, so nothing blocks the event loop."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

_STYLES = {
    "error": ("#FDECEA", "#E0A39C", "#7A1F17"),
    "info": ("#EAF2FB", "#A9C4E2", "#1F3A5F"),
}


class MessageBanner(QFrame):
    """A coloured strip with a message and a close button; hidden until ``show_message``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBanner")
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.close_button = QToolButton(self)
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Dismiss")
        self.close_button.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.kind = "error"
        self.hide()

    def show_message(self, text: str, kind: str = "error", details: str | None = None) -> None:
        """Show ``text`` (plain); ``details`` become the tooltip (e.g. the full path)."""
        background, border, foreground = _STYLES.get(kind, _STYLES["error"])
        self.kind = kind
        self.setStyleSheet(
            f"QFrame#messageBanner {{ background: {background}; border: 1px solid {border};"
            f" border-radius: 4px; }} QLabel {{ color: {foreground}; }}"
        )
        self.label.setText(text)
        self.setToolTip(details or "")
        self.show()

    def text(self) -> str:
        """The message shown (empty when hidden)."""
        return self.label.text() if not self.isHidden() else ""
