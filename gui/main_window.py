"""FrameDuel's main window: configs and frameworks on the left, live plots in the centre,
the runs table and the selected run's log at the bottom.

The window never touches the engine: it asks its SessionController to start or stop and derives
everything it shows from the controller's batched signals.
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QFontDatabase,
    QKeySequence,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QPlainTextEdit,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from gui.adapter import Batch, SessionController
from gui.banner import MessageBanner
from gui.plots import LiveDashboard
from gui.runs_table import RunsTable
from gui.side_panel import LoadedConfig, SidePanel, describe_config, describe_error
from profiler.colors import label_of
from profiler.config import CONFIG_SUFFIXES, Config, ConfigError, load_config
from profiler.session import RunInfo, RunOutcome

MAX_LOG_LINES = 20_000
STYLE_SHEET = """
QWidget#sidePanel { background: #F3F5F7; }
QWidget#sidePanel QGroupBox { font-weight: 600; border: 1px solid #D5DAE0; border-radius: 5px;
    margin-top: 14px; padding: 8px 6px 6px 6px; background: #FFFFFF; }
QWidget#sidePanel QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 3px;
    color: #3A3F44; }
QWidget#sidePanel QGroupBox QWidget { font-weight: normal; }
QLabel#configSummary { color: #5A6168; }
QPushButton#runButton { background: #1F3A5F; color: white; border: none; border-radius: 4px;
    font-weight: 600; padding: 6px 14px; }
QPushButton#runButton:hover { background: #2A4D7C; }
QPushButton#runButton:disabled { background: #B8C2CE; color: #EEF1F4; }
QPushButton#stopButton { border: 1px solid #C62828; color: #C62828; border-radius: 4px;
    background: white; padding: 6px 14px; }
