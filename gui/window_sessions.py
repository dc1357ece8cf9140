"""The main window's session side: running (one config or the whole list), the controller's
signals, reopening, re-running and comparing stored sessions (exports: ``window_outputs``).

A mixin of ``MainWindow``. Live and stored sessions end up in the same widgets: the dashboard
and the summary read one ``SessionData``, the runs table and the log pane get the same calls.
"""

from __future__ import annotations

import time
from typing import Any

from gui.adapter import Batch
from gui.compare import CompareDialog
from gui.comparison import Group, compare_runs, compare_sessions, config_diff
from gui.notify import SessionNotifier
from gui.replay import StoredView, load_stored, stored_config
from gui.rundata import SessionData
from gui.side_panel import describe_config
from profiler.colors import label_of
from profiler.config import Config
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
        self.notifier().session_ended(elapsed, "FrameDuel: session ended", text)
        if self.history_loaded:
            self.history.refresh()
        if self._close_when_finished:
            self.close()
            return
        if status != "stopped" and self._queue:
            self._run_next_in_queue()
        self._refresh_controls()

    def notifier(self) -> SessionNotifier:
        """Notifies of long sessions' ends (made when first needed)."""
        notifier = getattr(self, "_notifier", None)
        if notifier is None:
            notifier = self._notifier = SessionNotifier(self)
        return notifier

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
        self._refresh_controls()
        self.sessionShown.emit(view.session_id)

    def rerun_session(self, session_id: int) -> None:
        """Run a stored session's config again, as it was stored (read in a worker)."""
        if self.controller.is_running():
            self.banner.show_message(
                "A session is running: stop it (or let it finish) before re-running another.",
                "info",
            )
            return
        path = self.store_path()
        self.runner.submit(
            "rerun-session",
            lambda: stored_config(path, session_id),
            lambda stored: self._rerun(session_id, *stored),
            lambda message, details: self.banner.show_message(
                f"Cannot re-run session {session_id}: {message}", "error", details
            ),
        )

    def _rerun(self, session_id: int, config: dict[str, Any], config_path: str | None) -> None:
        try:
            validated = Config.model_validate(config)
        except ValueError as exc:
            first = str(exc).splitlines()[0]
            self.banner.show_message(
                f"Cannot re-run session {session_id}: its stored config is no longer valid "
                f"({first}); open its config file and fix it",
                "error",
                str(exc),
            )
            return
        self._queue = []
        self.run_config(validated, config_path)

    def compare_stored(self, ids: list[int]) -> None:
        """Compare stored sessions side by side, two or more, in the order given (all read in
        a worker); the first is the baseline of the ratios."""
        path = self.store_path()
        self.runner.submit(
            "compare-sessions",
            lambda: [load_stored(path, i) for i in ids],
            self._compare_views,
            lambda message, details: self.banner.show_message(
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
        data = self.dashboard.data
        names = [self.log_pane.run_name(i) for i in ids]
        self._show_comparison(
            f"Runs: {' vs '.join(names)}",
            compare_runs(data, ids),
            f"{', '.join(names)} (session {self._session_name})",
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
            title, groups, description, self, theme=self.theme, configs=configs, titles=titles
        )
        self.compare_dialog = dialog
        dialog.show()
        self.compared.emit(dialog)
