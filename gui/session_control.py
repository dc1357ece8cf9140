"""Stored sessions: reopening one into the dashboard, re-running its config, comparing sessions
(or runs of the one shown), exporting a report, previewing its PDF and saving a plot as an image.

``SessionsController`` owns which session the dashboard shows (a stored one, or the live one
``RunController`` reports), the dialogs it opened and the status bar's note about the last file
written. File dialogs ask on the user's request; reading, rendering and writing run in workers
(``TaskRunner``); a remembered folder (QSettings) starts each file dialog.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog

from gui.compare import CompareDialog
from gui.config_control import ConfigController
from gui.export import (
    EXPORT_FILTERS,
    PreviewDialog,
    PreviewPages,
    WrittenFileNote,
    export_report,
    remember_folder,
    render_preview,
    suggested_path,
)
from gui.models.comparison import Group, compare_runs, compare_sessions, config_diff
from gui.models.replay import StoredView, load_stored, stored_config
from gui.plot_options import IMAGE_FORMATS, plot_image_bytes
from gui.run_control import RunController
from gui.window_views import WindowServices, WindowViews
from profiler.config import Config


class SessionsController(QObject):
    """Reopen, re-run, compare and export stored sessions (see the module docstring)."""

    sessionShown = Signal(int)  # a stored session now in the dashboard
    compared = Signal(object)  # CompareDialog
    exported = Signal(str)  # path written
    previewShown = Signal(object)  # PreviewDialog
    controlsChanged = Signal()  # the session shown changed: refresh Export and Preview

    def __init__(
        self,
        views: WindowViews,
        services: WindowServices,
        runs: RunController,
        configs: ConfigController,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._views = views
        self._services = services
        self._settings = services.settings
        self._runner = services.runner
        self._runs = runs
        self._configs = configs
        self._shown_name = ""  # the session in the dashboard, live or stored
        self._shown_id: int | None = None  # None: live, or nothing stored yet
        self.compare_dialog: CompareDialog | None = None
        self.preview_dialog: PreviewDialog | None = None
        self._written_note: WrittenFileNote | None = None
        runs.liveStarted.connect(self._on_live_started)
        runs.liveEnded.connect(self._on_live_ended)
        history = views.history
        history.openRequested.connect(self.open_session)
        history.compareRequested.connect(self.compare_stored)
        history.rerunRequested.connect(self.rerun_session)
        views.runs_table.compareRequested.connect(self.compare_selected_runs)
        views.dashboard.saveRequested.connect(self.save_plot_dialog)

    def shown_name(self) -> str:
        """The name of the session in the dashboard ("" before any)."""
        return self._shown_name

    def _on_live_started(self, name: str) -> None:
        self._shown_name = name
        self._shown_id = None

    def _on_live_ended(self, session_id: int) -> None:
        if session_id >= 0:
            self._shown_id = session_id

    def say_idle(self) -> None:
        """Say what the window shows now (after a message that no longer holds)."""
        if self._runs.is_running():
            return
        if self._shown_id is not None:
            self._views.set_status(f"Showing session {self._shown_id}: {self._shown_name}")
        else:
            self._configs.say_listed()

    # -- history --------------------------------------------------------------------------

    def open_session(self, session_id: int) -> None:
        """Reopen a stored session into the dashboard (read in a worker)."""
        if self._runs.is_running():
            self._views.banner.show_message(
                "A session is running: stop it (or let it finish) before reopening another.",
                "info",
            )
            return
        self._views.set_status(f"Opening session {session_id}…")
        self._runner.submit(
            "open-session",
            lambda: load_stored(self._services.store_path(), session_id),
            self.show_stored,
            lambda message, details: self._views.banner.show_message(
                f"Cannot open session {session_id}: {message}", "error", details
            ),
        )

    def show_stored(self, view: StoredView) -> None:
        """Show a stored session in the dashboard, runs table, summary and log pane."""
        if self._runs.is_running():
            return
        self._runs.clear_queue()
        self._views.banner.hide()
        self._views.dashboard.set_live(False)
        self._views.show_data(view.data)
        model = self._views.runs_table.runs
        model.set_runs(view.runs)
        model.add_batch(view.table)
        for outcome in view.outcomes:
            model.run_finished(outcome)
        self._services.summary_feed.clear()
        self._views.show_summary(view.summary)
        self._views.log_pane.reset(view.runs, view.logs)
        if view.runs:
            self._views.runs_table.select_run(view.runs[0].run_id)
        self._shown_name = view.name
        self._shown_id = view.session_id
        self._views.tabs.setCurrentWidget(self._views.dashboard)
        self._views.set_status(f"Showing stored session {view.title}: {view.status}")
        self._views.certainty_label.setText(view.repeats)
        self.controlsChanged.emit()
        self.sessionShown.emit(view.session_id)

    def rerun_session(self, session_id: int) -> None:
        """Run a stored session's config again, as it was stored (read in a worker)."""
        if self._runs.is_running():
            self._views.banner.show_message(
                "A session is running: stop it (or let it finish) before re-running another.",
                "info",
            )
            return
        path = self._services.store_path()
        self._runner.submit(
            "rerun-session",
            lambda: stored_config(path, session_id),
            lambda stored: self._rerun(session_id, *stored),
            lambda message, details: self._views.banner.show_message(
                f"Cannot re-run session {session_id}: {message}", "error", details
            ),
        )

    def _rerun(self, session_id: int, config: dict[str, Any], config_path: str | None) -> None:
        try:
            validated = Config.model_validate(config)
        except ValueError as exc:
            first = str(exc).splitlines()[0]
            self._views.banner.show_message(
                f"Cannot re-run session {session_id}: its stored config is no longer valid "
                f"({first}); open its config file and fix it",
                "error",
                str(exc),
            )
            return
        self._runs.run_alone(validated, config_path)

    def compare_stored(self, ids: list[int]) -> None:
        """Compare stored sessions side by side, two or more, in the order given (all read in
        a worker); the first is the baseline of the ratios."""
        path = self._services.store_path()
        self._runner.submit(
            "compare-sessions",
            lambda: [load_stored(path, i) for i in ids],
            self._compare_views,
            lambda message, details: self._views.banner.show_message(
                f"Cannot compare: {message}", "error", details
            ),
        )

    def _compare_views(self, views: list[StoredView]) -> None:
        titles = [f"#{v.session_id}" for v in views]
        configs = config_diff([v.config for v in views])
        described = " · ".join(
            f"{t} {v.name} ({v.created_at[:16].replace('T', ' ')})"
            for t, v in zip(titles, views, strict=True)
        )
        if configs:
            described += ". Configs differ in " + ", ".join(k for k, _values in configs)
        self._show_comparison(
            "Sessions " + " vs ".join(titles),
            compare_sessions(views),
            described,
            configs=configs,
            titles=titles,
        )

    def compare_selected_runs(self, ids: list[int]) -> None:
        """Compare runs of the session shown (the first is the baseline)."""
        data = self._views.dashboard.data
        names = [self._views.log_pane.run_name(i) for i in ids]
        self._show_comparison(
            f"Runs: {' vs '.join(names)}",
            compare_runs(data, ids, self._views.summary.summary),
            f"{', '.join(names)} (session {self._shown_name})",
        )

    def _show_comparison(
        self,
        title: str,
        groups: list[Group],
        description: str,
        configs: list[tuple[str, list[str]]] | None = None,
        titles: list[str] | None = None,
    ) -> None:
        dialog = CompareDialog(
            title,
            groups,
            description,
            self._views.window,
            theme=self._services.theme(),
            configs=configs,
            titles=titles,
        )
        self.compare_dialog = dialog
        dialog.show()
        self.compared.emit(dialog)

    # -- export ---------------------------------------------------------------------------

    def export_session_id(self) -> int | None:
        """The session Export acts on: the one selected in History when that tab is shown,
        else the one in the dashboard."""
        if self._views.tabs.currentWidget() is self._views.history:
            ids = self._views.history.selected_ids()
            if len(ids) == 1:
                return ids[0]
        return self._shown_id

    def export_dialog(self, suffix: str) -> None:
        """Ask where to write the report (a dialog, on the user's request), then export."""
        session_id = self.export_session_id()
        if session_id is None:
            return
        name = f"{self._shown_name or 'session'}-{session_id}{suffix}"
        start = suggested_path(self._settings.q, name)
        path, _ = QFileDialog.getSaveFileName(
            self._views.window, "Export report", start, EXPORT_FILTERS[suffix]
        )
        if path:
            if not Path(path).suffix:
                path += suffix
            remember_folder(self._settings.q, path)
            self.export_to(path, session_id)

    def export_to(self, path: str, session_id: int | None = None) -> None:
        """Write the report of a stored session to ``path`` (.pdf .html .json .csv) in a
        worker; ``exported(path)`` follows, or an error in the banner."""
        sid = self.export_session_id() if session_id is None else session_id
        if sid is None:
            return
        self._views.set_status(f"Exporting session {sid} to {path}…")
        store = self._services.store_path()

        def done(written: Path) -> None:
            self._views.set_status(f"Exported session {sid} to {written}")
            self._views.banner.show_message(f"Exported session {sid} to {written}", "info")
            self.written_note().show_file(str(written))
            self.exported.emit(str(written))

        self._runner.submit(
            "export",
            lambda: export_report(store, sid, path),
            done,
            lambda message, details: self._views.banner.show_message(
                f"Cannot export session {sid}: {message}", "error", details
            ),
        )

    def written_note(self) -> WrittenFileNote:
        """The status bar's note offering to open the last file written (made when first
        needed)."""
        if self._written_note is None:
            window = self._views.window
            self._written_note = WrittenFileNote(window)
            window.statusBar().insertPermanentWidget(0, self._written_note)
        return self._written_note

    # -- saving plots ---------------------------------------------------------------------

    def save_plot_dialog(self, key: str, fmt: str) -> None:
        """Ask where to save plot ``key`` as ``png`` or ``svg`` (on the user's request)."""
        stem = self._shown_name or "frameduel"
        name = f"{stem}-{key}.{fmt}"
        start = suggested_path(self._settings.q, name)
        path, _ = QFileDialog.getSaveFileName(
            self._views.window, "Save plot", start, IMAGE_FORMATS[fmt]
        )
        if path:
            if not Path(path).suffix:
                path += f".{fmt}"
            remember_folder(self._settings.q, path)
            self.save_plot_to(key, path)

    def save_plot_to(self, key: str, path: str) -> None:
        """Render plot ``key`` as the file's suffix says (.png or .svg) and write it in a
        worker; ``exported(path)`` follows, or an error in the banner."""
        fmt = Path(path).suffix.lower().lstrip(".")
        data = plot_image_bytes(self._views.dashboard.plots[key], fmt)  # painting: the GUI thread's

        def done(_result: object) -> None:
            self._views.set_status(f"Saved the plot to {path}")
            self.written_note().show_file(path)
            self.exported.emit(path)

        self._runner.submit(
            "save-plot",
            lambda: Path(path).write_bytes(data),
            done,
            lambda message, details: self._views.banner.show_message(
                f"Cannot save the plot: {message}", "error", details
            ),
        )

    def preview_pdf(self) -> None:
        """Render the session's PDF in a worker and show its pages in a preview window."""
        sid = self.export_session_id()
        if sid is None:
            return
        self._views.set_status(f"Rendering the PDF of session {sid}…")
        store = self._services.store_path()

        def done(pages: PreviewPages) -> None:
            dialog = PreviewDialog(pages, f"session {sid}", self._runner, self._views.window)
            self.preview_dialog = dialog
            dialog.show()
            self._views.set_status(
                f"Previewing the PDF of session {sid} ({len(pages.pages)} pages)"
            )
            dialog.finished.connect(lambda _result: self.say_idle())
            self.previewShown.emit(dialog)

        self._runner.submit(
            "preview",
            lambda: render_preview(store, sid),
            done,
            lambda message, details: self._views.banner.show_message(
                f"Cannot preview session {sid}: {message}", "error", details
            ),
        )
