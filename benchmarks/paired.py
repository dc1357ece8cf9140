"""The interval of a benchmark's paired ratios: how sure a "within 1%" is on a noisy machine."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from profiler.student_t import t_quantile


def ratio_interval(ratios: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """(geometric mean, low, high): a t interval of the mean log ratio over paired rounds (or
    jobs), each round one ratio measured side by side; NaN bounds below two rounds."""
    logs = [math.log(r) for r in ratios]
    mean = statistics.fmean(logs)
    if len(logs) < 2:
        return math.exp(mean), math.nan, math.nan
    half = t_quantile(0.5 + confidence / 2, len(logs) - 1) * statistics.stdev(logs)
    half /= math.sqrt(len(logs))
    return math.exp(mean), math.exp(mean - half), math.exp(mean + half)


def describe(ratios: Sequence[float]) -> str:
    """'mean 1.0127 [95%: 0.9986-1.0269]' of the rounds' ratios."""
    mean, low, high = ratio_interval(ratios)
    if math.isnan(low):
        return f"mean {mean:.4f} (one round: no interval)"
    return f"mean {mean:.4f} [95%: {low:.4f}-{high:.4f}]"
