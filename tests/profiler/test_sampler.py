"""Sampling real process trees; the GPU path through a fake at the NVML boundary."""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import psutil
import pytest

from profiler.nvml import GpuMonitor
from profiler.sampler import (
    CoreMeter,
    ProcessTreeSampler,
    Sample,
    SamplerThread,
    descendants,
    proc_stat,
)


@contextlib.contextmanager
def ready_tree(script: str) -> Iterator[subprocess.Popen[str]]:
    """Run ``script`` (which prints "ready" once set up) and kill its whole tree afterwards."""
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        yield proc
    finally:
        for p in psutil.Process(proc.pid).children(recursive=True):
            p.kill()
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


BURN_WITH_CHILDREN = """
import subprocess, sys, time
hold = "b = bytearray(64 * 2**20); print('held', flush=True); import time; time.sleep(60)"
kids = [subprocess.Popen([sys.executable, "-c", hold], stdout=subprocess.PIPE) for _ in range(2)]
for kid in kids:  # "ready" only once both buffers are allocated, however loaded the machine
    kid.stdout.readline()
print("ready", flush=True)
end = time.time() + 60
while time.time() < end:
    pass
"""


def test_tree_sampler_sums_cpu_and_rss_over_grandchildren() -> None:
    with ready_tree(BURN_WITH_CHILDREN) as proc:
        sampler = ProcessTreeSampler(proc.pid, refresh_s=0.1)
        sampler.sample()
        time.sleep(0.5)
        s = sampler.sample()
        assert len(sampler.pids()) == 3
        assert s.rss_mib > 2 * 64  # both grandchildren's buffers are counted
        assert 10 < s.cpu_percent < 250  # one busy loop (shared with other load), 2 cores
        assert s.threads >= 3
        assert math.isnan(s.gpu_util_percent)


FORKS_FROM_A_THREAD = """
import subprocess, sys, threading, time
hold = [sys.executable, "-c", "import time; time.sleep(60)"]
nest = [sys.executable, "-c", "import subprocess, sys, time; "
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"]
kids = [subprocess.Popen(nest)]
def fork_and_stay():  # the kernel lists this child under the thread that started it
    kids.append(subprocess.Popen(hold))
    time.sleep(60)
threading.Thread(target=fork_and_stay, daemon=True).start()
while len(kids) < 2:
    time.sleep(0.01)
time.sleep(0.5)  # the nested child's own child starts
print("ready", flush=True)
time.sleep(60)
"""


def test_the_tree_walk_finds_what_psutil_finds_across_threads_and_generations() -> None:
    with ready_tree(FORKS_FROM_A_THREAD) as proc:
        root = psutil.Process(proc.pid)
        deadline = time.monotonic() + 30
        while len(root.children(recursive=True)) < 3:  # the grandchild, on a loaded machine
            assert time.monotonic() < deadline
            time.sleep(0.05)
        expected = {p.pid: p.ppid() for p in root.children(recursive=True)}
        walked = descendants(proc.pid)
        if walked is not None:  # None: a kernel without children lists (psutil walks instead)
            assert walked == expected
        sampler = ProcessTreeSampler(proc.pid)
        sampler.sample()
        assert sampler.pids() == {proc.pid, *expected}


@pytest.mark.skipif(proc_stat(os.getpid()) is None, reason="no /proc/PID/stat here")
def test_one_stat_read_gives_what_psutil_reads_from_three_files() -> None:
    with ready_tree(BURN_WITH_CHILDREN) as proc:
        p = psutil.Process(proc.pid)
        for _ in range(3):
            before, rss_before = p.cpu_times(), p.memory_info().rss
            got = proc_stat(proc.pid)
            after, rss_after = p.cpu_times(), p.memory_info().rss
            assert got is not None and not got.zombie
            # the root burns CPU: its times move between the reads, never backwards
            assert before.user + before.system <= got.own_s <= after.user + after.system
            assert got.reaped_s == after.children_user + after.children_system
            assert got.threads == p.num_threads()
            # the same counters whichever file, but stat's is the kernel's approximate per-CPU
            # sum (seen up to 30 pages below statm's on a 12 MiB process), and a process still
            # settling may grow between reads: within psutil's two, give or take 1 MiB
            slack = 2**20
            assert (
                min(rss_before, rss_after) - slack <= got.rss <= max(rss_before, rss_after) + slack
            )
        stat = proc_stat(proc.pid)
        assert stat is not None and stat.start_ticks > 0
    assert proc_stat(proc.pid) is None  # gone and reaped


