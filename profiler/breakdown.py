"""Why a framework is fast or slow: each run's traced steps split into one taxonomy of categories.

The records here are the one vocabulary every view reads (the app's Breakdown tab, the report
page, the JSON report); the engine that fills them from each framework's own profiler trace
lives in ``profiler.trace``. Nothing here imports Qt or a framework.

How a traced step is split: every instant of the traced window (from the first traced step's
start to the end of the last one, device work included) is attributed exactly once. Where one
op runs, the instant is that op's; where several run at once (threads, streams) it is shared
equally between them; where only a framework's host spans run (Python, dispatch) it is
``host_overhead``; where nothing runs it is ``idle``. So the categories of a run add up to its
traced step time by construction, and an op's time is the wall time it alone explains.

A hand-written example (one PyTorch run, 2.0 ms a step, five traced steps)::

    >>> from profiler.breakdown import Category, OpStat, RunBreakdown
    >>> mm = OpStat("aten::addmm", Category.MATMUL, total_ms=6.0, count=15, steps=5)
    >>> run = RunBreakdown(
    ...     framework="torch", run_id=7, repeat=0, device="cpu", traced_steps=5,
    ...     step_ms=2.0,
    ...     category_ms={Category.MATMUL: 1.2, Category.ELEMENTWISE: 0.3,
    ...                  Category.HOST_OVERHEAD: 0.4, Category.IDLE: 0.1},
    ...     category_launches={Category.MATMUL: 3.0, Category.ELEMENTWISE: 6.0},
    ...     top_ops=(mm,), launches_per_step=9.0,
    ...     trace_step_ms=2.1, measure_step_ms=1.9)
    >>> mm.per_step_ms, round(run.share(Category.MATMUL), 2), run.idle_share
    (1.2, 0.6, 0.05)
    >>> round(run.profiler_cost, 3)
    1.105
    >>> RunBreakdown.from_json(run.to_json()) == run
    True
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

# History: 1 = first version (runs with category_ms, category_launches, top_ops, launches,
# idle share, profiler cost, truncation and the native trace files).
SCHEMA_VERSION = 1
# The file, in a session's trace folder, that holds its runs' breakdowns.
BREAKDOWNS_FILE = "breakdowns.json"


class Category(StrEnum):
    """Where a traced instant went; the same taxonomy for every framework."""

    MATMUL = "matmul"
    CONVOLUTION = "convolution"
    ATTENTION = "attention"
    ELEMENTWISE = "elementwise"
    NORMALISATION = "normalisation"
    REDUCTION = "reduction"
    OPTIMIZER = "optimizer"
    DATA_INPUT = "data_input"
    COLLECTIVE = "collective"
    COMPILATION = "compilation"
    HOST_OVERHEAD = "host_overhead"
    IDLE = "idle"
    OTHER = "other"

    @property
    def label(self) -> str:
        """The category as a person reads it (tables, legends, sentences)."""
        return _LABELS[self]


_LABELS = {
    Category.MATMUL: "matmul / dense",
    Category.CONVOLUTION: "convolution",
    Category.ATTENTION: "attention",
    Category.ELEMENTWISE: "elementwise / activation",
    Category.NORMALISATION: "normalisation",
    Category.REDUCTION: "reduction / softmax / loss",
    Category.OPTIMIZER: "optimizer update",
    Category.DATA_INPUT: "data input & host→device copies",
    Category.COLLECTIVE: "collective communication",
    Category.COMPILATION: "compilation / tracing",
    Category.HOST_OVERHEAD: "framework host overhead (Python & dispatch)",
    Category.IDLE: "idle / waiting",
    Category.OTHER: "other",
}


@dataclass(frozen=True)
class OpStat:
    """One operator (or kernel) of a run, summed over the traced steps.

    ``total_ms`` is the wall time it alone explains (shared equally with whatever ran at the
    same instant), ``count`` how many times it ran in all ``steps``.
    """

    name: str
    category: Category
    total_ms: float
    count: int
    steps: int

    @property
    def per_step_ms(self) -> float:
        """Milliseconds per traced step."""
        return self.total_ms / self.steps if self.steps else math.nan

    @property
    def calls_per_step(self) -> float:
        """Launches per traced step."""
        return self.count / self.steps if self.steps else math.nan

    def share(self, step_ms: float) -> float:
        """Fraction of a ``step_ms`` step this op explains."""
        return self.per_step_ms / step_ms if step_ms > 0 else math.nan

    def to_json(self) -> dict[str, Any]:
        """Plain JSON, with the derived per-step figures for readers of the file."""
        return {
            "name": self.name,
            "category": self.category.value,
            "total_ms": _num(self.total_ms),
            "count": self.count,
            "steps": self.steps,
            "per_step_ms": _num(self.per_step_ms),
            "calls_per_step": _num(self.calls_per_step),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OpStat:
        """The inverse of ``to_json`` (derived figures are recomputed, not read)."""
        return cls(
            name=str(data["name"]),
            category=_category(data["category"]),
            total_ms=_float(data["total_ms"]),
            count=int(data["count"]),
            steps=int(data["steps"]),
        )


@dataclass(frozen=True)
class RunBreakdown:
    """One run's traced steps, split by category; times in milliseconds per traced step.

    ``step_ms`` is the traced window (from the trace's own clock) over ``traced_steps``;
    ``category_ms`` adds up to it. ``trace_step_ms`` is the trace phase's step time as the
    child's clock saw it, ``measure_step_ms`` the measure phase's median: their ratio is what
    the profiler cost. ``native_files`` are the framework's own trace files, relative to the
    session's trace folder. ``truncated`` says a size cap cut a trace short (see ``notes``).
    ``converter`` names what turned a native profile into the Chrome trace split here
    (TensorFlow's XPlane: ``xprof 2.21.6``, or FrameDuel's own reader as the fallback, with a
    note saying why); empty where the profiler wrote that trace itself.
    """

    framework: str
    run_id: int
    repeat: int
    device: str  # "cpu" or "cuda"
    traced_steps: int
    step_ms: float
    category_ms: Mapping[Category, float]
    category_launches: Mapping[Category, float] = field(default_factory=dict)
    top_ops: tuple[OpStat, ...] = ()
    launches_per_step: float = math.nan
    trace_step_ms: float = math.nan
    measure_step_ms: float = math.nan
    timeline: str = "host"  # "host" (CPU threads) or "device" (GPU streams) was split
    truncated: bool = False
    native_files: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    converter: str = ""

    def ms(self, category: Category) -> float:
        """Milliseconds per step in ``category`` (0.0 when none was seen)."""
        return float(self.category_ms.get(category, 0.0))

    def share(self, category: Category) -> float:
        """Fraction of the traced step in ``category``."""
        return self.ms(category) / self.step_ms if self.step_ms > 0 else math.nan

    @property
    def idle_share(self) -> float:
        """Fraction of the traced step where nothing ran: no op, kernel or framework host span
        (between steps, in the closing sync with no work left, or the process descheduled)."""
        return self.share(Category.IDLE)

    @property
    def waiting_share(self) -> float:
        """Fraction of the traced step where no op or kernel did work: idle plus framework host
        overhead. On a GPU run (``timeline`` device) it is the time the device waited on the
        host."""
        return self.share(Category.IDLE) + self.share(Category.HOST_OVERHEAD)

    @property
    def profiler_cost(self) -> float:
        """Trace-phase step time over measure-phase median step time (1.0 = free)."""
        if self.measure_step_ms > 0 and math.isfinite(self.trace_step_ms):
            return self.trace_step_ms / self.measure_step_ms
        return math.nan

    @property
    def largest(self) -> Category:
        """The category with the most time per step."""
        return max(self.category_ms, key=self.ms) if self.category_ms else Category.OTHER

    def to_json(self) -> dict[str, Any]:
        """Plain JSON: NaN as null, categories in the taxonomy's order."""
        return {
            "framework": self.framework,
            "run_id": self.run_id,
            "repeat": self.repeat,
            "device": self.device,
            "timeline": self.timeline,
            "traced_steps": self.traced_steps,
            "step_ms": _num(self.step_ms),
            "category_ms": {c.value: _num(self.ms(c)) for c in Category if c in self.category_ms},
            "category_launches": {
                c.value: _num(self.category_launches[c])
                for c in Category
                if c in self.category_launches
            },
            "top_ops": [op.to_json() for op in self.top_ops],
            "launches_per_step": _num(self.launches_per_step),
            "idle_share": _num(self.idle_share),
            "waiting_share": _num(self.waiting_share),
            "trace_step_ms": _num(self.trace_step_ms),
            "measure_step_ms": _num(self.measure_step_ms),
            "profiler_cost": _num(self.profiler_cost),
            "truncated": self.truncated,
            "native_files": list(self.native_files),
            "converter": self.converter,
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunBreakdown:
        """The inverse of ``to_json``; derived fields (shares, cost) are recomputed."""
        return cls(
            framework=str(data["framework"]),
            run_id=int(data["run_id"]),
            repeat=int(data.get("repeat", 0)),
            device=str(data.get("device", "cpu")),
            timeline=str(data.get("timeline", "host")),
            traced_steps=int(data["traced_steps"]),
            step_ms=_float(data["step_ms"]),
            category_ms=_by_category(data["category_ms"]),
            category_launches=_by_category(data.get("category_launches", {})),
            top_ops=tuple(OpStat.from_json(o) for o in data.get("top_ops", ())),
            launches_per_step=_float(data.get("launches_per_step")),
            trace_step_ms=_float(data.get("trace_step_ms")),
            measure_step_ms=_float(data.get("measure_step_ms")),
            truncated=bool(data.get("truncated", False)),
            native_files=tuple(str(p) for p in data.get("native_files", ())),
            notes=tuple(str(n) for n in data.get("notes", ())),
            converter=str(data.get("converter", "")),
        )


class BreakdownFileError(ValueError):
    """A breakdowns file that cannot be read (names the file and what is wrong)."""


def session_trace_dir(store_path: str | Path, session_id: int) -> Path:
    """Where a session's traces live: ``<store file>.traces/<session id>/`` beside the store
    (named after the store, so two stores in one folder never share a session's folder)."""
    store = Path(store_path).expanduser().absolute()
    return store.with_name(f"{store.name}.traces") / str(session_id)


def run_trace_dir(store_path: str | Path, session_id: int, run_id: int) -> Path:
    """Where one run's native trace files live, inside its session's trace folder."""
    return session_trace_dir(store_path, session_id) / f"run-{run_id}"


def breakdowns_to_json(session_id: int, runs: Iterable[RunBreakdown]) -> dict[str, Any]:
    """The breakdowns file's content, with its schema version."""
    return {
        "schema_version": SCHEMA_VERSION,
        "session_id": session_id,
        "runs": [r.to_json() for r in runs],
    }


def breakdowns_from_json(data: Any, source: str = "breakdowns") -> tuple[RunBreakdown, ...]:
    """Runs from a breakdowns file's content; ``source`` names it in errors."""
    if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
        raise BreakdownFileError(f"{source}: not a FrameDuel breakdowns file (no 'runs' list)")
    version = data.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise BreakdownFileError(
            f"{source}: schema_version {version!r} is newer than this FrameDuel reads "
            f"({SCHEMA_VERSION}); update FrameDuel"
        )
    try:
        return tuple(RunBreakdown.from_json(r) for r in data["runs"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BreakdownFileError(f"{source}: malformed run entry ({exc!r})") from exc


def save_breakdowns(store_path: str | Path, session_id: int, runs: Iterable[RunBreakdown]) -> Path:
    """Write a session's breakdowns beside its traces (atomically); return the file."""
    target = session_trace_dir(store_path, session_id) / BREAKDOWNS_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.with_name(f".{target.name}.tmp")
    staging.write_text(json.dumps(breakdowns_to_json(session_id, runs), indent=1) + "\n")
    staging.replace(target)
    return target


def load_breakdowns(store: Any, session_id: int) -> tuple[RunBreakdown, ...]:
    """A session's run breakdowns, in run order; empty when it was not traced.

    ``store`` is a ``profiler.store.Store`` or the store file's path.
    """
    path = session_trace_dir(getattr(store, "path", store), session_id) / BREAKDOWNS_FILE
    try:
        text = path.read_text()
    except FileNotFoundError:
        return ()
    except OSError as exc:
        raise BreakdownFileError(f"{path}: cannot be read ({exc.strerror})") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BreakdownFileError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from exc
    return breakdowns_from_json(data, str(path))


def _num(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


def _by_category(values: Mapping[str, Any]) -> dict[Category, float]:
    out: dict[Category, float] = {}
    for key, value in values.items():
        category = _category(key)
        out[category] = out.get(category, 0.0) + _float(value)
    return out


def _category(value: Any) -> Category:
    try:
        return Category(value)
    except ValueError:
        # a newer FrameDuel's category reads as other rather than failing the whole file
        return Category.OTHER
