"""Live run control: Run (the selected config), Run all (the whole list, one config after
another), Stop, and what the adapter's signals mean for the dashboard, the runs table, the log,
the summary and the status bar while a session runs.

``RunController`` owns the queue of Run all, the batch it records, the running session's name
and start time; stored sessions (reopen, compare, export) are ``SessionsController``'s.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from gui.adapter import SessionController
from gui.config_control import ConfigController
from gui.framework_probe import FrameworkProbe
from gui.models.batch import RunAllBatch
from gui.models.live import Batch
from gui.models.rundata import SessionData
from gui.notify import SessionNotifier
from gui.side_panel import LoadedConfig, describe_config
from gui.window_views import WindowServices, WindowViews
from profiler.colors import label_of
from profiler.config import Config, ConfigError
from profiler.repeats import Certainty, StopRecord
from profiler.session import RunInfo, RunOutcome


class RunController(QObject):
    """Starts and stops sessions through the adapter (``session``) and shows them live.

    ``configs`` says what is listed, ticked and runnable, ``probe`` what each framework found
    here; ``liveStarted(name)`` and
    ``liveEnded(session_id)`` tell the rest of the window which session the dashboard shows.
    """

    liveStarted = Signal(str)  # the config's name: the dashboard now shows a live session
    liveEnded = Signal(int)  # its session id (-1 when none was stored)
    controlsChanged = Signal()  # running or not, Run all going on: refresh the buttons

    def __init__(
        self,
        views: WindowViews,
        services: WindowServices,
        session: SessionController,
        configs: ConfigController,
        probe: FrameworkProbe,
        *,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._views = views
        self._services = services
        self._settings = services.settings
        self._session = session
        self._configs = configs
        self._probe = probe
        self._queue: list[str] = []
        self.batch: RunAllBatch | None = None  # the Run all going on
        self._started_at = 0.0
        self._session_name = ""
        self._close_when_finished = False
        self._retry_after_check: Callable[[], object] = lambda: None
        self._notifier: SessionNotifier | None = None
        self._part = ""  # " — 2 workers (2 of 2)" while a scaling run goes on
        views.side.run_button.clicked.connect(self.start_run)
        views.side.stop_button.clicked.connect(self.stop_run)
        views.side.run_all_button.clicked.connect(self.run_all)
        session.scalingPart.connect(self._on_scaling_part)
        session.runsPlanned.connect(self._on_planned)
        session.runStarted.connect(self._on_started)
        session.batch.connect(self._on_batch)
        session.runFinished.connect(self._on_finished)
        session.runsAdded.connect(self._on_runs_added)
        session.certaintyChanged.connect(self._on_certainty)
        session.repeatsEnded.connect(self._on_repeats_ended)
        session.sessionFinished.connect(self._on_session_finished)
        session.failed.connect(self._on_failed)

    def is_running(self) -> bool:
        """True while a session runs (until the adapter's ``sessionFinished``)."""
        return self._session.is_running()

    def session_name(self) -> str:
        """The name of the config running (or that ran last)."""
        return self._session_name

    def closing(self) -> bool:
        """True once the window is to close when the running session has ended."""
        return self._close_when_finished

    def stop_then_close(self) -> None:
        """Stop the running session and close the window once it has ended."""
        self._close_when_finished = True
        self.stop_run()

    def run_alone(self, config: Config, config_path: str | None) -> bool:
        """Run ``config`` on its own (not as part of Run all): a stored session re-run."""
        self._queue = []
        return self.run_config(config, config_path)

    def clear_queue(self) -> None:
        """Forget the configs Run all has still to run."""
        self._queue = []

    # -- running --------------------------------------------------------------------------

    def start_run(self) -> bool:
        """Run the selected config with the ticked frameworks; False when that cannot be done."""
        loaded = self._configs.current_config()
        frameworks = self._configs.checked_frameworks()
        if loaded is None or loaded.config is None or not frameworks:
            return False
        if self._session.is_running():
            return False
        if self._views.editor.path == loaded.path and self._views.editor.is_modified():
            return self._run_edited(
                loaded.path,
                self._run_with_ticks,
                lambda: self._run_loaded(loaded.path),
                self.start_run,
            )
        return self._run_with_ticks(loaded.config, loaded.path)

    def _run_with_ticks(self, config: Config, path: str) -> bool:
        try:
            config = self.run_overrides(config, self._configs.checked_frameworks())
        except ValueError as exc:
            self._views.banner.show_message(f"Cannot run {config.name}: {exc}")
            return False
        self._queue = []
        self.batch = None
        if not self.fp16_can_run(config):
            self._views.set_status(f"Not run: {config.name} needs a GPU for fp16")
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
        result = self._views.editor.current_result()
        if result is None:
            self._retry_after_check = retry
            self._views.editor.validated.connect(self._run_when_validated)
            self._views.editor.validate_now()
            self._views.set_status("Checking the edited config before running it…")
            return False
        name = Path(path).name
        if result.config is None:
            error = result.error
            where = f" (line {error.line})" if error is not None and error.line else ""
            self._views.banner.show_message(
                f"Not run: the editor's unsaved changes to {name} are not valid{where}. "
                "Fix them or press Revert, then run again.",
                "error",
                str(error) if error is not None else None,
            )
            self._views.tabs.setCurrentWidget(self._views.editor)
            return False
        answer = self._services.choose(
            "Save changes and run?",
            f"The config editor has unsaved changes to {name}. Run the edited config (saving "
            "it first) or the file as it is on disk?",
            [("save", "Save and run"), ("disk", "Run the file on disk"), ("cancel", "Cancel")],
        )
        if answer == "save":
            edited = result.config
            self._views.editor.save(after=lambda saved: run_edit(edited, saved))
            return True
        return answer == "disk" and run_disk()

    def _run_when_validated(self, _result: object) -> None:
        self._views.editor.validated.disconnect(self._run_when_validated)
        self._retry_after_check()

    def _run_loaded(self, path: str) -> bool:
        loaded = self._configs.config(path)
        return (
            loaded is not None
            and loaded.config is not None
            and self._run_with_ticks(loaded.config, path)
        )

    def run_overrides(self, config: Config, frameworks: list[str]) -> Config:
        """``config`` as it will run: with ``frameworks`` and the side panel's quick overrides,
        through the engine's one override path (raises ValueError when that is invalid)."""
        return config.with_overrides(frameworks=frameworks, **self._views.side.quick_overrides())

    def run_all(self) -> bool:
        """Run every valid config of the list, one after another, each with the frameworks
        ticked for it (those this machine can run) and the quick overrides."""
        if self._session.is_running():
            return False
        edited = self._views.editor.path
        if self._views.editor.is_modified() and edited in {
            c.path for c in self._configs.runnable_configs()
        }:
            # Run all would run that file as it is on disk: the same question as for Run.
            return self._run_edited(
                edited, self._run_all_with_edit, self._run_all_now, self.run_all
            )
        return self._run_all_now()

    def _run_all_with_edit(self, config: Config, path: str) -> bool:
        # the saved edit is reloaded in a worker; Run all starts now with the edit it validated
        self._configs.replace_config(LoadedConfig(path, config, None))
        return self._run_all_now()

    def _run_all_now(self) -> bool:
        self._queue = [c.path for c in self._configs.runnable_configs()]
        started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.batch = RunAllBatch(len(self._queue), time.monotonic(), f"run-all {started}")
        if not self._run_next_in_queue():
            self.batch = None
            return False
        return True

    def _run_next_in_queue(self) -> bool:
        while self._queue:
            loaded = self._configs.config(self._queue.pop(0))
            if loaded is None or loaded.config is None:
                continue
            batch = self.batch
            available = [
                fw for fw in self._configs.frameworks_for(loaded) if self._configs.can_run(fw)
            ]
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
            self._configs.select_config(loaded.path)
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
        cpu_only = [fw for fw in config.frameworks if self._probe.devices(fw) == ["cpu"]]
        if not cpu_only:
            return True
        names = ", ".join(label_of(fw) for fw in cpu_only)
        question = (
            f"{config.name} trains in fp16 with device: auto, but {names} found only the CPU "
            "here, and fp16 needs a CUDA GPU: those runs will fail after their imports. "
            "Run anyway? (Or set precision: bf16 or fp32, or the device override.)"
        )
        return self._services.confirm("fp16 without a GPU", question)

    def run_config(self, config: Config, config_path: str | None) -> bool:
        """Start a session for an already validated config (used by scripts too)."""
        if self._session.is_running():
            return False
        try:
            config = self._settings.apply_overrides(config)
        except ConfigError as exc:  # a setting this config refuses (a stale interpreter path)
            self._views.banner.show_message(
                f"Settings: {exc.field}: {exc.message}", "error", str(exc)
            )
            return False
        self._views.banner.hide()
        self._views.show_data(SessionData())
        self._views.dashboard.set_live(True)
        self._views.runs_table.runs.set_runs([])
        self._views.log_pane.reset([])
        self._views.certainty_label.setText("")
        self._session_name = config.name
        self._part = ""
        self.liveStarted.emit(config.name)
        self._views.side.summary.setText(describe_config(config))
        self._started_at = time.monotonic()
        options = self._settings.run_options()
        if self.batch is not None:
            options = replace(options, batch=self.batch.run_options())
        self._session.start(config, config_path, self._services.store_path(), options)
        self._views.tabs.setCurrentWidget(self._views.dashboard)
        self._views.set_status(f"Starting {config.name}…{self._batch_progress()}")
        self.controlsChanged.emit()
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
                loaded = self._configs.config(path)
                self.batch.skip(loaded.name if loaded else Path(path).name, "stopped")
        self._queue = []
        if self._session.is_running():
            self._session.stop()
            self._views.side.stop_button.setEnabled(False)
            self._views.set_status(f"Stopping {self._session_name}…")

    # -- controller signals ---------------------------------------------------------------

    def _on_scaling_part(self, index: int, total: int, workers: int) -> None:
        """A scaling run's next worker count: the dashboard, table and log start afresh."""
        self._part = f" — {workers} worker{'s' if workers != 1 else ''} ({index + 1} of {total})"
        if index > 0:
            self._views.show_data(SessionData())
            self._views.dashboard.set_live(True)
        self._views.set_status(f"Starting {self._session_name}{self._part}…")

    def _on_planned(self, runs: list[RunInfo]) -> None:
        self._views.dashboard.add_runs(runs)
        self._views.runs_table.runs.set_runs(runs)
        self._views.log_pane.reset(runs)
        self._views.summary.set_summary(None)
        self._services.summary_feed.follow()

    def _on_runs_added(self, runs: list[RunInfo]) -> None:
        """Another round of auto repeats: its runs join the dashboard, table and log."""
        self._views.dashboard.add_runs(runs)
        self._views.runs_table.runs.add_runs(runs)
        self._views.log_pane.add_runs(runs)

    def _on_certainty(self, certainty: Certainty) -> None:
        self._views.certainty_label.setText(
            certainty.describe()[0].upper() + certainty.describe()[1:]
        )
        self._views.certainty_label.setToolTip(
            "The widest 95% interval of the speed ratios so far (the run is the unit), and the "
            "target (run.target_ci). Auto repeats stop when every ratio is within the target, "
            "with at least 3 runs per framework, or at run.max_repeats / run.budget_s."
        )

    def _on_repeats_ended(self, record: StopRecord) -> None:
        if record.mode == "auto":
            self._views.certainty_label.setText(record.describe())

    def _on_started(self, run: RunInfo) -> None:
        self._views.runs_table.runs.run_started(run)
        self._views.runs_table.select_run(run.run_id)  # the log pane follows the running run
        total = len(self._views.dashboard.data.runs)
        self._views.set_status(
            f"Running {self._session_name}{self._part}: {label_of(run.framework)} "
            f"(run {run.seq + 1} of {total}){self._batch_progress()}"
        )

    def _on_batch(self, batch: Batch) -> None:
        self._views.dashboard.add_points(batch)
        self._views.runs_table.runs.add_batch(batch)
        for run_id, lines in batch.logs.items():
            self._views.log_pane.append(run_id, lines)
        self._views.summary.schedule()

    def _on_finished(self, outcome: RunOutcome) -> None:
        self._views.runs_table.runs.run_finished(outcome)
        run = self._views.dashboard.data.runs.get(outcome.run_id)
        if run is not None:
            run.status = outcome.status
            run.close_phases(run.last_t)
            self._views.dashboard.data_changed({outcome.run_id})
        if outcome.status in ("failed", "timeout", "lost") and outcome.error:
            name = self._views.log_pane.run_name(outcome.run_id)
            tail = "\n".join(self._views.log_pane.lines(outcome.run_id)[-60:])
            self._views.banner.show_message(
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
            self._services.summary_feed.load(session_id)
        else:
            self._services.summary_feed.clear()
        self.liveEnded.emit(session_id)
        self._views.dashboard.set_live(False)
        self._views.set_status(text)
        self.notifier().session_ended(elapsed, "FrameDuel: session ended", text)
        batch = self.batch
        if batch is not None:
            batch.finish(status, session_id)
        if self._close_when_finished:
            self._views.window.close()
            return
        going_on = status != "stopped" and bool(self._queue) and self._run_next_in_queue()
        if batch is not None and not going_on:
            self.batch = None
            summary = batch.summary(time.monotonic())
            self._views.set_status(summary)
            self._views.banner.show_message(
                summary, "error" if batch.failed() else "info", batch.details()
            )
        self.controlsChanged.emit()

    def notifier(self) -> SessionNotifier:
        """Notifies of long sessions' ends (made when first needed)."""
        if self._notifier is None:
            self._notifier = SessionNotifier(self._views.window)
        return self._notifier

    def _on_failed(self, message: str) -> None:
        self._views.banner.show_message(f"The session could not run: {message}", "error")
