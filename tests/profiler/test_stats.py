"""profiler.stats against distributions whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from profiler.stats import (
    DRIFT_MIN_VALUES,
    Distribution,
    bootstrap_middles,
    bootstrap_ratio_ci,
    describe,
    grouped_bootstrap_ratio_ci,
    kendall_trend,
    mann_whitney_p,
    rank,
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


def test_bootstrap_ci_brackets_a_known_ratio() -> None:
    rng = np.random.default_rng(42)
    a = rng.normal(10.0, 1.0, 200)
    b = rng.normal(13.0, 1.3, 200)  # true ratio of medians: 1.3
    ratio, low, high = bootstrap_ratio_ci(a, b)
    assert ratio == pytest.approx(1.3, rel=0.03)
    assert low < 1.3 < high
    assert low < ratio < high
    assert high - low < 0.1


def test_bootstrap_ci_covers_the_true_ratio_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(7)
    covered = 0
    trials = 60
    for _ in range(trials):
        a = rng.normal(10.0, 1.0, 80)
        b = rng.normal(5.0, 0.5, 80)  # true ratio 0.5
        _, low, high = bootstrap_ratio_ci(a, b, n_boot=500)
        covered += low <= 0.5 <= high
    assert covered >= 0.85 * trials


def test_bootstrap_is_deterministic_for_a_seed() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.lognormal(0, 0.3, 50), rng.lognormal(0.2, 0.3, 50)
    assert bootstrap_ratio_ci(a, b) == bootstrap_ratio_ci(a, b)
    assert bootstrap_ratio_ci(a, b, seed=1) != bootstrap_ratio_ci(a, b, seed=2)


def test_bootstrap_level_widens_the_interval() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(10, 1, 100), rng.normal(11, 1, 100)
    _, low90, high90 = bootstrap_ratio_ci(a, b, level=0.90)
    _, low99, high99 = bootstrap_ratio_ci(a, b, level=0.99)
    assert low99 < low90 < high90 < high99


def test_bootstrap_large_inputs_are_resampled_in_blocks() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.normal(100, 5, 5000), rng.normal(120, 5, 5000)
    ratio, low, high = bootstrap_ratio_ci(a, b, n_boot=1000)  # blocks of 400 resamples
    assert ratio == pytest.approx(1.2, rel=0.005)
    assert low < ratio < high
    assert high - low < 0.01


def test_bootstrap_edge_cases() -> None:
    assert all(math.isnan(v) for v in bootstrap_ratio_ci([], [1.0, 2.0]))
    assert all(math.isnan(v) for v in bootstrap_ratio_ci([math.nan], [1.0, 2.0]))
    ratio, low, high = bootstrap_ratio_ci([2.0], [3.0])
    assert ratio == 1.5
    assert math.isnan(low) and math.isnan(high)
    ratio, low, high = bootstrap_ratio_ci([2.0, math.nan, 2.0], [4.0, 4.0])
    assert (ratio, low, high) == (2.0, 2.0, 2.0)
    assert math.isnan(bootstrap_ratio_ci([0.0, 0.0], [1.0, 2.0])[0])
    with pytest.raises(ValueError, match="level"):
        bootstrap_ratio_ci([1.0, 2.0], [1.0, 2.0], level=95)
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_ratio_ci([1.0, 2.0], [1.0, 2.0], n_boot=0)


def test_mann_whitney_identical_distributions_are_not_significant() -> None:
    rng = np.random.default_rng(11)
    p_values = [mann_whitney_p(rng.normal(0, 1, 40), rng.normal(0, 1, 40)) for _ in range(100)]
    assert sum(p > 0.05 for p in p_values) >= 88


def test_mann_whitney_detects_a_shift() -> None:
    rng = np.random.default_rng(12)
    assert mann_whitney_p(rng.normal(0, 1, 50), rng.normal(2, 1, 50)) < 0.001


def test_mann_whitney_known_exact_value() -> None:
    # Three against three, fully separated: 2 of the 20 orderings are this extreme.
    assert mann_whitney_p([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]) == pytest.approx(0.1)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ([], [1.0, 2.0]),
        ([1.0], [1.0, 2.0]),
        ([1.0, math.nan], [1.0, 2.0]),
        ([3.0, 3.0], [3.0, 3.0, 3.0]),
    ],
)
def test_mann_whitney_is_nan_without_enough_data(a: list[float], b: list[float]) -> None:
    assert math.isnan(mann_whitney_p(a, b))


# -- against SciPy (a test-only reference: the engine does not import scipy.stats) -----------------


@pytest.mark.parametrize(("m", "n"), [(2, 2), (3, 3), (5, 7), (8, 8), (8, 40), (20, 20), (3, 100)])
def test_mann_whitney_matches_scipy(m: int, n: int) -> None:
    from scipy.stats import mannwhitneyu

    rng = np.random.default_rng(m * 100 + n)
    a, b = rng.normal(0, 1, m), rng.normal(0.7, 1, n)
    assert mann_whitney_p(a, b) == pytest.approx(mannwhitneyu(a, b).pvalue, rel=1e-9)


def test_mann_whitney_with_ties_matches_scipy() -> None:
    from scipy.stats import mannwhitneyu

    a, b = [1.0, 1.0, 2.0, 3.0, 3.0, 3.0, 4.0], [2.0, 3.0, 5.0, 5.0, 6.0]
    assert mann_whitney_p(a, b) == pytest.approx(mannwhitneyu(a, b).pvalue, rel=1e-9)


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


def test_rank_averages_ties() -> None:
    assert list(rank(np.array([10.0, 30.0, 20.0, 20.0]))) == [1.0, 4.0, 2.5, 2.5]


# -- the bootstrap of medians -------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 3, 8, 51])
def test_bootstrap_middles_match_brute_force_resampling(n: int) -> None:
    """Order statistics sampled directly have the distribution of resampled medians."""
    rng = np.random.default_rng(n)
    x = rng.lognormal(0, 0.5, n)
    low, high = bootstrap_middles([x], 50_000, seed=1)
    assert np.all(low <= high) and np.all(np.isin(low, x)) and np.all(np.isin(high, x))
    if n % 2:
        assert np.array_equal(low, high)
    medians = (low + high) / 2
    brute = np.median(x[rng.integers(0, n, (50_000, n))], axis=1)
    assert medians.mean() == pytest.approx(brute.mean(), rel=0.01)
    assert medians.std() == pytest.approx(brute.std(), rel=0.05, abs=1e-12)
    for q in (0.025, 0.5, 0.975):
        grid = np.sort(np.unique(brute))
        # quantiles agree up to one step of the (discrete) distribution
        assert abs(np.searchsorted(grid, np.quantile(medians, q))
                   - np.searchsorted(grid, np.quantile(brute, q))) <= 1  # fmt: skip


# -- the two-level bootstrap -----------------------------------------------------------------------


def test_grouped_bootstrap_with_one_group_each_is_the_plain_bootstrap() -> None:
    rng = np.random.default_rng(21)
    a, b = rng.normal(10, 1, 60), rng.normal(12, 1, 60)
    assert grouped_bootstrap_ratio_ci([a], [b]) == bootstrap_ratio_ci(a, b)


def test_grouped_bootstrap_widens_when_runs_disagree() -> None:
    """Three runs per side whose levels differ by +-5%: windows alone look precise, runs don't."""
    rng = np.random.default_rng(22)
    a_runs = [rng.normal(10 * f, 0.1, 50) for f in (0.95, 1.0, 1.05)]
    b_runs = [rng.normal(13 * f, 0.13, 50) for f in (1.05, 0.95, 1.0)]
    ratio, low, high = grouped_bootstrap_ratio_ci(a_runs, b_runs)
    _, pooled_low, pooled_high = bootstrap_ratio_ci(np.concatenate(a_runs), np.concatenate(b_runs))
    assert ratio == pytest.approx(1.3, rel=0.03)
    assert low < 1.3 < high
    assert high - low > 2 * (pooled_high - pooled_low)


