"""Samples a child's whole process tree (CPU %, RSS, threads) and its GPU on a drift-free clock."""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import psutil

from profiler.events import SAMPLE_COLUMNS
from profiler.nvml import GpuMonitor, GpuReading


def _children_lists() -> bool:
    """Whether this kernel lists each task's children (/proc/PID/task/TID/children)."""
    pid = os.getpid()
    return sys.platform.startswith("linux") and os.path.exists(f"/proc/{pid}/task/{pid}/children")


_HAS_CHILDREN_LISTS = _children_lists()


def descendants(root: int) -> dict[int, int] | None:
    """``root``'s descendants as {pid: parent pid}, from the kernel's per-thread lists of
    children: a walk reads the tree's own threads, not every process on the machine as psutil's
    ``children()`` does. None where the kernel keeps no such lists (not Linux, or built without
    CONFIG_PROC_CHILDREN). A process forked during the walk may be missed until the next one."""
    if not _HAS_CHILDREN_LISTS:
        return None
    found: dict[int, int] = {}
    stack = [root]
    while stack:
        pid = stack.pop()
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:  # gone since its parent listed it
            continue
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/children", "rb") as f:
                    kids = f.read().split()
            except OSError:  # the thread ended
                continue
            for kid in map(int, kids):
                if kid != root and kid not in found:
                    found[kid] = pid
                    stack.append(kid)
    return found


_HAS_PROC_STAT = sys.platform.startswith("linux") and os.path.exists(f"/proc/{os.getpid()}/stat")
_CLK_TCK = os.sysconf("SC_CLK_TCK") if _HAS_PROC_STAT else 100
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if _HAS_PROC_STAT else 4096


@dataclass(frozen=True, slots=True)
class ProcStat:
    """What one tick needs of a process, from one read of ``/proc/PID/stat``."""

    own_s: float  # user + system CPU seconds
    reaped_s: float  # the CPU seconds of the children it has waited for
    rss: int  # bytes (the kernel's approximate per-CPU count: within about 1 MiB of statm's)
    threads: int
    zombie: bool
    start_ticks: int  # when it started (clock ticks after boot): tells a reused pid apart


def proc_stat(pid: int) -> ProcStat | None:
    """``pid``'s CPU times, RSS, threads and state from one read of ``/proc/PID/stat`` (None:
    gone). psutil reads three files for the same (``stat``, ``statm``, ``status``), and in a
    4-rank job that was most of a tick's 0.9 ms."""
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
        try:
            raw = os.read(fd, 4096)
        finally:
            os.close(fd)
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after its last ")";
    # then field n of proc(5) is at index n - 3
    fields = raw[raw.rindex(b")") + 2 :].split()
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return ProcStat(
        own_s=(utime + stime) / _CLK_TCK,
        reaped_s=(cutime + cstime) / _CLK_TCK,
        rss=int(fields[21]) * _PAGE_SIZE,
        threads=int(fields[17]),
        zombie=fields[0] == b"Z",
        start_ticks=int(fields[19]),
    )


@dataclass(frozen=True)
class Sample:
    """One measurement of a run's process tree; ``t`` is ``time.monotonic()`` seconds."""

    t: float
    cpu_percent: float
    rss_mib: float
    threads: int
    gpu_util_percent: float = math.nan
    gpu_mem_mib: float = math.nan
    gpu_power_w: float = math.nan
    gpu_temp_c: float = math.nan
    gpu_sm_clock_mhz: float = math.nan
    gpu_energy_j: float = math.nan
    gpu_throttle_reasons: float = math.nan
    sys_mem_used_mib: float = math.nan
    sys_mem_total_mib: float = math.nan
    cpu_per_core: tuple[float, ...] = ()
    gpu_other_pids: tuple[int, ...] = ()

    def columns(self, t: float) -> dict[str, float]:
        """The stored columns (profiler.events.SAMPLE_COLUMNS) by name, ``t`` being the
        sample's time as the store counts it (seconds since the session started)."""
        return {name: t if name == "t" else getattr(self, name) for name in SAMPLE_COLUMNS}


