"""The scaling report from sessions written through the real Store API (no framework runs):
efficiency, its interval, the communication share, the straggler and the verdict."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from profiler.report import build_report
from profiler.report.json_report import to_dict
from profiler.report.scaling import build_scaling, load_scaling, verdict, with_scaling
from profiler.store import Store

GROUP = "g1"


def _record(
    store: Store, workers: int, step_ms: dict[str, float], comm: float | None, seed: int
) -> int:
    """A finished session at ``workers`` workers: 120 one-step job windows per framework,
    step times around ``step_ms`` (1% noise), global batch 8 per worker (weak scaling)."""
    rng = np.random.default_rng(seed)
    config = {"name": "s", "frameworks": list(step_ms), "train": {"batch_size": 8}}
    env = {"distributed": {"group": GROUP, "workers": workers, "scaling": "weak"}}
    sid = store.create_session("s", config, None, env)
    for seq, (fw, ms) in enumerate(step_ms.items()):
        run = store.create_run(sid, seq, fw, 0)
        for rank in range(workers):
            store.add_event(run, 0.1, "rank", {"rank": rank, "weights_digest": "d", "pid": 1})
        for step in range(1, 121):
            seconds = ms / 1000 * (1 + 0.01 * rng.standard_normal())
            payload = {
                "phase": "measure", "step": step, "steps": 1, "seconds": seconds, "loss": 1.0,
                "samples": 8 * workers, "straggler": step % workers,
                "rank_seconds": [seconds] * workers,
                "rank_rss_mib": [100.0 + r for r in range(workers)],
            }  # fmt: skip
            if comm is not None:
                payload["comm_s"] = comm * seconds
            store.add_event(run, 1.0 + step * ms / 1000, "window", payload)
        info = {"distributed": {"global_batch": 8 * workers, "strategy": "torch_ddp"}}
        store.update_run(run, status="ok", info=info)
    store.finish_session(sid, "ok")
    return sid


def test_efficiency_interval_comm_and_straggler(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        _record(store, 1, {"torch": 10.0, "jax": 10.0}, 0.05, 1)
        two = _record(store, 2, {"torch": 12.5, "jax": 20.0}, 0.25, 2)
        sessions = load_scaling(store, two)
        report = build_scaling(sessions)
        with_report = with_scaling(build_report(store.load(two)), store)
    assert [s.id for s in sessions] == [1, 2]
    torch2 = report.point("torch", 2)
    jax2 = report.point("jax", 2)
    assert torch2 is not None and jax2 is not None
    # twice the samples per step in 1.25x the time: 2 / 1.25 / 2 = 80%
    assert torch2.efficiency == pytest.approx(0.80, rel=0.01)
    assert torch2.efficiency_low < 0.80 < torch2.efficiency_high
    assert torch2.efficiency_high - torch2.efficiency_low < 0.05
    assert jax2.efficiency == pytest.approx(0.50, rel=0.01)
    assert torch2.samples_per_s == pytest.approx(16 / 0.0125, rel=0.01)
    assert torch2.comm_share == pytest.approx(0.25)
    assert torch2.straggler_rank in (0, 1) and torch2.straggler_share == pytest.approx(0.5)
    assert torch2.rank_rss_mib == (100.0, 101.0)
    assert torch2.same_initial_weights is True
    text = verdict(report)
    assert text.startswith("At 2 workers (weak scaling), PyTorch keeps 80% efficiency [")
    assert ", JAX 50% [" in text
    assert with_report.scaling is not None
    data = json.loads(json.dumps(to_dict(with_report), allow_nan=False))
    assert data["scaling"]["verdict"] == text
    assert data["scaling"]["scaling_schema_version"] == 1


def test_an_ordinary_session_has_no_scaling(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite") as store:
        sid = store.create_session("plain", {"name": "plain", "frameworks": ["torch"]}, None, {})
        store.finish_session(sid, "ok")
        report = with_scaling(build_report(store.load(sid)), store)
    assert report.scaling is None
    assert "scaling" not in to_dict(report)
