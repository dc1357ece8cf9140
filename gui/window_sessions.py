"""The main window's session side: running (one config or the whole list), the controller's
signals, reopening, re-running and comparing stored sessions (exports: ``window_outputs``).

A mixin of ``MainWindow``. Live and stored sessions end up in the same widgets: the dashboard
and the summary read one ``SessionData``, the runs table and the log pane get the same calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gui.adapter import Batch
from gui.batch import RunAllBatch
from gui.compare import CompareDialog
from gui.comparison import Group, compare_runs, compare_sessions, config_diff
from gui.notify import SessionNotifier
from gui.replay import StoredView, load_stored, stored_config
from gui.rundata import SessionData
from gui.side_panel import LoadedConfig, describe_config
from profiler.colors import label_of
from profiler.config import Config
from profiler.repeats import Certainty, StopRecord
from profiler.report.summary import SessionSummary
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
        if self.editor.path == loaded.path and self.editor.is_modified():
            return self._run_edited(
                loaded.path,
                self._run_with_ticks,
                lambda: self._run_loaded(loaded.path),
                self.start_run,
            )
        return self._run_with_ticks(loaded.config, loaded.path)

    def _run_with_ticks(self, config: Config, path: str) -> bool:
        try:
            config = self.run_overrides(config, self.checked_frameworks())
        except ValueError as exc:
            self.banner.show_message(f"Cannot run {config.name}: {exc}")
            return False
        self._queue = []
        self.batch = None
        if not self.fp16_can_run(config):
            self._set_status(f"Not run: {config.name} needs a GPU for fp16")
            return False
        return self.run_config(config, path)

    def _run_edited(
        self,
        path: str,
        run_edit: Callable[[Config, str], object],
        run_disk: Callable[[], bool],
        retry: Callable[[], object],
    ) -> bool:
        """Run when the editor has unsaved changes to ``path``: never the file on disk unasked.
        A valid edit is saved, then ``run_edit(config, path)``; or, if the user says so,
        ``run_disk()`` runs the file as it is; an invalid edit is refused. While the newest
        text is still being checked, ``retry()`` is called once it has been."""
        result = self.editor.current_result()
        if result is None:
            self._retry_after_check = retry
            self.editor.validated.connect(self._run_when_validated)
            self.editor.validate_now()
            self._set_status("Checking the edited config before running it…")
            return False
        name = Path(path).name
        if result.config is None:
            error = result.error
            where = f" (line {error.line})" if error is not None and error.line else ""
            self.banner.show_message(
                f"Not run: the editor's unsaved changes to {name} are not valid{where}. "
                "Fix them or press Revert, then run again.",
                "error",
                str(error) if error is not None else None,
            )
            self.tabs.setCurrentWidget(self.editor)
            return False
        answer = self._choose(
            "Save changes and run?",
            f"The config editor has unsaved changes to {name}. Run the edited config (saving "
            "it first) or the file as it is on disk?",
            [("save", "Save and run"), ("disk", "Run the file on disk"), ("cancel", "Cancel")],
        )
        if answer == "save":
            edited = result.config
            self.editor.save(after=lambda saved: run_edit(edited, saved))
            return True
        return answer == "disk" and run_disk()

    def _run_when_validated(self, _result: object) -> None:
        self.editor.validated.disconnect(self._run_when_validated)
        self._retry_after_check()

    def _run_loaded(self, path: str) -> bool:
        loaded = self._configs.get(path)
        return (
            loaded is not None
            and loaded.config is not None
            and self._run_with_ticks(loaded.config, path)
        )

    def run_overrides(self, config: Config, frameworks: list[str]) -> Config:
        """``config`` as it will run: with ``frameworks`` and the side panel's quick overrides,
        through the engine's one override path (raises ValueError when that is invalid)."""
        return config.with_overrides(frameworks=frameworks, **self.side.quick_overrides())

    def run_all(self) -> bool:
        """Run every valid config of the list, one after another, each with the frameworks
        ticked for it (those this machine can run) and the quick overrides."""
        if self.controller.is_running():
            return False
        edited = self.editor.path
        if self.editor.is_modified() and edited in {c.path for c in self.runnable_configs()}:
            # Run all would run that file as it is on disk: the same question as for Run.
            return self._run_edited(
                edited, self._run_all_with_edit, self._run_all_now, self.run_all
            )
        return self._run_all_now()

    def _run_all_with_edit(self, config: Config, path: str) -> bool:
        # the saved edit is reloaded in a worker; Run all starts now with the edit it validated
        self._configs[path] = LoadedConfig(path, config, None)
        return self._run_all_now()

    def _run_all_now(self) -> bool:
        self._queue = [c.path for c in self.runnable_configs()]
        started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.batch = RunAllBatch(len(self._queue), time.monotonic(), f"run-all {started}")
        if not self._run_next_in_queue():
            self.batch = None
            return False
        return True

    def _run_next_in_queue(self) -> bool:
        while self._queue:
            loaded = self._configs.get(self._queue.pop(0))
            if loaded is None or loaded.config is None:
                continue
            batch = self.batch
            available = [fw for fw in self.frameworks_for(loaded) if self._can_run(fw)]
            if not available:
                if batch is not None:
                    batch.skip(loaded.name, "no ticked framework can run here")
                continue
            try:
                config = self.run_overrides(loaded.config, available)
            except ValueError as exc:
                if batch is not None:
                    batch.skip(loaded.name, str(exc).splitlines()[0])
                continue
            self.select_config(loaded.path)
            if not self.fp16_can_run(config):
                if batch is not None:
                    batch.skip(loaded.name, "fp16 without a GPU: not run")
                continue
            if batch is not None:
                batch.start(loaded.name)
            return self.run_config(config, loaded.path)
        return False

    def fp16_can_run(self, config: Config) -> bool:
        """False when the user declines to run fp16 with ``device: auto`` on frameworks whose
        probe found only the CPU (each run would fail after its imports); True otherwise."""
        if config.train.precision != "fp16" or config.device != "auto":
            return True
        cpu_only = [
            fw
            for fw in config.frameworks
            if (self.framework_probe.get(fw) or {}).get("devices") == ["cpu"]
        ]
        if not cpu_only:
            return True
        names = ", ".join(label_of(fw) for fw in cpu_only)
        question = (
            f"{config.name} trains in fp16 with device: auto, but {names} found only the CPU "
            "here, and fp16 needs a CUDA GPU: those runs will fail after their imports. "
            "Run anyway? (Or set precision: bf16 or fp32, or the device override.)"
        )
        return self._confirm("fp16 without a GPU", question)

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
        options = self.settings.run_options()
        if self.batch is not None:
            options = replace(options, batch=self.batch.run_options())
        self.controller.start(config, config_path, self.store_path(), options)
        self.tabs.setCurrentWidget(self.dashboard)
        self._set_status(f"Starting {config.name}…{self._batch_progress()}")
        self._refresh_controls()
        return True

    def _batch_progress(self) -> str:
        """`` — config 3 of 5 of Run all`` while Run all goes on, else nothing."""
        batch = self.batch
        if batch is None or not batch.names:
            return ""
        return f" — config {len(batch.names)} of {batch.total} of Run all"

    def stop_run(self) -> None:
        """Stop the running session and the queue (returns at once; the session ends soon)."""
        if self._queue and self.batch is not None:
            for path in self._queue:
                loaded = self._configs.get(path)
                self.batch.skip(loaded.name if loaded else Path(path).name, "stopped")
        self._queue = []
        if self.controller.is_running():
            self.controller.stop()
            self.stop_button.setEnabled(False)
            self._set_status(f"Stopping {self._session_name}…")

    def _set_idle_status(self) -> None:
        """Say what the window shows now (after a message that no longer holds)."""
        if self.controller.is_running():
            return
        if self._shown_session_id is not None:
            self._set_status(f"Showing session {self._shown_session_id}: {self._session_name}")
        else:
            self._configs_listed()

    def _show_data(self, data: SessionData) -> None:
        self.dashboard.set_session(data)
        self.summary.set_data(data)

    # -- controller signals ---------------------------------------------------------------

    def _on_planned(self, runs: list[RunInfo]) -> None:
        self.dashboard.add_runs(runs)
        self.runs_table.runs.set_runs(runs)
        self.log_pane.reset(runs)
        self.summary.set_summary(None)
        self.summary_feed.follow()

    def show_summary(self, summary: SessionSummary | None) -> None:
        """Show the summary model's figures in the Summary and the Runs table."""
        self.summary.set_summary(summary)
        self.runs_table.runs.set_summary(summary)

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
            f"(run {run.seq + 1} of {total}){self._batch_progress()}"
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
            self.summary_feed.load(session_id)
        else:
            self.summary_feed.clear()
        self.dashboard.set_live(False)
        self._set_status(text)
        self.notifier().session_ended(elapsed, "FrameDuel: session ended", text)
        if self.history_loaded:
            self.history.refresh()
        batch = self.batch
        if batch is not None:
            batch.finish(status, session_id)
        if self._close_when_finished:
            self.close()
            return
        going_on = status != "stopped" and bool(self._queue) and self._run_next_in_queue()
        if batch is not None and not going_on:
            self.batch = None
            summary = batch.summary(time.monotonic())
            self._set_status(summary)
            self.banner.show_message(
                summary, "error" if batch.failed() else "info", batch.details()
            )
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
        self.summary_feed.clear()
        self.show_summary(view.summary)
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
            compare_runs(data, ids, self.summary.summary),
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