QPushButton#stopButton:disabled { border-color: #D5DAE0; color: #A0A7AE; }
QLabel#paneTitle { font-weight: 600; color: #3A3F44; padding: 2px 0; }
QTableView { selection-background-color: #DCE6F2; selection-color: #1F2933;
    alternate-background-color: #F7F9FB; gridline-color: #E3E7EB; }
"""


class MainWindow(QMainWindow):
    """The FrameDuel window; ``store_path`` None means the default store."""

    def __init__(
        self, store_path: str | None = None, controller: SessionController | None = None
    ) -> None:
        super().__init__()
        self.setWindowTitle("FrameDuel")
        self.resize(1400, 900)
        self.setAcceptDrops(True)
        self.setStyleSheet(STYLE_SHEET)
        self.store_path = store_path
        self.controller = controller or SessionController(self)
        self._configs: dict[str, LoadedConfig] = {}
        self._logs: dict[int, deque[str]] = {}
        self._log_run_id: int | None = None
        self._runs: dict[int, RunInfo] = {}
        self._started_at = 0.0
        self._session_name = ""
        self._close_when_finished = False
        self._build()
        self._connect()
        self._refresh_controls()

    # -- construction ---------------------------------------------------------------------

    def _build(self) -> None:
        self.side = SidePanel(self)
        self.side.setFixedWidth(270)
        self.config_list = self.side.config_list
        self.framework_boxes = self.side.framework_boxes
        self.run_button = self.side.run_button
        self.stop_button = self.side.stop_button

        self.banner = MessageBanner(self)
        self.dashboard = LiveDashboard(self)
        self.runs_table = RunsTable(self)
        self.log_title = QLabel("Log", self)
        self.log_title.setObjectName("paneTitle")
        self.log_view = QPlainTextEdit(self)
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(MAX_LOG_LINES)
        self.log_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.log_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.log_view.setPlaceholderText("Output of the selected run appears here.")

        runs_title = QLabel("Runs", self)
        runs_title.setObjectName("paneTitle")
        bottom = QSplitter(Qt.Orientation.Horizontal, self)
        bottom.addWidget(_stack(runs_title, self.runs_table))
        bottom.addWidget(_stack(self.log_title, self.log_view))
        bottom.setSizes([700, 430])

        center = QSplitter(Qt.Orientation.Vertical, self)
        center.addWidget(self.dashboard)
        center.addWidget(bottom)
        center.setStretchFactor(0, 3)
        center.setStretchFactor(1, 1)
        center.setSizes([610, 230])

        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(8, 8, 8, 4)
        right_layout.setSpacing(6)
        right_layout.addWidget(self.banner)
        right_layout.addWidget(center, 1)

        main = QSplitter(Qt.Orientation.Horizontal, self)
        main.addWidget(self.side)
        main.addWidget(right)
        main.setStretchFactor(1, 1)
        main.setChildrenCollapsible(False)
        self.setCentralWidget(main)

        self.status_label = QLabel("Ready. Drop a config file on the window or use Open…", self)
        self.statusBar().addWidget(self.status_label, 1)
        store = QLabel(f"Store: {self.store_path or 'default'}", self)
        store.setStyleSheet("color: #7A8088;")
        self.statusBar().addPermanentWidget(store)

        self.open_action = QAction("&Open…", self)
        self.open_action.setShortcut(QKeySequence.StandardKey.Open)
        self.open_action.triggered.connect(self.open_dialog)
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        menu = self.menuBar().addMenu("&File")
        menu.addAction(self.open_action)
        menu.addSeparator()
        menu.addAction(quit_action)

    def _connect(self) -> None:
        self.side.openRequested.connect(self.open_dialog)
        self.side.frameworksChanged.connect(self._refresh_controls)
        self.config_list.currentItemChanged.connect(self._on_config_selected)
        self.run_button.clicked.connect(self.start_run)
        self.stop_button.clicked.connect(self.stop_run)
        self.runs_table.selectionModel().selectionChanged.connect(self._on_run_selected)
        c = self.controller
        c.runsPlanned.connect(self._on_planned)
        c.runStarted.connect(self._on_started)
        c.batch.connect(self._on_batch)
        c.runFinished.connect(self._on_finished)
        c.sessionFinished.connect(self._on_session_finished)
        c.failed.connect(self._on_failed)

    # -- configs --------------------------------------------------------------------------

    def load_config_file(self, path: str | Path) -> LoadedConfig:
        """Load and validate a config file, list it and select it (errors go to the banner)."""
        full = str(Path(path).expanduser().resolve())
        try:
            loaded = LoadedConfig(full, load_config(full), None)
        except ConfigError as exc:
            loaded = LoadedConfig(full, None, exc)
        self._configs[full] = loaded
        self.side.add_config(loaded)
        self._on_config_selected()
        return loaded

    def open_dialog(self) -> None:
        """Ask for config files (a modal dialog, only on the user's request)."""
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Open config", "", "FrameDuel configs (*.yaml *.yml *.toml *.json)"
        )
        for path in paths:
            self.load_config_file(path)

    def select_config(self, path: str) -> None:
        """Select a loaded config in the list."""
        loaded = self._configs.get(path)
        if loaded is not None:
            self.side.add_config(loaded)
            self._on_config_selected()

    def current_config(self) -> LoadedConfig | None:
        """The config selected in the list."""
        path = self.side.current_path()
        return None if path is None else self._configs.get(path)

    def _on_config_selected(self, *_: object) -> None:
        loaded = self.current_config()
        if loaded is None:
            return
        if loaded.error is not None:
            self.banner.show_message(describe_error(loaded.error), "error", str(loaded.error))
            self.side.summary.setText("This config has an error; fix the file and drop it again.")
        else:
            assert loaded.config is not None
            if self.banner.kind == "error":
                self.banner.hide()
            self.side.summary.setText(describe_config(loaded.config))
            if not self.controller.is_running():
                self.side.set_frameworks(list(loaded.config.frameworks))
        self._refresh_controls()

    def _refresh_controls(self) -> None:
        loaded = self.current_config()
        can_run = (
            loaded is not None and loaded.config is not None and bool(self.checked_frameworks())
        )
        self.side.set_running(self.controller.is_running(), can_run)

    def checked_frameworks(self) -> list[str]:
        """The frameworks ticked in the side panel."""
        return self.side.checked_frameworks()

    # -- drag and drop --------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _config_paths(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if _config_paths(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = _config_paths(event)
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        for path in paths:
            self.load_config_file(path)

    # -- running --------------------------------------------------------------------------

    def start_run(self) -> bool:
        """Run the selected config with the ticked frameworks; False when that cannot be done."""
        loaded = self.current_config()
        frameworks = self.checked_frameworks()
        if loaded is None or loaded.config is None or not frameworks:
            return False
        if self.controller.is_running():
            return False
        try:
            config = loaded.config.with_overrides(frameworks=frameworks)
        except ValueError as exc:
            self.banner.show_message(f"Cannot run {loaded.name}: {exc}")
            return False
        return self.run_config(config, loaded.path)

    def run_config(self, config: Config, config_path: str | None) -> bool:
        """Start a session for an already validated config (used by scripts too)."""
        if self.controller.is_running():
            return False
        self.banner.hide()
        self.dashboard.clear()
        self.runs_table.runs.set_runs([])
        self.log_view.clear()
        self._logs.clear()
        self._runs.clear()
        self._log_run_id = None
        self._session_name = config.name
        self.side.summary.setText(describe_config(config))  # what runs, overrides included
        self._started_at = time.monotonic()
        self.controller.start(config, config_path, self.store_path)
        self._set_status(f"Starting {config.name}…")
        self._refresh_controls()
        return True

    def stop_run(self) -> None:
        """Stop the running session (returns at once; the session ends shortly after)."""
        if self.controller.is_running():
            self.controller.stop()
            self.stop_button.setEnabled(False)
            self._set_status(f"Stopping {self._session_name}…")

    # -- controller signals ---------------------------------------------------------------

    def _on_planned(self, runs: list[RunInfo]) -> None:
        self._runs = {r.run_id: r for r in runs}
        self.dashboard.add_runs(runs)
        self.runs_table.runs.set_runs(runs)

    def _on_started(self, run: RunInfo) -> None:
        self.runs_table.runs.run_started(run)
        # Follow the running run in the log pane.
        self.runs_table.select_run(run.run_id)
        total = len(self._runs)
        self._set_status(
            f"Running {self._session_name}: {label_of(run.framework)} "
            f"(run {run.seq + 1} of {total})"
        )

    def _on_batch(self, batch: Batch) -> None:
        self.dashboard.add_points(batch)
        self.runs_table.runs.add_batch(batch)
        for run_id, lines in batch.logs.items():
            self._logs.setdefault(run_id, deque(maxlen=MAX_LOG_LINES)).extend(lines)
            if run_id == self._log_run_id:
                self.log_view.appendPlainText("\n".join(lines))

    def _on_finished(self, outcome: RunOutcome) -> None:
        self.runs_table.runs.run_finished(outcome)

    def _on_session_finished(self, session_id: int, status: str) -> None:
        elapsed = time.monotonic() - self._started_at
        words = {"ok": "finished", "stopped": "stopped", "failed": "finished with failures"}
        text = f"{self._session_name} {words.get(status, status)} after {elapsed:.1f} s"
        if session_id >= 0:
            text += f" (session {session_id})"
        self._set_status(text)
        self._refresh_controls()
        if self._close_when_finished:
            self.close()

    def _on_failed(self, message: str) -> None:
        self.banner.show_message(f"The session could not run: {message}", "error")

    def _on_run_selected(self, *_: object) -> None:
        run_id = self.runs_table.selected_run_id()
        if run_id == self._log_run_id:
            return
        self._log_run_id = run_id
        lines = self._logs.get(run_id, ()) if run_id is not None else ()
        self.log_view.setPlainText("\n".join(lines))
        self.log_view.moveCursor(QTextCursor.MoveOperation.End)
        self.log_view.horizontalScrollBar().setValue(0)
        run = self._runs.get(run_id) if run_id is not None else None
        if run is None:
            self.log_title.setText("Log")
        else:
            self.log_title.setText(f"Log — {label_of(run.framework)}, repeat {run.repeat + 1}")

    def _set_status(self, text: str) -> None:
        self.status_label.setText(text)

    def status_text(self) -> str:
        """The status bar line."""
        return self.status_label.text()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.controller.is_running():
            # Never leave children behind: stop first, close when the session has ended.
            self._close_when_finished = True
            self.stop_run()
            event.ignore()
            return
        event.accept()


def _stack(title: QLabel, body: QWidget) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(2)
    layout.addWidget(title)
    layout.addWidget(body, 1)
    return box


def _config_paths(event: QDragEnterEvent | QDragMoveEvent | QDropEvent) -> list[str]:
    mime = event.mimeData()
    if mime is None or not mime.hasUrls():
        return []
    paths = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]
    return [p for p in paths if Path(p).suffix.lower() in CONFIG_SUFFIXES]
