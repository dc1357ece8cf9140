"""Repeats that stop when the verdict is certain (``run.repeats: auto``).

Runs go in rounds, one run per framework each, the order reversed every other round (A B, B A,
A B, ...) so no framework always runs first or last, after a warm or a cold machine. After each
round the speed ratio of every framework pair is estimated with ``profiler.stats.compare_runs``
over each finished run's steady-state step times; the session stops when every ratio's interval
is narrower than ``run.target_ci`` (relative half-width) with at least ``MIN_RUNS_PER_SIDE`` runs
per framework, or when ``run.max_repeats`` rounds or ``run.budget_s`` seconds are used up.

Pure functions and records; the session (``profiler.session``) drives them and stores the
``StopRecord`` with the session.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from profiler.stats import CONFIDENCE, compare_runs
from profiler.store import StoredEvent, StoredRun

# Below this many runs per side, run-to-run variation is too poorly known to call anything certain.
MIN_RUNS_PER_SIDE = 3
# Why the repeats ended.
CERTAIN = "certain"  # every headline ratio reached the target
BUDGET = "budget"  # max_repeats or budget_s ran out first
STOPPED = "stopped"  # the user stopped the session
FAILED = "failed"  # a run failed: repeating would not settle the comparison
PLANNED = "planned"  # a fixed number of repeats (an integer run.repeats) was run
REASONS: tuple[str, ...] = (CERTAIN, BUDGET, STOPPED, FAILED, PLANNED)
HEADLINE_METRIC = "step_time_ms"
# The level every interval and test of an auto-repeats session is computed at. Stopping when an
# interval is narrow favours sessions whose runs happened to agree more than they usually do, and
# a 95% interval computed at that stop misses more often than 5%: simulated through this stop
# rule at a tight target (benchmarks/bench_calibration.py, 1,000 sessions a row, most of them
# looking 6-10 times) A/A comparisons were "significant" in 6.4-7.1% and coverage fell to 92.2%.
# Computed at 97%, every simulated scenario keeps the 95% promise (A/A 0.5-5.0%, coverage
# 93.8-99.0%).
AUTO_CONFIDENCE = 0.97


def round_order(frameworks: Sequence[str], round_index: int) -> list[str]:
    """The frameworks' order in round ``round_index`` (0-based): reversed every other round."""
    order = list(frameworks)
    return order[::-1] if round_index % 2 else order


