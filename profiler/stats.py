"""Small, pure statistics for comparing frameworks: summaries, steady-state (drift) detection
with Kendall's tau, and run-level comparisons (``compare_runs``: the run is the unit, windows
within a run are autocorrelated).

No I/O and no plotting. Every function drops NaN (a missing measurement) before computing, and
answers NaN (or None for a verdict) instead of raising when there is too little data to say
anything.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from profiler.student_t import t_quantile, t_two_sided_p

# A series drifts when its rank correlation with time is significant at DRIFT_ALPHA *and* the
# median of its last third differs from that of its first third by DRIFT_MIN_CHANGE or more:
# the test alone flags tiny but consistent trends in long series, the size alone flags noise.
DRIFT_ALPHA = 0.01
DRIFT_MIN_CHANGE = 0.05
# Fewer values than this (three per third) cannot show a trend.
DRIFT_MIN_VALUES = 9
# Steady-state search: drop up to this fraction of the leading values, in steps of CUT_STEP.
MAX_CUT = 0.5
CUT_STEP = 0.1

ArrayLike = Iterable[float] | npt.ArrayLike
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Distribution:
    """A summary of measured values; every statistic is NaN when there are no values.

    ``std`` is the sample standard deviation (ddof=1), so it is NaN for a single value.
    ``p5``/``p95`` are linear-interpolated percentiles.
    """

    n: int
    median: float
    mean: float
    std: float
    p5: float
    p95: float
    min: float
    max: float


def finite_or_none(value: float) -> float | None:
    """``value``, or None when it is NaN or infinite (missing, in JSON and tables)."""
    return value if math.isfinite(value) else None


def finite(values: ArrayLike) -> FloatArray:
    """``values`` as a 1-D float array without NaN or infinities."""
    arr: FloatArray = np.asarray(values, dtype=np.float64).ravel()
    out: FloatArray = arr[np.isfinite(arr)]
    return out


def describe(values: ArrayLike) -> Distribution:
    """Summarise ``values`` (NaN dropped)."""
    arr = finite(values)
    n = int(arr.size)
    if n == 0:
        nan = math.nan
        return Distribution(0, nan, nan, nan, nan, nan, nan, nan)
    p5, median, p95 = (float(q) for q in np.percentile(arr, [5.0, 50.0, 95.0]))
    return Distribution(
        n=n,
        median=median,
        mean=float(arr.mean()),
        std=float(arr.std(ddof=1)) if n > 1 else math.nan,
        p5=p5,
        p95=p95,
        min=float(arr.min()),
        max=float(arr.max()),
    )


def ratio_of_medians(a: ArrayLike, b: ArrayLike) -> float:
    """median(b) / median(a); NaN when either is empty or median(a) is 0."""
    xa, xb = finite(a), finite(b)
    if xa.size == 0 or xb.size == 0:
        return math.nan
    base = float(np.median(xa))
    return float(np.median(xb)) / base if base != 0.0 else math.nan


def _tie_sizes(values: FloatArray) -> npt.NDArray[np.int64]:
    return np.unique(values, return_counts=True)[1]


def _normal_two_sided(z: float) -> float:
    return math.erfc(abs(z) / math.sqrt(2.0))


# Kendall's tau counts pairs in blocks of this many values, on at most TAU_MAX_VALUES evenly
# spaced values: enough to see a trend in any measure phase.
_TAU_BLOCK = 256
TAU_MAX_VALUES = 4000


def kendall_trend(values: ArrayLike) -> tuple[float, float]:
    """(tau-b, two-sided p) of ``values`` against their order: does the series go up or down?

    The p-value uses the normal approximation of S = concordant - discordant pairs, with the tie
    correction for tied values. Longer series are thinned evenly to TAU_MAX_VALUES first. NaN for
    fewer than three values or a constant series.
    """
    y = finite(values)
    if y.size > TAU_MAX_VALUES:
        y = y[np.linspace(0, y.size - 1, TAU_MAX_VALUES).round().astype(np.int64)]
    n = int(y.size)
    if n < 3 or np.all(y == y[0]):
        return math.nan, math.nan
    discordant = 0  # pairs i < j with y[i] > y[j]
    for start in range(0, n, _TAU_BLOCK):
        block = y[start : start + _TAU_BLOCK]
        earlier = np.sort(y[:start])
        discordant += int((start - np.searchsorted(earlier, block, side="right")).sum())
        discordant += int(np.triu(block[:, None] > block[None, :], k=1).sum())
    pairs = n * (n - 1) / 2.0
    ties = _tie_sizes(y)
    tied = float((ties * (ties - 1) / 2.0).sum())
    s = pairs - tied - 2.0 * discordant  # concordant - discordant
    tau = s / math.sqrt(pairs * (pairs - tied))
    var = (n * (n - 1) * (2 * n + 5) - float((ties * (ties - 1) * (2 * ties + 5)).sum())) / 18.0
    return tau, _normal_two_sided(s / math.sqrt(var))


# -- steady state -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trend:
    """Whether a series drifts with its order (time).

    ``tau`` is Kendall's tau-b of the values against their index, ``p_value`` its two-sided
    p-value (see ``kendall_trend``), ``change`` median(last third) / median(first third) - 1.
    ``drifting`` is None when there are fewer than DRIFT_MIN_VALUES values.
    """

    n: int
    tau: float
    p_value: float
    change: float
    drifting: bool | None


def trend(
    values: ArrayLike, *, alpha: float = DRIFT_ALPHA, min_change: float = DRIFT_MIN_CHANGE
) -> Trend:
    """Test ``values`` (in time order, NaN dropped) for a monotonic drift."""
    arr = finite(values)
    n = int(arr.size)
    if n < DRIFT_MIN_VALUES:
        return Trend(n, math.nan, math.nan, math.nan, None)
    third = n // 3
    first, last = float(np.median(arr[:third])), float(np.median(arr[-third:]))
    change = last / first - 1.0 if first != 0.0 else math.nan
    if np.all(arr == arr[0]):
        return Trend(n, 0.0, 1.0, 0.0, False)
    tau, p = kendall_trend(arr)
    drifting = p < alpha and math.isfinite(change) and abs(change) >= min_change
    return Trend(n, tau, p, change, drifting)


@dataclass(frozen=True)
class SteadyState:
    """Where a series settles: values from ``start`` on are the steady state.

    ``steady`` is True when the series from ``start`` on shows no drift (``start`` > 0 means a
    leading stretch was still settling and is left out), False when it drifts whatever is left
    out (then ``start`` is 0: nothing is dropped from a series with no steady part), None when
    the series is too short to tell. ``whole`` is the trend of the whole series, ``kept`` that
    of the values from ``start`` on.
    """

    start: int
    steady: bool | None
    whole: Trend
    kept: Trend


def steady_state(
    values: ArrayLike,
    *,
    max_cut: float = MAX_CUT,
    cut_step: float = CUT_STEP,
    alpha: float = DRIFT_ALPHA,
    min_change: float = DRIFT_MIN_CHANGE,
) -> SteadyState:
    """Find the shortest leading stretch of ``values`` whose removal leaves no drift.

    Tries dropping 0, ``cut_step``, 2 * ``cut_step``, ... up to ``max_cut`` of the values (while at
    least DRIFT_MIN_VALUES remain). ``values`` must be in time order; NaN are dropped first, so
    ``start`` indexes the finite values.
    """
    arr = finite(values)
    whole = trend(arr, alpha=alpha, min_change=min_change)
    if whole.drifting is not True:
        return SteadyState(0, None if whole.drifting is None else True, whole, whole)
    cuts = sorted({round(arr.size * cut_step * k) for k in range(1, int(max_cut / cut_step) + 1)})
    for cut in cuts:
        if arr.size - cut < DRIFT_MIN_VALUES:
            break
        kept = trend(arr[cut:], alpha=alpha, min_change=min_change)
        if kept.drifting is False:
            return SteadyState(cut, True, whole, kept)
    return SteadyState(0, False, whole, whole)


# -- comparing runs: the run is the unit, windows are autocorrelated ----------------------------

# A run's within-run interval needs at least this many windows, and this many effectively
# independent ones: fewer cannot show how strongly the windows are autocorrelated. Simulated AR(1)
# runs with autocorrelation 0.8 covered 86% at 20 windows, and chunks of real runs recorded on a
# loaded machine (autocorrelation time up to 15 windows) 90% at 60 windows and 95% at 75.
MIN_WINDOWS = 80
MIN_EFFECTIVE = 4.0


@dataclass(frozen=True)
class RunLocation:
    """Where one run's values sit, on the log scale, and how well its windows pin that down.

    ``log_median`` is log(median); ``se`` the standard error of ``log_median`` from the run's own
    windows, allowing for their autocorrelation (NaN for fewer than MIN_WINDOWS values or fewer
    than MIN_EFFECTIVE effective ones); ``tau`` the integrated autocorrelation time of the
    windows (1 for independent ones), so ``n / tau`` are effectively independent.
    """

    n: int
    log_median: float
    se: float
    tau: float

    @property
    def n_effective(self) -> float:
        """How many independent values the windows are worth."""
        return self.n / self.tau if self.tau > 0 else math.nan


def autocorrelation_time(values: ArrayLike) -> float:
    """The integrated autocorrelation time 1 + 2 * sum of the lag-k autocorrelations, >= 1.

    The sum is truncated with Geyer's initial monotone positive sequence (pairs of lags summed
    while positive and falling), the estimator MCMC uses for effective sample sizes, then
    corrected for the small-sample bias of the autocorrelations. NaN for fewer than three
    values; 1 for a constant series.
    """
    x = finite(values)
    n = int(x.size)
    if n < 3:
        return math.nan
    x = x - x.mean()
    if not np.any(x):
        return 1.0
    size = 1 << (2 * n - 1).bit_length()
    spectrum = np.fft.rfft(x, size)
    acov = np.fft.irfft(spectrum * np.conj(spectrum), size)[:n]
    rho = acov / acov[0]
    pairs = rho[: n - n % 2].reshape(-1, 2).sum(axis=1)  # (rho_0 + rho_1), (rho_2 + rho_3), ...
    positive = np.flatnonzero(pairs <= 0.0)
    pairs = pairs[: positive[0]] if positive.size else pairs
    pairs = np.minimum.accumulate(pairs)
    tau = max(1.0, float(2.0 * pairs.sum() - 1.0))
    # Each sample autocorrelation is biased low by about tau / n (the mean is estimated from the
    # same values): undo that for the lags summed, at most fivefold.
    return tau / max(0.2, 1.0 - (2 * pairs.size + 1) / n)


def run_location(values: ArrayLike) -> RunLocation:
    """The median of one run's values (time-ordered, positive) with its autocorrelation-aware
    standard error, on the log scale.

    ``tau`` is the autocorrelation time of the log values, so the run's windows are worth
    n / tau independent ones; the standard error is the spread of the quantiles at
    0.5 +- 1.96 * sqrt(tau / n) / 2 divided by 2 * 1.96 (the Price-Bonett standard error of a
    median, with n replaced by the effective n / tau). It needs no density estimate and a burst
    of slow windows moves it little. The median's error strictly depends on the autocorrelation
    of the signs (value above or below the median), which is weaker than that of the values: the
    values' tau, estimated far more steadily from a short run, errs on the safe side.
    Non-positive values make the location NaN.
    """
    x = finite(values)
    n = int(x.size)
    if n == 0 or np.any(x <= 0.0):
        return RunLocation(n, math.nan, math.nan, math.nan)
    ordered = np.sort(x)
    middle = (ordered[(n - 1) // 2] + ordered[n // 2]) / 2.0
    median = math.log(float(middle))  # exactly log(median), also for an even count
    if n < MIN_WINDOWS:
        return RunLocation(n, median, math.nan, math.nan)
    tau = autocorrelation_time(np.log(x))
    if n / tau < MIN_EFFECTIVE:
        return RunLocation(n, median, math.nan, tau)
    delta = min(0.49, _Z95 * math.sqrt(tau / n) / 2.0)
    low, high = (math.log(_quantile(ordered, q)) for q in (0.5 - delta, 0.5 + delta))
    return RunLocation(n, median, (high - low) / (2.0 * _Z95), tau)


_Z95 = 1.959963984540054  # the normal 97.5% quantile


def _quantile(ordered: FloatArray, q: float) -> float:
    """``np.quantile(values, q)`` (linear interpolation) of already sorted values, cheaply."""
    h = (ordered.size - 1) * q
    below = math.floor(h)
    above = min(below + 1, ordered.size - 1)
    return float(ordered[below] + (h - below) * (ordered[above] - ordered[below]))


@dataclass(frozen=True)
class RatioEstimate:
    """How a metric of side B compares with side A, each measured in one or more runs.

    ``ratio`` is B over A (as everywhere in reports: other / baseline) of each side's typical
    run, the geometric mean of its runs' medians; with one run per side that is exactly
    median(B) / median(A). ``low``/``high`` are the confidence interval of the ratio with the run
    as the unit (Welch's t on the runs' log medians, so run-to-run differences are part of the
    error); NaN unless both sides have two or more runs. ``half_width`` is (high - low) /
    (2 * ratio). ``p_value`` tests ratio = 1 with the same statistic (None without an interval),
    so ``significant`` (p < 1 - confidence) agrees with the interval excluding 1 by
    construction; None when it cannot be judged, as with one run per side, whose run-to-run
    variation is unknown.

    ``within_low``/``within_high``: the interval from the windows of these runs alone, allowing
    for their autocorrelation but not for run-to-run differences: what these very runs pin
    down, not what another run would show. ``between_sd_a``/``_b``: the run-to-run standard
    deviation of each side's log medians beyond what window noise explains (about the relative
    spread between runs; NaN with one run). ``method`` names the method for the report.
    """

    ratio: float
    low: float
    high: float
    half_width: float
    p_value: float | None
    significant: bool | None
    runs_a: int
    runs_b: int
    method: str
    within_low: float = math.nan
    within_high: float = math.nan
    between_sd_a: float = math.nan
    between_sd_b: float = math.nan
    df: float = math.nan


# The level every interval is labelled with; a difference is significant at 1 - CONFIDENCE.
CONFIDENCE = 0.95
METHOD_RUNS = "Welch t on run medians"
METHOD_ONE_RUN = "within-run only (one run on a side)"


def _side(runs: Sequence[ArrayLike]) -> list[RunLocation]:
    locations = [run_location(r) for r in runs]
    return [loc for loc in locations if math.isfinite(loc.log_median)]


def _within_se(side: list[RunLocation]) -> tuple[float, float]:
    """(standard error, effective degrees of freedom) of a side's mean log median from its
    windows alone."""
    se2 = np.array([loc.se**2 for loc in side])
    dfs = np.array([loc.n_effective - 1.0 for loc in side])
    if not side or not np.all(np.isfinite(se2)):
        return math.nan, math.nan
    total = float(se2.sum()) / len(side) ** 2
    df = total**2 / float((se2**2 / len(side) ** 4 / dfs).sum()) if total > 0 else math.inf
    return math.sqrt(total), df


def _between_sd(side: list[RunLocation]) -> float:
    if len(side) < 2:
        return math.nan
    spread = float(np.var([loc.log_median for loc in side], ddof=1))
    noise = float(np.mean([loc.se**2 for loc in side]))
    return math.sqrt(max(0.0, spread - noise)) if math.isfinite(noise) else math.nan


def _t_interval(
    center: float, se: float, df: float, confidence: float
) -> tuple[float, float, float]:
    """(low, high, two-sided p of center = 0) on the ratio scale, from a log-scale estimate."""
    if not (math.isfinite(se) and df > 0):
        return math.nan, math.nan, math.nan
    if se == 0.0:  # identical values on both sides: no noise to weigh the difference against
        ratio = math.exp(center)
        return ratio, ratio, 1.0 if center == 0.0 else 0.0
    spread = t_quantile(0.5 + confidence / 2.0, df) * se
    p = t_two_sided_p(center / se, df)
    return math.exp(center - spread), math.exp(center + spread), p


def compare_runs(
    a_runs: Sequence[ArrayLike],
    b_runs: Sequence[ArrayLike],
    *,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> RatioEstimate:
    """Compare side B with side A, each given as runs of steady-state per-window values
    (time-ordered, positive), or one value per run for per-run metrics.

    The run is the unit: each run is summarised by its median (on the log scale), and the two
    sides' mean log medians are compared with Welch's t-test, whose variance is the spread
    between runs (it already contains the window noise, autocorrelated or not, plus whatever
    shifts a whole run). With one run on either side that spread is unknown: no interval, no
    p-value, ``significant`` None, and only the within-run interval (see ``RatioEstimate``).
    The method is analytic and deterministic; ``seed`` is accepted so callers need not change
    when a resampling method is chosen, and is unused. About 1.5 ms for 10 runs
    of 200 windows.
    """
    del seed  # the analytic method draws no random numbers
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
    side_a, side_b = _side(a_runs), _side(b_runs)
    ka, kb = len(side_a), len(side_b)
    nan = math.nan
    if not ka or not kb:
        return RatioEstimate(nan, nan, nan, nan, None, None, ka, kb, METHOD_RUNS)
    mean_a = float(np.mean([loc.log_median for loc in side_a]))
    mean_b = float(np.mean([loc.log_median for loc in side_b]))
    center = mean_b - mean_a
    ratio = math.exp(center)
    se_wa, df_wa = _within_se(side_a)
    se_wb, df_wb = _within_se(side_b)
    se_w = math.sqrt(se_wa**2 + se_wb**2)
    df_w = _welch_df(se_wa**2, df_wa, se_wb**2, df_wb)
    within_low, within_high, _ = _t_interval(center, se_w, df_w, confidence)
    extra = {
        "within_low": within_low,
        "within_high": within_high,
        "between_sd_a": _between_sd(side_a),
        "between_sd_b": _between_sd(side_b),
    }
    if ka < 2 or kb < 2:
        return RatioEstimate(ratio, nan, nan, nan, None, None, ka, kb, METHOD_ONE_RUN, **extra)
    va = float(np.var([loc.log_median for loc in side_a], ddof=1)) / ka
    vb = float(np.var([loc.log_median for loc in side_b], ddof=1)) / kb
    df = _welch_df(va, ka - 1.0, vb, kb - 1.0)
    low, high, p = _t_interval(center, math.sqrt(va + vb), df, confidence)
    return RatioEstimate(
        ratio=ratio,
        low=low,
        high=high,
        half_width=(high - low) / (2.0 * ratio),
        p_value=p,
        significant=p < 1.0 - confidence,
        runs_a=ka,
        runs_b=kb,
        method=METHOD_RUNS,
        df=df,
        **extra,
    )


def _welch_df(va: float, df_a: float, vb: float, df_b: float) -> float:
    """Welch-Satterthwaite degrees of freedom of a sum of two variance estimates."""
    total = va + vb
    if not math.isfinite(total):
        return math.nan
    if total == 0.0:
        return math.inf
    terms = (va**2 / df_a if va else 0.0) + (vb**2 / df_b if vb else 0.0)
    return total**2 / terms if terms > 0 else math.inf
