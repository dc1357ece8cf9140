"""profiler.stats against distributions whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from profiler.stats import (
    DRIFT_MIN_VALUES,
    Distribution,
    describe,
    kendall_trend,
    ratio_of_medians,
    steady_state,
    trend,
)


def test_describe_known_values() -> None:
    d = describe(np.arange(1.0, 101.0))
    assert d.n == 100
    assert d.median == 50.5
    assert d.mean == 50.5
    assert d.std == pytest.approx(np.std(np.arange(1.0, 101.0), ddof=1))
    assert d.p5 == pytest.approx(5.95)
    assert d.p95 == pytest.approx(95.05)
    assert (d.min, d.max) == (1.0, 100.0)


def test_describe_drops_nan_and_infinities() -> None:
    d = describe([1.0, math.nan, 3.0, math.inf, 2.0])
    assert (d.n, d.median, d.mean, d.min, d.max) == (3, 2.0, 2.0, 1.0, 3.0)


@pytest.mark.parametrize("values", [[], [math.nan], [math.nan, math.inf]])
def test_describe_empty_is_all_nan(values: list[float]) -> None:
    d = describe(values)
    assert d.n == 0
    stats = [d.median, d.mean, d.std, d.p5, d.p95, d.min, d.max]
    assert all(math.isnan(v) for v in stats)


def test_describe_single_value_has_no_spread() -> None:
    d = describe([4.2])
    assert d == Distribution(1, 4.2, 4.2, d.std, 4.2, 4.2, 4.2, 4.2)
    assert math.isnan(d.std)


def test_ratio_of_medians() -> None:
    assert ratio_of_medians([1.0, 2.0, 3.0], [4.0, 6.0, 8.0]) == 3.0
    assert math.isnan(ratio_of_medians([], [1.0]))
    assert math.isnan(ratio_of_medians([0.0, 0.0], [1.0]))


# -- against SciPy (a test-only reference: the engine does not import scipy.stats) -----------------


@pytest.mark.parametrize("n", [3, 10, 40, 300, 3600])
def test_kendall_trend_matches_scipy(n: int) -> None:
    from scipy.stats import kendalltau

    rng = np.random.default_rng(n)
    y = np.linspace(0, 0.3, n) + rng.normal(0, 1, n)
    if n == 300:
        y = np.round(y, 1)  # with ties
    tau, p = kendall_trend(y)
    ref = kendalltau(np.arange(n), y, method="asymptotic")
    assert tau == pytest.approx(ref.statistic, rel=1e-9)
    assert p == pytest.approx(ref.pvalue, rel=1e-6)


# -- steady state -------------------------------------------------------------------------------


def test_trend_of_stationary_noise_is_not_drift() -> None:
    rng = np.random.default_rng(31)
    flagged = sum(bool(trend(rng.normal(10, 1, 60)).drifting) for _ in range(200))
    assert flagged <= 4  # alpha 1%, and the size threshold on top


def test_trend_of_a_linear_drift() -> None:
    rng = np.random.default_rng(32)
    values = np.linspace(10, 12, 60) + rng.normal(0, 0.2, 60)  # +20% over the phase
    t = trend(values)
    assert t.drifting is True
    assert t.tau > 0.5 and t.p_value < 1e-6
    assert t.change == pytest.approx(0.13, abs=0.04)  # last third vs first third
    assert trend(values[::-1]).drifting is True  # speeding up counts too
    assert trend(values[::-1]).change < 0


def test_a_tiny_consistent_drift_is_significant_but_not_drift() -> None:
    rng = np.random.default_rng(33)
    values = np.linspace(10, 10.2, 2000) + rng.normal(0, 0.05, 2000)  # +2%
    t = trend(values)
    assert t.p_value < 1e-6
    assert abs(t.change) < 0.05
    assert t.drifting is False


def test_trend_edge_cases() -> None:
    assert trend([1.0] * (DRIFT_MIN_VALUES - 1)).drifting is None
    assert math.isnan(trend([]).tau)
    flat = trend([3.0] * 20)
    assert (flat.drifting, flat.change) == (False, 0.0)
    assert trend([1.0, math.nan, 2.0] * 2).n == 4


def test_steady_state_leaves_out_a_settling_start() -> None:
    """Step times that fall for the first ~20% of windows (caches, allocator, JIT), then hold."""
    rng = np.random.default_rng(34)
    n = 50
    values = 10 + 6 * np.exp(-np.arange(n) / 3.0) + rng.normal(0, 0.15, n)
    st = steady_state(values)
    assert st.whole.drifting is True
    assert st.steady is True
    assert 0 < st.start <= 0.3 * n
    assert st.kept.drifting is False
    assert float(np.median(values[st.start :])) == pytest.approx(10, rel=0.03)


def test_steady_state_of_a_drift_throughout() -> None:
    rng = np.random.default_rng(35)
    values = np.linspace(10, 14, 40) + rng.normal(0, 0.1, 40)  # thermal throttling, say
    st = steady_state(values)
    assert (st.steady, st.start) == (False, 0)
    assert st.whole.change > 0.2


def test_steady_state_of_a_stationary_series() -> None:
    rng = np.random.default_rng(36)
    st = steady_state(rng.lognormal(1.0, 0.1, 30))
    assert (st.steady, st.start) == (True, 0)
    assert steady_state([1.0, 2.0, 3.0]).steady is None
