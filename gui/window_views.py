"""What the main window's controllers share: the widgets they drive and the questions they ask.

``MainWindow`` builds the widgets and hands them to its controllers in one ``WindowViews``; each
controller keeps its own state, and none reaches into another's. Live and stored sessions end up
in the same widgets: the dashboard and the summary read one ``SessionData``, the runs table and
the log pane get the same calls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtWidgets import QLabel, QMainWindow, QTabWidget

from gui.banner import MessageBanner
from gui.editor import ConfigEditor
from gui.elided_label import ElidedLabel
from gui.history import HistoryView
from gui.log_pane import LogPane
from gui.models.rundata import SessionData
from gui.plots import LiveDashboard
from gui.prompts import Choose, Confirm
from gui.runs_table import RunsTable
from gui.settings import AppSettings
from gui.side_panel import SidePanel
from gui.summary import SummaryFeed, SummaryTable
from gui.tasks import TaskRunner
from gui.theme import Theme
from profiler.report.summary import SessionSummary


@dataclass(frozen=True)
class WindowViews:
    """The window's widgets, built once by ``MainWindow``, driven by its controllers."""

    window: QMainWindow
    side: SidePanel
    editor: ConfigEditor
    tabs: QTabWidget
    dashboard: LiveDashboard
    history: HistoryView
    runs_table: RunsTable
    summary: SummaryTable
    log_pane: LogPane
    banner: MessageBanner
    status_label: ElidedLabel
    certainty_label: QLabel

    def set_status(self, text: str) -> None:
        """Say ``text`` on the status bar."""
        self.status_label.setText(text)

    def show_data(self, data: SessionData) -> None:
        """Show one session's data in the dashboard and the summary."""
        self.dashboard.set_session(data)
        self.summary.set_data(data)

    def show_summary(self, summary: SessionSummary | None) -> None:
        """Show the summary model's figures in the Summary and the Runs table."""
        self.summary.set_summary(summary)
        self.runs_table.runs.set_summary(summary)


@dataclass(frozen=True)
class WindowServices:
    """What the controllers use besides widgets: the settings, the worker pool, the store in
    use, the questions to the user (message boxes, or answers given by tests), the theme, and
    the feed of the summary model's figures for the session shown."""

    settings: AppSettings
    runner: TaskRunner
    store_path: Callable[[], str]
    confirm: Confirm
    choose: Choose
    theme: Callable[[], Theme]
    summary_feed: SummaryFeed