def test_grouped_bootstrap_covers_the_true_ratio_with_run_to_run_noise() -> None:
    """Five runs a side, each run's level off by ~3%: resampling runs covers the true ratio far
    more often than pooling the windows (few runs keep it below the nominal 95%)."""
    rng = np.random.default_rng(23)
    grouped = pooled = 0
    trials = 60
    for _ in range(trials):
        a_runs = [rng.normal(10 * rng.normal(1, 0.03), 0.5, 30) for _ in range(5)]
        b_runs = [rng.normal(8 * rng.normal(1, 0.03), 0.4, 30) for _ in range(5)]
        _, low, high = grouped_bootstrap_ratio_ci(a_runs, b_runs, n_boot=400)
        grouped += low <= 0.8 <= high
        a, b = np.concatenate(a_runs), np.concatenate(b_runs)
        _, low, high = bootstrap_ratio_ci(a, b, n_boot=400)
        pooled += low <= 0.8 <= high
    assert grouped >= 0.75 * trials
    assert grouped >= pooled + 0.15 * trials


def test_grouped_bootstrap_unequal_groups_and_empty_ones() -> None:
    rng = np.random.default_rng(24)
    a_runs = [rng.normal(10, 0.5, 40), rng.normal(10, 0.5, 25), np.array([math.nan])]
    b_runs = [rng.normal(20, 1.0, 10), rng.normal(20, 1.0, 35)]
    ratio, low, high = grouped_bootstrap_ratio_ci(a_runs, b_runs, n_boot=500)
    assert ratio == pytest.approx(2.0, rel=0.05)
    assert low < ratio < high
    assert grouped_bootstrap_ratio_ci(a_runs, b_runs, n_boot=500) == (ratio, low, high)
    assert all(math.isnan(v) for v in grouped_bootstrap_ratio_ci([], [[1.0, 2.0]]))


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
