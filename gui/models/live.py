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
        if event.kind == "window":
            batch.windows[run_id].append(window_point(t, event, batch_size))
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


def error_lines(event: Event) -> list[str]:
    """An error event as log lines: the error in words, then its traceback."""
    lines = [f"[error] {event.get('type', 'error')}: {event.get('message', '')}"]
    tb = event.get("traceback")
    if isinstance(tb, str) and tb:
        lines.extend(tb.rstrip("\n").splitlines())
    return lines
