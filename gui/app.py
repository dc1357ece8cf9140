"""The GUI's entry point: ``frameduel gui [CONFIG...] [--run]`` calls ``main``."""

from __future__ import annotations

import signal
import sys
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from gui.collector import GuiThreadCollector
from gui.main_window import MainWindow
from gui.settings import APPLICATION, ORGANIZATION
from profiler.paths import resources_dir


def create_application() -> QApplication:
    """The process's QApplication (created once), named FrameDuel and with its icon.

    The organisation and application names decide where QSettings keeps the user's settings.
    Reference cycles are collected on this (the GUI) thread only: see ``gui.collector``.
    """
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        app = QApplication(sys.argv[:1])
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("FrameDuel")
    app.setOrganizationName(ORGANIZATION)
    app.setDesktopFileName("frameduel")
    icon = resources_dir() / "icons" / "frameduel.svg"
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    if app.findChild(GuiThreadCollector) is None:
        GuiThreadCollector(app).start()
    return app


def open_window(
    configs: list[str] | None = None, run: bool = False, store: str | None = None, **options: Any
) -> MainWindow:
    """Show a MainWindow with ``configs`` (files or folders of them) loaded; with ``run``,
    start the first valid one at once. ``options`` go to ``MainWindow``."""
    window = MainWindow(store_path=store, **options)
    loaded = window.configs.load_config_files(configs or [])
    valid = [c for c in loaded if c.config is not None]
    if valid:
        window.configs.select_config(valid[0].path)
    window.show()
    if run and valid:
        window.runs.start_run()
    return window


def main(configs: list[str] | None = None, run: bool = False, store: str | None = None) -> int:
    """Open the window with ``configs`` loaded; with ``run``, start the first valid one at once.

    ``store`` is the SQLite store's path (None: the settings' store, else $FRAMEDUEL_STORE or
    the XDG data dir). Returns the application's exit code.
    """
    app = create_application()
    window = open_window(configs, run, store)
    # Whatever ends the application, the session's children and the workers go first.
    app.aboutToQuit.connect(window.shutdown)
    # Ctrl+C in the terminal closes the window (stopping a running session first, unasked).
    # Python handles signals only between bytecodes, so a timer lets the interpreter run.
    signal.signal(signal.SIGINT, lambda *_: window.quit_when_stopped())
    wake = QTimer(window)
    wake.timeout.connect(lambda: None)
    wake.start(250)
    return app.exec()
