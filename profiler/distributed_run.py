"""Runs one framework's data-parallel job at one worker count and merges what its ranks say.

The job is started as ``profiler.distributed`` builds it (torchrun, or one process per
TensorFlow/JAX worker). Every rank writes its events to its own named pipe; ``RankMerger`` lines
the ranks' windows up and passes the session one stream, as if from one child:

- a ``window`` per step window of the whole job: ``samples`` summed over the ranks (so samples/s
  is global), ``seconds`` the slowest rank's, ``straggler`` that rank, and per-rank lists
  (``rank_seconds``, ``rank_comm_s``, ``rank_rss_mib``); ``comm_s`` the slowest rank's time in
  gradient all-reduce where the engine lets it be timed (absent where not measured);
- every rank's own window as ``rank_window`` (the dashboard plots each rank), its ``rank`` event
  (pid, weights digest, engine), its ``memory`` as ``rank_memory``, errors and logs of any rank;
- rank 0's other events as they are (hello, model with the parity loss, env, phases), and
  ``done`` once every rank is done.

``DistributedRun`` has ``ChildProcess``'s interface (pid, wait, kill_tree, close), so the session
runs it in its place.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psutil

from profiler.config import Config
from profiler.distributed import (
    DistributedLaunch,
    Node,
    Rendezvous,
    Scaling,
    build_launch,
    event_path,
    free_port,
    threads_per_worker,
    worker_batch,
)
from profiler.launcher import (
    MAX_EVENT_LINE_BYTES,
    MAX_LOG_LINE_BYTES,
    RECORDED_ENV,
    RUN_TOKEN_ENV,
    WORKER_MODULE,
    bounded_lines,
    child_environment,
    processes_of_run,
    write_spec,
)
from profiler.nvml import GpuMonitor
from profiler.paths import default_python
from profiler.protocol import Event, GarbageLine, decode_event
from profiler.sampler import ProcessTreeSampler, Sample

# rank-0 events passed on as they are; other ranks' are summarised in their rank_* events
_RANK0_KINDS = frozenset({"hello", "model", "env", "phase", "first_step"})


@dataclass
class _Pending:
    """A step window some ranks have reported and others not yet."""

    by_rank: dict[int, Event] = field(default_factory=dict)


class RankMerger:
    """Lines the ranks' events up into the job's stream (see the module docstring).

    Thread-safe: each rank's reader calls ``add`` from its own thread. ``rss_of`` gives each
    rank's latest RSS (MiB) for the merged windows.
    """

    def __init__(
        self,
        ranks: tuple[int, ...],
        emit: Callable[[Event], None],
        rss_of: Callable[[], dict[int, float]] | None = None,
    ) -> None:
        self.ranks = ranks
        # every rank stamps events with one host's monotonic clock (False across hosts)
        self.shared_clock = True
        self._emit = emit
        self._rss_of = rss_of or dict
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, int], _Pending] = {}
        self._done: dict[int, Event] = {}
        self.rank_pids: dict[int, int] = {}
        self.digests: dict[int, str | None] = {}

    def add(self, rank: int, event: Event) -> None:
        """One event from ``rank``."""
        with self._lock:
            out = self._merge(rank, event)
        for e in out:
            self._emit(e)

    def _merge(self, rank: int, event: Event) -> list[Event]:
        kind, payload = event.kind, dict(event.payload)
        if kind == "window":
            out = [Event("rank_window", event.t, {**payload, "rank": rank})]
            key = (str(payload.get("phase")), int(payload.get("step") or 0))
            pending = self._pending.setdefault(key, _Pending())
            pending.by_rank[rank] = event
            if len(pending.by_rank) == len(self.ranks):
                del self._pending[key]
                out.append(self._merged_window(pending.by_rank))
            return out
        if kind == "rank":
            pid = payload.get("pid")
            if isinstance(pid, int):
                self.rank_pids[rank] = pid
            self.digests[rank] = payload.get("weights_digest")
            return [Event("rank", event.t, {**payload, "rank": rank})]
        if kind == "done":
            self._done[rank] = event
            if len(self._done) == len(self.ranks):
                return [self._done.get(self.ranks[0], event)]
            return []
        if kind == "memory":
            return [Event("rank_memory", event.t, {**payload, "rank": rank})]
        if kind in ("error", "log"):
            if kind == "log" and isinstance(payload.get("message"), str):
                payload["message"] = f"[rank {rank}] {payload['message']}"
            return [Event(kind, event.t, {**payload, "rank": rank})]
        if kind in _RANK0_KINDS:
            return [event] if rank == self.ranks[0] else []
        return [Event(kind, event.t, {**payload, "rank": rank})]

    def _merged_window(self, by_rank: dict[int, Event]) -> Event:
        ranks = sorted(by_rank)
        seconds = [_num(by_rank[r].get("seconds")) for r in ranks]
        comm = [_num(by_rank[r].get("comm_s")) for r in ranks]
        timed = all(math.isfinite(c) for c in comm)
        # The straggler computes longest: its own time less its all-reduce, where the others
        # wait for it (where that is not timed, simply the longest own time).
        busy = [s - c for s, c in zip(seconds, comm, strict=True)] if timed else seconds
        straggler = max(range(len(ranks)), key=lambda i: busy[i])
        first = by_rank[ranks[0]]
        rss = self._rss_of()
        payload: dict[str, Any] = {
            "phase": first.get("phase"),
            "step": first.get("step"),
            "steps": first.get("steps"),
            "seconds": self._job_seconds(by_rank, seconds),
            "loss": first.get("loss"),
            "samples": sum(int(by_rank[r].get("samples") or 0) for r in ranks),
            "straggler": ranks[straggler],
            "ranks": len(ranks),
            "rank_seconds": seconds,
            "rank_rss_mib": [rss.get(r) for r in ranks],
        }
        if timed:
            # the all-reduce itself: the straggler's, who waits for no one; the others' surplus
            # is waiting for the straggler
            payload["comm_s"] = min(comm)
            payload["rank_comm_s"] = comm
        for fault in ("minor_faults", "major_faults"):
            values = [by_rank[r].get(fault) for r in ranks]
            if all(isinstance(v, int) for v in values):
                payload[fault] = sum(values)
        return Event("window", max(by_rank[r].t for r in ranks), payload)

    def _job_seconds(self, by_rank: dict[int, Event], seconds: list[float]) -> float:
        """The job's time for the window: from the last rank to start it to the last rank to
        end it, on the clock the ranks share (one host's monotonic clock), so consecutive job
        windows tile the run. The longest rank's own time per window is biased high: the ranks'
        jitter, which evens out over a run, never evens out in a maximum taken per window
        (measured: +14% for TensorFlow in 1-step windows). Without a shared clock, the longest."""
        if not self.shared_clock:
            return max(seconds)
        ends = [by_rank[r].t for r in sorted(by_rank)]
        starts = [t - s for t, s in zip(ends, seconds, strict=True)]
        return max(ends) - max(starts)


def _num(value: Any) -> float:
    return (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else math.nan
    )


class JobSampler:
    """A ``ProcessTreeSampler`` over every process the launcher started (torchrun's tree holds
    all of a node's ranks), plus each rank process's own RSS for the per-rank memory."""

    def __init__(self, roots: list[int], rank_pids: Callable[[], dict[int, int]]) -> None:
        self._trees = [ProcessTreeSampler(pid) for pid in roots]
        self._rank_pids = rank_pids
        self._rank_procs: dict[int, psutil.Process] = {}
        self._lock = threading.Lock()
        self._procs_lock = threading.Lock()
        self.rank_rss: dict[int, float] = {}
        self._max_percent = 100.0 * (psutil.cpu_count() or 1)

    def pids(self) -> set[int]:
        """Every pid sampled now."""
        return set().union(*(t.pids() for t in self._trees))

    def sample(self, now: float | None = None) -> Sample:
        """The job's CPU, RSS and threads summed over the launched processes' trees."""
        now = time.monotonic() if now is None else now
        parts = [t.sample(now) for t in self._trees]
        alive = [p for p in parts if math.isfinite(p.rss_mib)]
        self._sample_ranks()
        if not alive:
            return Sample(t=now, cpu_percent=math.nan, rss_mib=math.nan, threads=0)
        cpu = min(
            self._max_percent, sum(p.cpu_percent for p in alive if math.isfinite(p.cpu_percent))
        )
        return Sample(
            t=now,
            cpu_percent=cpu,
            rss_mib=sum(p.rss_mib for p in alive),
            threads=sum(p.threads for p in alive),
        )

    def _sample_ranks(self) -> None:
        # the sampler thread and the ranks' event readers both come here
        with self._procs_lock:
            rss: dict[int, float] = {}
            for rank, pid in self._rank_pids().items():
                # a rank in a tree was measured in this tick: no second read of its memory
                seen = next((m for t in self._trees if (m := t.rss_mib_of(pid)) is not None), None)
                if seen is not None:
                    rss[rank] = seen
                    continue
                proc = self._rank_procs.get(rank)
                try:
                    if proc is None or proc.pid != pid:
                        proc = self._rank_procs[rank] = psutil.Process(pid)
                    rss[rank] = proc.memory_info().rss / 2**20
                except psutil.Error:
                    continue
            with self._lock:
                self.rank_rss = rss

    def latest_rank_rss(self) -> dict[int, float]:
        """Each rank's RSS (MiB) at the last sample; read now for a rank that announced itself
        since (its first windows can come before the next tick)."""
        with self._lock:
            known = dict(self.rank_rss)
        if set(self._rank_pids()) - set(known):
            self._sample_ranks()
            with self._lock:
                known = dict(self.rank_rss)
        return known


def rank_config(config: Config, workers: int, cpus: int | None, *, cuda: bool = False) -> Config:
    """The config every rank runs at ``workers`` workers: the per-worker batch (the launcher
    passes the global one) and, on the CPU, the node's threads (``threads``, else its ``cpus``)
    split among the workers, so each framework sizes its own pools to its share, not to the
    machine (TensorFlow and XLA ignore OMP_NUM_THREADS)."""
    dist = config.run.distributed
    assert dist is not None
    per_worker, _ = worker_batch(config.train.batch_size, workers, dist.scaling)
    train = config.train.model_copy(update={"batch_size": per_worker})
    threads = config.threads
    if not cuda:
        threads = threads_per_worker(config.threads, workers, cpus)
    return config.model_copy(update={"train": train, "threads": threads})


class DistributedRun:
    """One framework's job at ``workers`` ranks on this machine, as the session runs a child."""

    def __init__(
        self,
        framework: str,
        config: Config,
        workers: int,
        *,
        cache_dir: Path,
        on_event: Callable[[Event], None],
        on_garbage: Callable[[str], None],
        on_log: Callable[[str], None],
        python: str | None = None,
        worker_module: str = WORKER_MODULE,
        cold_compile_dir: Path | None = None,
        trace_dir: Path | None = None,
    ) -> None:
        # ``trace_dir`` is accepted for the session's one launch call but not used: the trace
        # phase profiles single-process runs only (a data-parallel run is not traced).
        del trace_dir
        dist = config.run.distributed
        if dist is None:
            raise ValueError("DistributedRun needs a config with run.distributed")
        self.token = uuid.uuid4().hex
        self._on_garbage, self._on_log = on_garbage, on_log
        # what close() cleans up, set before anything can fail
        self.spec_file: Path | None = None
        self.procs: list[subprocess.Popen[bytes]] = []
        self._threads: list[threading.Thread] = []
        self._ranks: tuple[int, ...] = ()
        self.sampler: JobSampler | None = None
        self.event_dir = Path(tempfile.mkdtemp(prefix="ranks-", dir=cache_dir))
        try:
            self._start(
                framework,
                config,
                workers,
                scaling=dist.scaling,
                cache_dir=cache_dir,
                on_event=on_event,
                python=python,
                worker_module=worker_module,
                cold_compile_dir=cold_compile_dir,
            )
        except BaseException:
            self.close()
            raise
        self.pid = self.procs[0].pid
        self.sampler = JobSampler([p.pid for p in self.procs], lambda: dict(self.merger.rank_pids))

    def _start(
        self,
        framework: str,
        config: Config,
        workers: int,
        *,
        scaling: Scaling,
        cache_dir: Path,
        on_event: Callable[[Event], None],
        python: str | None,
        worker_module: str,
        cold_compile_dir: Path | None,
    ) -> None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        cuda = config.device.startswith("cuda")
        if config.device == "auto":
            # as the frameworks decide: a GPU when there is one (NVML's word; no framework here)
            monitor = GpuMonitor(0)
            cuda = monitor.available
            monitor.close()
        self.spec_file = write_spec(rank_config(config, workers, cpus, cuda=cuda), cache_dir)
        argv = (
            "-m",
            worker_module,
            "--framework",
            framework,
            "--spec-file",
            str(self.spec_file),
        )
        self.launch: DistributedLaunch = build_launch(
            framework,
            argv,
            python=python or default_python(),
            workers=workers,
            scaling=scaling,
            batch_size=config.train.batch_size,
            rendezvous=Rendezvous(free_port(), (Node("127.0.0.1", workers),)),
            event_dir=self.event_dir,
            device="cuda" if cuda else "cpu",
            threads=config.threads,
            cpus=cpus,
        )
        ranks = self._ranks = tuple(r.rank for r in self.launch.ranks)
        for rank in ranks:
            os.mkfifo(event_path(self.event_dir, rank), 0o600)
        self.environment = child_environment(
            cache_dir, None, config.train.compile_cache, cold_compile_dir
        )
        self.environment[RUN_TOKEN_ENV] = self.token
        self.merger = RankMerger(ranks, on_event, self._rank_rss)
        self.command = list(self.launch.processes[0].argv)
        for rank in ranks:
            self._thread(self._read_events, rank, name=f"rank-events-{rank}")
        for process in self.launch.processes:
            proc = subprocess.Popen(
                list(process.argv),
                env={**self.environment, **process.env},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=str(cache_dir.parent),
            )
            self.procs.append(proc)
            label = "torchrun" if framework == "torch" else f"rank {process.ranks[0]}"
            self._thread(self._read_logs, proc, label, name=f"rank-logs-{proc.pid}")

    def _thread(self, target: Callable[..., None], *args: Any, name: str) -> None:
        t = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(t)
        t.start()

    def _rank_rss(self) -> dict[int, float]:
        return {} if self.sampler is None else self.sampler.latest_rank_rss()

    def tree_sampler(self) -> JobSampler:
        """What the session's sampler thread measures: every launched process's tree."""
        assert self.sampler is not None
        return self.sampler

    def recorded_environment(self) -> dict[str, str]:
        """The variables that change what the ranks measure (rank 0's process)."""
        env = {**self.environment, **self.launch.processes[0].env}
        return {k: v for k, v in sorted(env.items()) if k in RECORDED_ENV or k == "TF_CONFIG"}

    def _read_events(self, rank: int) -> None:
        # Blocks until the rank opens its end; close() opens it itself if the rank never does.
        with open(event_path(self.event_dir, rank), "rb") as stream:
            for raw, dropped in bounded_lines(stream, MAX_EVENT_LINE_BYTES):
                if dropped or not raw.endswith(b"\n"):
                    self._on_garbage(f"rank {rank}: a cut or overlong line: {raw[:200]!r}")
                    continue
                try:
                    event = decode_event(raw)
                except GarbageLine as exc:
                    self._on_garbage(f"rank {rank}: {exc}")
                    continue
                self.merger.add(rank, event)

    def _read_logs(self, proc: subprocess.Popen[bytes], label: str) -> None:
        stream: IO[bytes] | None = proc.stdout
        if stream is None:
            return
        with stream:
            for raw, _dropped in bounded_lines(stream, MAX_LOG_LINE_BYTES):
                self._on_log(f"[{label}] " + raw.decode("utf-8", errors="replace").rstrip("\n"))

    def wait(self, timeout: float | None = None) -> int:
        """Wait for every process (raises subprocess.TimeoutExpired). The first failure ends the
        job: the other ranks would wait in a collective forever."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            codes = [p.poll() for p in self.procs]
            failed = [c for c in codes if c not in (None, 0)]
            if failed:
                self.kill_tree()
                return failed[0]
            if all(c == 0 for c in codes):
                return 0
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(self.command, timeout or 0.0)
            time.sleep(0.05)

    def kill_tree(self) -> None:
        """SIGKILL every launched process's session, its descendants and any process carrying
        the run's token."""
        victims: list[psutil.Process] = []
        for proc in self.procs:
            with contextlib.suppress(psutil.Error):
                victims += psutil.Process(proc.pid).children(recursive=True)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        known = {p.pid for p in victims}
        victims += [p for p in processes_of_run(self.token) if p.pid not in known]
        for p in victims:
            with contextlib.suppress(psutil.Error):
                p.kill()
        psutil.wait_procs(victims, timeout=2.0)
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=2.0)

    def close(self) -> None:
        """Kill what is left, end every reader (opening a pipe no rank opened), remove files."""
        self.kill_tree()
        for rank in self._ranks:
            # a reader still blocked in open() on a FIFO no rank opened: give it a writer
            with contextlib.suppress(OSError):
                os.close(os.open(event_path(self.event_dir, rank), os.O_WRONLY | os.O_NONBLOCK))
        for t in self._threads:
            t.join(timeout=5.0)
        if self.spec_file is not None:
            with contextlib.suppress(OSError):
                self.spec_file.unlink()
            self.spec_file = None
        shutil.rmtree(self.event_dir, ignore_errors=True)

    @property
    def rank_count(self) -> int:
        """Ranks in the job."""
        return len(self._ranks)