class ProcessTreeSampler:
    """CPU %, RSS and threads summed over a root process and all its descendants.

    The process list is cached and refreshed at most every ``refresh_s`` seconds, because
    walking children on every tick is what makes naive samplers expensive; on Linux a refresh
    reads only the tree's own lists of children (``descendants``), so its cost does not grow
    with the other processes on the machine.

    CPU comes from cumulative CPU times, each process's own plus those of the children it has
    reaped, so descendants that live and die between two looks at the tree (a compiler run by
    torch.compile, a worker pool's short tasks) still count: their time reaches the tree through
    the parent that waited for them. A tracked process that goes away leaves its last-seen time
    as a debt of its parent, paid from the parent's reaped-children time when that grows (at
    once, or when a zombie is waited for later), so nothing is counted twice. What is credited
    late can exceed what the cores could do in one interval: a sample shows at most every core
    busy, and the excess (up to half a second of the whole machine) is shown in the next samples.
    """

    def __init__(
        self,
        root_pid: int,
        refresh_s: float = 0.5,
        churn_refresh_s: float = 0.1,
        started: float | None = None,
    ) -> None:
        """``started``: the ``time.monotonic()`` just before the caller started the root. Given,
        the whole tree's CPU is counted from then, so the first sample already has a CPU % (a
        run shorter than two samples still shows one); None (a process that ran before) counts
        from the first sample, which has none."""
        self.root_pid = root_pid
        self._from_start = started is not None
        self._refresh_s = refresh_s
        # While processes come and go (a compiler's jobs), the list is walked this often, so
        # most are seen alive and their CPU is shown when it is used, not when they are reaped.
        self._churn_refresh_s = min(refresh_s, churn_refresh_s)
        self._churn_until = 0.0
        self._max_percent = 100.0 * (psutil.cpu_count() or 1)
        self._carry = 0.0  # percent-seconds credited late and not yet shown
        self._procs: dict[int, psutil.Process] = {}
        self._parent: dict[int, int] = {}
        self._rss: dict[int, int] = {}  # bytes per live pid at the last sample
        # cumulative (own, reaped children's) CPU seconds at the last sample
        self._cpu_s: dict[int, tuple[float, float]] = {}
        self._debt: dict[int, float] = {}  # per parent: CPU seconds of gone, tracked children
        self._counted: set[int] = set()  # pids whose CPU time was counted from their start
        self._start_ticks: dict[int, int] = {}  # per pid, its start as first read (pid reuse)
        self._last_sample: float | None = started  # time.monotonic() of the last sample
        self._last_refresh_wall: float | None = None  # time.time() of the last tree walk
        self._next_refresh = 0.0
        try:
            self._root: psutil.Process | None = psutil.Process(root_pid)
        except psutil.Error:
            self._root = None

    def pids(self) -> set[int]:
        """The pids currently sampled."""
        return set(self._procs)

    def rss_mib_of(self, pid: int) -> float | None:
        """``pid``'s RSS (MiB) at the last sample; None when it was not measured then."""
        rss = self._rss.get(pid)
        return None if rss is None else rss / 2**20

    def _tree(self) -> dict[int, int | None]:
        """{pid: parent pid, None where not yet known} of the root and its descendants."""
        assert self._root is not None
        if not self._root.is_running():
            return {}
        walked = descendants(self.root_pid)
        if walked is not None:
            return {self.root_pid: None, **walked}
        tree = [self._root, *self._root.children(recursive=True)]
        return {p.pid: None for p in tree}

    def _refresh(self) -> bool:
        """Walk the tree; True when processes appeared or went since the last walk."""
        if self._root is None:
            return False
        try:
            tree = self._tree()
        except psutil.Error:
            tree = {}
        since, self._last_refresh_wall = self._last_refresh_wall, time.time()
        changed = set(tree) != set(self._procs)
        for pid in list(self._procs):
            if pid not in tree:
                del self._procs[pid]
                self._start_ticks.pop(pid, None)
        for pid, parent in tree.items():
            if pid not in self._procs:
                try:
                    p = self._root if pid == self.root_pid else psutil.Process(pid)
                    self._parent[pid] = p.ppid() if parent is None else parent
                    # Born since the last walk, it was never seen: all its CPU time is new.
                    # At the first walk: all of it too when the caller just started the root
                    # (its descendants are younger still), else only what it uses from now on.
                    born = self._from_start if since is None else p.create_time() >= since
                except psutil.Error:
                    continue
                self._procs[pid] = p
                if born:
                    self._counted.add(pid)
        return changed

    def sample(self, now: float | None = None) -> Sample:
        """Measure the tree once: one read of ``/proc/PID/stat`` per process on Linux (psutil's
        cpu_times, memory_info and num_threads elsewhere)."""
        now = time.monotonic() if now is None else now
        if now >= self._next_refresh:
            first_walk = self._last_refresh_wall is None
            if self._refresh() and not first_walk:
                self._churn_until = now + 2.0
            churning = now < self._churn_until
            self._next_refresh = now + (self._churn_refresh_s if churning else self._refresh_s)
        rss: dict[int, int] = {}
        threads = 0
        cpu_s: dict[int, tuple[float, float]] = {}
        for pid, proc in list(self._procs.items()):
            reading = self._read(pid, proc)
            if reading is None:
                self._procs.pop(pid, None)
                self._start_ticks.pop(pid, None)
                continue
            cpu_s[pid] = (reading.own_s, reading.reaped_s)
            # A zombie keeps its CPU times until reaped but reports 0 bytes and 0
            # threads: counting those would draw a dead run as "zero memory".
            if reading.zombie:
                continue
            rss[pid] = reading.rss
            threads += reading.threads
        self._rss = rss  # replaced whole: other threads read it (JobSampler's per-rank RSS)
        cpu = self._cpu_percent(cpu_s, time.monotonic())
        if not self._procs:
            # The tree is gone: "no measurement", not "zero memory".
            return Sample(t=now, cpu_percent=math.nan, rss_mib=math.nan, threads=0)
        if not rss:
            # Only zombies left: they may still be credited CPU, but have no memory to measure.
            return Sample(t=now, cpu_percent=cpu, rss_mib=math.nan, threads=0)
        return Sample(t=now, cpu_percent=cpu, rss_mib=sum(rss.values()) / 2**20, threads=threads)

    def _read(self, pid: int, proc: psutil.Process) -> ProcStat | None:
        """One process's reading; None when it is gone (or its pid now names another)."""
        if _HAS_PROC_STAT:
            reading = proc_stat(pid)
            if reading is None:
                return None
            first = self._start_ticks.setdefault(pid, reading.start_ticks)
            return reading if reading.start_ticks == first else None
        try:
            with proc.oneshot():
                t = proc.cpu_times()
                zombie = proc.status() == psutil.STATUS_ZOMBIE
                return ProcStat(
                    own_s=t.user + t.system,
                    reaped_s=t.children_user + t.children_system,
                    rss=0 if zombie else proc.memory_info().rss,
                    threads=0 if zombie else proc.num_threads(),
                    zombie=zombie,
                    start_ticks=0,
                )
        except psutil.Error:
            return None

    def _cpu_percent(self, cpu_s: dict[int, tuple[float, float]], clock: float) -> float:
        """Percent of one core used by the tree since the last sample (NaN at the first)."""
        for pid, (own, reaped) in self._cpu_s.items():
            parent = self._parent.get(pid)
            if pid not in cpu_s and parent in cpu_s:
                # Gone: once its parent waits for it, the parent's reaped time includes it all.
                self._debt[parent] = self._debt.get(parent, 0.0) + own + reaped
        gained = 0.0
        for pid, (own, reaped) in cpu_s.items():
            if pid in self._cpu_s:
                own_before, reaped_before = self._cpu_s[pid]
            elif pid in self._counted:
                own_before, reaped_before = 0.0, 0.0
            else:
                own_before, reaped_before = own, reaped
            new_reaped = max(0.0, reaped - reaped_before)
            paid = min(self._debt.get(pid, 0.0), new_reaped)
            if paid:
                self._debt[pid] -= paid
            gained += max(0.0, own - own_before) + new_reaped - paid
        for pid in set(self._cpu_s) - set(cpu_s):
            self._parent.pop(pid, None)
            self._debt.pop(pid, None)
        self._counted &= set(cpu_s)
        self._cpu_s = cpu_s
        elapsed = None if self._last_sample is None else clock - self._last_sample
        self._last_sample = clock
        if not elapsed or elapsed <= 0:
            return math.nan
        used = 100.0 * gained + self._carry
        shown = min(used / elapsed, self._max_percent)
        # Carried at most half a second's worth, so late credit cannot leak into later phases.
        self._carry = min(used - shown * elapsed, 0.5 * self._max_percent)
        return shown


