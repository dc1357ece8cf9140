"""Student's t distribution (two-sided p-values and quantiles) without SciPy.

The engine stays free of ``scipy.stats`` (slow to import, and the report must build on a bare
server); tests check these against SciPy. Degrees of freedom may be fractional (Welch).
"""

from __future__ import annotations

import math
from statistics import NormalDist

_EPS = 1e-15
_TINY = 1e-300
# Beyond this many degrees of freedom the t distribution is the normal one to 1e-8.
_NORMAL_DF = 1e8


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        for num in (m * (b - m) * x / ((qam + m2) * (a + m2)),
                    -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))):  # fmt: skip
            d = 1.0 + num * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + num / c
            c = c if abs(c) > _TINY else _TINY
            h *= d * c
        if abs(d * c - 1.0) < _EPS:
            break
    return h


def incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b), for a, b > 0 and 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1.0 - x) / b


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|) for T with ``df`` degrees of freedom (df may be fractional, > 0)."""
    if math.isnan(t) or not df > 0:
        return math.nan
    if math.isinf(t):
        return 0.0
    if df > _NORMAL_DF:
        return math.erfc(abs(t) / math.sqrt(2.0))
    return incomplete_beta(df / 2.0, 0.5, df / (df + t * t))


def _t_density(t: float, df: float) -> float:
    log_norm = math.lgamma((df + 1.0) / 2.0) - math.lgamma(df / 2.0) - 0.5 * math.log(df * math.pi)
    return math.exp(log_norm - (df + 1.0) / 2.0 * math.log1p(t * t / df))


def t_quantile(q: float, df: float) -> float:
    """The ``q`` quantile (0.5 <= q < 1) of the t distribution with ``df`` degrees of freedom."""
    if not 0.5 <= q < 1.0:
        raise ValueError(f"q must be in [0.5, 1), not {q}")
    if not df > 0:
        return math.nan
    z = NormalDist().inv_cdf(q)
    if df > _NORMAL_DF:
        return z
    target = 2.0 * (1.0 - q)  # the two-sided p-value at the quantile
    if target >= 1.0:
        return 0.0
    low, high = 0.0, max(1.0, z)
    while t_two_sided_p(high, df) > target:
        low, high = high, high * 2.0
    # Newton's method from the Cornish-Fisher expansion, kept inside the bracket [low, high]
    # (bisecting whenever a step would leave it): a handful of steps instead of fifty.
    t = z + (z**3 + z) / (4.0 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96.0 * df * df)
    t = t if low < t < high else (low + high) / 2.0
    for _ in range(100):
        excess = t_two_sided_p(t, df) - target
        if excess > 0:
            low = t
        else:
            high = t
        step = excess / (2.0 * _t_density(t, df))
        new = t + step
        if not low < new < high:
            new = (low + high) / 2.0
        if abs(new - t) <= 1e-13 * max(1.0, t) or high - low <= 1e-13 * max(1.0, high):
            return new
        t = new
    return t
