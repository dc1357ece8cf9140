"""Runs a comparison: one child per framework (and repeat), one after another, all recorded.

The session reports to a listener (the CLI's progress bars, the GUI's Qt adapter) from its own
threads; listeners must be quick and thread-safe. Everything also goes to the store as it arrives.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from profiler.config import Config
from profiler.cpus import session_cpus
from profiler.describe import architecture, param_mismatch
from profiler.distributed_run import DistributedRun
from profiler.environment import machine_environment
from profiler.events import (
    GARBAGE,
    WARNING,
    Done,
    ErrorInfo,
    Garbage,
    ModelInfo,
    QualityWarning,
    Window,
    payload_of,
)
from profiler.launcher import WORKER_MODULE, ChildProcess, describe_exit
from profiler.listener import NullListener, RunInfo, RunOutcome, SessionListener
from profiler.multinode import MultiNodeRun, check_addresses
from profiler.nvml import GpuMonitor, device_index
from profiler.paths import cache_dir_for
from profiler.protocol import PROTOCOL_VERSION, Event
from profiler.quality import QualityTracker
from profiler.remote import RemoteChild, check_hosts, start_remote
from profiler.repeats import (
    PLANNED,
    STOPPED,
    Certainty,
    StopRecord,
    certainty,
    round_order,
    steady_step_times_ms,
    stop_reason,
    verdict_confidence,
)
from profiler.sampler import CoreMeter, ProcessTreeSampler, Sample, SamplerThread
from profiler.session_guard import GuardedListener
from profiler.ssh import extra_ssh_args
from profiler.status import (
    FAILED,
    INTERRUPTED,
    LOST,
    NOT_RUN,
    OK,
    RUNNING,
    TIMEOUT,
    session_status,
)
from profiler.store import Store, StoredEvent
from profiler.trace.capture import SessionTraces

__all__ = [
    "ComparisonSession",
    "NullListener",
    "RunInfo",
    "RunOptions",
    "RunOutcome",
    "SessionListener",
    "device_index",
    "store_for",
]


@dataclass(frozen=True)
class RunOptions:
    """How runs are launched, beyond the config. What the config says (interpreters per
    framework, the cooldown, the sample rate) is set on the config itself, through its one
    override path (``profiler.config.apply_overrides``), never here.

    ``sampling`` False turns the sampler off
    (for the overhead benchmark); ``worker_module`` is the child's entry module; ``batch``
    (e.g. ``{"id": "...", "index": 3, "total": 5}``) marks a session started as part of a batch
    (the app's Run all), stored with the session's environment as ``run_all`` so the sessions of
    one batch can be found together.
    """

    sampling: bool = True
    worker_module: str = WORKER_MODULE
    batch: Mapping[str, Any] = field(default_factory=dict)
    # a data-parallel session (profiler.scaling_session): {"workers": N, "scaling", "group"}
    distributed: Mapping[str, Any] = field(default_factory=dict)
    # extra arguments for every ssh command of a run on run.hosts (e.g. "-F", "ssh_config")
    ssh_args: tuple[str, ...] = ()


class ComparisonSession:
    """One comparison of a config across frameworks, stored in ``store``."""

    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        config_path: str | None = None,
        listener: SessionListener | None = None,
        gpu: GpuMonitor | None = None,
        options: RunOptions | None = None,
    ) -> None:
        self.config = config
        base = options or RunOptions()
        if config.run.distributed is not None and not base.distributed:
            # one process per framework would silently measure something else
            raise ValueError(
                "run.distributed: a data-parallel scaling run is one session per worker count; "
                "run it with `frameduel run`, the app, or profiler.scaling_session"
            )
        self.options = base
        self.store = store
        self.config_path = config_path
        self.listener = listener or NullListener()
        self._gpu = gpu
        self._stop = threading.Event()
        self._stop_why = "stopped by the user"
        self._current: ChildProcess | DistributedRun | RemoteChild | MultiNodeRun | None = None
        self._lock = threading.Lock()
        self.session_id: int | None = None
        self.t0 = time.monotonic()
        self.runs: list[RunInfo] = []
        # what every run's framework should report building (None for a custom model)
        self.expected_params = (
            None if config.model.family == "script" else architecture(config).param_count()
        )
        # Each finished run's steady-state step times (ms), for the verdict's certainty.
        self._steady: dict[str, list[Any]] = {fw: [] for fw in config.frameworks}
        self.stop_record: StopRecord | None = None
        # the config local runs get (CPUs chosen once; see _local_config)
        self._local: Config | None = None
        # Each run's final outcome once it has one, and the run whose child is live; from them
        # every planned run gets a true final status whatever ends the loop.
        self._outcomes: dict[int, RunOutcome] = {}
        self._running: RunInfo | None = None
        # The session's final status, derived once (profiler.status.session_status) when run()
        # ends; None until then.
        self.status: str | None = None
        # the trace phase's runs and their breakdowns (made by prepare)
        self.traces = SessionTraces(store.path, 0, steps=None)

    @property
    def listener(self) -> SessionListener:
        """Who hears about the session; a listener that raises (a closed terminal) is cut off
        and never stops the runs or their bookkeeping."""
        return self._listener

    @listener.setter
    def listener(self, listener: SessionListener) -> None:
        self._listener: GuardedListener = GuardedListener(listener)

    @property
    def listener_error(self) -> BaseException | None:
        """What the listener raised, if it was cut off."""
        return self._listener.error

    @property
    def auto(self) -> bool:
        """Whether repeats stop when certain (``run.repeats: auto`` with two or more
        frameworks); one framework has no ratio to be certain of and runs once."""
        return self.config.run.repeats == "auto" and len(self.config.frameworks) > 1

    def _planned_rounds(self) -> int:
        repeats = self.config.run.repeats
        return 1 if repeats == "auto" else repeats

    def prepare(self) -> list[RunInfo]:
        """Check the store, record the session and plan its runs: rounds of one run per
        framework, the order reversed every other round (A B, B A, ...). With auto repeats only
        the first round is planned; later rounds are added while the session runs."""
        self.store.check_writable()
        # before anything is recorded: the rendezvous addresses (local, cheap), then the hosts
        addresses = check_addresses(self.config, self._ssh_args(), self.config_path)
        hosts = check_hosts(self.config, self._ssh_args(), self.config_path)
        if self._gpu is None:
            self._gpu = GpuMonitor(device_index(self.config.device))
        # the event protocol this FrameDuel speaks; each run's info says what its child sent
        env = {**machine_environment(self._gpu), "protocol_version": PROTOCOL_VERSION}
        if self.options.batch:
            env = {**env, "run_all": dict(self.options.batch)}
        if self.options.distributed:
            env = {**env, "distributed": dict(self.options.distributed)}
        if hosts:
            env = {**env, "hosts": hosts}
        if addresses:  # where the hosts of a multi-node job meet, and from where
            env = {**env, "addresses": addresses}
        self.t0 = time.monotonic()
        self.session_id = self.store.create_session(
            self.config.name, self.config.model_dump(mode="json"), self.config_path, env
        )
        trace = self.config.run.trace
        self.traces = SessionTraces(
            self.store.path,
            self.session_id,
            steps=trace.steps if trace is not None else None,
            max_mib=trace.max_mib if trace is not None else 0.0,
        )
        for repeat in range(self._planned_rounds()):
            self._plan_round(repeat)
        return list(self.runs)

    def _plan_round(self, repeat: int) -> list[RunInfo]:
        assert self.session_id is not None
        added = []
        for fw in round_order(self.config.frameworks, repeat):
            seq = len(self.runs)
            run_id = self.store.create_run(self.session_id, seq, fw, repeat)
            info = RunInfo(run_id, fw, repeat, seq, self.config.train.steps)
            self.runs.append(info)
            added.append(info)
        return added

    def run(self) -> list[RunOutcome]:
        """Run the planned runs round by round (adding rounds while auto repeats are not yet
        certain); returns their outcomes. Blocks until done or stopped."""
        if self.session_id is None:
            self.prepare()
        assert self.session_id is not None
        outcomes: list[RunOutcome] = []
        reason = PLANNED
        current: Certainty | None = None
        failure: BaseException | None = None
        try:
            repeat = 0
            while repeat < len(self.runs) // len(self.config.frameworks):
                round_runs = [r for r in self.runs if r.repeat == repeat]
                for info in round_runs:
                    outcomes.append(self._run_or_skip(info, first=not outcomes))
                repeat += 1
                if self._stop.is_set():
                    # fixed rounds go on, so every planned run is marked as not run
                    reason = STOPPED
                    if self.auto:
                        break
                    continue
                current = self._update_certainty()
                if not self.auto:
                    continue
                ended = self._next_round(repeat, outcomes, current)
                if ended is not None:
                    reason = ended
                    break
                self.listener.runs_added(self._plan_round(repeat))
        except BaseException as exc:
            failure = exc
            raise
        finally:
            if self._gpu is not None:
                self._gpu.close()
            if not self.store.failed.is_set():
                self._settle(failure)
                self._record_stop(reason if not self._stop.is_set() else STOPPED, current)
                self.status = session_status(
                    (self._outcomes[r.run_id].status for r in self.runs),
                    stopped=self._stop.is_set(),
                )
                self.store.finish_session(self.session_id, self.status)
        return outcomes

    def _settle(self, failure: BaseException | None) -> None:
        """Give every planned run without an outcome a true final one: the run the loop was in
        when ``failure`` ended it failed (interrupted for Ctrl+C or an exit), runs never started
        were not run. Stored, and told to the listener."""
        for info in self.runs:
            if info.run_id in self._outcomes:
                continue
            if self._running is not None and info.run_id == self._running.run_id:
                if isinstance(failure, KeyboardInterrupt | SystemExit):
                    status = INTERRUPTED
                    error = f"FrameDuel was interrupted ({type(failure).__name__})"
                else:
                    what = f"{type(failure).__name__}: {failure}" if failure else "unknown"
                    status, error = FAILED, f"FrameDuel's run loop failed: {what}"
            else:
                status = NOT_RUN
                error = self._stop_why if self._stop.is_set() else "the session ended before it"
                if failure is not None and not self._stop.is_set():
                    error = f"the session ended early ({type(failure).__name__}: {failure})"
            self._finish(info, RunOutcome(info.run_id, info.framework, status, error, None))

    def _finish(self, info: RunInfo, outcome: RunOutcome) -> RunOutcome:
        """Store and tell the final outcome of a run that _run_one did not finish itself."""
        fields: dict[str, Any] = {"status": outcome.status, "error": outcome.error}
        if self._running is not None and self._running.run_id == info.run_id:
            fields["ended_t"] = self._rel(time.monotonic())
            self._running = None
        self.store.update_run(info.run_id, **fields)
        self._outcomes[info.run_id] = outcome
        self.listener.run_finished(outcome)
        return outcome

    def _run_or_skip(self, info: RunInfo, *, first: bool) -> RunOutcome:
        cooldown_s = self.config.run.cooldown_s
        if not first and cooldown_s > 0:
            self._stop.wait(cooldown_s)
        if self._stop.is_set():
            outcome = RunOutcome(info.run_id, info.framework, NOT_RUN, self._stop_why, None)
            return self._finish(info, outcome)
        self._running = info
        outcome = self._run_one(info)
        self._outcomes[info.run_id] = outcome
        self._running = None
        self.listener.run_finished(outcome)
        return outcome

    def _local_config(self) -> Config:
        """The config a local single-process run gets: under ``run.affinity: auto``, the CPUs
        chosen once for the whole session (``profiler.cpus.session_cpus``), so every framework
        and repeat is pinned to the same ones."""
        if self._local is None:
            cpus = session_cpus(self.config.run.affinity, self.config.threads)
            run = self.config.run.model_copy(update={"affinity": cpus})
            self._local = (
                self.config if cpus is None else self.config.model_copy(update={"run": run})
            )
        return self._local

    def _update_certainty(self) -> Certainty | None:
        """The verdict's certainty after a round, told to the listener (None: nothing to
        compare, a single framework)."""
        if len(self.config.frameworks) < 2:
            return None
        found = certainty(
            self.config.frameworks,
            self._steady,
            self.config.run.target_ci,
            confidence=verdict_confidence("auto" if self.auto else "fixed"),
        )
        if self.auto or self._planned_rounds() > 1:  # a single pass has nothing to converge
            self.listener.certainty_changed(found)
        return found

    def _next_round(
        self, done: int, outcomes: list[RunOutcome], current: Certainty | None
    ) -> str | None:
        """Why auto repeats end after ``done`` rounds, or None to run another round."""
        if self._stop.is_set():  # stopped while the certainty was being told
            return STOPPED
        return stop_reason(
            rounds_done=done,
            failed=any(o.status != "ok" for o in outcomes),
            certainty=current,
            max_repeats=self.config.run.max_repeats,
            budget_s=self.config.run.budget_s,
            elapsed_s=time.monotonic() - self.t0,
        )

    def _record_stop(self, reason: str, current: Certainty | None) -> None:
        assert self.session_id is not None
        run = self.config.run
        ok: dict[str, int] = {fw: len(self._steady[fw]) for fw in self.config.frameworks}
        self.stop_record = StopRecord(
            mode="auto" if self.auto else "fixed",
            reason=reason,
            rounds=len({r.repeat for r in self.runs}),
            runs_per_side=ok,
            target_ci=run.target_ci,
            max_repeats=run.max_repeats if self.auto else None,
            budget_s=run.budget_s if self.auto else None,
            elapsed_s=time.monotonic() - self.t0,
            certainty=current,
        )
        self.store.set_session_repeats(self.session_id, self.stop_record.to_json())

    def stop(self, why: str = "stopped by the user") -> None:
        """Stop the session: kill the running child's whole tree and skip the rest; ``why``
        becomes the error of the runs it ends (a signal's name, say)."""
        if not self._stop.is_set():
            self._stop_why = why
        self._stop.set()
        with self._lock:
            if self._current is not None:
                self._current.kill_tree()

    def _ssh_args(self) -> tuple[str, ...]:
        return (*extra_ssh_args(), *self.options.ssh_args)

    def _rel(self, t: float) -> float:
        return t - self.t0

    def _run_one(self, info: RunInfo) -> RunOutcome:
        run_id = info.run_id
        state: dict[str, Any] = {
            "done": False,
            "error": None,
            "warnings": [],
            "events": 0,
            "measured": 0,
        }
        store, listener = self.store, self.listener

        # what the verdict's certainty needs of this run: its windows, and the CPU samples that
        # tell which windows other processes disturbed
        windows: list[StoredEvent] = []
        seen: list[tuple[float, float, tuple[float, ...]]] = []

        def on_event(event: Event) -> None:
            t = self._rel(event.t)
            state["events"] += 1
            data = event.data
            if isinstance(data, Window):
                windows.append(StoredEvent(t, event.kind, dict(event.payload)))
                if data.measured:
                    state["measured"] += 1
            elif isinstance(data, Done):
                state["done"] = True
            elif isinstance(data, ModelInfo):
                mismatch = param_mismatch(self.expected_params, info.framework, data.params)
                if mismatch is not None:
                    state["warnings"].append(mismatch)
            elif isinstance(data, ErrorInfo):
                state["error"] = data
            if "protocol_version" not in state:
                state["protocol_version"] = event.v
            self.traces.event(run_id, data)
            store.add_event(run_id, t, event.kind, event.payload)
            listener.run_event(run_id, t, event)

        def on_garbage(reason: str) -> None:
            t = self._rel(time.monotonic())
            store.add_event(run_id, t, GARBAGE, payload_of(Garbage(reason)))
            line = f"[frameduel] ignored a bad line on the event pipe: {reason}"
            store.add_log(run_id, t, line)
            listener.run_log(run_id, t, line)

        def on_log(line: str) -> None:
            t = self._rel(time.monotonic())
            store.add_log(run_id, t, line)
            listener.run_log(run_id, t, line)

        quality = QualityTracker(self.config.run.sample_hz)
        peak = {"rss_mib": 0.0}

        def on_sample(sample: Sample) -> None:
            t = self._rel(sample.t)
            quality.add(sample)
            peak["rss_mib"] = max(peak["rss_mib"], sample.rss_mib)
            store.add_sample(run_id, sample.columns(t), sample.cpu_per_core)
            seen.append((t, sample.cpu_percent, sample.cpu_per_core))
            listener.run_sample(run_id, t, sample)

        cache = cache_dir_for(self.store.path)
        cache.mkdir(parents=True, exist_ok=True)
        train = self.config.train
        started = time.monotonic()
        cores = CoreMeter()  # the first sample's machine CPU then covers the run's start
        with self._lock:
            if self._stop.is_set():
                self.store.update_run(run_id, status=NOT_RUN, error=self._stop_why)
                return RunOutcome(run_id, info.framework, NOT_RUN, self._stop_why, None)
            cold = None
            if train.compile and train.compile_cache == "cold":
                # Each run compiles from scratch, as TensorFlow's XLA always does: a fresh cache.
                cold = Path(tempfile.mkdtemp(prefix=f"compile-run{run_id}-", dir=cache))
            python = {str(k): v for k, v in self.config.run.python.items()}.get(info.framework)
            try:
                child: ChildProcess | DistributedRun | RemoteChild | MultiNodeRun
                # what every kind of run reports through; then what a remote or a local one needs
                io: dict[str, Any] = {
                    "cache_dir": cache,
                    "on_event": on_event,
                    "on_garbage": on_garbage,
                    "on_log": on_log,
                }
                dist = self.options.distributed
                workers = int(dist["workers"]) if dist else None
                if self.config.run.hosts:
                    io |= {
                        "on_sample": on_sample if self.options.sampling else None,
                        "ssh_args": self._ssh_args(),
                    }
                else:
                    io |= {
                        "python": python,
                        "worker_module": self.options.worker_module,
                        "cold_compile_dir": cold,
                    }
                if self.config.run.hosts and workers is not None:
                    child = MultiNodeRun(info.framework, self.config, workers, **io)
                elif self.config.run.hosts:
                    child = start_remote(info.framework, self.config, **io)
                elif workers is not None:
                    child = DistributedRun(info.framework, self.config, workers, **io)
                else:
                    trace_dir = self.traces.plan(run_id, info.framework, info.repeat)
                    child = ChildProcess(
                        info.framework, self._local_config(), trace_dir=trace_dir, **io
                    )
            except Exception as exc:
                # E2BIG, a missing interpreter, a full disk for the spec file: the run failed,
                # and says why, rather than staying pending.
                if cold is not None:
                    shutil.rmtree(cold, ignore_errors=True)
                return self._launch_failed(info, started, exc)
            except BaseException:
                if cold is not None:
                    shutil.rmtree(cold, ignore_errors=True)
                raise
            self._current = child
        tree = (
            child.tree_sampler()
            if isinstance(child, DistributedRun)
            else ProcessTreeSampler(child.pid, started=started)
        )
        sampler = SamplerThread(tree, on_sample, self.config.run.sample_hz, self._gpu, cores)
        try:
            store.update_run(run_id, status=RUNNING, started_t=self._rel(started))
            listener.run_started(info)
            if self.options.sampling and not self.config.run.hosts:  # the host's agent samples
                sampler.start()
            code, timed_out = self._wait(child)
        finally:
            sampler.stop()
            # Grandchildren may outlive a child that exited normally: never leave them behind.
            child.close()
            with self._lock:
                self._current = None
            if cold is not None:
                shutil.rmtree(cold, ignore_errors=True)
        if self.store.failed.is_set():
            self.store.flush()  # raises StoreError naming what went wrong
        status, error = self._verdict(code, timed_out, state, peak["rss_mib"])
        lost = getattr(child, "lost", None)
        if lost is not None and status not in (STOPPED, TIMEOUT):
            status, error = LOST, lost
        warnings = state["warnings"] + quality.warnings() + self.traces.finish_run(run_id)
        for text in warnings:
            store.add_event(
                run_id, self._rel(time.monotonic()), WARNING, payload_of(QualityWarning(text))
            )
        store.update_run(
            run_id,
            status=status,
            error=error,
            exit_code=code,
            ended_t=self._rel(time.monotonic()),
            info={
                "pid": child.pid,
                "launch_t": self._rel(started),
                "warnings": warnings,
                "python": child.command[0],
                # the protocol version the child's events came in (None: it sent none)
                "protocol_version": state.get("protocol_version"),
                "environment": child.recorded_environment(),
                **(
                    {"distributed": child.launch.record()}
                    if isinstance(child, DistributedRun | MultiNodeRun)
                    else {}
                ),
                **(
                    {"remote": child.remote_info()}
                    if isinstance(child, RemoteChild | MultiNodeRun)
                    else {}
                ),
            },
        )
        if status == "ok":
            self._steady[info.framework].append(
                steady_step_times_ms(run_id, info.framework, windows, seen)
            )
        return RunOutcome(run_id, info.framework, status, error, code)

    def _launch_failed(self, info: RunInfo, started: float, exc: Exception) -> RunOutcome:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        filename = getattr(exc, "filename", None)
        where = f" ({filename})" if filename else ""
        error = f"could not start the workload: {reason}{where}"
        t = self._rel(time.monotonic())
        self.store.add_log(info.run_id, t, f"[frameduel] {error}")
        self.store.update_run(
            info.run_id, status="failed", error=error, started_t=self._rel(started), ended_t=t
        )
        return RunOutcome(info.run_id, info.framework, "failed", error, None)

    def _wait(
        self, child: ChildProcess | DistributedRun | RemoteChild | MultiNodeRun
    ) -> tuple[int, bool]:
        """Wait for the child: (exit code, timed out). A store that can no longer write (a full
        disk) ends the run at once, since nothing it measures could be kept."""
        timeout = self.config.run.timeout_s
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                return child.wait(timeout=0.25), False
            except subprocess.TimeoutExpired:
                pass
            if self.store.failed.is_set():
                child.kill_tree()
                return child.wait(), False
            if deadline is not None and time.monotonic() >= deadline:
                child.kill_tree()
                return child.wait(), True

    def _verdict(
        self, code: int, timed_out: bool, state: dict[str, Any], peak_rss_mib: float
    ) -> tuple[str, str | None]:
        if self._stop.is_set() and not state["done"]:
            return "stopped", self._stop_why
        if timed_out:
            return (
                "timeout",
                f"timed out after {self.config.run.timeout_s:g} s; the process tree was killed",
            )
        err: ErrorInfo | None = state["error"]
        peak = f"peak RSS seen {peak_rss_mib:,.0f} MiB"
        if err is not None:
            if err.oom:
                return "failed", f"out of memory ({peak}): {err.message}".strip()
            return "failed", f"{err.type}: {err.message}".strip()
        if code == -signal.SIGKILL:
            return "failed", (
                f"the workload was {describe_exit(code)} ({peak}; the kernel's out-of-memory "
                "killer sends SIGKILL when memory runs out)"
            )
        if code != 0:
            return "failed", f"the workload {describe_exit(code)} without reporting an error"
        if not state["done"] and not state["events"] and self.config.run.commands:
            return "ok", None  # a script without markers: measured from outside only
        if not state["done"]:
            return "failed", "the workload exited without finishing (no 'done' event)"
        if not state["measured"]:
            return "failed", "the workload finished without measuring anything (no measured window)"
        return OK, None


def store_for(path: str | Path | None, *, read_only: bool = False) -> Store:
    """Open the store at ``path`` (default: XDG data dir or $FRAMEDUEL_STORE); ``read_only``
    to list or export without writing anything (an archived file, a read-only mount)."""
    from profiler.paths import default_store_path

    return Store(Path(path) if path else default_store_path(), read_only=read_only)
