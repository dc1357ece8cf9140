"""The verdict's calibration, fast: A/A false positives and coverage of a known ratio in every
simulated scenario (benchmarks/bench_calibration.py runs the full version, 1,000 comparisons a
row). Fixed seeds, so the rates are exact for this code; the bounds allow 2.33 Monte Carlo
standard errors (one-sided 99%) around the targets (false positives <= 6%, coverage >= 93%),
and the rates pooled over the scenarios must meet them with the pooled, smaller error."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from benchmarks.bench_calibration import (
    MAX_FALSE_POSITIVE,
    MIN_COVERAGE,
    SCENARIOS,
    Calibration,
    FloatArray,
    auto_target,
    calibrate,
    calibrate_auto,
    passes,
)
from profiler.stats import RatioEstimate, compare_runs

SIMS = 200
SLACK = 2.33


@functools.cache
def _calibrated(scenario: str, runs: int, windows: int) -> Calibration:
    return calibrate(scenario, runs=runs, windows=windows, sims=SIMS)


def _check(c: Calibration) -> None:
    assert passes(c, SLACK), (
        f"{c.scenario}, {c.runs} run(s) of {c.windows} windows: {c.false_positive:.1%} A/A "
        f"significant (+-{c.false_positive_error():.1%}), coverage {c.coverage:.1%} "
        f"(+-{c.coverage_error():.1%})"
    )


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_repeats_are_calibrated(scenario: str) -> None:
    _check(_calibrated(scenario, 3, 200))


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_single_runs_claim_nothing_and_their_own_interval_covers(scenario: str) -> None:
    c = _calibrated(scenario, 1, 200)
    assert c.false_positive == 0.0  # one run per side: never "significant"
    assert c.given > 0.95
    _check(c)


def test_pooled_over_scenarios_the_targets_hold_within_their_smaller_error() -> None:
    rows = [_calibrated(s, 3, 200) for s in SCENARIOS]
    n = SIMS * len(rows)
    false_positive = sum(c.false_positive for c in rows) / len(rows)
    assert false_positive <= MAX_FALSE_POSITIVE + SLACK * math.sqrt(0.06 * 0.94 / n)
    single = [_calibrated(s, 1, 200) for s in SCENARIOS]
    for group in (rows, single):
        coverage = sum(c.coverage for c in group) / len(group)
        assert coverage >= MIN_COVERAGE - SLACK * math.sqrt(0.93 * 0.07 / n)


def test_short_runs_get_no_within_run_interval_rather_than_a_wrong_one() -> None:
    c = calibrate("real", runs=1, windows=60, sims=50)
    assert c.given == 0.0 and math.isnan(c.coverage) and c.false_positive == 0.0


def _windows_as_independent(a: list[FloatArray], b: list[FloatArray]) -> RatioEstimate:
    """What the old verdict assumed: every window an independent draw."""
    return compare_runs([[w] for w in np.concatenate(a)], [[w] for w in np.concatenate(b)])


@pytest.mark.parametrize("scenario", ["ar0.8", "offset"])
def test_the_suite_catches_a_verdict_that_treats_windows_as_independent(scenario: str) -> None:
    c = calibrate(scenario, runs=1, windows=200, sims=100, compare=_windows_as_independent)
    assert c.false_positive > 0.15 and not passes(c, SLACK)


@pytest.mark.parametrize("scenario", ["iid", "offset", "combined", "real"])
def test_auto_repeats_stop_without_trusting_a_narrow_interval_too_early(scenario: str) -> None:
    # the tight target: sessions look at their interval after every round from the third
    c = calibrate_auto(scenario, auto_target(scenario, 0.5, sims=100), sims=150)
    assert c.runs > 3  # most sessions went on past the minimum
    _check(c)
