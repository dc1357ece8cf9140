"""Statistics per framework and comparisons between frameworks, over the runs that finished.

Speed metrics (step time, steps/s, samples/s) are per window: each run's used measure windows,
pooled over its repeats. Every other metric has one value per run (repeat). Comparisons pair
every two frameworks in config order (the earlier one is the baseline) with
``profiler.stats.compare_runs``: the run is the unit (Welch's t on the runs' log medians), and
with one run on a side no significance is claimed, since run-to-run variation is unknown.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from profiler.report.events import FloatArray, Measured
from profiler.report.runs import RunSummary
from profiler.stats import (
    CONFIDENCE,
    METHOD_RUNS,
    compare_runs,
    describe,
    finite_or_none,
    run_location,
)

# Metric name -> whether a higher value is better; the order reports show them in. Optional
# metrics (GPU memory, energy) are compared only when some run has a value.
COMPARED_METRICS: dict[str, bool] = {
    "steps_per_s": True,
    "step_time_ms": False,
    "rss_peak_mib": False,
    "gpu_mem_peak_mib": False,
    "first_step_s": False,
    "energy_per_1k_samples_j": False,
}
OPTIONAL_METRICS = frozenset({"gpu_mem_peak_mib", "energy_per_1k_samples_j"})
WINDOW_METRICS = ("step_time_ms", "steps_per_s", "samples_per_s")
# Metrics summarised per framework (each only when some run has a value).
STAT_METRICS: tuple[str, ...] = (
    *WINDOW_METRICS,
    "first_step_s",
    "rss_peak_mib",
    "cpu_percent_mean",
    "gpu_util_percent_mean",
    "gpu_mem_peak_mib",
    "gpu_power_w_mean",
    "energy_per_1k_samples_j",
    "samples_per_s_per_w",
    "mfu",
)


@dataclass(frozen=True)
class MetricStats:
    """One metric of one framework over its finished runs.

    ``n`` values: windows for speed metrics, runs otherwise. ``n_windows`` and ``n_repeats`` are
    the measure windows and finished runs behind them. Statistics are None without values.
    """

    metric: str
    framework: str
    n: int
    median: float | None
    mean: float | None
    std: float | None
    p5: float | None
    p95: float | None
    min: float | None
    max: float | None
    n_windows: int
    n_repeats: int


@dataclass(frozen=True)
class Comparison:
    """``other`` against ``baseline`` on one metric, over the runs that finished (status ok).

    Each side is summarised run by run: a run's median over its used measure windows (speed
    metrics) or its one value (other metrics). ``baseline_median``/``other_median`` are each
    side's typical run, the geometric mean of its runs' medians (the median itself with one run),
    and ``ratio`` = other_median / baseline_median. ``ci95`` and ``p_value`` come from Welch's t
    on the runs' log medians, the run being the unit, so run-to-run differences count; both are
    None unless each side has two or more runs. ``significant``: True when the interval excludes
    1 (equivalently p < 0.05), False when it does not, None when it cannot be judged (one run on
    a side: run-to-run variation unknown). ``within_ci95`` is the interval from these runs'
    windows alone (autocorrelation allowed for, run-to-run differences not): what these very
    runs pin down. ``half_width`` is ci95's relative half-width; ``between_run_sd_*`` each side's
    run-to-run spread (log scale, about relative) beyond window noise. ``n_baseline``/``n_other``
    count the values (windows or runs) used, ``n_repeats_*`` the runs.
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
    significant: bool | None
    n_baseline: int
    n_other: int
    n_repeats_baseline: int
    n_repeats_other: int
    method: str = ""
    within_ci95: tuple[float, float] | None = None
    half_width: float | None = None
    between_run_sd_baseline: float | None = None
    between_run_sd_other: float | None = None


@dataclass(frozen=True)
class RunValues:
    """A finished run's summary with its used measure windows."""

    summary: RunSummary
    windows: Measured


def _window_values(metric: str, windows: Measured) -> FloatArray:
    ms = windows.step_times_ms()
    if metric == "step_time_ms":
        return ms
    if metric == "steps_per_s":
        return 1000.0 / ms
    samples = np.array([float(e.window.samples or math.nan) for e in windows.used])
    seconds = np.array([e.window.seconds for e in windows.used])
    per_s: FloatArray = samples / seconds
    return per_s


def metric_groups(metric: str, runs: Sequence[RunValues]) -> list[FloatArray]:
    """One array of values per run: its windows for speed metrics, else its one value."""
    if metric in WINDOW_METRICS:
        return [_window_values(metric, r.windows) for r in runs]
    out = []
    for r in runs:
        value = getattr(r.summary, metric)
        out.append(np.array([value], dtype=float) if value is not None else np.empty(0))
    return out


