"""Telling the user that a long session ended while they looked elsewhere.

A desktop notification (``QSystemTrayIcon.showMessage``) where the desktop has a tray; the
window's taskbar entry asks for attention (``QApplication.alert``) everywhere; without a tray
(offscreen, many Wayland desktops) the status bar line is the notification.
"""

from __future__ import annotations

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QSystemTrayIcon, QWidget

LONG_SESSION_S = 60.0  # shorter sessions end while the user still watches


class SessionNotifier:
    """Notifies of the end of sessions longer than ``long_s`` seconds; ``sent`` records each
    notification as (channel, title, text), channel ``tray`` or ``status``."""

    def __init__(self, window: QWidget, long_s: float = LONG_SESSION_S) -> None:
        self.window = window
        self.long_s = long_s
        self.sent: list[tuple[str, str, str]] = []
        self._tray: QSystemTrayIcon | None = None

    def session_ended(self, elapsed_s: float, title: str, text: str) -> str | None:
        """Notify when the session lasted ``long_s`` or more; returns the channel used."""
        if elapsed_s < self.long_s:
            return None
        QApplication.alert(self.window)
        channel = "status"
        if QSystemTrayIcon.isSystemTrayAvailable() and QSystemTrayIcon.supportsMessages():
            if self._tray is None:
                icon = self.window.windowIcon()
                self._tray = QSystemTrayIcon(icon if not icon.isNull() else QIcon(), self.window)
                self._tray.setToolTip("FrameDuel")
            self._tray.show()
            self._tray.showMessage(title, text, QSystemTrayIcon.MessageIcon.Information, 8000)
            channel = "tray"
        self.sent.append((channel, title, text))
        return channel
