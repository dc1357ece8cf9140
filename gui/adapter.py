"""The Qt adapter between the engine's ComparisonSession and the widgets.

The session runs in a worker thread and reports from its own threads (event readers, sampler).
The adapter's listener only puts tuples on a ``queue.SimpleQueue``; a 100 ms ``QTimer`` on the
GUI thread drains it and emits one batched signal per tick, so the event loop never waits on a
pipe, the store or NVML, and a 10 Hz sampler costs one signal per tick, not one per sample.

Signal order follows the order things happened: data received before a run finished arrives in
a ``batch`` emitted before that ``runFinished``. ``sessionFinished`` is always the last signal of
a ``start()``, also after ``failed``.
"""

from __future__ import annotations

import math
import queue
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from PySide6.QtCore import QObject, QTimer, Signal

from profiler.config import Config
from profiler.protocol import Event
from profiler.repeats import Certainty
from profiler.sampler import Sample
from profiler.session import ComparisonSession, RunInfo, RunOptions, RunOutcome, store_for

DRAIN_INTERVAL_MS = 100
# A child that floods its stdout must not freeze the GUI: the rest waits for the next tick.
MAX_ITEMS_PER_TICK = 50_000


class SamplePoint(NamedTuple):
    """One process-tree sample; ``t`` in seconds since the session started."""

    t: float
    cpu_percent: float
    rss_mib: float
    threads: int
    gpu_util_percent: float
    gpu_mem_mib: float
    gpu_power_w: float


class SystemSnapshot(NamedTuple):
    """The machine at one sample: CPU % per core, memory used and installed (MiB) and the
    run's GPU (utilisation %, the run's memory MiB, board power W, temperature °C; NaN
    without NVML). ``t`` in seconds since the session started."""

    t: float
    cpu_per_core: tuple[float, ...]
    mem_used_mib: float
    mem_total_mib: float
    gpu_util_percent: float = math.nan
    gpu_mem_mib: float = math.nan
    gpu_power_w: float = math.nan
    gpu_temp_c: float = math.nan


class WindowPoint(NamedTuple):
    """One timing window reported by a child; NaN where the child did not say."""

    t: float
    step: int
    samples_per_s: float
    step_time_ms: float
    loss: float
    phase: str


class PhaseChange(NamedTuple):
    """A child entered (``state='start'``) or left (``'end'``) a phase."""

    run_id: int
    t: float
    name: str
    state: str


@dataclass
class Batch:
    """Everything that arrived during one drain tick, grouped by run id."""

    samples: dict[int, list[SamplePoint]] = field(default_factory=lambda: defaultdict(list))
    windows: dict[int, list[WindowPoint]] = field(default_factory=lambda: defaultdict(list))
    phases: list[PhaseChange] = field(default_factory=list)
    logs: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    # Rare events (hello, model, env, memory, first_step, error, done, unknown kinds).
    events: list[tuple[int, float, Event]] = field(default_factory=list)
    system: SystemSnapshot | None = None  # the machine at the tick's latest sample

    def is_empty(self) -> bool:
        """True when nothing arrived."""
        return not (self.samples or self.windows or self.phases or self.logs or self.events)


def window_point(t: float, event: Event, batch_size: int) -> WindowPoint:
    """Turn a ``window`` event into rates: samples/s and mean step time (ms)."""
    steps = _number(event.get("steps"))
    seconds = _number(event.get("seconds"))
    samples = _number(event.get("samples"))
    if math.isnan(samples) and not math.isnan(steps):
        samples = steps * batch_size
    rate = samples / seconds if seconds > 0 else math.nan
    step_ms = seconds / steps * 1000.0 if steps > 0 else math.nan
    step = event.get("step")
    return WindowPoint(
        t=t,
        step=int(step) if isinstance(step, int | float) else 0,
        samples_per_s=rate,
        step_time_ms=step_ms,
        loss=_number(event.get("loss")),
        phase=str(event.get("phase", "")),
    )


