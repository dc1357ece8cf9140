"""The per-rank plot with real data: a JAX job at 2 workers (jax.distributed on the CPU)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from gui.rank_plots import RankStepTimes
from profiler.config import Config
from profiler.report.scaling import rank_series
from profiler.scaling_session import scaling_sessions
from profiler.store import Store


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_every_rank_is_plotted_grouped_per_run(qtbot: QtBot, tmp_path: Path) -> None:
    config = Config.model_validate(
        {
            "name": "ranks",
            "frameworks": ["jax"],
            "device": "cpu",
            "threads": 2,
            "model": {"family": "mlp", "input_dim": 8, "hidden": [16], "num_classes": 3},
            "data": {"samples": 64},
            "train": {"batch_size": 8, "steps": 12, "warmup_steps": 2, "window_steps": 2},
            "run": {"repeats": 1, "timeout_s": 240, "distributed": {"workers": [1, 2]}},
        }
    )
    with Store(tmp_path / "store.sqlite") as store:
        two = scaling_sessions(config, store)[-1]  # the 2-worker session only
        outcomes = two.run()
        assert [o.status for o in outcomes] == ["ok"], outcomes
        assert two.session_id is not None
        stored = store.load(two.session_id)
    series = rank_series(stored)
    assert [(s.framework, s.workers, s.rank) for s in series] == [("jax", 2, 0), ("jax", 2, 1)]

    view = RankStepTimes()
    qtbot.addWidget(view)
    view.resize(640, 360)
    view.set_series(series)
    run_id = stored.runs[0].id
    assert set(view.curves) == {(run_id, 0), (run_id, 1)}
    for s in series:
        x, y = view.curves[(run_id, s.rank)].getData()
        assert list(x) == list(range(2, 13, 2))  # one point per window, at its last step
        np.testing.assert_allclose(y, s.step_ms)
        events = [
            e.payload
            for e in stored.runs[0].events_of("rank_window")
            if e.payload["rank"] == s.rank
        ]
        np.testing.assert_allclose(y, [1000 * e["seconds"] / e["steps"] for e in events])
    names = [item.text for _, item in view.legend.items]
    assert names == [f"run {run_id} · JAX ×2 · rank 0", f"run {run_id} · JAX ×2 · rank 1"]
    view.grab().save(str(tmp_path / "ranks.png"))
