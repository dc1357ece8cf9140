"""The main window's session side: running (one config or the whole list), the controller's
signals, reopening stored sessions, comparing, exporting and previewing.

A mixin of ``MainWindow``. Live and stored sessions end up in the same widgets: the dashboard
and the summary read one ``SessionData``, the runs table and the log pane get the same calls.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from gui.adapter import Batch
from gui.compare import CompareDialog, Pair, compare_runs, compare_sessions
from gui.export import EXPORT_FILTERS, PreviewDialog, PreviewPages, export_report, render_preview
from gui.replay import StoredView, load_stored
from gui.rundata import SessionData
from gui.side_panel import describe_config
from profiler.colors import label_of
from profiler.config import Config
from profiler.repeats import Certainty, StopRecord
from profiler.session import RunInfo, RunOutcome


class SessionsMixin:
    """Running, reopening, comparing and exporting (see the module docstring)."""

    # -- running --------------------------------------------------------------------------

    def _refresh_controls(self) -> None:
        loaded = self.current_config()
        running = self.controller.is_running()
        can_run = (
            loaded is not None and loaded.config is not None and bool(self.checked_frameworks())
        )
        self.side.set_running(running, can_run, bool(self.runnable_configs()))
        self.commands.set_running(running, can_run, bool(self.runnable_configs()))
        has_session = self.export_session_id() is not None
        self.commands.set_exportable(has_session)

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
        self._queue = []
        return self.run_config(config, loaded.path)

    def run_all(self) -> bool:
        """Run every valid config of the list, one after another, each with its own frameworks
        (those this machine can run)."""
        if self.controller.is_running():
            return False
        self._queue = [c.path for c in self.runnable_configs()]
        return self._run_next_in_queue()

    def _run_next_in_queue(self) -> bool:
        while self._queue:
            loaded = self._configs.get(self._queue.pop(0))
            if loaded is None or loaded.config is None:
                continue
            available = [fw for fw in loaded.config.frameworks if self._can_run(fw)]
            if not available:
                continue
            self.select_config(loaded.path)
            config = loaded.config.with_overrides(frameworks=available)
            return self.run_config(config, loaded.path)
        return False

    def _can_run(self, framework: str) -> bool:
        return self.side.framework_available.get(framework, True)

    def run_config(self, config: Config, config_path: str | None) -> bool:
        """Start a session for an already validated config (used by scripts too)."""
        if self.controller.is_running():
            return False
        config = self.settings.apply_sample_rate(config)
        self.banner.hide()
        self._show_data(SessionData())
        self.dashboard.set_live(True)
        self.runs_table.runs.set_runs([])
        self.log_pane.reset([])
        self.certainty_label.setText("")
        self._session_name = config.name
        self._shown_session_id = None
        self.side.summary.setText(describe_config(config))
        self._started_at = time.monotonic()
        self.controller.start(config, config_path, self.store_path(), self.settings.run_options())
        self.tabs.setCurrentWidget(self.dashboard)
        waiting = f" ({len(self._queue)} more queued)" if self._queue else ""
        self._set_status(f"Starting {config.name}…{waiting}")
        self._refresh_controls()
        return True

    def stop_run(self) -> None:
        """Stop the running session and the queue (returns at once; the session ends soon)."""
        self._queue = []
        if self.controller.is_running():
            self.controller.stop()
            self.stop_button.setEnabled(False)
            self._set_status(f"Stopping {self._session_name}…")

    def _show_data(self, data: SessionData) -> None:
        self.dashboard.set_session(data)
        self.summary.set_data(data)

    # -- controller signals ---------------------------------------------------------------

    def _on_planned(self, runs: list[RunInfo]) -> None:
        self.dashboard.add_runs(runs)
        self.runs_table.runs.set_runs(runs)
        self.log_pane.reset(runs)
        self.summary.refresh()

    def _on_runs_added(self, runs: list[RunInfo]) -> None:
        """Another round of auto repeats: its runs join the dashboard, table and log."""
        self.dashboard.add_runs(runs)
        self.runs_table.runs.add_runs(runs)
        self.log_pane.add_runs(runs)

    def _on_certainty(self, certainty: Certainty) -> None:
        self.certainty_label.setText(certainty.describe()[0].upper() + certainty.describe()[1:])
        self.certainty_label.setToolTip(
            "The widest 95% interval of the speed ratios so far (the run is the unit), and the "
            "target (run.target_ci). Auto repeats stop when every ratio is within the target, "
            "with at least 3 runs per framework, or at run.max_repeats / run.budget_s."
        )

    def _on_repeats_ended(self, record: StopRecord) -> None:
        if record.mode == "auto":
            self.certainty_label.setText(record.describe())

    def _on_started(self, run: RunInfo) -> None:
        self.runs_table.runs.run_started(run)
        self.runs_table.select_run(run.run_id)  # the log pane follows the running run
        total = len(self.dashboard.data.runs)
        self._set_status(
            f"Running {self._session_name}: {label_of(run.framework)} "
            f"(run {run.seq + 1} of {total})"
        )

    def _on_batch(self, batch: Batch) -> None:
        self.dashboard.add_points(batch)
        self.runs_table.runs.add_batch(batch)
        for run_id, lines in batch.logs.items():
            self.log_pane.append(run_id, lines)
        self.summary.schedule()

    def _on_finished(self, outcome: RunOutcome) -> None:
        self.runs_table.runs.run_finished(outcome)
        run = self.dashboard.data.runs.get(outcome.run_id)
        if run is not None:
            run.status = outcome.status
            run.close_phases(run.last_t)
            self.dashboard.data_changed({outcome.run_id})
        if outcome.status in ("failed", "timeout") and outcome.error:
            name = self.log_pane.run_name(outcome.run_id)
            tail = "\n".join(self.log_pane.lines(outcome.run_id)[-60:])
            self.banner.show_message(
                f"{name} {outcome.status}: {outcome.error.splitlines()[0]}",
                "error",
                f"{outcome.error}\n\n— last output —\n{tail}",
            )

    def _on_session_finished(self, session_id: int, status: str) -> None:
        elapsed = time.monotonic() - self._started_at
        words = {"ok": "finished", "stopped": "stopped", "failed": "finished with failures"}
        text = f"{self._session_name} {words.get(status, status)} after {elapsed:.1f} s"
        if session_id >= 0:
            text += f" (session {session_id})"
            self._shown_session_id = session_id
        self.summary.refresh()
        self.dashboard.set_live(False)
        self._set_status(text)
        if self.history_loaded:
            self.history.refresh()
        if self._close_when_finished:
            self.close()
            return
        if status != "stopped" and self._queue:
            self._run_next_in_queue()
        self._refresh_controls()

    def _on_failed(self, message: str) -> None:
        self.banner.show_message(f"The session could not run: {message}", "error")

    def _on_run_selected(self, *_: object) -> None:
        self.log_pane.show_run(self.runs_table.selected_run_id())

    def _on_run_details(self, run_id: int) -> None:
        row = self.runs_table.runs.row_of(run_id)
        if row is not None:
            r = self.runs_table.runs.rows[row]
            self.log_pane.show_details(run_id, r.status, r.error)

    # -- history --------------------------------------------------------------------------

    def open_session(self, session_id: int) -> None:
        """Reopen a stored session into the dashboard (read in a worker)."""
        if self.controller.is_running():
            self.banner.show_message(
                "A session is running: stop it (or let it finish) before reopening another.",
                "info",
            )
            return
        self._set_status(f"Opening session {session_id}…")
        self.runner.submit(
            "open-session",
            lambda: load_stored(self.store_path(), session_id),
            self.show_stored,
            lambda message, details: self.banner.show_message(
                f"Cannot open session {session_id}: {message}", "error", details
            ),
        )

    def show_stored(self, view: StoredView) -> None:
        """Show a stored session in the dashboard, runs table, summary and log pane."""
        if self.controller.is_running():
            return
        self._queue = []
        self.banner.hide()
        self.dashboard.set_live(False)
        self._show_data(view.data)
        model = self.runs_table.runs
        model.set_runs(view.runs)
        model.add_batch(view.table)
        for outcome in view.outcomes:
            model.run_finished(outcome)
        self.log_pane.reset(view.runs, view.logs)
        if view.runs:
            self.runs_table.select_run(view.runs[0].run_id)
        self._session_name = view.name
        self._shown_session_id = view.session_id
        self.tabs.setCurrentWidget(self.dashboard)
        self._set_status(f"Showing stored session {view.title}: {view.status}")
        self.certainty_label.setText(view.repeats)
        self._refresh_controls()
        self.sessionShown.emit(view.session_id)

    def compare_stored(self, ids: list[int]) -> None:
        """Compare two stored sessions side by side (both read in a worker)."""
        a, b = ids[:2]
        path = self.store_path()
        self.runner.submit(
            "compare-sessions",
            lambda: (load_stored(path, a), load_stored(path, b)),
            lambda views: self._show_comparison(
                f"Session #{a} vs #{b}",
                compare_sessions(*views),
                f"A: {views[0].title} · B: {views[1].title}",
            ),
            lambda message, details: self.banner.show_message(
                f"Cannot compare: {message}", "error", details
            ),
        )

    def compare_selected_runs(self, ids: list[int]) -> None:
        """Compare two runs of the session shown."""
        a, b = ids[:2]
        data = self.dashboard.data
        names = f"{self.log_pane.run_name(a)} vs {self.log_pane.run_name(b)}"
        self._show_comparison(
            f"Runs: {names}",
            compare_runs(data, a, b),
            f"A: {self.log_pane.run_name(a)} · "
            f"B: {self.log_pane.run_name(b)} (session {self._session_name})",
        )

    def _show_comparison(self, title: str, pairs: list[Pair], description: str) -> None:
        dialog = CompareDialog(title, pairs, description, self, self.theme)
        self.compare_dialog = dialog
        dialog.show()
        self.compared.emit(dialog)

    # -- export ---------------------------------------------------------------------------

    def export_session_id(self) -> int | None:
        """The session Export acts on: the one selected in History when that tab is shown,
        else the one in the dashboard."""
        if self.tabs.currentWidget() is self.history:
            ids = self.history.selected_ids()
            if len(ids) == 1:
                return ids[0]
        return self._shown_session_id

    def export_dialog(self, suffix: str) -> None:
        """Ask where to write the report (a dialog, on the user's request), then export."""
        session_id = self.export_session_id()
        if session_id is None:
            return
        name = f"{self._session_name or 'session'}-{session_id}{suffix}"
        path, _ = QFileDialog.getSaveFileName(self, "Export report", name, EXPORT_FILTERS[suffix])
        if path:
            if not Path(path).suffix:
                path += suffix
            self.export_to(path, session_id)

    def export_to(self, path: str, session_id: int | None = None) -> None:
        """Write the report of a stored session to ``path`` (.pdf .html .json .csv) in a
        worker; ``exported(path)`` follows, or an error in the banner."""
        sid = self.export_session_id() if session_id is None else session_id
        if sid is None:
            return
        self._set_status(f"Exporting session {sid} to {path}…")
        store = self.store_path()

        def done(written: Path) -> None:
            self._set_status(f"Exported session {sid} to {written}")
            self.banner.show_message(f"Exported session {sid} to {written}", "info")
            self.exported.emit(str(written))

        self.runner.submit(
            "export",
            lambda: export_report(store, sid, path),
            done,
            lambda message, details: self.banner.show_message(
                f"Cannot export session {sid}: {message}", "error", details
            ),
        )

    def preview_pdf(self) -> None:
        """Render the session's PDF in a worker and show its pages in a preview window."""
        sid = self.export_session_id()
        if sid is None:
            return
        self._set_status(f"Rendering the PDF of session {sid}…")
        store = self.store_path()

        def done(pages: PreviewPages) -> None:
            dialog = PreviewDialog(pages, f"session {sid}", self.runner, self)
            self.preview_dialog = dialog
            dialog.show()
            self._set_status(f"Previewing the PDF of session {sid} ({len(pages.pages)} pages)")
            self.previewShown.emit(dialog)

        self.runner.submit(
            "preview",
            lambda: render_preview(store, sid),
            done,
            lambda message, details: self.banner.show_message(
                f"Cannot preview session {sid}: {message}", "error", details
            ),
        )
