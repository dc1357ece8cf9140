"""A non-modal message banner: shown inside the window, so nothing blocks the event loop.

It floats over the bottom of its parent (a toast), outside any layout: showing it never moves
the tabs or rows the user is about to click.

Errors are said in plain words; the full text (traceback, log tail) is one click away behind
Details…, in a message box opened without a nested event loop.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QToolButton,
    QWidget,
)

from gui.prompts import fit_box
from gui.theme import LIGHT, Theme

INFO_SHOWN_MS = 8000


class MessageBanner(QFrame):
    """A coloured strip with a message, Details… and a close button; hidden until
    ``show_message``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBanner")
        self.theme = LIGHT
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_button = QToolButton(self)
        self.details_button.setText("Details…")
        self.details_button.setAutoRaise(True)
        self.details_button.setToolTip("The full error, its traceback and the run's last output")
        self.details_button.clicked.connect(self.show_details)
        self.close_button = QToolButton(self)
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Dismiss")
        self.close_button.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.details_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.kind = "error"
        self.details = ""
        self.details_box: QMessageBox | None = None
        self._expire = QTimer(self)
        self._expire.setSingleShot(True)
        self._expire.timeout.connect(self.hide)
        self.hide()
        if parent is not None:
            parent.installEventFilter(self)

    MARGIN = 12

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.parentWidget() and event.type() == QEvent.Type.Resize:
            self.place()
        return False

    def place(self) -> None:
        """Float over the bottom of the parent, as wide as it less a margin."""
        parent = self.parentWidget()
        if parent is None:
            return
        width = max(200, parent.width() - 2 * self.MARGIN)
        layout = self.layout()
        height = layout.totalHeightForWidth(width) if layout is not None else -1
        if height <= 0:
            height = self.sizeHint().height()
        self.setGeometry(self.MARGIN, parent.height() - height - self.MARGIN, width, height)
        self.raise_()

    def show_message(self, text: str, kind: str = "error", details: str | None = None) -> None:
        """Show ``text`` (plain); ``details`` (the whole story) behind the Details… button."""
        self.kind = kind
        self.details = details or ""
        self._restyle()
        self.label.setText(text)
        self.setToolTip("")
        self.details_button.setVisible(bool(self.details) and self.details != text)
        self.show()
        self.place()
        # A toast covers what is under it: news goes by itself, errors stay until dismissed.
        if kind == "error":
            self._expire.stop()
        else:
            self._expire.start(INFO_SHOWN_MS)

    def set_theme(self, theme: Theme) -> None:
        """Recolour for the theme."""
        self.theme = theme
        self._restyle()

    def _restyle(self) -> None:
        colors = self.theme.banner_error if self.kind == "error" else self.theme.banner_info
        background, border, foreground = colors
        self.setStyleSheet(
            f"QFrame#messageBanner {{ background: {background}; border: 1px solid {border};"
            f" border-radius: 4px; }} QLabel, QToolButton {{ color: {foreground}; }}"
        )

    def show_details(self) -> None:
        """Open the details in a message box (non-modal: ``open()``, not ``exec()``)."""
        box = QMessageBox(self.window())
        box.setIcon(
            QMessageBox.Icon.Critical if self.kind == "error" else QMessageBox.Icon.Information
        )
        box.setWindowTitle("Error" if self.kind == "error" else "Message")
        box.setText(self.label.text())
        box.setDetailedText(self.details)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.details_box = box
        fit_box(box)
        box.open()

    def text(self) -> str:
        """The message shown (empty when hidden)."""
        return self.label.text() if not self.isHidden() else ""
