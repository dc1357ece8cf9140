"""FrameDuel's main window: configs and frameworks on the left; the dashboard, the config editor
and the history as tabs in the centre; runs, summary and log docked below.

The window never touches the engine directly: its adapter (``SessionController``) starts and
stops sessions and reports in batched signals; store reads, report rendering, framework probes
and config validation run in workers (``TaskRunner``). The window builds the widgets and the
controllers that own their state and drive those widgets: ``ConfigController`` (the config
list, the editor's files), ``FrameworkProbe`` (what each interpreter can run),
``RunController`` (Run, Run all, Stop and the live session) and ``SessionsController`` (reopen,
re-run, compare, export). Actions, menus and the toolbar are ``WindowActions``.
"""

from __future__ import annotations

import contextlib
import json
import os

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFrame,
    QLabel,
    QMainWindow,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from gui import theme as themes
from gui.adapter import SessionController
from gui.arrange import ArrangePlotsDialog
from gui.banner import MessageBanner
from gui.breakdown_tab import BreakdownTab
from gui.config_control import ConfigController
from gui.dock_sizes import DockSizes, arrange_first_launch, initial_geometry
from gui.editor import ConfigEditor
from gui.elided_label import ElidedLabel
from gui.framework_probe import FrameworkProbe, Probe, default_probe
from gui.history import HistoryView
from gui.log_pane import LogPane
from gui.plots import LiveDashboard
from gui.prompts import Choose, Confirm, ask_choice, ask_question, unsaved_choices
from gui.ranks_tab import RanksTab
from gui.run_control import RunController
from gui.runs_table import RunsTable
from gui.session_control import SessionsController
from gui.settings import AppSettings
from gui.settings_dialog import SettingsDialog
from gui.side_panel import SidePanel
from gui.summary import SummaryFeed, SummaryTable
from gui.tasks import TaskRunner
from gui.window_actions import WindowActions
from gui.window_views import CentreTab, WindowServices, WindowViews
from profiler.paths import default_store_path

STORE_LABEL_PX = 360


