"""The protocol's vocabulary in one place: every event kind, phase name and sample column, and a
frozen typed view per event kind.

Events are checked once, where they enter the parent (``profiler.protocol.decode_event``) or
where the store reads back what an older version stored unchecked; after that, everyone reads
the typed views (``Event.data``, ``StoredEvent.data``, ``StoredRun.views``), never raw payload
dicts or sample rows by position. Numbers in views are finite (or None where the protocol lets
a child say "unknown"), counts are ints.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

# -- event kinds ---------------------------------------------------------------------------------

HELLO = "hello"
PHASE = "phase"
MODEL = "model"
ENV = "env"
FIRST_STEP = "first_step"
WINDOW = "window"
MEMORY = "memory"
LOG = "log"
ERROR = "error"
TRACE = "trace"
DONE = "done"
# A data-parallel rank tells who it is (profiler.distributed_run merges the ranks' events).
RANK = "rank"
# The parent's own kinds, added to a run's events; a child may not send them.
GARBAGE = "garbage"
WARNING = "warning"
# One rank's own window and allocator memory, kept beside the job's merged ``window``.
RANK_WINDOW = "rank_window"
RANK_MEMORY = "rank_memory"

CHILD_KINDS = frozenset(
    {HELLO, PHASE, MODEL, ENV, FIRST_STEP, WINDOW, MEMORY, LOG, ERROR, TRACE, DONE, RANK}
)
PARENT_KINDS = frozenset({GARBAGE, WARNING, RANK_WINDOW, RANK_MEMORY})

# -- phases ------------------------------------------------------------------------------------

# A run's phases, in the order a workload goes through them.
PHASES: tuple[str, ...] = ("import", "build", "compile", "warmup", "measure")
# After measure, a few steps under the framework's own profiler: not one of the run's measured
# phases (no figure, duration or statistic of the run includes it).
TRACE_PHASE = "trace"
MEASURE = "measure"
PHASE_STATES: tuple[str, ...] = ("start", "end")

# -- sample columns ------------------------------------------------------------------------------

# What the parent measures of a run's process tree, as stored (the store's ``samples`` columns,
# after ``t``), read back (``StoredRun.samples``) and plotted. Units are in the names.
SAMPLE_COLUMNS: tuple[str, ...] = (
    "t",
    "cpu_percent",
    "rss_mib",
    "threads",
    "sys_mem_used_mib",
    "gpu_util_percent",
    "gpu_mem_mib",
    "gpu_power_w",
    "gpu_temp_c",
    "gpu_sm_clock_mhz",
    "gpu_energy_j",
    "gpu_throttle_reasons",
)
# The sampled series a report carries and plots: every column but the time and NVML's throttle
# reasons (a bitmask, read for warnings, not a quantity to plot).
SAMPLE_SERIES: tuple[str, ...] = tuple(
    c for c in SAMPLE_COLUMNS if c not in ("t", "gpu_throttle_reasons")
)
# What the app's live plots keep of each sample while a run goes on.
LIVE_SAMPLE_COLUMNS: tuple[str, ...] = (
    "t",
    "cpu_percent",
    "rss_mib",
    "threads",
    "gpu_util_percent",
    "gpu_mem_mib",
    "gpu_power_w",
)

# -- typed views ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hello:
    """The child introduces itself."""

    pid: int
    framework: str
    framework_version: str
    device: str
    python: str | None = None


@dataclass(frozen=True)
class Phase:
    """A phase (one of PHASES, or a script's own name) starts or ends."""

    name: str
    state: str


@dataclass(frozen=True)
class ModelInfo:
    """The model the child built: parameters, the first batch's loss before any update, FLOPs
    per step and the device's peak FLOP/s (None where unknown)."""

    params: int | None = None
    parity_loss: float | None = None
    flops_per_step: float | None = None
    peak_flops_per_s: float | None = None


@dataclass(frozen=True)
class EnvInfo:
    """Framework settings that affect fairness (threads, TF32, ...)."""

    settings: Mapping[str, Any]


@dataclass(frozen=True)
class FirstStep:
    """Step ``step`` has finished (synchronised) ``seconds`` after the child's start."""

    step: int
    seconds: float
    loss: float | None = None


@dataclass(frozen=True)
class Window:
    """A timing window: ``steps`` steps in ``seconds``, ending at step ``step`` of ``phase``."""

    phase: str
    step: int
    steps: int
    seconds: float
    loss: float | None = None
    samples: int | None = None
    mfu: float | None = None
    minor_faults: int | None = None
    major_faults: int | None = None
    # A rank's all-reduce seconds in the window; in a data-parallel job's merged window, the
    # straggler's (who waits for no one). None where not timed.
    comm_s: float | None = None
    # Only in a data-parallel job's merged window: how many ranks, the slowest (the straggler),
    # and each rank's own seconds, all-reduce seconds and RSS (MiB; None where unknown).
    ranks: int | None = None
    straggler: int | None = None
    rank_seconds: list[float] | None = None
    rank_comm_s: list[float] | None = None
    rank_rss_mib: list[float | None] | None = None

    @property
    def step_time_ms(self) -> float:
        """Time per step in ms."""
        return self.seconds / self.steps * 1000.0

    @property
    def measured(self) -> bool:
        """Whether the window belongs to the measure phase."""
        return self.phase == MEASURE


@dataclass(frozen=True)
class MemoryInfo:
    """The framework's own allocator view, in bytes (None where unknown)."""

    allocator_bytes: int | None = None
    allocator_peak_bytes: int | None = None


@dataclass(frozen=True)
class LogLine:
    """A line the child logged through the protocol."""

    message: str
    level: str | None = None


@dataclass(frozen=True)
class ErrorInfo:
    """The child's error: the exception's type, message and traceback; ``oom`` when out of
    memory."""

    type: str
    message: str
    traceback: str | None = None
    oom: bool = False


@dataclass(frozen=True)
class TraceInfo:
    """The trace phase's profiler wrote its files: their format (kineto, xplane, perfetto), the
    steps traced, their seconds, and the files (relative to the run's trace folder)."""

    format: str
    steps: int
    seconds: float
    files: list[str]
    # what made the Chrome trace from a native profile (xprof for TensorFlow), and why a
    # fallback converter made it instead (None when none was needed)
    converter: str | None = None
    fallback: str | None = None


@dataclass(frozen=True)
class RankInfo:
    """A data-parallel rank's own record: its process, the digest of its initial weights (the
    same on every rank when they start alike), how it communicates, and its share of the batch."""

    rank: int
    pid: int | None = None
    weights_digest: str | None = None
    comm: str | None = None
    local_rank: int | None = None
    world_size: int | None = None
    strategy: str | None = None
    backend: str | None = None
    global_batch: int | None = None
    local_batch: int | None = None


@dataclass(frozen=True)
class RankWindow:
    """One rank's own timing window (the job's ``window`` merges every rank's)."""

    rank: int
    phase: str
    step: int
    steps: int
    seconds: float
    loss: float | None = None
    samples: int | None = None
    comm_s: float | None = None

    @property
    def step_time_ms(self) -> float:
        """Time per step in ms."""
        return self.seconds / self.steps * 1000.0


@dataclass(frozen=True)
class RankMemory:
    """One rank's allocator view, in bytes (None where unknown)."""

    rank: int
    allocator_bytes: int | None = None
    allocator_peak_bytes: int | None = None


@dataclass(frozen=True)
class Done:
    """The child finished its steps."""

    steps: int | None = None


@dataclass(frozen=True)
class Garbage:
    """The parent's record of a line on the pipe that was not a valid event, and why."""

    reason: str


@dataclass(frozen=True)
class QualityWarning:
    """The parent's record of a measurement-quality problem."""

    message: str


@dataclass(frozen=True)
class Unknown:
    """An event of a kind this version does not know (kept, otherwise skipped)."""

    kind: str


EventData = (
    Hello
    | Phase
    | ModelInfo
    | EnvInfo
    | FirstStep
    | Window
    | MemoryInfo
    | LogLine
    | ErrorInfo
    | TraceInfo
    | Done
    | RankInfo
    | RankWindow
    | RankMemory
    | Garbage
    | QualityWarning
    | Unknown
)
VIEWS: dict[str, type[Any]] = {
    HELLO: Hello,
    PHASE: Phase,
    MODEL: ModelInfo,
    ENV: EnvInfo,
    FIRST_STEP: FirstStep,
    WINDOW: Window,
    MEMORY: MemoryInfo,
    LOG: LogLine,
    ERROR: ErrorInfo,
    TRACE: TraceInfo,
    DONE: Done,
    RANK: RankInfo,
    RANK_WINDOW: RankWindow,
    RANK_MEMORY: RankMemory,
    GARBAGE: Garbage,
    WARNING: QualityWarning,
}
KIND_OF: dict[type[Any], str] = {view: kind for kind, view in VIEWS.items()}
T = TypeVar("T")

_FLOAT_FIELDS = {
    view: frozenset(f.name for f in dataclasses.fields(view) if "float" in str(f.type))
    for view in VIEWS.values()
}


def view_of(kind: str, payload: Mapping[str, Any]) -> EventData:
    """The typed view of a checked payload (``profiler.protocol.check_payload`` passed it):
    fields the view does not have are left out, integers in float fields become floats."""
    view = VIEWS.get(kind)
    if view is None:
        return Unknown(kind)
    floats = _FLOAT_FIELDS[view]
    values = {}
    for f in dataclasses.fields(view):
        if f.name not in payload:
            continue
        value = payload[f.name]
        if f.name in floats and type(value) is int:
            value = float(value)
        if value is None and f.default is not dataclasses.MISSING:
            value = f.default
        values[f.name] = value
    data: EventData = view(**values)
    return data


def payload_of(data: EventData) -> dict[str, Any]:
    """A view's fields as a payload (the inverse of view_of, for the parent's own events)."""
    return dataclasses.asdict(data)