def _number(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return math.nan


class QueueListener:
    """The SessionListener: called from the engine's threads, it only enqueues."""

    def __init__(self, q: queue.SimpleQueue[tuple[Any, ...]]) -> None:
        self._q = q

    def run_started(self, run: RunInfo) -> None:
        self._q.put(("started", run))

    def run_event(self, run_id: int, t: float, event: Event) -> None:
        self._q.put(("event", run_id, t, event))

    def run_sample(self, run_id: int, t: float, sample: Sample) -> None:
        self._q.put(("sample", run_id, t, sample))

    def run_log(self, run_id: int, t: float, line: str) -> None:
        self._q.put(("log", run_id, t, line))

    def run_finished(self, outcome: RunOutcome) -> None:
        self._q.put(("finished", outcome))

    def runs_added(self, runs: list[RunInfo]) -> None:
        self._q.put(("added", list(runs)))

    def certainty_changed(self, certainty: Certainty) -> None:
        self._q.put(("certainty", certainty))


class SessionController(QObject):
    """Owns one ComparisonSession at a time and turns its reports into batched Qt signals."""

    runsPlanned = Signal(list)  # list[RunInfo]
    runStarted = Signal(object)  # RunInfo
    batch = Signal(object)  # Batch
    runFinished = Signal(object)  # RunOutcome
    runsAdded = Signal(list)  # list[RunInfo]: a round of auto repeats, planned mid-session
    certaintyChanged = Signal(object)  # profiler.repeats.Certainty, after each round
    repeatsEnded = Signal(object)  # profiler.repeats.StopRecord: why the repeats stopped
    sessionFinished = Signal(int, str)  # session id (-1 when none was created), status
    failed = Signal(str)  # a message in plain words (StoreError, launch failure, ...)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._queue: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        # The session's SessionListener: thread-safe, it only enqueues.
        self.listener = QueueListener(self._queue)
        self._thread: threading.Thread | None = None
        self._session: ComparisonSession | None = None
        self._lock = threading.Lock()
        self._stop_requested = False
        self._batch_size = 1
        self._timer = QTimer(self)
        self._timer.setInterval(DRAIN_INTERVAL_MS)
        self._timer.timeout.connect(self.drain)

    def is_running(self) -> bool:
        """True from ``start()`` until ``sessionFinished`` has been emitted."""
        return self._thread is not None

    @property
    def session_id(self) -> int | None:
        """The stored id of the session running now (None before it is created or after)."""
        with self._lock:
            return None if self._session is None else self._session.session_id

    def start(
        self,
        config: Config,
        config_path: str | None,
        store_path: str | None,
        options: RunOptions | None = None,
    ) -> None:
        """Run ``config`` in a worker thread; the store is opened there too, not here.

        ``options`` (interpreters per framework, cooldown) go to the session unchanged.
        """
        if self.is_running():
            raise RuntimeError("a session is already running")
        with self._lock:
            self._stop_requested = False
            self._session = None
        self._batch_size = config.train.batch_size
        self._thread = threading.Thread(
            target=self._work,
            args=(config, config_path, store_path, options),
            name="frameduel-session",
            daemon=True,
        )
        self._thread.start()
        self._timer.start()

    def stop(self) -> None:
        """Ask the session to stop: the running child's tree is killed, later runs skipped.

        Returns at once; ``sessionFinished(..., 'stopped')`` follows when the worker is done.
        """
        with self._lock:
            self._stop_requested = True
            session = self._session
        if session is not None:
            session.stop()

    def shutdown(self, timeout_s: float = 10.0) -> None:
        """Stop and wait for the worker thread (for application exit only: this blocks)."""
        thread = self._thread
        if thread is None:
            return
        self.stop()
        thread.join(timeout_s)
        self.drain()

    # -- worker thread --------------------------------------------------------------------

    def _work(
        self,
        config: Config,
        config_path: str | None,
        store_path: str | None,
        options: RunOptions | None,
    ) -> None:
        q = self._queue
        session_id, status = -1, "failed"
        store = None
        try:
            store = store_for(store_path)
            session = ComparisonSession(
                config, store, config_path=config_path, listener=self.listener, options=options
            )
            with self._lock:
                self._session = session
                stop_now = self._stop_requested
            if stop_now:
                session.stop()
            q.put(("planned", session.prepare()))
            session_id = session.session_id if session.session_id is not None else -1
            outcomes = session.run()
            if session.stop_record is not None:
                q.put(("repeats", session.stop_record))
            if stop_now or self._stop_flag():
                status = "stopped"
            elif outcomes and all(o.status == "ok" for o in outcomes):
                status = "ok"
            else:
                status = "failed" if outcomes else "empty"
        except Exception as exc:  # the GUI must hear about any failure, in words
            q.put(("failed", _describe_failure(exc)))
        finally:
            if store is not None:
                try:
                    store.close()
                except Exception as exc:
                    q.put(("failed", _describe_failure(exc)))
                    status = "failed"
            q.put(("end", session_id, status))

    def _stop_flag(self) -> bool:
        with self._lock:
            return self._stop_requested

    # -- GUI thread -----------------------------------------------------------------------

    def drain(self) -> None:
        """Empty the queue and emit its contents as batched signals (called by the timer)."""
        current = Batch()
        for _ in range(MAX_ITEMS_PER_TICK):
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            kind = item[0]
            if kind in ("sample", "event", "log"):
                self._add(current, item)
                continue
            # A lifecycle item: first hand over what arrived before it, in order.
            if not current.is_empty():
                self.batch.emit(current)
                current = Batch()
            if kind == "planned":
                self.runsPlanned.emit(list(item[1]))
            elif kind == "started":
                self.runStarted.emit(item[1])
            elif kind == "finished":
                self.runFinished.emit(item[1])
            elif kind == "added":
                self.runsAdded.emit(list(item[1]))
            elif kind == "certainty":
                self.certaintyChanged.emit(item[1])
            elif kind == "repeats":
                self.repeatsEnded.emit(item[1])
            elif kind == "failed":
                self.failed.emit(item[1])
            elif kind == "end":
                self._end(item[1], item[2])
                return
        if not current.is_empty():
            self.batch.emit(current)

    def _add(self, batch: Batch, item: tuple[Any, ...]) -> None:
        kind, run_id, t, payload = item
        if kind == "sample":
            s: Sample = payload
            batch.samples[run_id].append(
                SamplePoint(
                    t,
                    s.cpu_percent,
                    s.rss_mib,
                    s.threads,
                    s.gpu_util_percent,
                    s.gpu_mem_mib,
                    s.gpu_power_w,
                )
            )
            batch.system = SystemSnapshot(
                t,
                s.cpu_per_core,
                s.sys_mem_used_mib,
                s.sys_mem_total_mib,
                s.gpu_util_percent,
                s.gpu_mem_mib,
                s.gpu_power_w,
                s.gpu_temp_c,
            )
        elif kind == "log":
            batch.logs[run_id].append(payload)
        else:
            event: Event = payload
            if event.kind == "window":
                batch.windows[run_id].append(window_point(t, event, self._batch_size))
            elif event.kind == "phase":
                name, state = str(event.get("name", "")), str(event.get("state", ""))
                batch.phases.append(PhaseChange(run_id, t, name, state))
            elif event.kind == "log":
                level = str(event.get("level", "info"))
                batch.logs[run_id].append(f"[{level}] {event.get('message', '')}")
            else:
                if event.kind == "error":
                    batch.logs[run_id].extend(error_lines(event))
                batch.events.append((run_id, t, event))

    def _end(self, session_id: int, status: str) -> None:
        self._timer.stop()
        thread, self._thread = self._thread, None
        if thread is not None:
            # The worker's last act was to enqueue "end": this join returns at once.
            thread.join(timeout=5.0)
        with self._lock:
            self._session = None
        self.sessionFinished.emit(session_id, status)


def error_lines(event: Event) -> list[str]:
    """An error event as log lines: the error in words, then its traceback."""
    lines = [f"[error] {event.get('type', 'error')}: {event.get('message', '')}"]
    tb = event.get("traceback")
    if isinstance(tb, str) and tb:
        lines.extend(tb.rstrip("\n").splitlines())
    return lines


def _describe_failure(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, OSError) and not text:
        text = exc.strerror or ""
    name = type(exc).__name__
    if name in {"StoreError", "ConfigError"}:
        return text or name
    return f"{name}: {text}" if text else name
