"""profiler.stats.compare_runs and its parts, against cases whose answers are known and SciPy."""

from __future__ import annotations

import math

import numpy as np
import pytest

from profiler.stats import (
    METHOD_ONE_RUN,
    METHOD_RUNS,
    autocorrelation_time,
    compare_runs,
    run_location,
)
from profiler.student_t import incomplete_beta, t_quantile, t_two_sided_p


@pytest.mark.parametrize("df", [0.7, 1.0, 2.5, 4.0, 17.3, 400.0, 1e5])
def test_t_distribution_matches_scipy(df: float) -> None:
    from scipy import stats

    for t in (0.0, 0.4, 1.0, 2.2, 6.0, 40.0):
        assert t_two_sided_p(t, df) == pytest.approx(2.0 * stats.t.sf(t, df), rel=1e-9, abs=1e-15)
    for q in (0.5, 0.9, 0.975, 0.999):
        assert t_quantile(q, df) == pytest.approx(stats.t.ppf(q, df), rel=1e-8, abs=1e-12)


def test_t_distribution_without_bound_on_df_is_the_normal() -> None:
    assert t_quantile(0.975, math.inf) == pytest.approx(1.959963984540054)
    assert t_two_sided_p(1.959963984540054, 1e12) == pytest.approx(0.05)


def test_incomplete_beta_matches_scipy() -> None:
    from scipy.special import betainc

    for a, b, x in ((0.5, 0.5, 0.3), (3.0, 0.5, 0.9), (20.0, 0.5, 0.99), (2.0, 7.0, 0.1)):
        assert incomplete_beta(a, b, x) == pytest.approx(betainc(a, b, x), rel=1e-10)


def _ar1(rng: np.random.Generator, n: int, rho: float) -> np.ndarray:
    out = np.empty(n)
    out[0] = rng.standard_normal()
    for t in range(1, n):
        out[t] = rho * out[t - 1] + math.sqrt(1 - rho * rho) * rng.standard_normal()
    return out


def test_autocorrelation_time_of_known_processes() -> None:
    rng = np.random.default_rng(3)
    iid = np.median([autocorrelation_time(rng.standard_normal(2000)) for _ in range(20)])
    assert iid == pytest.approx(1.0, abs=0.15)
    # AR(1) with rho = 0.8: tau = (1 + rho) / (1 - rho) = 9
    ar = np.median([autocorrelation_time(_ar1(rng, 4000, 0.8)) for _ in range(20)])
    assert ar == pytest.approx(9.0, rel=0.15)
    assert autocorrelation_time([2.0] * 10) == 1.0
    assert math.isnan(autocorrelation_time([1.0, 2.0]))


def test_run_location_error_grows_with_autocorrelation() -> None:
    rng = np.random.default_rng(4)
    iid = run_location(np.exp(0.1 * rng.standard_normal(400)))
    ar = run_location(np.exp(0.1 * _ar1(rng, 400, 0.8)))
    assert iid.n == ar.n == 400
    assert ar.tau > 3.0 * iid.tau
    assert ar.se > 1.5 * iid.se
    # the median's standard error of 400 iid normals: sqrt(pi / 2) * sigma / sqrt(n)
    assert iid.se == pytest.approx(math.sqrt(math.pi / 2) * 0.1 / 20.0, rel=0.3)


def test_run_location_of_short_or_bad_runs() -> None:
    assert math.isnan(run_location([1.0, 2.0, 3.0]).se)  # too few windows to judge their noise
    assert run_location([1.0, 2.0, 3.0]).log_median == pytest.approx(math.log(2.0))
    assert math.isnan(run_location([1.0, -2.0, 3.0] * 5).log_median)  # a ratio needs positives
    assert run_location([]).n == 0


def test_one_run_per_side_claims_nothing() -> None:
    rng = np.random.default_rng(5)
    a, b = np.exp(0.1 * rng.standard_normal(200)), 1.5 * np.exp(0.1 * rng.standard_normal(200))
    r = compare_runs([a], [b])
    assert r.ratio == pytest.approx(float(np.median(b) / np.median(a)))
    assert (r.runs_a, r.runs_b, r.method) == (1, 1, METHOD_ONE_RUN)
    assert r.significant is None and r.p_value is None
    assert math.isnan(r.low) and math.isnan(r.high) and math.isnan(r.half_width)
    assert r.within_low < 1.5 < r.within_high  # what these two runs pin down
    assert compare_runs([a, a * 1.01], [b]).significant is None  # one side still has one run


def test_repeats_give_a_run_level_interval_that_agrees_with_the_test() -> None:
    rng = np.random.default_rng(6)
    offsets = rng.normal(0.0, 0.02, 8)
    a = [np.exp(offsets[i] + 0.1 * rng.standard_normal(200)) for i in range(4)]
    b = [1.1 * np.exp(offsets[i] + 0.1 * rng.standard_normal(200)) for i in range(4, 8)]
    r = compare_runs(a, b)
    assert r.method == METHOD_RUNS and (r.runs_a, r.runs_b) == (4, 4)
    logs_a = [math.log(np.median(x)) for x in a]
    logs_b = [math.log(np.median(x)) for x in b]
    assert r.ratio == pytest.approx(math.exp(np.mean(logs_b) - np.mean(logs_a)))
    from scipy import stats

    welch = stats.ttest_ind(logs_b, logs_a, equal_var=False)
    assert r.p_value == pytest.approx(welch.pvalue, rel=1e-6)
    ci = welch.confidence_interval(0.95)
    assert (r.low, r.high) == pytest.approx((math.exp(ci.low), math.exp(ci.high)), rel=1e-6)
    assert r.half_width == pytest.approx((r.high - r.low) / (2 * r.ratio))
    assert r.low < 1.1 < r.high
    assert r.significant is (r.p_value < 0.05) is not (r.low <= 1.0 <= r.high)
    # the run offsets (2%) are more than the window noise explains: the spread between runs
    assert 0.005 < r.between_sd_a < 0.05
    assert r.within_high - r.within_low < r.high - r.low  # windows alone would claim too much


def test_run_offsets_are_not_significant_however_many_windows() -> None:
    """The failure the window-level test had: runs that differ only by their process offset."""
    rng = np.random.default_rng(7)
    positives = 0
    for _ in range(200):
        offsets = rng.normal(0.0, 0.02, 6)
        runs = [np.exp(o + 0.05 * rng.standard_normal(2000)) for o in offsets]
        positives += compare_runs(runs[:3], runs[3:]).significant is True
    assert positives / 200 <= 0.09  # 5% expected; 200 trials: +-3% is two standard errors


def test_identical_sides_and_empty_sides() -> None:
    same = [np.full(20, 3.0), np.full(20, 3.0)]
    r = compare_runs(same, same)
    assert (r.ratio, r.low, r.high, r.significant) == (1.0, 1.0, 1.0, False)
    empty = compare_runs([], [np.ones(5)])
    assert math.isnan(empty.ratio) and empty.significant is None and empty.runs_a == 0
    nan_runs = compare_runs([[math.nan]], [[1.0]])
    assert nan_runs.runs_a == 0
    with pytest.raises(ValueError, match="confidence"):
        compare_runs(same, same, confidence=1.5)


def test_one_value_per_run_metrics() -> None:
    """Per-run metrics (peak memory) give one value a run: the runs' spread is the error."""
    r = compare_runs([[100.0], [102.0], [98.0]], [[150.0], [153.0], [148.0]])
    assert r.ratio == pytest.approx(1.5, rel=0.01)
    assert r.significant is True and r.low < 1.5 < r.high
    assert math.isnan(r.within_low)  # a single value has no window noise to measure