class MainWindow(QMainWindow):
    """The FrameDuel window.

    ``store_path`` (the CLI's --store) wins over the settings' store; ``settings`` defaults to
    the user's QSettings; ``probe(python, cancel)`` says which frameworks an interpreter has (None:
    do not probe); ``confirm(title, text)`` answers yes/no questions (a message box by default);
    ``choose(title, text, [(key, label), ...])`` picks one of several answers (Save / Discard /
    Cancel) and returns its key. Its controllers are ``configs``, ``probe``, ``runs`` and
    ``sessions``.
    """

    themeApplied = Signal(str)  # "light" or "dark"

    def __init__(
        self,
        store_path: str | None = None,
        controller: SessionController | None = None,
        settings: AppSettings | None = None,
        probe: Probe | None = default_probe,
        confirm: Confirm | None = None,
        *,
        choose: Choose | None = None,
    ) -> None:
        super().__init__()
        self.setWindowTitle("FrameDuel")
        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self.settings = settings if settings is not None else AppSettings()
        self._store_override = store_path
        self.controller = controller or SessionController(self)
        self.runner = TaskRunner(self)
        self._confirm: Confirm = confirm or (lambda title, text: ask_question(self, title, text))
        self._choose: Choose = choose or (
            lambda title, text, keys: ask_choice(self, title, text, keys)
        )
        self._edits_discarded = False
        self.history_loaded = False
        self.theme = themes.resolve(self.settings.theme)
        self.settings_dialog: SettingsDialog | None = None
        self._build()
        views = WindowViews(
            window=self,
            side=self.side,
            editor=self.editor,
            tabs=self.tabs,
            dashboard=self.dashboard,
            history=self.history,
            runs_table=self.runs_table,
            summary=self.summary,
            log_pane=self.log_pane,
            banner=self.banner,
            status_label=self.status_label,
            certainty_label=self.certainty_label,
        )
        self.views = views
        # the one summary model's figures of the session shown, read from the store in a worker
        self.summary_feed = SummaryFeed(
            self.runner, self.store_path, lambda: self.controller.session_id, self
        )
        services = WindowServices(
            settings=self.settings,
            runner=self.runner,
            store_path=self.store_path,
            confirm=self._confirm,
            choose=self._choose,
            theme=lambda: self.theme,
            summary_feed=self.summary_feed,
        )
        self.probe = FrameworkProbe(views, services, probe, self)
        self.configs = ConfigController(views, services, self.controller, self)
        self.runs = RunController(
            views, services, self.controller, self.configs, self.probe, parent=self
        )
        self.sessions = SessionsController(views, services, self.runs, self.configs, self)
        self.commands = WindowActions(self)
        for dock in self.docks.values():
            self.commands.add_panel(dock.toggleViewAction())
        self._connect()
        self.apply_theme()
        self._restore_layout()
        self.side.set_frameworks(self.settings.default_frameworks)
        self.refresh_controls()
        QTimer.singleShot(0, self.probe.probe)
        QTimer.singleShot(0, self.configs.restore_config_list)

    # -- construction ---------------------------------------------------------------------

    def _build(self) -> None:
        self.side = SidePanel(self)
        self.config_list = self.side.config_list
        self.framework_boxes = self.side.framework_boxes
        self.run_button = self.side.run_button
        self.stop_button = self.side.stop_button

        self.dashboard = LiveDashboard(self)
        self.editor = ConfigEditor(self.runner, self)
        self.history = HistoryView(self.runner, self.store_path, self._confirm, self)
        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        self.breakdown = BreakdownTab(self.runner, self.store_path, self)
        self.ranks = RanksTab(self.runner, self.store_path, self)
        # The centre's tabs, in order; each gets a View menu action (Ctrl+1, Ctrl+2, ...).
        self.centre_tabs = [
            CentreTab(self.dashboard, "Dashboard", "&Dashboard", "Live plots of the shown session"),
            CentreTab(
                self.editor,
                "Config editor",
                "Config &editor",
                "Edit the selected config with live validation",
            ),
            CentreTab(self.history, "History", "&History", "Every stored session"),
            CentreTab(
                self.breakdown,
                "Breakdown",
                "&Breakdown",
                "Where each framework's step goes: its own profiler's trace, side by side",
            ),
            CentreTab(
                self.ranks,
                "Ranks",
                "&Ranks",
                "Every rank's step time, grouped per run, and the verdict of a scaling run",
            ),
        ]
        for tab in self.centre_tabs:
            self.tabs.addTab(tab.widget, tab.title)
        centre = QWidget(self)
        layout = QVBoxLayout(centre)
        layout.setContentsMargins(6, 6, 6, 2)
        layout.setSpacing(6)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(centre)
        self.banner = MessageBanner(centre)  # floats over the centre: never shifts the tabs

        self.runs_table = RunsTable(self)
        self.summary = SummaryTable(self)
        self.summary.set_preferred_baseline(self.settings.baseline)
        self.log_pane = LogPane(self)
        self.log_view = self.log_pane.view
        self.docks: dict[str, QDockWidget] = {}
        # The side panel scrolls in a short window instead of setting the window's least height.
        side_scroll = QScrollArea(self)
        side_scroll.setObjectName("sideScroll")
        side_scroll.setWidget(self.side)
        side_scroll.setWidgetResizable(True)
        side_scroll.setFrameShape(QFrame.Shape.NoFrame)
        side_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.side_scroll = side_scroll
        self._dock(
            "configs", "Configs and frameworks", side_scroll, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self._dock("runs", "Runs", self.runs_table, Qt.DockWidgetArea.BottomDockWidgetArea)
        self._dock("summary", "Summary", self.summary, Qt.DockWidgetArea.BottomDockWidgetArea)
        self._dock("log", "Log", self.log_pane, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.splitDockWidget(self.docks["runs"], self.docks["summary"], Qt.Orientation.Horizontal)
        self.splitDockWidget(self.docks["summary"], self.docks["log"], Qt.Orientation.Horizontal)
        self.resizeDocks(
            [self.docks["runs"], self.docks["summary"], self.docks["log"]],
            [600, 430, 370],
            Qt.Orientation.Horizontal,
        )
        self.resizeDocks([self.docks["runs"]], [250], Qt.Orientation.Vertical)
        self.resizeDocks([self.docks["configs"]], [280], Qt.Orientation.Horizontal)
        self.dock_sizes = DockSizes(
            self,
            {
                self.docks["runs"]: (Qt.Orientation.Vertical, 250),
                self.docks["configs"]: (Qt.Orientation.Horizontal, 280),
            },
        )

        # elided: a long message (an export's path) must not widen the window
        self.status_label = ElidedLabel(
            "Ready. Drop a config file on the window or use Open…",
            self,
            Qt.TextElideMode.ElideRight,
        )
        self.statusBar().addWidget(self.status_label, 1)
        # "verdict certainty ±3.1% (target ±2%, 2 runs per side)" while repeats run, then why
        # they stopped; empty for a session without a comparison
        self.certainty_label = QLabel(self)
        self.certainty_label.setObjectName("certainty")
        self.statusBar().addPermanentWidget(self.certainty_label)
        self.store_label = QLabel(self)
        self.store_label.setObjectName("muted")
        self.statusBar().addPermanentWidget(self.store_label)
        self._update_store_label()

    def _dock(self, key: str, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> None:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"{key}Dock")
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        self.docks[key] = dock

    def _connect(self) -> None:
        self.side.openRequested.connect(self.configs.open_dialog)
        self.side.frameworksChanged.connect(self.refresh_controls)
        for controller in (self.configs, self.runs, self.sessions):
            controller.controlsChanged.connect(self.refresh_controls)
        self.probe.probed.connect(self.refresh_controls)
        self.controller.sessionFinished.connect(self._refresh_history)
        self.runs_table.selectionModel().selectionChanged.connect(self._on_run_selected)
        self.runs_table.detailsRequested.connect(self._on_run_details)
        self.runs_table.columnsChanged.connect(self._save_runs_columns)
        self.log_pane.titleChanged.connect(self.docks["log"].setWindowTitle)
        self.history.table.selectionModel().selectionChanged.connect(self.refresh_controls)
        self.tabs.currentChanged.connect(self._on_tab_changed)
        self.summary.baselineChanged.connect(self._on_baseline_changed)
        self.summary_feed.summaryChanged.connect(self.views.show_summary)
        self.dashboard.layoutChanged.connect(self._save_plot_layout)
        self.dashboard.axisModeChanged.connect(self._save_plot_layout)
        self.dashboard.optionsChanged.connect(
            lambda: self.settings.q.setValue(
                "plots/options", json.dumps(self.dashboard.options_state())
            )
        )
        # the Breakdown tab follows the session shown: emptied at a start, read at its end
        self.controller.runsPlanned.connect(self._breakdown_running)
        self.controller.sessionFinished.connect(self._breakdown_finished)
        self.sessions.sessionShown.connect(self.breakdown.load_session)
        # the Ranks tab likewise, enabled only while a scaling run is shown or run (live)
        self.ranks.follow(self.controller)
        self.sessions.sessionShown.connect(self.ranks.load_session)
        self.ranks.availabilityChanged.connect(self._ranks_available)
        self._ranks_available(False)
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._system_scheme_changed)

    def _breakdown_running(self, _runs: object) -> None:
        self.breakdown.show_running()

    def _breakdown_finished(self, session_id: int, _status: str) -> None:
        self.breakdown.load_session(session_id)

    def _ranks_available(self, scaling: bool) -> None:
        self.tabs.setTabEnabled(self.tabs.indexOf(self.ranks), scaling)
        self.commands.tab_actions[self.tabs.indexOf(self.ranks)].setEnabled(scaling)

    # -- settings, theme, layout ----------------------------------------------------------

    def store_path(self) -> str:
        """The store in use: --store, else the settings' store, else $FRAMEDUEL_STORE, else the
        XDG data dir's (always a real path: the status bar and History show it)."""
        return self._store_override or self.settings.store_path or str(default_store_path())

    def store_source(self) -> str:
        """Where the store's path comes from, in words."""
        if self._store_override:
            return "--store on the command line"
        if self.settings.store_path:
            return "Settings ▸ Store"
        if os.environ.get("FRAMEDUEL_STORE"):
            return "$FRAMEDUEL_STORE"
        return "the default (the XDG data folder)"

    def _update_store_label(self) -> None:
        path = self.store_path()
        # Elided in the middle: a long path must not set the window's least width.
        shown = self.store_label.fontMetrics().elidedText(
            path, Qt.TextElideMode.ElideMiddle, STORE_LABEL_PX
        )
        self.store_label.setText(f"Store: {shown}")
        self.store_label.setToolTip(
            f"The SQLite store sessions go to: {path}\nFrom {self.store_source()}"
        )

    def open_settings(self) -> SettingsDialog:
        """Show the settings dialog (window-modal, without blocking the event loop)."""
        dialog = SettingsDialog(self.settings, self)
        dialog.applied.connect(self.apply_settings)
        self.settings_dialog = dialog
        dialog.open()
        return dialog

    def apply_settings(self) -> None:
        """Take new settings into use: theme, baseline, store, interpreters, and the default
        frameworks while no valid config is selected (a selected config ticks its own)."""
        self.apply_theme()
        current = self.configs.current_config()
        if (current is None or current.config is None) and not self.controller.is_running():
            self.side.set_frameworks(self.settings.default_frameworks)
        self.summary.set_preferred_baseline(self.settings.baseline)
        self._update_store_label()
        if self.history_loaded:
            self.history.refresh()
        if self.probe.pythons_changed():
            self.probe.probe()

    def apply_theme(self) -> None:
        """Use the settings' theme (light, dark or the system's) everywhere."""
        self.theme = themes.resolve(self.settings.theme)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            themes.apply(app, self.theme)
        self.setStyleSheet(themes.style_sheet(self.theme))
        # the side panel never scrolls sideways: its scroll area is as wide as it needs
        bar = self.side_scroll.verticalScrollBar().sizeHint().width()
        self.side_scroll.setMinimumWidth(self.side.minimumSizeHint().width() + bar)
        self.dashboard.apply_theme(self.theme)
        self.breakdown.apply_theme(self.theme)
        self.summary.apply_theme(self.theme)
        self.runs_table.runs.set_theme(self.theme)
        self.editor.apply_theme(self.theme)
        self.banner.set_theme(self.theme)
        t = self.theme
        colors = {"ok": t.ok, "failed": t.danger, "stopped": t.warn, "interrupted": t.warn}
        self.history.set_status_colors(colors)
        self.themeApplied.emit(self.theme.name)

    def _system_scheme_changed(self, *_: object) -> None:
        if self.settings.theme == "system":
            self.apply_theme()

    def _on_baseline_changed(self, framework: str) -> None:
        self.settings.baseline = framework

    def _restore_layout(self) -> None:
        geometry, state = self.settings.window_layout()
        screen = self.screen() or QGuiApplication.primaryScreen()
        if geometry is None or not self.restoreGeometry(geometry):
            self.setGeometry(initial_geometry(screen.availableGeometry(), self.minimumSizeHint()))
        # the user's Runs columns first: the docks' first arrangement makes room for them
        self.runs_table.restore_columns(self.settings.runs_columns)
        if state is None or not self.restoreState(state):
            arrange_first_launch(
                self,
                self.docks,
                self.width(),
                self.summary.preferred_width,
                self.runs_table.live_width(),
                follow_px=self.runs_table.follow_width(),
            )
        else:  # the user's own dock sizes are the ones to grow back to
            QTimer.singleShot(0, self.dock_sizes.remember_current)
        order, hidden, axis = self.settings.plot_layout()
        if order or hidden:
            self.dashboard.set_layout(order, hidden)
        self.dashboard.set_axis_mode(axis)
        with contextlib.suppress(ValueError):  # none saved yet, or unreadable: the defaults
            self.dashboard.restore_options(json.loads(str(self.settings.q.value("plots/options"))))

    def _save_plot_layout(self, *_: object) -> None:
        d = self.dashboard
        self.settings.save_plot_layout(d.order, sorted(d.hidden), d.axis_mode)

    def _save_runs_columns(self) -> None:
        self.settings.runs_columns = self.runs_table.column_choices()

    def save_layout(self) -> None:
        """Remember the window's geometry, docks and plots."""
        self.settings.save_window_layout(self.saveGeometry(), self.saveState())
        self._save_plot_layout()
        self.settings.sync()

    def arrange_plots(self) -> ArrangePlotsDialog:
        """Show the Arrange plots dialog."""
        dialog = ArrangePlotsDialog(self.dashboard, self)
        dialog.open()
        return dialog

    def _on_tab_changed(self, _index: int) -> None:
        if self.tabs.currentWidget() is self.history and not self.history_loaded:
            self.history_loaded = True
            self.history.refresh()
        self.refresh_controls()

    def refresh_controls(self, *_: object) -> None:
        """Enable Run, Run all, Stop, Export and Preview as what is listed, ticked, running
        and shown allows."""
        loaded = self.configs.current_config()
        running = self.controller.is_running()
        can_run = (
            loaded is not None
            and loaded.config is not None
            and bool(self.configs.checked_frameworks())
        )
        can_run_all = bool(self.configs.runnable_configs())
        self.side.set_running(running, can_run, can_run_all)
        self.commands.set_running(running, can_run, can_run_all)
        self.commands.set_exportable(self.sessions.export_session_id() is not None)

    def _refresh_history(self, *_: object) -> None:
        if self.history_loaded:
            self.history.refresh()

    def _on_run_selected(self, *_: object) -> None:
        self.log_pane.show_run(self.runs_table.selected_run_id())

    def _on_run_details(self, run_id: int) -> None:
        row = self.runs_table.runs.row_of(run_id)
        if row is not None:
            r = self.runs_table.runs.rows[row]
            self.log_pane.show_details(run_id, r.status, r.error)

    # -- status and closing ---------------------------------------------------------------

    def _set_status(self, text: str) -> None:
        self.status_label.setText(text)

    def status_text(self) -> str:
        """The status bar line."""
        return self.status_label.text()

    def quit_when_stopped(self) -> None:
        """Close without asking: stop a running session first (Ctrl+C in the terminal)."""
        if self.controller.is_running():
            self.runs.stop_then_close()
        else:
            self.close()

    def shutdown(self) -> None:
        """End everything the window started: the session's process trees, framework probes
        and worker threads. Blocks for a moment; for application exit (and tests) only."""
        self.probe.cancel()
        self.controller.shutdown()
        self.runner.shutdown()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._edits_discarded and self.editor.is_modified():
            answer = self._choose(
                "Save changes before quitting?",
                f"The config editor has unsaved changes to {self.editor.display_name()}.",
                unsaved_choices("Save and quit"),
            )
            if answer == "cancel":
                event.ignore()
                return
            if answer == "save":
                # Saving runs in a worker: close when the file is written (not if it fails).
                self.editor.save(after=lambda _path: self.close())
                event.ignore()
                return
            self._edits_discarded = True
        if self.controller.is_running():
            if not self.runs.closing():
                name = self.runs.session_name()
                question = (
                    f"{name} is running. Stop it (its processes are killed) and close FrameDuel?"
                )
                if not self._confirm("Stop and quit?", question):
                    self._edits_discarded = False
                    event.ignore()
                    return
                # Never leave children behind: stop first, close when the session has ended.
                self.runs.stop_then_close()
                self._set_status(f"Stopping {name}, then closing…")
            event.ignore()
            return
        self.save_layout()
        event.accept()