def test_a_pid_that_names_another_process_is_dropped() -> None:
    """A tracked pid whose process started at another time than first read is not the same
    process (the kernel reused the pid): it is not measured as the run's."""
    with ready_tree(BURN_WITH_CHILDREN) as proc:
        sampler = ProcessTreeSampler(proc.pid, refresh_s=600.0)  # no walk to re-find it
        sampler.sample()
        kid = next(iter(sampler.pids() - {proc.pid}))
        sampler._start_ticks[kid] -= 1  # as if first read from the pid's earlier owner
        s = sampler.sample()
        if proc_stat(proc.pid) is not None:  # the check rides on /proc/PID/stat
            assert kid not in sampler.pids()
            # the dropped process's 64 MiB buffer is no longer counted
            assert (
                s.rss_mib
                < sum(psutil.Process(p).memory_info().rss for p in (proc.pid, kid)) / 2**20
            )


BURN_THEN_SLEEP = """
import time
end = time.process_time() + 0.2
while time.process_time() < end:
    pass
print("ready", flush=True)
time.sleep(60)
"""


def test_a_tree_sampled_from_its_start_has_cpu_at_the_first_sample() -> None:
    # A script run can end within one sample interval: counted from the first sample only, it
    # had no CPU % at all (the dashboard showed none).
    started = time.monotonic()
    with ready_tree(BURN_THEN_SLEEP) as proc:
        first = ProcessTreeSampler(proc.pid, started=started).sample()
        times = psutil.Process(proc.pid).cpu_times()
        used_s = times.user + times.system  # the kernel's count: all since it started
        assert used_s >= 0.2
        assert math.isfinite(first.cpu_percent)
        assert (
            abs(first.cpu_percent - 100.0 * used_s / (first.t - started)) < 0.1 * first.cpu_percent
        )
        # a process that ran before: its past is not this sampler's, the first sample has none
        assert math.isnan(ProcessTreeSampler(proc.pid).sample().cpu_percent)


def test_cores_primed_at_the_start_are_read_over_the_start() -> None:
    # psutil's cpu_percent primed in this thread read 0 % on every core in the sampler's
    # thread, while the tree's first CPU % covers its whole start (a busy machine looked idle).
    cores = CoreMeter()
    with ready_tree(BURN_THEN_SLEEP) as proc:
        got: list[Sample] = []
        thread = SamplerThread(ProcessTreeSampler(proc.pid), got.append, hz=1, cores=cores)
        thread.start()
        thread.stop()
    assert len(got[0].cpu_per_core) == psutil.cpu_count()
    assert sum(got[0].cpu_per_core) > 0  # the child's 0.2 s of CPU at least


CHURN = """
import subprocess, sys, time
burn = "import time\\nend = time.process_time() + 0.03\\nwhile time.process_time() < end: pass"
print("ready", flush=True)
end = time.time() + 60
while time.time() < end:
    subprocess.run([sys.executable, "-S", "-c", burn], check=True)
"""


def test_cpu_of_short_lived_grandchildren_is_counted() -> None:
    # Like torch.compile's C++ compiler runs: each grandchild lives a few tens of ms, too short
    # for the cached process list, yet together they keep one core busy. Their CPU reaches the
    # tree through the parent's reaped-children times.
    with ready_tree(CHURN) as proc:
        root = psutil.Process(proc.pid)
        sampler = ProcessTreeSampler(proc.pid, refresh_s=0.5)
        sampler.sample()
        start, before = psutil.cpu_times(), root.cpu_times()
        readings = []
        for _ in range(15):
            time.sleep(0.1)
            readings.append(sampler.sample().cpu_percent)
        system, after = psutil.cpu_times(), root.cpu_times()
        busy = sum(getattr(system, f) - getattr(start, f) for f in ("user", "system", "nice"))
        measured = sum(readings) / len(readings)
        # Ground truth from the kernel, independent of the sampler's bookkeeping: what the root
        # and every grandchild it reaped used over the same 1.5 s. On a loaded machine the churn
        # gets less than a core, so the floor is relative to what it really got.
        truth = (
            100.0
            * sum(
                getattr(after, f) - getattr(before, f)
                for f in ("user", "system", "children_user", "children_system")
            )
            / 1.5
        )
        assert truth > 5.0, truth  # the churn ran at all
        # what the whole machine did in the same 1.5 s is the ceiling (plus sampling jitter)
        ceiling = 100.0 * busy / 1.5
        assert measured > 0.6 * truth, (measured, truth, readings)
        assert max(readings) <= 100.0 * (psutil.cpu_count() or 1)  # late credit stays physical
        assert measured < ceiling + 25.0, (measured, ceiling)


LATE_WAIT = """
import subprocess, sys, time
burn = "import time\\nend = time.process_time() + 0.6\\nwhile time.process_time() < end: pass"
child = subprocess.Popen([sys.executable, "-S", "-c", burn])
print("ready", flush=True)
time.sleep(2.0)  # the child finishes long before: a zombie until waited for
child.wait()
time.sleep(60)
"""