class TreeSampler(Protocol):
    """What ``SamplerThread`` measures: one process tree, or several (a data-parallel job's)."""

    def sample(self, now: float | None = None) -> Sample:
        """One measurement."""
        ...

    def pids(self) -> set[int]:
        """The pids measured now."""
        ...


class CoreMeter:
    """The machine's CPU % per core since the last reading (or since it was made).

    Read from ``psutil.cpu_times`` deltas as ``psutil.cpu_percent`` computes them: psutil (7+)
    keeps ``cpu_percent``'s baseline per thread, so counters primed in the thread that starts
    a sampler left the sampler thread's first reading at 0 % on every core.
    """

    def __init__(self) -> None:
        self._last = psutil.cpu_times(percpu=True)

    def read(self) -> tuple[float, ...]:
        """Per-core busy % since the last reading (0 % for a core with no tick since)."""
        now = psutil.cpu_times(percpu=True)
        out = tuple(_busy_percent(a, b) for a, b in zip(self._last, now, strict=False))
        self._last = now
        return out


def _busy_percent(before: Any, after: Any) -> float:
    delta = {f: max(0.0, getattr(after, f) - getattr(before, f)) for f in after._fields}
    # guest time is already in user/nice (as psutil and htop count it); iowait is idle
    total = sum(delta.values()) - delta.get("guest", 0.0) - delta.get("guest_nice", 0.0)
    busy = total - delta["idle"] - delta.get("iowait", 0.0)
    return round(100.0 * busy / total, 1) if total > 0 else 0.0