def _finished(runs: Sequence[RunValues], framework: str) -> list[RunValues]:
    return [r for r in runs if r.summary.framework == framework and r.summary.status == "ok"]


def framework_statistics(
    frameworks: Sequence[str], runs: Sequence[RunValues]
) -> tuple[MetricStats, ...]:
    """MetricStats per framework and metric, for every STAT_METRICS some finished run has."""
    out = []
    for metric in STAT_METRICS:
        rows = []
        for framework in frameworks:
            chosen = _finished(runs, framework)
            groups = metric_groups(metric, chosen)
            d = describe(np.concatenate(groups) if groups else np.empty(0))
            rows.append(
                MetricStats(
                    metric=metric,
                    framework=framework,
                    n=d.n,
                    median=finite_or_none(d.median),
                    mean=finite_or_none(d.mean),
                    std=finite_or_none(d.std),
                    p5=finite_or_none(d.p5),
                    p95=finite_or_none(d.p95),
                    min=finite_or_none(d.min),
                    max=finite_or_none(d.max),
                    n_windows=sum(len(r.windows.used) for r in chosen),
                    n_repeats=sum(1 for g in groups if g.size),
                )
            )
        if any(r.n for r in rows):
            out += rows
    return tuple(out)


def compare(
    metric: str,
    baseline: str,
    other: str,
    base_groups: list[FloatArray],
    other_groups: list[FloatArray],
    *,
    confidence: float = CONFIDENCE,
) -> Comparison:
    """One Comparison from the per-run value groups of each side (see ``compare_runs``), its
    interval computed at ``confidence`` (``profiler.repeats.verdict_confidence``)."""
    base = np.concatenate(base_groups) if base_groups else np.empty(0)
    values = np.concatenate(other_groups) if other_groups else np.empty(0)
    est = compare_runs(
        [g for g in base_groups if g.size],
        [g for g in other_groups if g.size],
        confidence=confidence,
    )
    base_typical, other_typical = _typical(base_groups), _typical(other_groups)
    ci95 = (est.low, est.high) if math.isfinite(est.low) and math.isfinite(est.high) else None
    within = (est.within_low, est.within_high)
    return Comparison(
        metric=metric,
        baseline=baseline,
        other=other,
        higher_is_better=COMPARED_METRICS.get(metric, False),
        baseline_median=base_typical,
        other_median=other_typical,
        ratio=finite_or_none(est.ratio),
        ci95=ci95,
        p_value=None if est.p_value is None else finite_or_none(est.p_value),
        significant=est.significant,
        n_baseline=int(np.isfinite(base).sum()),
        n_other=int(np.isfinite(values).sum()),
        n_repeats_baseline=est.runs_a,
        n_repeats_other=est.runs_b,
        method=_method(est.method, confidence) if math.isfinite(est.ratio) else "",
        within_ci95=within if all(math.isfinite(w) for w in within) else None,
        half_width=finite_or_none(est.half_width),
        between_run_sd_baseline=finite_or_none(est.between_sd_a),
        between_run_sd_other=finite_or_none(est.between_sd_b),
    )


def _method(method: str, confidence: float) -> str:
    """The method's name, with the level when it is not the 95% every interval is labelled."""
    if confidence == CONFIDENCE or method != METHOD_RUNS:
        return method
    return f"{method} at the {confidence:.0%} level (auto repeats stop on a narrow interval)"


def _typical(groups: list[FloatArray]) -> float | None:
    """A side's typical run: the geometric mean of its runs' medians (the median itself for one
    run); None without positive values."""
    logs = [
        loc.log_median
        for g in groups
        if g.size and math.isfinite((loc := run_location(g)).log_median)
    ]
    return math.exp(float(np.mean(logs))) if logs else None


def comparisons(
    frameworks: Sequence[str], runs: Sequence[RunValues], confidence: float = CONFIDENCE
) -> tuple[Comparison, ...]:
    """Every compared metric for every pair of frameworks (earlier in config order = baseline),
    intervals at ``confidence``."""
    if len(frameworks) < 2:
        return ()
    out = []
    for metric in COMPARED_METRICS:
        if metric in OPTIONAL_METRICS and all(getattr(r.summary, metric) is None for r in runs):
            continue
        groups = {fw: metric_groups(metric, _finished(runs, fw)) for fw in frameworks}
        for i, baseline in enumerate(frameworks):
            for other in frameworks[i + 1 :]:
                out.append(
                    compare(
                        metric,
                        baseline,
                        other,
                        groups[baseline],
                        groups[other],
                        confidence=confidence,
                    )
                )
    return tuple(out)
