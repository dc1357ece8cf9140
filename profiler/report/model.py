"""The report model: everything a report says about a stored session, as frozen dataclasses.

``build_report`` is a pure transform of a ``StoredSession``; renderers (JSON, CSV, PDF, HTML) only
format what it computed. A missing metric is None, never 0. The same stored session always gives
the same report (the bootstrap has a fixed seed).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from profiler.report.runs import (
    PHASES,
    FloatArray,
    PhaseInterval,
    RunSeries,
    RunSummary,
    StepTime,
    run_series,
    summarize_run,
    window_step_times_ms,
)
from profiler.stats import bootstrap_ratio_ci, mann_whitney_p, ratio_of_medians
from profiler.store import StoredRun, StoredSession

__all__ = [
    "COMPARED_METRICS",
    "PARITY_TOLERANCE",
    "PHASES",
    "REPORT_SCHEMA_VERSION",
    "Comparison",
    "FloatArray",
    "Parity",
    "PhaseInterval",
    "Report",
    "RunSeries",
    "RunSummary",
    "SessionRef",
    "StepTime",
    "build_report",
]

REPORT_SCHEMA_VERSION = 1
PARITY_TOLERANCE = 1e-4
# Metric name -> whether a higher value is better; the order is the order reports show them in.
COMPARED_METRICS: dict[str, bool] = {
    "steps_per_s": True,
    "step_time_ms": False,
    "rss_peak_mib": False,
    "first_step_s": False,
}


@dataclass(frozen=True)
class Comparison:
    """``other`` against ``baseline`` on one metric, over the runs that finished (status ok).

    ``ratio`` is median(other) / median(baseline). For step time and throughput the values are
    the measure windows of all repeats; for the other metrics, one value per repeat (ci95 is
    then None unless both sides have two or more repeats).
    """

    metric: str
    baseline: str
    other: str
    higher_is_better: bool
    baseline_median: float | None
    other_median: float | None
    ratio: float | None
    ci95: tuple[float, float] | None
    p_value: float | None
    n_baseline: int
    n_other: int


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


@dataclass(frozen=True)
class Report:
    """A whole report: summaries, comparisons, parity and series of one session."""

    schema_version: int
    generated_from: SessionRef
    config: dict[str, Any]
    environment: dict[str, Any]
    runs: tuple[RunSummary, ...]
    comparisons: tuple[Comparison, ...]
    parity: Parity
    series: tuple[RunSeries, ...] = field(repr=False)

    @property
    def frameworks(self) -> tuple[str, ...]:
        """Frameworks in config order (then any others in run order)."""
        return _framework_order(self.config, self.runs)

    @property
    def has_gpu(self) -> bool:
        """Whether any run recorded a GPU metric."""
        return any(np.isfinite(s.gpu_mem_mib).any() for s in self.series)


def build_report(session: StoredSession) -> Report:
    """Summarise, compare and collect the series of every run of ``session``."""
    runs = sorted(session.runs, key=lambda r: r.seq)
    summaries = tuple(summarize_run(r) for r in runs)
    return Report(
        schema_version=REPORT_SCHEMA_VERSION,
        generated_from=SessionRef(session.id, session.name, session.created_at, session.status),
        config=dict(session.config),
        environment=dict(session.env),
        runs=summaries,
        comparisons=_comparisons(session.config, runs, summaries),
        parity=_parity(summaries),
        series=tuple(run_series(r) for r in runs),
    )


# -- across runs --------------------------------------------------------------------------------


def _framework_order(
    config: Mapping[str, Any], runs: Sequence[RunSummary | StoredRun]
) -> tuple[str, ...]:
    order = [fw for fw in config.get("frameworks") or [] if isinstance(fw, str)]
    for run in runs:
        if run.framework not in order:
            order.append(run.framework)
    return tuple(order)


def _metric_values(
    metric: str, runs: Sequence[StoredRun], summaries: Sequence[RunSummary], framework: str
) -> FloatArray:
    """The values compared for one framework: windows for speed, one per ok run otherwise."""
    chosen = [
        (run, s)
        for run, s in zip(runs, summaries, strict=True)
        if run.framework == framework and run.status == "ok"
    ]
    if metric == "step_time_ms":
        parts = [window_step_times_ms(run) for run, _ in chosen]
        return np.concatenate(parts) if parts else np.empty(0)
    if metric == "steps_per_s":
        parts = [1000.0 / window_step_times_ms(run) for run, _ in chosen]
        return np.concatenate(parts) if parts else np.empty(0)
    values = [getattr(s, metric) for _, s in chosen]
    return np.array([v for v in values if v is not None], dtype=float)


def _comparisons(
    config: Mapping[str, Any], runs: Sequence[StoredRun], summaries: Sequence[RunSummary]
) -> tuple[Comparison, ...]:
    frameworks = _framework_order(config, runs)
    if len(frameworks) < 2:
        return ()
    baseline, others = frameworks[0], frameworks[1:]
    out = []
    for metric, higher in COMPARED_METRICS.items():
        base_values = _metric_values(metric, runs, summaries, baseline)
        for other in others:
            values = _metric_values(metric, runs, summaries, other)
            ratio, low, high = bootstrap_ratio_ci(base_values, values)
            if math.isnan(ratio):
                ratio = ratio_of_medians(base_values, values)
            out.append(
                Comparison(
                    metric=metric,
                    baseline=baseline,
                    other=other,
                    higher_is_better=higher,
                    baseline_median=_finite_or_none(float(np.median(base_values)))
                    if base_values.size
                    else None,
                    other_median=_finite_or_none(float(np.median(values))) if values.size else None,
                    ratio=_finite_or_none(ratio),
                    ci95=(low, high) if math.isfinite(low) and math.isfinite(high) else None,
                    p_value=_finite_or_none(mann_whitney_p(base_values, values)),
                    n_baseline=int(base_values.size),
                    n_other=int(values.size),
                )
            )
    return tuple(out)


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


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None