class SamplerThread:
    """Calls ``on_sample`` at ``hz`` with the tree's and the GPU's readings, without drift.

    Its thread keeps the program's priority: a nicer one was measured no faster (issue #16: a
    4-rank DDP job on 2 cores, 50 Hz, sampler states interleaved within each run; at nice 10,
    1-5% slower in 4 of 6 runs), and the threads it starts (the store's writer) would inherit
    its niceness.
    """

    def __init__(
        self,
        tree: TreeSampler,
        on_sample: Callable[[Sample], None],
        hz: float = 10.0,
        gpu: GpuMonitor | None = None,
        cores: CoreMeter | None = None,
    ) -> None:
        """``cores``: a meter made when the caller started the tree, so the first sample's
        machine CPU covers that start as the tree's own CPU may (``ProcessTreeSampler``'s
        ``started``); None: made here."""
        self._tree = tree
        self._cores = CoreMeter() if cores is None else cores
        self._gpu = gpu
        self._on_sample = on_sample
        self._interval = 1.0 / hz
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sampler", daemon=True)

    def start(self) -> None:
        """Start sampling in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop and wait for the thread (it takes one last sample first)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        next_tick = time.monotonic()
        while True:
            self._on_sample(self._measure())
            if self._stop.is_set():
                return
            # Scheduling from the previous target, not from "now", keeps the rate exact.
            next_tick += self._interval
            delay = next_tick - time.monotonic()
            if delay < 0:
                next_tick = time.monotonic()
                delay = 0
            if self._stop.wait(delay):
                self._on_sample(self._measure())
                return

    def _measure(self) -> Sample:
        s = self._tree.sample()
        memory = psutil.virtual_memory()
        s = replace(
            s,
            sys_mem_used_mib=memory.used / 2**20,
            sys_mem_total_mib=memory.total / 2**20,
            cpu_per_core=self._cores.read(),
        )
        if self._gpu is None or not self._gpu.available:
            return s
        g: GpuReading = self._gpu.read(self._tree.pids())
        return replace(
            s,
            gpu_util_percent=g.util_percent,
            gpu_mem_mib=g.mem_mib,
            gpu_power_w=g.power_w,
            gpu_temp_c=g.temp_c,
            gpu_sm_clock_mhz=g.sm_clock_mhz,
            gpu_energy_j=g.energy_j,
            gpu_throttle_reasons=g.throttle_reasons,
            gpu_other_pids=g.other_pids,
        )
