"""Reading a stored run's events: phases, timing windows, the steady state and its warnings.

Pure functions of a StoredRun. Times are seconds since the session started, as stored.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from profiler.stats import SteadyState, steady_state
from profiler.store import StoredEvent, StoredRun

FloatArray = npt.NDArray[np.float64]


def num(value: Any) -> float | None:
    """A finite float, or None for anything else (missing, null, NaN, text, bool)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def text(value: Any) -> str | None:
    """A non-empty string, or None."""
    return value if isinstance(value, str) and value else None


def first_payload(run: StoredRun, kind: str) -> dict[str, Any]:
    """The payload of the run's first event of ``kind`` ({} when there is none)."""
    events = run.events_of(kind)
    return events[0].payload if events else {}


def launch_time(run: StoredRun) -> float | None:
    """When the run's child was spawned (seconds since session start), None when unknown."""
    launch = num(run.info.get("launch_t"))
    return launch if launch is not None else run.started_t


def phase_bounds(run: StoredRun) -> dict[str, tuple[float, float | None]]:
    """Each phase's first start and the end after it, in session seconds (end None if open)."""
    bounds: dict[str, tuple[float, float | None]] = {}
    for event in run.events_of("phase"):
        name, state = event.payload.get("name"), event.payload.get("state")
        if not isinstance(name, str):
            continue
        if state == "start" and name not in bounds:
            bounds[name] = (event.t, None)
        elif state == "end" and name in bounds and bounds[name][1] is None:
            bounds[name] = (bounds[name][0], event.t)
    return bounds


def _positive(value: Any) -> bool:
    return type(value) in (int, float) and 0 < value < math.inf


def windows(run: StoredRun, phase: str | None = None) -> list[StoredEvent]:
    """Window events with positive steps and seconds (of one phase, or all)."""
    return [
        e
        for e in run.events
        if e.kind == "window"
        and _positive(e.payload.get("steps"))
        and _positive(e.payload.get("seconds"))
        and (phase is None or e.payload.get("phase") == phase)
    ]


def column(events: Sequence[StoredEvent], key: str) -> FloatArray:
    """One payload field of every event as floats; NaN where it is missing or not a number."""
    values = [e.payload.get(key) for e in events]
    try:  # numbers and None (NaN), the usual case, convert in one go
        if not any(isinstance(v, bool | str) for v in values):
            return np.array(values, dtype=float)
    except (TypeError, ValueError):
        pass
    return np.array([math.nan if (x := num(v)) is None else x for v in values], dtype=float)


def step_times_ms(events: list[StoredEvent]) -> FloatArray:
    """Per-step time of each window (seconds / steps * 1000)."""
    return np.array(
        [e.payload["seconds"] / e.payload["steps"] * 1000.0 for e in events], dtype=float
    )


@dataclass(frozen=True)
class Measured:
    """The measure windows of a run and the steady state found in their step times.

    ``used`` are the windows statistics are computed over: all of them, less a leading stretch
    that was still settling when the steady state was found after it.
    """

    windows: tuple[StoredEvent, ...]
    steady: SteadyState
    every: tuple[StoredEvent, ...] = ()  # every valid window of the run, whatever its phase

    @property
    def used(self) -> tuple[StoredEvent, ...]:
        """The windows from the steady state's start on."""
        return self.windows[self.steady.start :]

    @property
    def excluded(self) -> int:
        """How many leading windows were left out as still settling."""
        return self.steady.start

    def step_times_ms(self) -> FloatArray:
        """Per-step time of each used window, in ms."""
        return step_times_ms(list(self.used))

    def span(self) -> tuple[float, float] | None:
        """(start, end) of the used windows in session seconds; None without windows."""
        if not self.used:
            return None
        first = self.used[0]
        return first.t - float(first.payload["seconds"]), self.used[-1].t


def measured(run: StoredRun) -> Measured:
    """The run's measure windows with their steady state."""
    every = windows(run)
    events = [e for e in every if e.payload.get("phase") == "measure"]
    return Measured(tuple(events), steady_state(step_times_ms(events)), tuple(every))


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
    found += [m for e in run.events_of("warning") if (m := text(e.payload.get("message")))]
    garbage = len(run.events_of("garbage"))
    if garbage:
        what = "bad line was" if garbage == 1 else "bad lines were"
        found.append(f"{garbage} {what} ignored on the event pipe (see the run's log)")
    return tuple(dict.fromkeys(found))
