"""``run.repeats: auto``: balanced rounds that stop when the verdict is certain, at a budget, or
when the user stops; the reason stored with the session and stated by the report.

The sessions are real: real children training a tiny MLP in PyTorch and JAX (the two quickest
to start), a real store, the real report.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from profiler.config_schema import Config
from profiler.repeats import (
    BUDGET,
    CERTAIN,
    FAILED,
    MIN_RUNS_PER_SIDE,
    STOPPED,
    Certainty,
    RatioCertainty,
    StopRecord,
    certainty,
    round_order,
    stop_reason,
)
from profiler.report.json_report import to_dict
from profiler.report.model import build_report
from profiler.report.verdicts import verdicts
from profiler.session import ComparisonSession, NullListener, RunInfo
from profiler.store import Store

FRAMEWORKS = ["torch", "jax"]


def auto_config(**run: object) -> Config:
    """A tiny torch-vs-JAX comparison with auto repeats and the given run settings."""
    return Config.model_validate(
        {
            "name": "tiny-auto",
            "frameworks": FRAMEWORKS,
            "device": "cpu",
            "threads": 1,
            "model": {"family": "mlp", "input_dim": 16, "hidden": [8], "num_classes": 3},
            "data": {"samples": 64},
            "train": {"batch_size": 8, "steps": 60, "warmup_steps": 10, "window_steps": 2},
            "run": {"repeats": "auto", "sample_hz": 10, **run},
        }
    )


# -- the pure parts ---------------------------------------------------------------------------


def test_rounds_alternate_the_order_so_no_framework_always_goes_first() -> None:
    orders = [round_order(["a", "b"], r) for r in range(4)]
    assert orders == [["a", "b"], ["b", "a"], ["a", "b"], ["b", "a"]]
    three = [round_order(["a", "b", "c"], r) for r in range(2)]
    assert three == [["a", "b", "c"], ["c", "b", "a"]]


def test_certainty_needs_three_runs_per_side_and_every_ratio_within_target() -> None:
    rng = np.random.default_rng(4)

    def runs(k: int, level: float) -> list[np.ndarray]:
        return [
            level * (1 + rng.normal(0, 0.01, 30)) * (1 + rng.normal(0, 0.002)) for _ in range(k)
        ]

    two = certainty(["a", "b"], {"a": runs(2, 10.0), "b": runs(2, 13.0)}, 0.02)
    assert two.runs_per_side == 2 and not two.reached  # narrow, maybe, but too few runs
    three = certainty(["a", "b"], {"a": runs(3, 10.0), "b": runs(3, 13.0)}, 0.02)
    (ratio,) = three.ratios
    assert ratio.ratio == pytest.approx(1.3, rel=0.02)
    assert 0 < three.worst < 0.02 and three.reached
    assert "±" in three.describe() and "target ±2%" in three.describe()
    strict = certainty(["a", "b"], {"a": runs(3, 10.0), "b": runs(3, 13.0)}, 1e-6)
    assert not strict.reached
    one_side = certainty(["a", "b"], {"a": runs(3, 10.0), "b": []}, 0.02)
    assert one_side.ratios == () and math.isnan(one_side.worst) and not one_side.reached


def test_the_stopping_rule() -> None:
    ratio = RatioCertainty("a", "b", 1.3, 1.29, 1.31, 0.008, 3, 3, "Welch t on run medians")
    certain = Certainty((ratio,), 0.02, 3)
    wide = Certainty((ratio,), 0.005, 3)
    base = {"failed": False, "max_repeats": 10, "budget_s": None, "elapsed_s": 30.0}
    assert stop_reason(rounds_done=3, certainty=certain, **base) == CERTAIN
    assert stop_reason(rounds_done=3, certainty=wide, **base) is None
    assert stop_reason(rounds_done=10, certainty=wide, **base) == BUDGET
    assert stop_reason(rounds_done=3, certainty=certain, **{**base, "failed": True}) == FAILED
    # 3 rounds took 30 s: a fourth would end at about 40 s
    assert stop_reason(rounds_done=3, certainty=wide, **{**base, "budget_s": 39.0}) == BUDGET
    assert stop_reason(rounds_done=3, certainty=wide, **{**base, "budget_s": 41.0}) is None


def test_a_stop_record_reads_back_from_json() -> None:
    ratio = RatioCertainty("torch", "jax", 0.8, 0.78, 0.82, 0.025, 4, 4, "Welch t on run medians")
    record = StopRecord(
        "auto", BUDGET, 4, {"torch": 4, "jax": 4}, 0.02, 4, None, 31.4, Certainty((ratio,), 0.02, 4)
    )
    back = StopRecord.from_json(json.loads(json.dumps(record.to_json())))
    assert back == record
    text = back.describe()
    assert "limit of 4 repeats" in text and "±2.5%" in text and "4 runs per framework" in text


# -- real sessions ----------------------------------------------------------------------------


class CertaintyLog(NullListener):
    """Records every certainty and every added round, as the CLI and the GUI see them."""

    def __init__(self) -> None:
        self.seen: list[Certainty] = []
        self.added: list[list[RunInfo]] = []

    def runs_added(self, runs: list[RunInfo]) -> None:
        self.added.append(list(runs))

    def certainty_changed(self, certainty: Certainty) -> None:
        self.seen.append(certainty)


def _run(store: Store, config: Config, listener: NullListener | None = None) -> ComparisonSession:
    session = ComparisonSession(config, store, listener=listener)
    session.run()
    return session


@pytest.mark.slow
def test_auto_repeats_stop_when_every_ratio_is_certain(store: Store) -> None:
    # A loose target, usually certain at the minimum of three runs per side. Loose indeed: on
    # this project's shared 2-core machines (load average 16) the medians of three tiny runs
    # spread by up to 40%, and Welch's t with 2-4 degrees of freedom is wide; so the test asks
    # that the session stops at the first round that is certain, whichever that is.
    log = CertaintyLog()
    session = _run(store, auto_config(target_ci=0.95, max_repeats=8), log)
    stored = store.load(session.session_id or -1)
    assert stored.status == "ok"
    assert stored.repeats is not None
    assert stored.repeats["reason"] == CERTAIN, stored.repeats
    rounds = stored.repeats["rounds"]
    assert MIN_RUNS_PER_SIDE <= rounds < 8
    assert stored.repeats["runs_per_side"] == {"torch": rounds, "jax": rounds}
    assert 0 < stored.repeats["half_width"] < 0.95
    # A B, B A, A B, ...: one run per framework per round, the order reversed every other round
    assert [r.framework for r in stored.runs] == [
        fw for r in range(rounds) for fw in round_order(FRAMEWORKS, r)
    ]
    assert [r.repeat for r in stored.runs] == [r for r in range(rounds) for _ in FRAMEWORKS]
    # the certainty after every round, and the stop at the first one that reached the target
    assert [c.runs_per_side for c in log.seen] == list(range(1, rounds + 1))
    assert all(len(c.ratios) == 1 for c in log.seen)
    assert log.seen[-1].reached and not any(c.reached for c in log.seen[:-1])
    assert [[r.framework for r in added] for added in log.added] == [
        round_order(FRAMEWORKS, r) for r in range(1, rounds)
    ]

    report = build_report(stored)
    assert report.repeats is not None and report.repeats.reason == CERTAIN
    texts = [v.text for v in verdicts(report)]
    assert any(t.startswith("Repeats stopped when certain") for t in texts), texts
    data = to_dict(report)
    assert data["repeats"]["reason"] == "certain"
    assert data["repeats"]["ratios"][0]["baseline"] == "torch"
    # page faults per step and the allocator, per run and in the fairness audit
    for run in data["runs"]:
        assert run["minor_faults_per_step"] is not None and run["minor_faults_per_step"] < 100
        assert run["major_faults_per_step"] is not None
        assert run["settings"]["train_loop"] == "step"
    keys = {row["key"]: row for row in data["fairness"]["settings"]}
    assert str(keys["allocator.malloc"]["values"]["torch"]).startswith("glibc")
    assert not keys["allocator.malloc"]["mismatch"]
    assert keys["minor_faults_per_step"]["values"]["jax"] is not None
    assert not keys["minor_faults_per_step"]["mismatch"]


@pytest.mark.slow
def test_auto_repeats_stop_at_the_repeat_limit_and_say_how_far_they_got(store: Store) -> None:
    # A target no real machine reaches: the limit of 2 repeats ends it.
    session = _run(store, auto_config(target_ci=1e-6, max_repeats=2))
    stored = store.load(session.session_id or -1)
    assert [r.framework for r in stored.runs] == ["torch", "jax", "jax", "torch"]
    assert stored.repeats is not None
    assert stored.repeats["reason"] == BUDGET
    assert stored.repeats["runs_per_side"] == {"torch": 2, "jax": 2}
    assert stored.repeats["half_width"] > 1e-6
    text = StopRecord.from_json(stored.repeats).describe()
    assert text.startswith("Repeats stopped at the limit of 2 repeats before the ±0.0001% target")
    assert "2 runs per framework" in text
    report = build_report(stored)
    warned = [v for v in verdicts(report) if v.text.startswith("Repeats stopped at")]
    assert len(warned) == 1 and warned[0].warning


@pytest.mark.slow
def test_auto_repeats_stop_at_the_time_budget(store: Store) -> None:
    # One round takes seconds: a 1 s budget leaves no room for a second.
    session = _run(store, auto_config(target_ci=1e-6, budget_s=1.0))
    stored = store.load(session.session_id or -1)
    assert len(stored.runs) == 2
    assert stored.repeats is not None and stored.repeats["reason"] == BUDGET
    text = StopRecord.from_json(stored.repeats).describe()
    assert text.startswith("Repeats stopped at the 1 s budget")
    assert "1 run per framework" in text


@pytest.mark.slow
def test_a_user_stop_ends_auto_repeats_with_that_reason(store: Store) -> None:
    class StopAfterFirstRound(CertaintyLog):
        session: ComparisonSession | None = None

        def certainty_changed(self, certainty: Certainty) -> None:
            super().certainty_changed(certainty)
            assert self.session is not None
            self.session.stop()

    listener = StopAfterFirstRound()
    session = ComparisonSession(auto_config(target_ci=1e-6), store, listener=listener)
    listener.session = session
    session.run()
    stored = store.load(session.session_id or -1)
    assert stored.status == "stopped"
    assert len(stored.runs) == 2 and listener.added == []
    assert stored.repeats is not None and stored.repeats["reason"] == STOPPED
    assert "stopped by the user" in StopRecord.from_json(stored.repeats).describe()


def test_fixed_repeats_keep_their_count_in_balanced_order(store: Store) -> None:
    # No child runs: the session is only planned. Fixed repeats plan every round at once.
    session = ComparisonSession(auto_config(repeats=3), store)
    runs = session.prepare()
    assert [r.framework for r in runs] == ["torch", "jax", "jax", "torch", "torch", "jax"]
    assert not session.auto
    one = ComparisonSession(auto_config(), store)
    assert one.auto and [r.framework for r in one.prepare()] == ["torch", "jax"]
    single = auto_config().model_copy(update={"frameworks": ["torch"]})
    alone = ComparisonSession(single, store)
    assert not alone.auto  # one framework has no ratio to be certain of: one run
    assert len(alone.prepare()) == 1
    for s in (session, one, alone):
        store.finish_session(s.session_id or -1, "empty")
