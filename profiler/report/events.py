"""Reading a stored run's events: phases, timing windows, disturbed windows, the steady state and
its warnings.

Pure functions of a StoredRun. Times are seconds since the session started, as stored.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from profiler.events import Garbage, Phase, QualityWarning, Window
from profiler.nvml import throttle_words
from profiler.quality import BUSY_MACHINE_PERCENT, busy_machine_warning, throttle_warning
from profiler.stats import SteadyState, finite_or_none, steady_state
from profiler.store import StoredEvent, StoredRun

FloatArray = npt.NDArray[np.float64]
V = TypeVar("V")


def text(value: Any) -> str | None:
    """A non-empty string, or None."""
    return value if isinstance(value, str) and value else None


def first_view(run: StoredRun, view: type[V]) -> V | None:
    """The typed view of the run's first event of a kind (``first_view(run, Hello)``), or None."""
    found = run.views(view)
    return found[0][1] if found else None


def num(value: Any) -> float | None:
    """A finite float from stored JSON the parent wrote (run info), or None for anything else
    (missing, null, NaN, text, bool)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return finite_or_none(float(value))


def launch_time(run: StoredRun) -> float | None:
    """When the run's child was spawned (seconds since session start), None when unknown."""
    launch = num(run.info.get("launch_t"))
    return launch if launch is not None else run.started_t


def phase_bounds(run: StoredRun) -> dict[str, tuple[float, float | None]]:
    """Each phase's first start and the end after it, in session seconds (end None if open)."""
    bounds: dict[str, tuple[float, float | None]] = {}
    for t, phase in run.views(Phase):
        if phase.state == "start" and phase.name not in bounds:
            bounds[phase.name] = (t, None)
        elif phase.state == "end" and phase.name in bounds and bounds[phase.name][1] is None:
            bounds[phase.name] = (bounds[phase.name][0], t)
    return bounds


def windows(run: StoredRun, phase: str | None = None) -> list[StoredEvent]:
    """Window events (of one phase, or all); their steps and seconds are positive, as the
    protocol checked."""
    return [
        e
        for e in run.events
        if isinstance(e.data, Window) and (phase is None or e.data.phase == phase)
    ]


def column(events: Sequence[StoredEvent], key: str) -> FloatArray:
    """One numeric field of every window (a ``Window`` attribute) as floats; NaN where the
    child did not say."""
    values = [getattr(e.window, key) for e in events]
    return np.array([math.nan if v is None else v for v in values], dtype=float)


def step_times_ms(events: list[StoredEvent]) -> FloatArray:
    """Per-step time of each window (seconds / steps * 1000)."""
    return np.array([e.window.step_time_ms for e in events], dtype=float)


# A measure window is disturbed when other processes (the machine's CPU less the run's process
# tree) took more than this much CPU, in percent of one core, on average during it: the same bar
# as the run-level warning in ``profiler.quality``.
DISTURBED_CPU_PERCENT = BUSY_MACHINE_PERCENT
# Disturbed windows are left out of the figures while they are at most this share of the measure
# windows; beyond it they are the run, and leaving them out would describe a minority of it.
MAX_DISTURBED_SHARE = 0.5
# Leaving out more than this share of the measure windows (disturbed or still settling) is never
# silent: the report warns, and a run whose steady-state cut is this large is not called steady.
MAX_QUIET_SHARE = 0.2


@dataclass(frozen=True)
class Measured:
    """The measure windows of a run, which of them were disturbed, and the steady state.

    ``disturbed`` flags each measure window during which other processes took more than
    DISTURBED_CPU_PERCENT CPU (all False when the samples do not tell); they are left out of the
    statistics (``disturbed_left_out``) unless they are more than MAX_DISTURBED_SHARE of the
    windows. ``steady`` is the steady-state search over the windows kept, and ``used`` the
    windows statistics are computed over: those kept, less a leading stretch that was still
    settling.
    """

    windows: tuple[StoredEvent, ...]
    steady: SteadyState
    every: tuple[StoredEvent, ...] = ()  # every valid window of the run, whatever its phase
    disturbed: tuple[bool, ...] = ()
    other_cpu_percent: tuple[float, ...] = ()  # per measure window; NaN where unknown

    @property
    def n_disturbed(self) -> int:
        """How many measure windows were disturbed by other processes."""
        return sum(self.disturbed)

    @property
    def disturbed_left_out(self) -> bool:
        """Whether the disturbed windows are left out (a minority of the windows)."""
        return 0 < self.n_disturbed <= MAX_DISTURBED_SHARE * len(self.windows)

    @property
    def kept(self) -> tuple[StoredEvent, ...]:
        """The measure windows less the disturbed ones when those are left out."""
        if not self.disturbed_left_out:
            return self.windows
        return tuple(e for e, bad in zip(self.windows, self.disturbed, strict=True) if not bad)

    @property
    def used(self) -> tuple[StoredEvent, ...]:
        """The kept windows from the steady state's start on."""
        return self.kept[self.steady.start :]

    @property
    def excluded(self) -> int:
        """How many leading windows were left out as still settling."""
        return self.steady.start

    @property
    def large_cut(self) -> bool:
        """Whether the steady-state cut left out more than MAX_QUIET_SHARE of the windows."""
        return self.steady.start > MAX_QUIET_SHARE * len(self.windows)

    @property
    def steady_state(self) -> bool | None:
        """The steady-state verdict: as found, but never True after a large cut."""
        return False if self.large_cut else self.steady.steady

    def step_times_ms(self) -> FloatArray:
        """Per-step time of each used window, in ms."""
        return step_times_ms(list(self.used))

    def span_windows(self) -> tuple[StoredEvent, ...]:
        """Every measure window from the first used one to the last, disturbed ones included:
        the stretch of time the used windows cover (energy is measured over time)."""
        if not self.used:
            return ()
        first, last = self.windows.index(self.used[0]), self.windows.index(self.used[-1])
        return self.windows[first : last + 1]

    def span(self) -> tuple[float, float] | None:
        """(start, end) of the used windows in session seconds; None without windows."""
        if not self.used:
            return None
        first = self.used[0]
        return first.t - first.window.seconds, self.used[-1].t


