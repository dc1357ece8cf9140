"""Which CPUs a session's runs are pinned to under ``run.affinity: auto``.

The worker pins itself (``workloads.affinity``); for local single-process runs the session
chooses the CPUs once, before its first run, and hands every run the same explicit list, so every
framework and every repeat runs on the same cores. It takes the highest-numbered CPUs that are not
taken at that moment (more than half busy): pinning blindly to the highest-numbered CPU would
put two sessions, or a session and another pinned program, on one core while another idles.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

import psutil

# How long the CPUs are watched before choosing (once per session).
WATCH_S = 0.25
# A CPU counts as taken above this busy share; the highest-numbered CPUs that are not win. Below
# it is the parent itself (starting the session, drawing its window) and passing noise, which
# must not move a session off the CPUs an idle machine would give it.
BUSY_THRESHOLD = 0.5


def cpu_busy(cpus: Sequence[int], watch_s: float = WATCH_S) -> dict[int, float]:
    """Each CPU's busy share (0-1) over the next ``watch_s`` seconds."""
    before = psutil.cpu_times(percpu=True)
    time.sleep(watch_s)
    after = psutil.cpu_times(percpu=True)
    busy: dict[int, float] = {}
    for cpu in cpus:
        if cpu >= min(len(before), len(after)):
            continue
        total = sum(after[cpu]) - sum(before[cpu])
        idle = (after[cpu].idle - before[cpu].idle) + (
            getattr(after[cpu], "iowait", 0.0) - getattr(before[cpu], "iowait", 0.0)
        )
        busy[cpu] = 1.0 - idle / total if total > 0 else 0.0
    return busy


def session_cpus(
    policy: str | Sequence[int], threads: int | None, watch_s: float = WATCH_S
) -> list[int] | None:
    """The CPUs every local run of a session is pinned to under ``policy`` ``auto``; None when
    the policy is not auto, the framework's default threads are used, or the runs would need
    every CPU anyway (the worker then leaves them to the scheduler)."""
    if policy != "auto" or threads is None or not hasattr(os, "sched_getaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    if threads >= len(allowed):
        return None
    busy = cpu_busy(allowed, watch_s)
    ranked = sorted(allowed, key=lambda c: (busy.get(c, 0.0) > BUSY_THRESHOLD, -c))
    return sorted(ranked[:threads])
