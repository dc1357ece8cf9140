"""A rank killed mid-run ends the whole job: the run fails, saying so, and no rank is left
waiting in a collective (the suite's leak check fails any test that leaves a process behind)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psutil
import pytest

from profiler.config import Config
from profiler.listener import NullListener
from profiler.protocol import Event
from profiler.scaling_session import scaling_sessions
from profiler.store import Store

pytestmark = pytest.mark.slow


class KillRankOne(NullListener):
    """SIGKILLs rank 1 as soon as it has reported a measured window."""

    def __init__(self) -> None:
        self.pids: dict[int, int] = {}
        self.killed: int | None = None

    def run_event(self, run_id: int, t: float, event: Event) -> None:
        if event.kind == "rank":
            self.pids[int(event.payload["rank"])] = int(event.payload["pid"])
        elif (
            event.kind == "rank_window"
            and event.payload.get("phase") == "measure"
            and self.killed is None
        ):
            self.killed = self.pids[1]
            os.kill(self.killed, signal.SIGKILL)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("framework", ["jax", "torch"])
def test_a_killed_rank_fails_the_run_and_takes_the_job_down(tmp_path: Path, framework: str) -> None:
    config = Config.model_validate(
        {
            "name": "kill",
            "frameworks": [framework],
            "device": "cpu",
            "threads": 2,
            "model": {"family": "mlp", "input_dim": 8, "hidden": [16], "num_classes": 3},
            "data": {"samples": 64},
            "train": {"batch_size": 8, "steps": 100000, "warmup_steps": 2, "window_steps": 5},
            "run": {"repeats": 1, "timeout_s": 120, "distributed": {"workers": [1, 2]}},
        }
    )
    listener = KillRankOne()
    with Store(tmp_path / "store.sqlite") as store:
        session = scaling_sessions(config, store, listener=listener)[-1]
        (outcome,) = session.run()
        assert listener.killed is not None
        assert outcome.status != "ok"
        assert outcome.error is not None
        assert session.session_id is not None
        run = store.load(session.session_id).runs[0]
    # everything received before the kill is kept
    assert run.events_of("rank_window")
    survivors = [p for p in listener.pids.values() if psutil.pid_exists(p)]
    assert all(psutil.Process(p).status() == psutil.STATUS_ZOMBIE for p in survivors)
