"""The parent killed mid-run: no orphans, and the store keeps everything received."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from profiler.store import Store

CONFIG = """\
name: long
frameworks: [torch]
threads: 1
model: {family: mlp, input_dim: 32, hidden: [16], num_classes: 3}
data: {samples: 256}
train: {batch_size: 16, steps: 1000000, warmup_steps: 2, window_steps: 20}
"""


def _windows(store: Path) -> int:
    try:
        with sqlite3.connect(store) as conn:
            return int(
                conn.execute("SELECT count(*) FROM events WHERE kind='window'").fetchone()[0]
            )
    except sqlite3.Error:
        return 0


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.slow
def test_killed_parent_leaves_no_orphans_and_loses_nothing(tmp_path: Path) -> None:
    config = tmp_path / "long.yaml"
    config.write_text(CONFIG)
    store = tmp_path / "s.sqlite3"
    parent = subprocess.Popen(
        [sys.executable, "-m", "profiler", "run", str(config), "--store", str(store)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ,
    )
    try:
        deadline = time.monotonic() + 120
        while _windows(store) < 3:
            assert parent.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        children = psutil.Process(parent.pid).children(recursive=True)
        assert children
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    # A dead orphan stays a zombie until PID 1 reaps it (here that takes up to ~2 s), so
    # "exited" means gone or a zombie, not "reaped": reaping is not the child's doing.
    deadline = time.monotonic() + 2.0
    while any(_running(p) for p in children) and time.monotonic() < deadline:
        time.sleep(0.02)
    alive = [p for p in children if _running(p)]
    for p in alive:
        p.kill()
    assert not alive, f"orphans still running 2 s after the parent died: {alive}"
    with Store(store) as s:
        (row,) = s.sessions()
        assert row.status == "interrupted"
        session = s.load(row.id)
        assert session.runs[0].status == "interrupted"
        assert len(session.runs[0].events_of("window")) >= 3
        assert session.runs[0].events_of("hello")