def other_cpu_percent(run: StoredRun, events: Sequence[StoredEvent]) -> FloatArray:
    """Other processes' CPU (percent of one core) during each window: the machine's CPU (the sum
    over its cores) less the run's process tree, averaged over the window's time.

    A sample covers the time since the one before it (CPU counters are differences), so each
    window takes the time-weighted mean of the samples overlapping it. NaN where no sample
    covers the window or the store has no per-core CPU (older stores).
    """
    t = run.samples.get("t", np.empty(0))
    cores = run.cpu_cores
    out = np.full(len(events), math.nan)
    if not events or t.size < 2 or cores.ndim != 2 or cores.shape[0] != t.size:
        return out
    if cores.shape[1] == 0:  # no per-core CPU recorded: others' share unknown, not zero
        return out
    tree = run.samples.get("cpu_percent", np.full(t.shape, math.nan))
    other = cores.sum(axis=1) - tree
    ok = np.isfinite(other) & np.isfinite(t)
    t, other = t[ok], other[ok]
    if t.size < 2:
        return out
    cumulative = np.concatenate([[0.0], np.cumsum(other[1:] * np.diff(t))])
    end = np.array([e.t for e in events], dtype=float)
    start = end - np.array([e.window.seconds for e in events], dtype=float)
    inside = (start >= t[0]) & (end <= t[-1]) & (end > start)
    area = np.interp(end, t, cumulative) - np.interp(start, t, cumulative)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.maximum(area / (end - start), 0.0)
    out[inside] = mean[inside]
    return out


def measured(run: StoredRun) -> Measured:
    """The run's measure windows with their disturbances and steady state."""
    every = windows(run)
    events = [e for e in every if e.window.measured]
    other = other_cpu_percent(run, events)
    disturbed = tuple(bool(v > DISTURBED_CPU_PERCENT) for v in other)
    draft = Measured(tuple(events), steady_state([]), tuple(every), disturbed, tuple(other))
    steady = steady_state(step_times_ms(list(draft.kept)))
    return dataclasses.replace(draft, steady=steady)


def window_step_times_ms(run: StoredRun) -> FloatArray:
    """Per-step time of each measure window used for statistics (the steady ones), in ms."""
    return measured(run).step_times_ms()


def run_warnings(run: StoredRun) -> tuple[str, ...]:
    """Measurement-quality warnings of a run in plain words, without repeats.

    The parent's warnings (``info["warnings"]`` and ``warning`` events) and a count of bad lines
    on the event pipe.
    """
    found: list[str] = []
    listed = run.info.get("warnings")
    if isinstance(listed, list):
        found += [w for w in listed if isinstance(w, str) and w]
    elif run.ended_t is None:  # live (or its recorder died): what the samples say so far
        found += sample_warnings(run)
    found += [w.message for _, w in run.views(QualityWarning) if w.message]
    garbage = len(run.views(Garbage))
    if garbage:
        what = "bad line was" if garbage == 1 else "bad lines were"
        found.append(f"{garbage} {what} ignored on the event pipe (see the run's log)")
    return tuple(dict.fromkeys(found))


def sample_warnings(run: StoredRun) -> list[str]:
    """The busy-machine and GPU-throttling warnings of a run that has not ended, from its stored
    samples so far, worded as the session words them when the run ends (``QualityTracker``)."""
    out: list[str] = []
    t = run.samples.get("t", np.empty(0))
    tree = run.samples.get("cpu_percent", np.full(t.shape, math.nan))
    cores = run.cpu_cores
    if cores.ndim == 2 and cores.shape[0] == t.size and cores.shape[1] > 0:
        other = cores.sum(axis=1) - tree
        other = other[np.isfinite(other)]
        if other.size and max(0.0, float(other.mean())) > BUSY_MACHINE_PERCENT:
            out.append(busy_machine_warning(max(0.0, float(other.mean()))))
    reasons: set[str] = set()
    for mask in run.samples.get("gpu_throttle_reasons", np.empty(0)):
        reasons.update(throttle_words(float(mask)))
    if reasons:
        out.append(throttle_warning(reasons))
    return out
