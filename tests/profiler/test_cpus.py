"""The CPUs a session pins its local runs to under run.affinity auto: once, the least busy."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from profiler.cpus import BUSY_THRESHOLD, cpu_busy, session_cpus
from profiler.events import EnvInfo
from profiler.session import ComparisonSession
from profiler.store import Store
from tests.profiler.conftest import tiny_config

ALLOWED = sorted(os.sched_getaffinity(0))


def test_nothing_is_chosen_unless_auto_with_fewer_threads_than_cpus() -> None:
    assert session_cpus("off", 1) is None
    assert session_cpus([0], 1) is None  # a list is the user's own choice, passed on as is
    assert session_cpus("auto", None) is None  # the frameworks' default pools: every CPU
    assert session_cpus("auto", len(ALLOWED)) is None


@pytest.mark.skipif(len(ALLOWED) < 2, reason="needs two CPUs to choose between")
def test_a_cpu_another_program_keeps_busy_is_avoided() -> None:
    hog_cpu = ALLOWED[-1]  # the one an idle machine would get
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        os.sched_setaffinity(hog.pid, [hog_cpu])
        time.sleep(0.3)  # it is running flat out on its CPU
        busy = cpu_busy(ALLOWED)
        assert busy[hog_cpu] > 0.8
        if min(busy[c] for c in ALLOWED if c != hog_cpu) > BUSY_THRESHOLD:
            pytest.skip("every other CPU is busy too: nothing to choose between")
        chosen = session_cpus("auto", 1)
        assert chosen is not None and len(chosen) == 1
        assert chosen != [hog_cpu]
    finally:
        hog.kill()
        hog.wait()


@pytest.mark.slow
@pytest.mark.skipif(len(ALLOWED) < 2, reason="needs more CPUs than threads")
def test_every_run_of_a_session_is_pinned_to_the_same_cpu(tmp_path: Path) -> None:
    config = tiny_config(["torch", "tensorflow"], steps=6, repeats=2, trace=None)
    config = config.model_copy(update={"threads": 1})
    with Store(tmp_path / "s.sqlite3") as store:
        session = ComparisonSession(config, store)
        assert all(o.status == "ok" for o in session.run())
        stored = store.load(session.session_id or -1)
    pinned = [
        info.settings["cpu_affinity"] for run in stored.runs for _, info in run.views(EnvInfo)
    ]
    assert len(pinned) == 4
    assert all(p == pinned[0] for p in pinned) and len(pinned[0]) == 1
    assert pinned[0][0] in ALLOWED
