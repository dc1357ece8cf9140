"""Statistics per framework and comparisons between frameworks, over the runs that finished.

Speed metrics (step time, steps/s, samples/s) are per window: each run's used measure windows,
pooled over its repeats. Every other metric has one value per run (repeat). Comparisons pair
every two frameworks in config order (the earlier one is the baseline): ratio of medians with a
95% bootstrap interval (two-level, runs then windows, when both sides have several runs) and a
two-sided Mann-Whitney U test.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from profiler.report.events import FloatArray, Measured
from profiler.report.runs import RunSummary
from profiler.stats import (
    bootstrap_middles,
    describe,
    grouped_bootstrap_ratio_ci,
    mann_whitney_p,
    ratio_interval,
    ratio_of_medians,
)

SIGNIFICANCE = 0.05

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

    ``ratio`` is median(other) / median(baseline). For speed metrics the values are the measure
    windows of all repeats; for the other metrics, one value per repeat (ci95 is then None unless
    both sides have two or more repeats). ``significant`` is True when the interval excludes 1
    and the test rejects equal distributions at 5% (each where available), False when either
    says no difference, None when neither can tell (too few values).
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
    samples = np.array([float(e.payload.get("samples") or math.nan) for e in windows.used])
    seconds = np.array([float(e.payload["seconds"]) for e in windows.used])
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


def _opt(value: float) -> float | None:
    return value if math.isfinite(value) else None


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
                    median=_opt(d.median),
                    mean=_opt(d.mean),
                    std=_opt(d.std),
                    p5=_opt(d.p5),
                    p95=_opt(d.p95),
                    min=_opt(d.min),
                    max=_opt(d.max),
                    n_windows=sum(len(r.windows.used) for r in chosen),
                    n_repeats=sum(1 for g in groups if g.size),
                )
            )
        if any(r.n for r in rows):
            out += rows
    return tuple(out)


def min_p_value(n_a: int, n_b: int) -> float:
    """The smallest two-sided Mann-Whitney p-value that samples of these sizes can reach."""
    return min(1.0, 2.0 / math.comb(n_a + n_b, n_a)) if n_a and n_b else 1.0


def significance(
    ci95: tuple[float, float] | None, p_value: float | None, n_a: int, n_b: int
) -> bool | None:
    """True/False/None as in ``Comparison.significant``."""
    says_no = (ci95 is not None and ci95[0] <= 1.0 <= ci95[1]) or (
        p_value is not None and p_value >= SIGNIFICANCE and min_p_value(n_a, n_b) < SIGNIFICANCE
    )
    if says_no:
        return False
    says_yes = p_value is not None and p_value < SIGNIFICANCE
    if says_yes or (ci95 is not None and p_value is None):
        return True
    return None


N_BOOT = 2000
BOOT_SEED = 0


class SpeedResamples:
    """Bootstrap resamples of each framework's step times, drawn once and shared by every pair
    and by both speed metrics (throughput is the reciprocal of step time, so the middle values of
    one resample give both medians: see ``profiler.stats.bootstrap_middles``).

    Each framework has its own stream (seeded from its name), so a framework's resamples do not
    depend on which others are in the session.
    """

    def __init__(self, runs: Sequence[RunValues]) -> None:
        self._runs = runs
        self._cache: dict[str, tuple[FloatArray, FloatArray]] = {}

    def medians(self, metric: str, framework: str) -> FloatArray:
        """Resampled medians of ``metric`` (step_time_ms or steps_per_s) for ``framework``."""
        if framework not in self._cache:
            groups = metric_groups("step_time_ms", _finished(self._runs, framework))
            seed = BOOT_SEED + zlib.crc32(framework.encode())
            self._cache[framework] = bootstrap_middles(groups, N_BOOT, seed)
        low, high = self._cache[framework]
        if metric == "step_time_ms":
            return (low + high) / 2.0
        return (1000.0 / low + 1000.0 / high) / 2.0


def compare(
    metric: str,
    baseline: str,
    other: str,
    base_groups: list[FloatArray],
    other_groups: list[FloatArray],
    *,
    resamples: tuple[FloatArray, FloatArray] | None = None,
) -> Comparison:
    """One Comparison from the per-run value groups of each side.

    ``resamples``: bootstrap medians of each side drawn beforehand (speed metrics); without them
    the groups are resampled here.
    """
    base = np.concatenate(base_groups) if base_groups else np.empty(0)
    values = np.concatenate(other_groups) if other_groups else np.empty(0)
    ratio = ratio_of_medians(base, values)
    if resamples is None:
        ratio, low, high = grouped_bootstrap_ratio_ci(
            base_groups, other_groups, n_boot=N_BOOT, seed=BOOT_SEED
        )
    elif base.size >= 2 and values.size >= 2 and math.isfinite(ratio):
        low, high = ratio_interval(*resamples)
    else:
        low = high = math.nan
    ci95 = (low, high) if math.isfinite(low) and math.isfinite(high) else None
    p_value = _opt(mann_whitney_p(base, values))
    return Comparison(
        metric=metric,
        baseline=baseline,
        other=other,
        higher_is_better=COMPARED_METRICS.get(metric, False),
        baseline_median=_opt(float(np.median(base))) if base.size else None,
        other_median=_opt(float(np.median(values))) if values.size else None,
        ratio=_opt(ratio),
        ci95=ci95,
        p_value=p_value,
        significant=significance(ci95, p_value, int(base.size), int(values.size)),
        n_baseline=int(base.size),
        n_other=int(values.size),
        n_repeats_baseline=sum(1 for g in base_groups if g.size),
        n_repeats_other=sum(1 for g in other_groups if g.size),
    )


def comparisons(frameworks: Sequence[str], runs: Sequence[RunValues]) -> tuple[Comparison, ...]:
    """Every compared metric for every pair of frameworks (earlier in config order = baseline)."""
    if len(frameworks) < 2:
        return ()
    speed = SpeedResamples(runs)
    out = []
    for metric in COMPARED_METRICS:
        if metric in OPTIONAL_METRICS and all(getattr(r.summary, metric) is None for r in runs):
            continue
        groups = {fw: metric_groups(metric, _finished(runs, fw)) for fw in frameworks}
        for i, baseline in enumerate(frameworks):
            for other in frameworks[i + 1 :]:
                resamples = None
                if metric in ("step_time_ms", "steps_per_s"):
                    resamples = (speed.medians(metric, baseline), speed.medians(metric, other))
                out.append(
                    compare(
                        metric,
                        baseline,
                        other,
                        groups[baseline],
                        groups[other],
                        resamples=resamples,
                    )
                )
    return tuple(out)
