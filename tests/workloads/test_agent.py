"""The remote agent's own parts, with real processes: finding and killing a run's processes,
and the messages the parent turns into samples."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import threading
import time

import psutil

from profiler.remote import sample_from_agent
from workloads.agent import (
    RUN_TOKEN_ENV,
    TreeSampler,
    kill_run,
    process_tree,
    processes_with_token,
)

# a parent with a child, and a grandchild that leaves the tree (double fork) but keeps the token
TREE = """
import os, subprocess, sys, time
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
pid = os.fork()
if pid == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(60)
    os._exit(0)
os.waitpid(pid, 0)
print("ready", flush=True)
time.sleep(60)
"""


def test_kill_run_ends_the_tree_and_whatever_left_it_with_the_token() -> None:
    token = f"test-{os.getpid()}-{time.monotonic_ns()}"
    proc = subprocess.Popen(
        [sys.executable, "-c", TREE],
        env={**os.environ, RUN_TOKEN_ENV: token},
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n"
        tree = process_tree(proc.pid)
        assert tree[0] == proc.pid and len(tree) == 2  # itself and the sleeping child
        tokened = processes_with_token(token)
        assert set(tree) < set(tokened)  # the daemon left the tree but carries the token
        kill_run(proc.pid, token)
        deadline = time.monotonic() + 5.0
        while _alive(processes_with_token(token)):
            assert time.monotonic() < deadline, _alive(processes_with_token(token))
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _alive(pids: list[int]) -> list[int]:
    """The pids still running (a zombie is dead, only not yet waited for)."""
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.Error:
            pass
    return alive


def test_an_agent_sample_lands_on_the_parents_clock_with_nan_for_the_unknown() -> None:
    sample = sample_from_agent(
        {
            "kind": "sample",
            "t": 1000.25,
            "cpu_percent": 87.5,
            "rss_mib": 301.0,
            "threads": 9,
            "cpu_per_core": [50.0, None],
            "sys_mem_used_mib": 2048.0,
            "gpu_util_percent": None,
        },
        offset_s=-990.0,
    )
    assert sample.t == 10.25
    assert (sample.cpu_percent, sample.rss_mib, sample.threads) == (87.5, 301.0, 9)
    assert sample.cpu_per_core[0] == 50.0 and math.isnan(sample.cpu_per_core[1])
    assert math.isnan(sample.gpu_util_percent) and math.isnan(sample.gpu_mem_mib)
    bad = sample_from_agent({"t": 5.0, "threads": True, "rss_mib": "lots"}, offset_s=0.0)
    assert bad.threads == 0 and math.isnan(bad.rss_mib)


def test_the_agents_first_sample_in_its_own_thread_shows_the_busy_cores() -> None:
    # a child that keeps one core busy while the sampler thread takes its first reading
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        tree = TreeSampler(psutil, busy.pid)  # made in this thread, as the agent does
        time.sleep(0.5)
        readings: list[dict[str, object]] = []
        sampler = threading.Thread(target=lambda: readings.append(tree.sample()))
        sampler.start()
        sampler.join()
    finally:
        busy.kill()
        busy.wait()
    cores = readings[0]["cpu_per_core"]
    assert isinstance(cores, list) and len(cores) == psutil.cpu_count()
    # psutil's cpu_percent keeps its baseline per thread: primed in another thread, this first
    # reading was 0 % on every core
    assert max(cores) > 50.0
