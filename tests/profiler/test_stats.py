"""profiler.stats against distributions whose answers are known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from profiler.stats import (
    Distribution,
    bootstrap_ratio_ci,
    describe,
    mann_whitney_p,
    ratio_of_medians,
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
