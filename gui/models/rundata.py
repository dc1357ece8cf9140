"""The data a window shows about a session: per run, column arrays that grow as batches arrive.

No widgets here: the dashboard, the summary and the comparison read the same ``SessionData``,
whether it is fed live by the adapter's batches or filled at once from a stored session.
Following pyqtgraph's ``scrollingPlots`` example, columns are preallocated numpy arrays whose
capacity doubles when full, so appending is cheap and plots get views, not copies.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from gui.models.catalog import SERIES_BY_KEY
from gui.models.live import Batch, WindowPoint
from profiler.events import LIVE_SAMPLE_COLUMNS, PHASES
from profiler.session import RunInfo

WINDOW_FIELDS: tuple[str, ...] = ("t", "step", "samples_per_s", "step_time_ms", "loss", "phase")
# What the live plots keep of each sample: the engine's vocabulary, not a list of its own.
SAMPLE_FIELDS: tuple[str, ...] = LIVE_SAMPLE_COLUMNS
GPU_FIELDS: tuple[str, ...] = ("gpu_util_percent", "gpu_mem_mib", "gpu_power_w")
MEASURE_CODE = float(PHASES.index("measure"))
COMPILE_CODE = float(PHASES.index("compile"))
# Speed series leave out the compile phase's one step: it lasts as long as compiling (seconds,
# where steps take milliseconds) and is shown as the compile phase instead.
SPEED_KEYS: frozenset[str] = frozenset({"samples_per_s", "step_time_ms"})


def window_rows(windows: Sequence[WindowPoint]) -> np.ndarray:
    """Window points as RunData's window rows (t, step, samples/s, step ms, loss, phase code):
    built here only, for live batches and for replayed sessions alike."""
    rows = np.array(
        [(w.t, w.step, w.samples_per_s, w.step_time_ms, w.loss, 0.0) for w in windows],
        dtype=float,
    ).reshape(len(windows), 6)
    rows[:, 5] = [phase_code(w.phase) for w in windows]
    return rows


def phase_code(name: str) -> float:
    """A phase name as the number stored in the ``phase`` window column (-1: unknown)."""
    return float(PHASES.index(name)) if name in PHASES else -1.0


class Columns:
    """Named float columns of equal length, each a contiguous array that doubles when full."""

    def __init__(self, names: Sequence[str], capacity: int = 256) -> None:
        self.names = tuple(names)
        self._data = {name: np.empty(capacity, dtype=float) for name in self.names}
        self.count = 0

    def _reserve(self, need: int) -> None:
        capacity = len(self._data[self.names[0]])
        if need <= capacity:
            return
        while capacity < need:
            capacity *= 2
        for name, old in self._data.items():
            new = np.empty(capacity, dtype=float)
            new[: self.count] = old[: self.count]
            self._data[name] = new

    def append_rows(self, rows: np.ndarray) -> None:
        """Append an (n, len(names)) array of rows."""
        n = rows.shape[0]
        if n == 0:
            return
        self._reserve(self.count + n)
        for i, name in enumerate(self.names):
            self._data[name][self.count : self.count + n] = rows[:, i]
        self.count += n

    def append_columns(self, columns: dict[str, np.ndarray]) -> None:
        """Append equal-length arrays given per column name (missing ones become NaN)."""
        n = len(next(iter(columns.values()))) if columns else 0
        if n == 0:
            return
        self._reserve(self.count + n)
        for name in self.names:
            values = columns.get(name)
            target = self._data[name][self.count : self.count + n]
            target[:] = math.nan if values is None else values
        self.count += n

    def col(self, name: str) -> np.ndarray:
        """The stored values of one column (a view, no copy)."""
        return self._data[name][: self.count]


@dataclass
class PhaseSpan:
    """A phase of a run, in seconds since the session started; ``end`` is NaN while open."""

    name: str
    start: float
    end: float = math.nan


@dataclass
class RunData:
    """Everything received for one run."""

    info: RunInfo
    windows: Columns = field(default_factory=lambda: Columns(WINDOW_FIELDS))
    samples: Columns = field(default_factory=lambda: Columns(SAMPLE_FIELDS))
    phases: list[PhaseSpan] = field(default_factory=list)
    status: str = "pending"
    has_gpu: bool = False
    last_t: float = math.nan

    @property
    def framework(self) -> str:
        """The run's framework."""
        return self.info.framework

    def add_windows(self, rows: np.ndarray) -> None:
        """Append window rows ordered as WINDOW_FIELDS."""
        self.windows.append_rows(rows)
        self._saw(rows[:, 0])

    def add_samples(self, rows: np.ndarray) -> None:
        """Append sample rows ordered as SAMPLE_FIELDS; trees with no thread are left out."""
        rows = rows[rows[:, 3] > 0]  # a tree with no thread was not measured (NaN compares False)
        if not len(rows):
            return
        # A living tree always has resident memory: 0 MiB is a process already gone (a zombie
        # still counts a thread), so the reading is missing, not zero.
        rows = rows.copy()
        rows[rows[:, 2] <= 0, 2] = math.nan
        self.samples.append_rows(rows)
        self._saw(rows[:, 0])
        if not self.has_gpu and np.isfinite(rows[:, 4:7]).any():
            self.has_gpu = True

    def _saw(self, ts: np.ndarray) -> None:
        if len(ts):
            last = float(np.nanmax(ts)) if np.isfinite(ts).any() else math.nan
            if math.isnan(self.last_t) or last > self.last_t:
                self.last_t = last

    def phase_changed(self, name: str, state: str, t: float) -> None:
        """Open or close a phase span."""
        if state == "start":
            self.close_phases(t)
            self.phases.append(PhaseSpan(name, t))
        elif state == "end":
            for span in reversed(self.phases):
                if span.name == name and math.isnan(span.end):
                    span.end = t
                    break
        self._saw(np.array([t]))

    def close_phases(self, t: float) -> None:
        """End every open phase at ``t`` (the run ended or a new phase began)."""
        for span in self.phases:
            if math.isnan(span.end):
                span.end = t

    def phase_start(self, name: str) -> float:
        """When the phase first started (NaN if it never did)."""
        return next((p.start for p in self.phases if p.name == name), math.nan)

    def window_values(self, key: str) -> np.ndarray:
        """A window column as plotted: speed series are NaN in the compile phase and in phases
        beyond PHASES (the trace phase: its steps run under a profiler)."""
        values = self.windows.col(key)
        if key in SPEED_KEYS:
            phase = self.windows.col("phase")
            hidden = (phase == COMPILE_CODE) | (phase < 0)
            if hidden.any():
                return np.where(hidden, math.nan, values)
        return values

    def series(self, key: str, axis: str) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)`` of plotted series ``key``: x is the session's time (``axis='time'``),
        seconds since this run's launch (``'launch'``) or the training step (``'step'``; samples
        are placed by interpolation, NaN outside the stepping phases)."""
        columns = self.windows if SERIES_BY_KEY[key].source == "windows" else self.samples
        y = self.window_values(key) if columns is self.windows else columns.col(key)
        if axis == "time":
            return columns.col("t"), y
        if axis == "launch":
            return columns.col("t") - self.origin(), y
        if columns is self.windows:
            return columns.col("step"), y
        return self.steps_at(columns.col("t")), y

    def origin(self) -> float:
        """When the run was launched, on its session's clock: its first phase, else its first
        data (NaN with neither)."""
        starts = [p.start for p in self.phases if not math.isnan(p.start)]
        if starts:
            return min(starts)
        firsts = [float(np.nanmin(c.col("t"))) for c in (self.windows, self.samples) if c.count]
        return min(firsts) if firsts else math.nan

    def to_x(self, ts: np.ndarray, axis: str) -> np.ndarray:
        """Session times ``ts`` placed on x axis ``axis`` (``time``, ``launch`` or ``step``)."""
        if axis == "time":
            return ts
        if axis == "launch":
            return ts - self.origin()
        return self.steps_at(ts)

    def measure_start(self) -> float:
        """When measuring began (NaN before)."""
        return self.phase_start("measure")

    def steps_at(self, ts: np.ndarray) -> np.ndarray:
        """Training step reached at each time ``ts`` (NaN outside the stepping phases).

        Interpolated between the windows' (time, step) points, anchored at step 0 when the first
        stepping phase (compile or warm-up, else measure) started.
        """
        wt, ws = self.windows.col("t"), self.windows.col("step")
        anchor = min(
            (p.start for p in self.phases if p.name in ("compile", "warmup", "measure")),
            default=math.nan,
        )
        if not math.isnan(anchor):
            wt, ws = np.concatenate(([anchor], wt)), np.concatenate(([0.0], ws))
        if len(wt) < 2:
            return np.full(len(ts), math.nan)
        order = np.argsort(wt, kind="stable")
        aligned: np.ndarray = np.interp(ts, wt[order], ws[order], left=math.nan, right=math.nan)
        return aligned


class SessionData:
    """The runs of one session, in planned order."""

    def __init__(self, runs: Iterable[RunInfo] = ()) -> None:
        self.runs: dict[int, RunData] = {}
        self.add_runs(runs)

    def add_runs(self, runs: Iterable[RunInfo]) -> None:
        """Plan runs (a run already known keeps its data)."""
        for info in runs:
            self.runs.setdefault(info.run_id, RunData(info))

    def run(self, run_id: int) -> RunData:
        """The run's data; a run never planned gets an entry of its own."""
        data = self.runs.get(run_id)
        if data is None:
            data = self.runs[run_id] = RunData(RunInfo(run_id, f"run {run_id}", 0, 0, 0))
        return data

    def has_gpu(self) -> bool:
        """True once any run has a finite GPU sample."""
        return any(r.has_gpu for r in self.runs.values())

    def last_t(self) -> float:
        """The latest time of any data, in seconds since the session started (0 with none)."""
        ends = [r.last_t for r in self.runs.values() if not math.isnan(r.last_t)]
        return max(ends, default=0.0)

    def x_end(self, axis: str) -> float:
        """The largest x of any data on x axis ``axis``: seconds since the session started
        (``time``), the longest run's seconds since its launch (``launch``) or the last step
        reported (``step``); 0 with none."""
        if axis == "time":
            return self.last_t()
        if axis == "launch":
            spans = [r.last_t - r.origin() for r in self.runs.values()]
            return max((s for s in spans if not math.isnan(s)), default=0.0)
        steps = [r.windows.col("step") for r in self.runs.values() if r.windows.count]
        return max((float(np.nanmax(s)) for s in steps), default=0.0)

    def planned_steps(self) -> int:
        """The most training steps any run will take (0 when unknown)."""
        return max((r.info.total_steps for r in self.runs.values()), default=0)

    def add_batch(self, batch: Batch) -> set[int]:
        """Append one batch of live data; returns the run ids whose data changed."""
        changed: set[int] = set()
        for run_id, windows in batch.windows.items():
            if windows:
                self.run(run_id).add_windows(window_rows(windows))
                changed.add(run_id)
        for run_id, samples in batch.samples.items():
            if samples:
                self.run(run_id).add_samples(np.array(samples, dtype=float))
                changed.add(run_id)
        for change in batch.phases:
            self.run(change.run_id).phase_changed(change.name, change.state, change.t)
            changed.add(change.run_id)
        return changed
