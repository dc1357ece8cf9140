"""Pinning a run to CPUs (``run.affinity``), before the framework starts any thread.

Stdlib only. On a machine with more cores than a run uses, the scheduler moves a run's threads
between cores and puts them beside the parent's sampler and whatever else runs there; measured on
this project's 2-core machine (demo MLP, one thread, 8 runs each), that alone spread PyTorch's
run medians by 2.5% and TensorFlow's by 3.3% (bimodal: some runs 10% slower), and pinning the
same runs to one core brought both to about 1%. ``auto`` therefore pins a run that asks for
fewer threads than it may use to the highest-numbered CPUs it may use, the same ones for every
framework (CPU 0 usually takes the interrupts, and the parent runs wherever is left); a
data-parallel rank gets its own CPUs when the ranks' threads fit side by side, and is left
unpinned otherwise. ``off`` never pins; a list of CPU numbers pins every run to exactly those.
For local single-process runs the session chooses the CPUs once (the highest idle ones, see
``profiler.cpus``) and passes them as such a list, so ``auto`` here serves the other runs.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

AUTO = "auto"
OFF = "off"


class AffinityError(ValueError):
    """``run.affinity`` names CPUs this process may not use; the message says which may be."""


def allowed_cpus() -> list[int] | None:
    """The CPUs this process may run on, ascending; None where the OS does not say."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    return sorted(os.sched_getaffinity(0))


def choose_cpus(
    policy: str | Sequence[int],
    threads: int | None,
    allowed: Sequence[int],
    rank: int = 0,
    ranks: int = 1,
) -> list[int] | None:
    """The CPUs to pin to under ``policy`` (``auto``, ``off`` or CPU numbers); None: no pinning.

    ``threads`` is the run's (or each rank's) thread count, None for the framework's default;
    ``rank``/``ranks`` place a data-parallel rank among its job's ranks.
    """
    if isinstance(policy, str):
        if policy == OFF or threads is None or not allowed:
            return None
        if policy != AUTO:
            raise AffinityError(f"run.affinity: {policy!r} is not auto, off or a list of CPUs")
        needed = threads * max(ranks, 1)
        if needed > len(allowed) or (ranks <= 1 and threads >= len(allowed)):
            return None  # they would share cores anyway: leave it to the scheduler
        top = sorted(allowed, reverse=True)
        return sorted(top[rank * threads : (rank + 1) * threads])
    wanted = sorted(set(policy))
    missing = [cpu for cpu in wanted if cpu not in set(allowed)]
    if not wanted or missing:
        raise AffinityError(
            f"run.affinity: CPU {', '.join(map(str, missing)) or '(none)'} is not available "
            f"to this run (it may use {_spans(allowed)}); name CPUs from that set, or use auto"
        )
    return wanted


def pin(
    policy: str | Sequence[int], threads: int | None, rank: int = 0, ranks: int = 1
) -> list[int] | None:
    """Pin this process (and the threads it starts from now on) as ``choose_cpus`` says; the
    CPUs pinned to, or None when it was left to the scheduler."""
    allowed = allowed_cpus()
    if allowed is None:
        return None
    cpus = choose_cpus(policy, threads, allowed, rank, ranks)
    if cpus is not None:
        os.sched_setaffinity(0, cpus)
    return cpus


def _spans(cpus: Sequence[int]) -> str:
    """'CPUs 0-3, 6' for [0, 1, 2, 3, 6]."""
    ordered = sorted(cpus)
    if not ordered:
        return "no CPUs"
    parts: list[str] = []
    start = prev = ordered[0]
    for cpu in [*ordered[1:], None]:
        if cpu is not None and cpu == prev + 1:
            prev = cpu
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if cpu is not None:
            start = prev = cpu
    return f"CPU{'s' if len(ordered) > 1 else ''} {', '.join(parts)}"
