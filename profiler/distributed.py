"""How each framework's data-parallel run is launched: argv and environment per process and rank.

Pure functions, no processes started here (``profiler.distributed_run`` starts them; a remote
launcher can reuse the same builders per node). Each framework is launched the way its users do:

- PyTorch: ``torchrun`` (``python -m torch.distributed.run``, the same entry point as the
  ``torchrun`` script, run by the framework's own interpreter) starts ``nproc_per_node`` ranks
  per node; the worker calls ``init_process_group`` from torchrun's ``RANK``/``WORLD_SIZE``/
  ``MASTER_ADDR`` and wraps the model in ``DistributedDataParallel`` (gloo on the CPU, NCCL on
  GPUs, one GPU per rank: ``cuda:LOCAL_RANK``).
- TensorFlow: one process per worker, each with its ``TF_CONFIG`` (every worker's address and its
  own index), driving ``MultiWorkerMirroredStrategy``; or, when one process drives several GPUs,
  ``MirroredStrategy`` in a single process (recorded as ``tf_mirrored``).
- JAX: one process per worker calling ``jax.distributed.initialize(coordinator_address,
  num_processes, process_id)``; on the CPU with gloo collectives.

Every rank finds its event channel at ``event_path(event_dir, rank)`` (a named pipe the parent
made), since torchrun's children inherit no file descriptors from the parent.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from profiler.node_address import host_port

Strategy = Literal["torch_ddp", "tf_multi_worker_mirrored", "tf_mirrored", "jax_distributed"]
Scaling = Literal["weak", "strong"]

# Read by workloads.distributed inside each rank (mirrored there: workloads imports no profiler).
ENV_STRATEGY = "FRAMEDUEL_DIST_STRATEGY"
ENV_BACKEND = "FRAMEDUEL_DIST_BACKEND"
ENV_WORLD_SIZE = "FRAMEDUEL_DIST_WORLD_SIZE"
ENV_RANK = "FRAMEDUEL_DIST_RANK"  # unset under torchrun: the rank reads torchrun's RANK
ENV_LOCAL_RANK = "FRAMEDUEL_DIST_LOCAL_RANK"
ENV_COORDINATOR = "FRAMEDUEL_DIST_COORDINATOR"  # host:port of rank 0 (JAX's coordinator)
ENV_EVENT_DIR = "FRAMEDUEL_DIST_EVENT_DIR"
ENV_GLOBAL_BATCH = "FRAMEDUEL_DIST_GLOBAL_BATCH"
ENV_DEVICES = "FRAMEDUEL_DIST_DEVICES"  # tf_mirrored: GPUs driven by the one process


class DistributedConfigError(ValueError):
    """A worker count, batch or node layout that cannot be launched; the message says why."""


@dataclass(frozen=True)
class Node:
    """One host of a multi-node run: its address as the other nodes reach it, and its ranks."""

    address: str
    nproc: int


@dataclass(frozen=True)
class Rendezvous:
    """Where the ranks meet: rank 0's node address and a free port there, and the node layout.

    ``nodes`` lists every host in node-rank order; a single-node run has one, ``127.0.0.1``.
    TensorFlow workers listen on ``port + rank`` (TF_CONFIG names every worker's address).
    """

    port: int
    nodes: tuple[Node, ...] = (Node("127.0.0.1", 1),)

    @property
    def master(self) -> str:
        """Rank 0's host."""
        return self.nodes[0].address

    @property
    def world_size(self) -> int:
        """Ranks over all nodes."""
        return sum(n.nproc for n in self.nodes)

    def first_rank(self, node_rank: int) -> int:
        """The global rank of ``node_rank``'s local rank 0."""
        return sum(n.nproc for n in self.nodes[:node_rank])


@dataclass(frozen=True)
class RankLaunch:
    """One rank as launched: its place in the job and what its process sees in its environment.

    ``env`` holds only what FrameDuel sets for this rank (on top of the run's environment);
    under torchrun, torchrun itself adds ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``...
    """

    rank: int
    local_rank: int
    node_rank: int
    world_size: int
    env: Mapping[str, str]


@dataclass(frozen=True)
class ProcessLaunch:
    """One OS process the launcher starts on node ``node_rank``: torchrun (running all of the
    node's ranks as its children) or one TensorFlow/JAX worker."""

    node_rank: int
    argv: tuple[str, ...]
    env: Mapping[str, str]
    ranks: tuple[int, ...]


@dataclass(frozen=True)
class DistributedLaunch:
    """A framework's data-parallel job at one worker count: its processes, ranks and settings."""

    framework: str
    strategy: Strategy
    backend: str
    world_size: int
    scaling: Scaling
    per_worker_batch: int
    global_batch: int
    threads_per_worker: int | None
    processes: tuple[ProcessLaunch, ...]
    ranks: tuple[RankLaunch, ...] = field(default=())

    def record(self) -> dict[str, object]:
        """What the run records about its launch (JSON-ready)."""
        return {
            "framework": self.framework,
            "strategy": self.strategy,
            "backend": self.backend,
            "world_size": self.world_size,
            "scaling": self.scaling,
            "per_worker_batch": self.per_worker_batch,
            "global_batch": self.global_batch,
            "threads_per_worker": self.threads_per_worker,
            "processes": [list(p.argv) for p in self.processes],
        }


def worker_batch(batch_size: int, workers: int, scaling: Scaling) -> tuple[int, int]:
    """(per-worker batch, global batch) for ``batch_size`` at ``workers`` workers.

    Weak scaling keeps ``batch_size`` per worker; strong keeps it global and splits it evenly.
    """
    if workers < 1:
        raise DistributedConfigError(f"{workers} workers: need at least 1")
    if scaling == "weak":
        return batch_size, batch_size * workers
    if batch_size % workers:
        raise DistributedConfigError(
            f"strong scaling splits the global batch {batch_size} over {workers} workers, which "
            "does not divide it: choose a batch_size divisible by every worker count"
        )
    return batch_size // workers, batch_size


def threads_per_worker(threads: int | None, workers_on_node: int, cpus: int | None) -> int | None:
    """CPU threads each worker gets: the node's threads (``threads``, else its ``cpus``) split
    evenly among its workers, at least 1; None when neither is known."""
    total = threads if threads is not None else cpus
    if total is None:
        return None
    return max(1, total // max(1, workers_on_node))


def event_path(event_dir: Path | str, rank: int) -> Path:
    """The named pipe rank ``rank`` writes its events to."""
    return Path(event_dir) / f"rank-{rank}.events"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on ``host`` now (the OS's pick), for a rendezvous."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def build_launch(
    framework: str,
    worker_argv: Sequence[str],
    *,
    python: str,
    workers: int,
    scaling: Scaling,
    batch_size: int,
    rendezvous: Rendezvous,
    event_dir: Path | str,
    device: str = "cpu",
    threads: int | None = None,
    cpus: int | None = None,
    tf_mirrored: bool = False,
) -> DistributedLaunch:
    """The launch of ``framework``'s data-parallel job at ``workers`` ranks.

    ``worker_argv`` is the worker module and its arguments (``-m workloads.worker ...``) without
    the interpreter; ``python`` runs it (and torchrun). ``device`` is ``cpu`` or ``cuda``: on
    CUDA each rank drives GPU ``LOCAL_RANK`` (NCCL for PyTorch). ``tf_mirrored`` (CUDA, one node):
    TensorFlow's single process drives every GPU with MirroredStrategy.
    """
    if rendezvous.world_size != workers:
        raise DistributedConfigError(
            f"{workers} workers but the nodes hold {rendezvous.world_size} ranks "
            f"({', '.join(f'{n.address}: {n.nproc}' for n in rendezvous.nodes)})"
        )
    per_worker, global_batch = worker_batch(batch_size, workers, scaling)
    cuda = device.startswith("cuda")
    busiest = max(n.nproc for n in rendezvous.nodes)
    threads_each = None if cuda else threads_per_worker(threads, busiest, cpus)
    common = {
        ENV_WORLD_SIZE: str(workers),
        ENV_EVENT_DIR: str(event_dir),
        ENV_GLOBAL_BATCH: str(global_batch),
    }
    if threads_each is not None:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            common[var] = str(threads_each)
    if framework == "torch":
        backend = "nccl" if cuda else "gloo"
        processes, ranks = _torchrun(worker_argv, python, rendezvous, {**common}, backend)
        strategy: Strategy = "torch_ddp"
    elif framework == "tensorflow" and tf_mirrored:
        if not cuda or len(rendezvous.nodes) != 1:
            raise DistributedConfigError(
                "MirroredStrategy drives several GPUs from one process: it needs device cuda "
                "and one node (use MultiWorkerMirroredStrategy otherwise)"
            )
        strategy, backend = "tf_mirrored", "nccl"
        env = {
            **common,
            ENV_STRATEGY: strategy,
            ENV_BACKEND: backend,
            ENV_RANK: "0",
            ENV_LOCAL_RANK: "0",
            ENV_DEVICES: str(workers),
            "CUDA_VISIBLE_DEVICES": ",".join(str(i) for i in range(workers)),
        }
        # one process, one event channel: it reports for the whole job as rank 0
        processes = (ProcessLaunch(0, (python, *worker_argv), env, (0,)),)
        ranks = (RankLaunch(0, 0, 0, workers, env),)
    elif framework == "tensorflow":
        strategy, backend = "tf_multi_worker_mirrored", "nccl" if cuda else "ring"
        processes, ranks = _per_rank(
            worker_argv,
            python,
            rendezvous,
            common,
            strategy=strategy,
            backend=backend,
            cuda=cuda,
            tf_config=True,
        )
    elif framework == "jax":
        strategy, backend = "jax_distributed", "nccl" if cuda else "gloo"
        processes, ranks = _per_rank(
            worker_argv,
            python,
            rendezvous,
            common,
            strategy=strategy,
            backend=backend,
            cuda=cuda,
            tf_config=False,
        )
    else:
        raise DistributedConfigError(f"no data-parallel launcher for framework {framework!r}")
    return DistributedLaunch(
        framework=framework,
        strategy=strategy,
        backend=backend,
        world_size=workers,
        scaling=scaling,
        per_worker_batch=per_worker,
        global_batch=global_batch,
        threads_per_worker=threads_each,
        processes=processes,
        ranks=ranks,
    )


def _torchrun(
    worker_argv: Sequence[str],
    python: str,
    rdzv: Rendezvous,
    common: dict[str, str],
    backend: str,
) -> tuple[tuple[ProcessLaunch, ...], tuple[RankLaunch, ...]]:
    """One torchrun per node (static rendezvous at rank 0's node: deterministic node ranks, so
    rank r = first rank of its node + LOCAL_RANK, as the event channels are named)."""
    env = {**common, ENV_STRATEGY: "torch_ddp", ENV_BACKEND: backend}
    processes, ranks = [], []
    for node_rank, node in enumerate(rdzv.nodes):
        argv = (
            python,
            "-m",
            "torch.distributed.run",
            f"--nnodes={len(rdzv.nodes)}",
            f"--nproc-per-node={node.nproc}",
            f"--node-rank={node_rank}",
            f"--master-addr={rdzv.master}",
            f"--master-port={rdzv.port}",
            "--max-restarts=0",
            *worker_argv,
        )
        first = rdzv.first_rank(node_rank)
        node_ranks = tuple(range(first, first + node.nproc))
        processes.append(ProcessLaunch(node_rank, argv, env, node_ranks))
        ranks += [RankLaunch(r, r - first, node_rank, rdzv.world_size, env) for r in node_ranks]
    return tuple(processes), tuple(ranks)


def _tf_config(rdzv: Rendezvous, rank: int) -> str:
    """TF_CONFIG of worker ``rank``: every worker's host:port (port + rank) and its index."""
    workers, rank_of = [], 0
    for node in rdzv.nodes:
        for _ in range(node.nproc):
            workers.append(host_port(node.address, rdzv.port + rank_of))
            rank_of += 1
    return json.dumps(
        {"cluster": {"worker": workers}, "task": {"type": "worker", "index": rank}},
        separators=(",", ":"),
    )


def _per_rank(
    worker_argv: Sequence[str],
    python: str,
    rdzv: Rendezvous,
    common: dict[str, str],
    *,
    strategy: Strategy,
    backend: str,
    cuda: bool,
    tf_config: bool,
) -> tuple[tuple[ProcessLaunch, ...], tuple[RankLaunch, ...]]:
    """One process per rank (TensorFlow, JAX), each told its rank, the coordinator (rank 0's
    host:port) and, on CUDA, its one GPU."""
    processes, ranks = [], []
    for node_rank, node in enumerate(rdzv.nodes):
        first = rdzv.first_rank(node_rank)
        for local in range(node.nproc):
            rank = first + local
            env = {
                **common,
                ENV_STRATEGY: strategy,
                ENV_BACKEND: backend,
                ENV_RANK: str(rank),
                ENV_LOCAL_RANK: str(local),
                ENV_COORDINATOR: host_port(rdzv.master, rdzv.port),
            }
            if tf_config:
                env["TF_CONFIG"] = _tf_config(rdzv, rank)
            if cuda:
                env["CUDA_VISIBLE_DEVICES"] = str(local)
            processes.append(ProcessLaunch(node_rank, (python, *worker_argv), env, (rank,)))
            ranks.append(RankLaunch(rank, local, node_rank, rdzv.world_size, env))
    return tuple(processes), tuple(ranks)
