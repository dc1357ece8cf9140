"""Small, pure statistics for comparing two frameworks: summaries, ratio intervals, a rank test.

No I/O and no plotting. Every function drops NaN (a missing measurement) before computing, and
answers NaN instead of raising when there is too little data to say anything.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# Bootstrap resamples are drawn in blocks of at most this many values, so memory stays bounded
# (about 16 MB) whatever the sample sizes.
_BLOCK_VALUES = 2_000_000


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


def finite(values: Iterable[float] | npt.ArrayLike) -> npt.NDArray[np.float64]:
    """``values`` as a 1-D float array without NaN or infinities."""
    arr: npt.NDArray[np.float64] = np.asarray(values, dtype=np.float64).ravel()
    out: npt.NDArray[np.float64] = arr[np.isfinite(arr)]
    return out


def describe(values: Iterable[float] | npt.ArrayLike) -> Distribution:
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


def ratio_of_medians(
    a: Iterable[float] | npt.ArrayLike, b: Iterable[float] | npt.ArrayLike
) -> float:
    """median(b) / median(a); NaN when either is empty or median(a) is 0."""
    xa, xb = finite(a), finite(b)
    if xa.size == 0 or xb.size == 0:
        return math.nan
    base = float(np.median(xa))
    return float(np.median(xb)) / base if base != 0.0 else math.nan


def bootstrap_ratio_ci(
    a: Iterable[float] | npt.ArrayLike,
    b: Iterable[float] | npt.ArrayLike,
    *,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """(median(b) / median(a), low, high): a percentile-bootstrap interval for the ratio.

    ``a`` is the baseline. Each resample draws ``a`` and ``b`` independently with replacement; the
    same ``seed`` always gives the same interval. The interval is NaN when either side has fewer
    than two values (a single value has no spread to resample), and the ratio is NaN when either
    side is empty or median(a) is 0.
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be between 0 and 1, not {level}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be positive, not {n_boot}")
    xa, xb = finite(a), finite(b)
    ratio = ratio_of_medians(xa, xb)
    if xa.size < 2 or xb.size < 2 or math.isnan(ratio):
        return ratio, math.nan, math.nan
    rng = np.random.default_rng(seed)
    ratios = np.empty(n_boot)
    block = max(1, _BLOCK_VALUES // max(xa.size, xb.size))
    for start in range(0, n_boot, block):
        rows = min(block, n_boot - start)
        med_a = np.median(xa[rng.integers(0, xa.size, (rows, xa.size))], axis=1)
        med_b = np.median(xb[rng.integers(0, xb.size, (rows, xb.size))], axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios[start : start + rows] = med_b / med_a
    ratios = ratios[np.isfinite(ratios)]
    if ratios.size == 0:
        return ratio, math.nan, math.nan
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(ratios, [tail, 1.0 - tail])
    return ratio, float(low), float(high)


def mann_whitney_p(a: Iterable[float] | npt.ArrayLike, b: Iterable[float] | npt.ArrayLike) -> float:
    """Two-sided Mann-Whitney U p-value that ``a`` and ``b`` come from the same distribution.

    NaN when either side has fewer than two values or every value (of both) is equal, where the
    test has nothing to rank.
    """
    xa, xb = finite(a), finite(b)
    if xa.size < 2 or xb.size < 2:
        return math.nan
    both = np.concatenate([xa, xb])
    if np.all(both == both[0]):
        return math.nan
    from scipy.stats import mannwhitneyu  # scipy.stats is slow to import: only when needed

    return float(mannwhitneyu(xa, xb, alternative="two-sided").pvalue)
