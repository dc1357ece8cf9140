"""What the Qt adapter hands the widgets, without Qt: sample, window and phase points, the
batch of one drain tick, and the listener the engine's threads report to (it only enqueues).

The adapter (``gui.adapter``) drains the listener's queue on the GUI thread and builds batches
with ``add_item``; stored sessions are replayed into the same batches (``gui.models.replay``).
"""

from __future__ import annotations

import math
import queue
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from profiler.events import ErrorInfo, LogLine, Phase, Window
from profiler.protocol import Event
from profiler.repeats import Certainty
from profiler.sampler import Sample
from profiler.session import RunInfo, RunOutcome


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


def window_point(t: float, window: Window, batch_size: int) -> WindowPoint:
    """Turn a window (its typed view) into rates: samples/s and mean step time (ms)."""
    samples = window.samples if window.samples is not None else window.steps * batch_size
    return WindowPoint(
        t=t,
        step=window.step,
        samples_per_s=samples / window.seconds,
        step_time_ms=window.step_time_ms,
        loss=_number(window.loss),
        phase=window.phase,
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


def add_item(batch: Batch, item: tuple[Any, ...], batch_size: int) -> None:
    """Put one queued ``sample``, ``log`` or ``event`` item into ``batch`` (rates need the
    config's ``batch_size``)."""
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
        data = event.data
        if isinstance(data, Window):
            batch.windows[run_id].append(window_point(t, data, batch_size))
        elif isinstance(data, Phase):
            batch.phases.append(PhaseChange(run_id, t, data.name, data.state))
        elif isinstance(data, LogLine):
            batch.logs[run_id].append(f"[{data.level or 'info'}] {data.message}")
        else:
            if isinstance(data, ErrorInfo):
                batch.logs[run_id].extend(error_lines(data))
            batch.events.append((run_id, t, event))


def error_lines(error: ErrorInfo) -> list[str]:
    """An error as log lines: the error in words, then its traceback."""
    lines = [f"[error] {error.type}: {error.message}"]
    if error.traceback:
        lines.extend(error.traceback.rstrip("\n").splitlines())
    return lines
