"""Real data-parallel scaling on the CPU: every framework at 1 and 2 workers with its own engine
(DDP under torchrun, MultiWorkerMirroredStrategy, jax.distributed), measured per rank."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import pytest

from profiler.config import Config
from profiler.events import FirstStep
from profiler.report.scaling import build_scaling, load_scaling, scaling_to_dict
from profiler.scaling_session import run_scaling
from profiler.store import Store, StoredSession

pytestmark = pytest.mark.slow

FRAMEWORKS = ["torch", "tensorflow", "jax"]


def _config() -> Config:
    return Config.model_validate(
        {
            "name": "scaling",
            "frameworks": FRAMEWORKS,
            "device": "cpu",
            "threads": 2,
            "model": {"family": "mlp", "input_dim": 8, "hidden": [16], "num_classes": 3},
            "data": {"samples": 128},
            # 310 measured windows: a run needs 80 after its settling start and the windows
            # disturbed by other processes are left out, for an interval (150 fell short on CI)
            "train": {"batch_size": 8, "steps": 320, "warmup_steps": 10, "window_steps": 1},
            "run": {
                "repeats": 1,
                "sample_hz": 10,
                "timeout_s": 240,
                "distributed": {"workers": [1, 2], "scaling": "weak"},
            },
        }
    )


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[StoredSession]]:
    """Every framework at 1 and 2 workers, stored; the sessions, fewest workers first."""
    path = tmp_path_factory.mktemp("scaling") / "store.sqlite"
    with Store(path) as store:
        ids, outcomes = run_scaling(_config(), store)
        assert [o.status for o in outcomes] == ["ok"] * 6, [o.error for o in outcomes]
        yield load_scaling(store, ids[-1])


@pytest.mark.timeout(900)
def test_every_rank_starts_from_the_same_weights(scaled: list[StoredSession]) -> None:
    digests = {}
    for session in scaled:
        workers = session.env["distributed"]["workers"]
        for run in session.runs:
            ranks = run.events_of("rank")
            assert sorted(e.payload["rank"] for e in ranks) == list(range(workers))
            digests[(run.framework, workers)] = {e.payload["weights_digest"] for e in ranks}
            assert run.info["distributed"]["world_size"] == workers
    # one digest per run, and the same in every framework: one neutral set of weights
    assert {len(d) for d in digests.values()} == {1}
    assert len(set().union(*digests.values())) == 1


def test_global_samples_come_from_every_rank_and_a_straggler_is_named(
    scaled: list[StoredSession],
) -> None:
    two = scaled[-1]
    for run in two.runs:
        per_rank: dict[int, dict[int, dict[str, object]]] = {}
        for e in run.events_of("rank_window"):
            per_rank.setdefault(int(e.payload["step"]), {})[int(e.payload["rank"])] = e.payload
        windows = run.events_of("window")
        assert len(windows) == 320  # 320 steps in windows of one
        for w in windows:
            ranks = per_rank[int(w.payload["step"])]
            assert sorted(ranks) == [0, 1]
            assert w.payload["samples"] == sum(int(r["samples"]) for r in ranks.values()) == 16
            seconds = [float(ranks[r]["seconds"]) for r in (0, 1)]
            # from the last rank's start to the last rank's end: at most the longest rank's
            assert 0 < w.payload["seconds"] <= max(seconds) + 1e-3
            comm = [ranks[r].get("comm_s") for r in (0, 1)]
            busy = seconds if None in comm else [s - c for s, c in zip(seconds, comm, strict=True)]
            assert w.payload["straggler"] == busy.index(max(busy))
            assert all(v is not None and v > 0 for v in w.payload["rank_rss_mib"])
        comm = [w.payload.get("comm_s") for w in windows]
        if run.framework == "torch":  # DDP's hook times the all-reduce; the others cannot
            assert all(c is not None and c >= 0 for c in comm)
        else:
            assert comm == [None] * len(comm)


def test_parity_loss_on_rank_0_agrees_across_frameworks(scaled: list[StoredSession]) -> None:
    for session in scaled:
        losses = {r.framework: r.events_of("model")[0].payload["parity_loss"] for r in session.runs}
        assert len(losses) == 3
        reference = losses["torch"]
        for value in losses.values():
            assert abs(value - reference) / abs(reference) < 1e-5


def test_efficiency_with_an_interval_in_the_json(scaled: list[StoredSession]) -> None:
    report = build_scaling(scaled)
    data = json.loads(json.dumps(scaling_to_dict(report), allow_nan=False))
    assert data["workers"] == [1, 2]
    points = {(p["framework"], p["workers"]): p for p in data["points"]}
    assert set(points) == {(fw, n) for fw in FRAMEWORKS for n in (1, 2)}
    for fw in FRAMEWORKS:
        one, two = points[(fw, 1)], points[(fw, 2)]
        assert one["efficiency"] == pytest.approx(1.0)
        assert two["global_batch"] == 2 * one["global_batch"] == 16
        low, high = two["efficiency_ci95"]
        assert low is not None and high is not None
        assert low <= two["efficiency"] <= high
        # efficiency is the throughputs' ratio over N, recomputed from the JSON's own figures
        assert two["efficiency"] == pytest.approx(
            two["samples_per_s"] / (2 * one["samples_per_s"]), rel=0.05
        )
        assert two["straggler_rank"] in (0, 1)
        assert two["same_initial_weights"] is True
    assert report.verdict.startswith("At 2 workers (weak scaling), PyTorch keeps ")
    assert math.isfinite(report.points[0].samples_per_s)


def test_a_ranks_first_step_loss_is_its_own_rows_loss_at_every_worker_count(
    scaled: list[StoredSession],
) -> None:
    # Weak scaling: rank 0 trains on the first rows of each global batch, which at one worker
    # are the whole batch, so its first step (before any update) sees the same rows and loss.
    # A loss scaled twice for the replicas (Keras already divides by them inside
    # tf.distribute) read 1/N of it. JAX reports the global mean instead: not compared.
    first = {
        (run.framework, session.env["distributed"]["workers"]): run.events_of("first_step")[0]
        for session in scaled
        for run in session.runs
    }
    for framework in ("torch", "tensorflow"):
        one, two = first[(framework, 1)].data, first[(framework, 2)].data
        assert isinstance(one, FirstStep) and isinstance(two, FirstStep)
        assert one.loss is not None and two.loss is not None
        assert two.loss == pytest.approx(one.loss, rel=1e-4), framework
