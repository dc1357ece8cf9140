"""RankMerger: the ranks' events lined up into one job stream, as the session stores it."""

from __future__ import annotations

import pytest

from profiler.distributed_run import RankMerger
from profiler.protocol import Event, decode_event


def _event(kind: str, t: float, **payload: object) -> Event:
    import json

    return decode_event(json.dumps({"v": 1, "kind": kind, "t": t, **payload}))


def _window(step: int, seconds: float, t: float, comm: float | None = None) -> Event:
    extra = {} if comm is None else {"comm_s": comm}
    return _event(
        "window", t, phase="measure", step=step, steps=2, seconds=seconds, loss=1.0 + step,
        samples=16, **extra,
    )  # fmt: skip


def test_windows_merge_once_every_rank_reported_them() -> None:
    out: list[Event] = []
    merger = RankMerger((0, 1, 2), out.append, lambda: {0: 100.0, 2: 120.0})
    merger.add(0, _window(2, 0.10, 1.0, comm=0.01))
    merger.add(2, _window(2, 0.30, 1.2, comm=0.03))
    assert [e.kind for e in out] == ["rank_window", "rank_window"]  # rank 1 still missing
    merger.add(1, _window(2, 0.20, 1.1, comm=0.02))
    job = out[-1]
    assert job.kind == "window" and job.t == 1.2
    assert job.payload["samples"] == 48  # every rank's samples: global samples/s
    assert job.payload["seconds"] == pytest.approx(0.30)  # last start 0.9 to last end 1.2
    assert job.payload["straggler"] == 2
    assert job.payload["rank_seconds"] == [0.10, 0.20, 0.30]
    assert job.payload["comm_s"] == 0.01  # the all-reduce itself: the rest is waiting
    assert job.payload["rank_comm_s"] == [0.01, 0.02, 0.03]
    assert job.payload["rank_rss_mib"] == [100.0, None, 120.0]
    assert job.payload["loss"] == 3.0  # rank 0's


def test_job_time_runs_from_the_last_start_to_the_last_end() -> None:
    out: list[Event] = []
    merger = RankMerger((0, 1), out.append)
    # rank 0 started early and waited for rank 1 in its first all-reduce
    merger.add(0, _window(2, 0.20, 1.00))
    merger.add(1, _window(2, 0.10, 1.05))
    assert out[-1].payload["seconds"] == pytest.approx(0.10)
    merger.shared_clock = False  # ranks on several hosts: the longest rank's own time
    merger.add(0, _window(4, 0.20, 2.00))
    merger.add(1, _window(4, 0.10, 2.05))
    assert out[-1].payload["seconds"] == 0.20


def test_the_straggler_is_the_rank_others_wait_for() -> None:
    out: list[Event] = []
    merger = RankMerger((0, 1), out.append)
    # both took 0.3 s, but rank 0 spent 0.25 s of it in the all-reduce, waiting for rank 1
    merger.add(0, _window(2, 0.30, 1.0, comm=0.25))
    merger.add(1, _window(2, 0.30, 1.0, comm=0.02))
    assert out[-1].payload["straggler"] == 1


def test_comm_is_absent_unless_every_rank_timed_it() -> None:
    out: list[Event] = []
    merger = RankMerger((0, 1), out.append)
    merger.add(0, _window(2, 0.1, 1.0, comm=0.01))
    merger.add(1, _window(2, 0.1, 1.0))
    assert "comm_s" not in out[-1].payload


def test_rank0_speaks_for_the_job_and_done_waits_for_every_rank() -> None:
    out: list[Event] = []
    merger = RankMerger((0, 1), out.append)
    merger.add(1, _event("model", 0.5, params=10, parity_loss=1.0))
    merger.add(0, _event("model", 0.6, params=10, parity_loss=1.0))
    merger.add(1, _event("rank", 0.7, pid=42, weights_digest="ab", rank=1))
    merger.add(0, _event("done", 2.0, steps=4))
    merger.add(1, _event("log", 1.0, level="warning", message="slow"))
    merger.add(1, _event("error", 2.1, type="X", message="boom", traceback=""))
    assert [(e.kind, e.t) for e in out] == [
        ("model", 0.6),
        ("rank", 0.7),
        ("log", 1.0),
        ("error", 2.1),
    ]
    assert out[2].payload["message"] == "[rank 1] slow"
    assert out[3].payload["rank"] == 1
    assert merger.rank_pids == {1: 42}
    merger.add(1, _event("done", 2.2, steps=4))
    assert out[-1].kind == "done" and out[-1].t == 2.0
