"""The report model: everything a report says about a stored session, as frozen dataclasses.

``build_report`` is a pure transform of a ``StoredSession``; renderers (JSON, CSV, PDF, HTML) only
format what it computed. A missing metric is None, never 0. The same stored session always gives
the same report (every statistic is deterministic).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from profiler.breakdown import RunBreakdown
from profiler.repeats import StopRecord, verdict_confidence
from profiler.report.audit import Audit, AuditRow, build_audit
from profiler.report.compare import (
    COMPARED_METRICS,
    Comparison,
    MetricStats,
    RunValues,
    comparisons,
    framework_statistics,
)
from profiler.report.events import measured
from profiler.report.runs import (
    PHASES,
    Drift,
    FloatArray,
    PhaseInterval,
    RunSeries,
    RunSummary,
    StepTime,
    run_series,
    summarize_run,
)
from profiler.stats import CONFIDENCE
from profiler.store import StoredRun, StoredSession

if TYPE_CHECKING:
    from profiler.report.scaling import ScalingReport

__all__ = [
    "COMPARED_METRICS",
    "PARITY_TOLERANCE",
    "PHASES",
    "REPORT_SCHEMA_VERSION",
    "Audit",
    "AuditRow",
    "Comparison",
    "Drift",
    "FloatArray",
    "MetricStats",
    "Parity",
    "PhaseInterval",
    "Report",
    "RunSeries",
    "RunSummary",
    "SessionRef",
    "StepTime",
    "build_report",
]

# History: 1 = first version; 2 = steady state, warnings, startup, energy, MFU per run;
# per-framework statistics; comparisons for every framework pair; the fairness audit;
# 3 = run-level comparisons (Welch t on run medians, no significance with one run per side),
# disturbed windows and the window accounting per run.
# and repeats (how auto repeats went and why they stopped); runs gain minor/major
# page faults per step; the audit gains train_loop, the allocator and page faults.
# 4 = breakdowns (the trace phase's time per category, top ops and launches).
# 5 = runs' steps_per_s and samples_per_s are the median used window (were totals/seconds).
REPORT_SCHEMA_VERSION = 5
PARITY_TOLERANCE = 1e-4


@dataclass(frozen=True)
class Parity:
    """Whether the frameworks start from the same loss (same weights, same first batch)."""

    losses: dict[str, float]
    max_rel_diff: float | None
    ok: bool | None
    tolerance: float = PARITY_TOLERANCE


@dataclass(frozen=True)
class SessionRef:
    """The stored session a report was built from."""

    id: int
    name: str
    created_at: str
    status: str
    config_path: str | None = None


@dataclass(frozen=True)
class Report:
    """A whole report: summaries, statistics, comparisons, audit, parity and series of a session."""

    schema_version: int
    generated_from: SessionRef
    config: dict[str, Any]
    environment: dict[str, Any]
    runs: tuple[RunSummary, ...]
    statistics: tuple[MetricStats, ...]
    comparisons: tuple[Comparison, ...]
    parity: Parity
    audit: Audit
    series: tuple[RunSeries, ...] = field(repr=False)
    # how the repeats went and why they stopped; None for sessions stored before it was kept
    repeats: StopRecord | None = None
    # each traced run's time per category, top ops and launches (empty: nothing traced)
    breakdowns: tuple[RunBreakdown, ...] = ()
    # the data-parallel scaling run this session is part of (profiler.report.scaling.with_scaling)
    scaling: ScalingReport | None = None
    # the level its intervals are computed at (profiler.repeats.verdict_confidence): every
    # surface that recomputes a ratio uses it, so all show the same interval
    confidence: float = CONFIDENCE

    @property
    def frameworks(self) -> tuple[str, ...]:
        """Frameworks in config order (then any others in run order)."""
        return _framework_order(self.config, self.runs)

    @property
    def has_gpu(self) -> bool:
        """Whether any run recorded a GPU metric."""
        return any(np.isfinite(s.samples["gpu_mem_mib"]).any() for s in self.series)

    @property
    def has_repeats(self) -> bool:
        """Whether some framework ran more than once."""
        return len({r.framework for r in self.runs}) < len(self.runs)

    def stats_of(self, metric: str, framework: str) -> MetricStats | None:
        """The statistics of one metric and framework, None when no run has that metric."""
        return next(
            (s for s in self.statistics if s.metric == metric and s.framework == framework), None
        )


def build_report(session: StoredSession) -> Report:
    """Summarise, compare, audit and collect the series of every run of ``session``."""
    runs = sorted(session.runs, key=lambda r: r.seq)
    windows = [measured(r) for r in runs]
    summaries = tuple(summarize_run(r, w) for r, w in zip(runs, windows, strict=True))
    frameworks = _framework_order(session.config, runs)
    values = [RunValues(s, w) for s, w in zip(summaries, windows, strict=True)]
    repeats = StopRecord.from_json(session.repeats) if session.repeats else None
    # while an auto session runs its record is not stored yet: its config says how it repeats
    planned = (session.config.get("run") or {}).get("repeats")
    confidence = verdict_confidence(
        repeats.mode if repeats is not None else ("auto" if planned == "auto" else None)
    )
    return Report(
        schema_version=REPORT_SCHEMA_VERSION,
        generated_from=SessionRef(
            session.id, session.name, session.created_at, session.status, session.config_path
        ),
        config=dict(session.config),
        environment=dict(session.env),
        runs=summaries,
        statistics=framework_statistics(frameworks, values),
        comparisons=comparisons(frameworks, values, confidence),
        parity=_parity(summaries),
        audit=build_audit(frameworks, summaries),
        series=tuple(run_series(r, w) for r, w in zip(runs, windows, strict=True)),
        repeats=repeats,
        breakdowns=tuple(session.breakdowns),
        confidence=confidence,
    )


def _framework_order(
    config: Mapping[str, Any], runs: Sequence[RunSummary | StoredRun]
) -> tuple[str, ...]:
    order = [fw for fw in config.get("frameworks") or [] if isinstance(fw, str)]
    present = {run.framework for run in runs}
    order = [fw for fw in order if fw in present] or order
    for run in runs:
        if run.framework not in order:
            order.append(run.framework)
    return tuple(order)


def _parity(summaries: Sequence[RunSummary]) -> Parity:
    """Largest relative difference between any two runs' first-batch losses."""
    losses: dict[str, float] = {}
    values: list[float] = []
    for s in summaries:
        if s.parity_loss is not None:
            losses.setdefault(s.framework, s.parity_loss)
            values.append(s.parity_loss)
    if len(losses) < 2:
        return Parity(losses, None, None)
    worst = 0.0
    for i, a in enumerate(values):
        for b in values[i + 1 :]:
            scale = max(abs(a), abs(b))
            worst = max(worst, abs(a - b) / scale if scale > 0 else 0.0)
    return Parity(losses, worst, worst < PARITY_TOLERANCE)