@dataclass(frozen=True)
class RatioCertainty:
    """How well one headline ratio (``other`` / ``baseline`` step time) is known so far.

    ``half_width`` is the interval's relative half-width ((high - low) / (2 ratio)); NaN while it
    cannot be estimated (too few runs, no steady windows).
    """

    baseline: str
    other: str
    ratio: float
    low: float
    high: float
    half_width: float
    runs_baseline: int
    runs_other: int
    method: str

    def to_json(self) -> dict[str, Any]:
        """As plain JSON (NaN as None)."""
        return {
            "metric": HEADLINE_METRIC,
            "baseline": self.baseline,
            "other": self.other,
            "ratio": _json_float(self.ratio),
            "low": _json_float(self.low),
            "high": _json_float(self.high),
            "half_width": _json_float(self.half_width),
            "runs_baseline": self.runs_baseline,
            "runs_other": self.runs_other,
            "method": self.method,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> RatioCertainty:
        """Read back what ``to_json`` wrote."""
        return cls(
            baseline=str(obj.get("baseline", "")),
            other=str(obj.get("other", "")),
            ratio=_float(obj.get("ratio")),
            low=_float(obj.get("low")),
            high=_float(obj.get("high")),
            half_width=_float(obj.get("half_width")),
            runs_baseline=int(obj.get("runs_baseline") or 0),
            runs_other=int(obj.get("runs_other") or 0),
            method=str(obj.get("method", "")),
        )


@dataclass(frozen=True)
class Certainty:
    """The verdict's certainty after some runs: every headline ratio and the target."""

    ratios: tuple[RatioCertainty, ...]
    target: float
    runs_per_side: int

    @property
    def worst(self) -> float:
        """The widest relative half-width over the ratios; NaN when one is unknown (or none)."""
        widths = [r.half_width for r in self.ratios]
        if not widths or any(not math.isfinite(w) for w in widths):
            return math.nan
        return max(widths)

    @property
    def reached(self) -> bool:
        """Every ratio is within the target, with enough runs per side to trust it."""
        worst = self.worst
        return (
            self.runs_per_side >= MIN_RUNS_PER_SIDE and math.isfinite(worst) and worst < self.target
        )

    def describe(self) -> str:
        """'verdict certainty ±1.4% (target ±2%, 3 runs per side)', for status lines."""
        worst = self.worst
        shown = f"±{worst * 100:.1f}%" if math.isfinite(worst) else "unknown"
        runs = f"{self.runs_per_side} run{'s' if self.runs_per_side != 1 else ''} per side"
        extra = "" if self.runs_per_side >= MIN_RUNS_PER_SIDE else f", needs {MIN_RUNS_PER_SIDE}"
        return f"verdict certainty {shown} (target ±{self.target * 100:g}%, {runs}{extra})"


def verdict_confidence(mode: str | None) -> float:
    """The level a session's intervals are computed at: ``AUTO_CONFIDENCE`` for auto repeats
    (``mode`` of its StopRecord), else 95%. Either way the session's verdict is a 95% one."""
    return AUTO_CONFIDENCE if mode == "auto" else CONFIDENCE


def certainty(
    frameworks: Sequence[str],
    values: Mapping[str, Sequence[npt.NDArray[np.float64]]],
    target: float,
    *,
    confidence: float = AUTO_CONFIDENCE,
) -> Certainty:
    """The certainty of every framework pair's speed ratio from each run's steady step times.

    ``values`` maps a framework to one array per finished run (its steady-state per-window step
    times in ms); runs without values are left out. ``confidence``: the level of the intervals
    (``verdict_confidence``), the auto-repeats one unless told otherwise.
    """
    runs = {
        fw: [np.asarray(v, dtype=float) for v in values.get(fw, ()) if len(v)] for fw in frameworks
    }
    ratios = []
    for i, baseline in enumerate(frameworks):
        for other in frameworks[i + 1 :]:
            a, b = runs[baseline], runs[other]
            if not a or not b:
                continue
            est = compare_runs(a, b, confidence=confidence)
            ratios.append(
                RatioCertainty(
                    baseline,
                    other,
                    est.ratio,
                    est.low,
                    est.high,
                    est.half_width,
                    est.runs_a,
                    est.runs_b,
                    est.method,
                )
            )
    per_side = min((len(v) for v in runs.values()), default=0)
    return Certainty(tuple(ratios), target, per_side)


def stop_reason(
    *,
    rounds_done: int,
    failed: bool,
    certainty: Certainty | None,
    max_repeats: int,
    budget_s: float | None,
    elapsed_s: float,
) -> str | None:
    """Why auto repeats end after ``rounds_done`` rounds, or None to run another round.

    The time budget stops before a round that would, at the average round's length so far,
    end past ``budget_s``: a round is never cut short, so its runs stay balanced.
    """
    if failed:
        return FAILED
    if certainty is not None and certainty.reached:
        return CERTAIN
    if rounds_done >= max_repeats:
        return BUDGET
    if budget_s is not None and elapsed_s + elapsed_s / max(rounds_done, 1) > budget_s:
        return BUDGET
    return None


@dataclass(frozen=True)
class StopRecord:
    """How a session's repeats went and why they ended; stored with the session.

    ``mode`` is ``auto`` or ``fixed``; ``reason`` one of REASONS; ``rounds`` the rounds begun;
    ``runs_per_side`` the finished (ok) runs per framework; ``certainty`` the last estimate
    (None when fewer than two frameworks ran).
    """

    mode: str
    reason: str
    rounds: int
    runs_per_side: dict[str, int]
    target_ci: float | None
    max_repeats: int | None
    budget_s: float | None
    elapsed_s: float
    certainty: Certainty | None

    def to_json(self) -> dict[str, Any]:
        """As plain JSON, for the store and the report."""
        c = self.certainty
        return {
            "mode": self.mode,
            "reason": self.reason,
            "rounds": self.rounds,
            "runs_per_side": dict(self.runs_per_side),
            "target_ci": self.target_ci,
            "max_repeats": self.max_repeats,
            "budget_s": self.budget_s,
            "elapsed_s": round(self.elapsed_s, 3),
            "half_width": None if c is None else _json_float(c.worst),
            "ratios": [] if c is None else [r.to_json() for r in c.ratios],
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> StopRecord:
        """Read back what ``to_json`` wrote (unknown keys ignored)."""
        ratios = tuple(RatioCertainty.from_json(r) for r in obj.get("ratios") or [])
        per_side = {str(k): int(v) for k, v in (obj.get("runs_per_side") or {}).items()}
        target = obj.get("target_ci")
        budget = obj.get("budget_s")
        max_repeats = obj.get("max_repeats")
        return cls(
            mode=str(obj.get("mode", "fixed")),
            reason=str(obj.get("reason", PLANNED)),
            rounds=int(obj.get("rounds") or 0),
            runs_per_side=per_side,
            target_ci=None if target is None else float(target),
            max_repeats=None if max_repeats is None else int(max_repeats),
            budget_s=None if budget is None else float(budget),
            elapsed_s=float(obj.get("elapsed_s") or 0.0),
            certainty=Certainty(ratios, float(target or 0.0), min(per_side.values(), default=0))
            if ratios
            else None,
        )

    def describe(self) -> str:
        """The reason in one sentence, with how far a budget stop got."""
        c = self.certainty
        per_side = min(self.runs_per_side.values(), default=0)
        runs = f"{per_side} run{'s' if per_side != 1 else ''} per framework"
        worst = c.worst if c is not None else math.nan
        got = f"±{worst * 100:.1f}%" if math.isfinite(worst) else "an unknown width"
        target = f"±{(self.target_ci or 0) * 100:g}%"
        if self.reason == CERTAIN:
            return (
                f"Repeats stopped when certain: every speed ratio's 95% interval was within "
                f"{target} ({got}) after {runs}, {self.elapsed_s:.0f} s."
            )
        if self.reason == BUDGET:
            limit = (
                f"the {self.budget_s:g} s budget"
                if self.budget_s is not None and self.rounds < (self.max_repeats or 0)
                else f"the limit of {self.max_repeats} repeat{'s' if self.max_repeats != 1 else ''}"
            )
            return (
                f"Repeats stopped at {limit} before the {target} target: the widest speed "
                f"interval reached {got} after {runs}, {self.elapsed_s:.0f} s."
            )
        if self.reason == STOPPED:
            return f"Repeats stopped by the user after {runs} (certainty {got}, target {target})."
        if self.reason == FAILED:
            return f"Repeats ended because a run failed, after {runs}."
        return f"{runs.capitalize()} as planned (run.repeats: {self.rounds})."


def steady_step_times_ms(
    run_id: int,
    framework: str,
    windows: list[StoredEvent],
    samples: Sequence[tuple[float, float, Sequence[float]]],
) -> npt.NDArray[np.float64]:
    """A finished run's steady-state step times (ms), cut exactly as the report cuts them
    (disturbed windows and a settling start left out), from what the session saw of it:
    its window events and its samples as (t, tree CPU %, per-core CPU %)."""
    # imported here: the report package imports this module (its StopRecord)
    from profiler.report.events import measured

    run = StoredRun(run_id, 0, framework, 0, "ok", None, 0, None, None, {})
    run.events = windows
    width = max((len(s[2]) for s in samples), default=0)
    run.samples = {
        "t": np.array([s[0] for s in samples], dtype=float),
        "cpu_percent": np.array([s[1] for s in samples], dtype=float),
    }
    run.cpu_cores = np.array(
        [list(s[2]) + [math.nan] * (width - len(s[2])) for s in samples], dtype=float
    ).reshape(len(samples), width)
    return measured(run).step_times_ms()


def _float(value: Any) -> float:
    return (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan
    )


def _json_float(value: float) -> float | None:
    return value if math.isfinite(value) else None