def test_a_child_waited_for_late_is_counted_once() -> None:
    with ready_tree(LATE_WAIT) as proc:
        sampler = ProcessTreeSampler(proc.pid, refresh_s=0.1)
        sampler.sample()
        cpu_seconds, last = 0.0, time.monotonic()
        for _ in range(30):  # 3 s: the burn, the zombie, the wait, and after
            time.sleep(0.1)
            value = sampler.sample().cpu_percent
            now = time.monotonic()
            cpu_seconds += value / 100.0 * (now - last)
            last = now
        # 0.6 s of burning plus the child's start-up, once; twice would be over 1.2 s
        assert 0.55 < cpu_seconds < 0.95, cpu_seconds


def test_sampler_thread_keeps_its_rate_without_drift() -> None:
    got: list[Sample] = []
    sampler = SamplerThread(ProcessTreeSampler(psutil.Process().pid), got.append, hz=50)
    start = time.monotonic()
    sampler.start()
    time.sleep(1.0)
    sampler.stop()
    elapsed = time.monotonic() - start
    assert abs(len(got) - elapsed * 50) <= 4
    gaps = [b.t - a.t for a, b in itertools.pairwise(got)]
    assert max(gaps[:-1]) < 0.25  # a loaded 2-core machine may stall one tick, not the rate
    assert not any(t.name == "sampler" for t in threading.enumerate())


class FakeNvmlNoGpu:
    """A stand-in for ``pynvml`` on a machine whose driver is missing."""

    class NVMLError(Exception):
        pass

    def nvmlInit(self) -> None:
        raise self.NVMLError("NVML Shared Library Not Found")


class FakeNvmlOneGpu:
    """A stand-in for ``pynvml`` with one GPU: the same function names, canned readings."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.shutdown = False

    def nvmlInit(self) -> None: ...
    def nvmlShutdown(self) -> None:
        self.shutdown = True

    def nvmlDeviceGetCount(self) -> int:
        return 1

    def nvmlDeviceGetHandleByIndex(self, i: int) -> str:
        return f"gpu{i}"

    def nvmlDeviceGetName(self, h: str) -> bytes:
        return b"NVIDIA H100 80GB HBM3"

    def nvmlSystemGetDriverVersion(self) -> str:
        return "560.35"

    def nvmlDeviceGetMemoryInfo(self, h: str) -> Any:
        return SimpleNamespace(total=80 * 2**30, used=3 * 2**30)

    def nvmlDeviceGetUtilizationRates(self, h: str) -> Any:
        return SimpleNamespace(gpu=87, memory=40)

    def nvmlDeviceGetPowerUsage(self, h: str) -> int:
        return 312_500

    def nvmlDeviceGetComputeRunningProcesses(self, h: str) -> list[Any]:
        mib = 2**20
        return [
            SimpleNamespace(pid=self.pid, usedGpuMemory=1000 * mib),
            SimpleNamespace(pid=self.pid, usedGpuMemory=1000 * mib),  # listed twice: count once
            SimpleNamespace(pid=999_999, usedGpuMemory=5000 * mib),  # someone else's
        ]


def test_no_gpu_is_a_state_not_an_error() -> None:
    gpu = GpuMonitor(nvml=FakeNvmlNoGpu())
    assert not gpu.available
    assert gpu.status.startswith("no NVIDIA GPU: NVML unavailable")
    reading = gpu.read({1})
    assert math.isnan(reading.util_percent) and math.isnan(reading.power_w)


def test_gpu_readings_through_fake_nvml_are_attached_to_samples() -> None:
    me = psutil.Process().pid
    nvml = FakeNvmlOneGpu(me)
    gpu = GpuMonitor(0, nvml=nvml)
    assert gpu.available and gpu.status == "NVIDIA GPU 0: NVIDIA H100 80GB HBM3"
    info = gpu.info()
    assert info is not None and info.memory_total_mib == 80 * 1024
    got: list[Sample] = []
    thread = SamplerThread(ProcessTreeSampler(me), got.append, hz=20, gpu=gpu)
    thread.start()
    time.sleep(0.2)
    thread.stop()
    s = got[-1]
    assert (s.gpu_util_percent, s.gpu_mem_mib, s.gpu_power_w) == (87.0, 1000.0, 312.5)
    gpu.close()
    assert nvml.shutdown


def test_a_zombie_is_not_measured_as_zero_memory() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    sampler = ProcessTreeSampler(proc.pid, refresh_s=0.0)
    try:
        deadline = time.monotonic() + 30
        while psutil.Process(proc.pid).status() != psutil.STATUS_ZOMBIE:  # exited, not reaped
            assert time.monotonic() < deadline
            time.sleep(0.01)
        s = sampler.sample()
        assert math.isnan(s.rss_mib) and s.threads == 0, s
    finally:
        proc.wait()


def test_a_finished_tree_is_not_measured_as_zero() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    sampler = ProcessTreeSampler(proc.pid, refresh_s=0.0)
    proc.wait()
    s = sampler.sample()
    assert math.isnan(s.rss_mib) and math.isnan(s.cpu_percent) and s.threads == 0
