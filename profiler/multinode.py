"""A data-parallel job across hosts over the user's ssh: one agent per node, one merged stream.

Each host in ``run.hosts`` that the worker count needs is a node (``node_layout``): an agent is
started there over ssh (``profiler.remote.RemoteChild`` as a node), and once every agent has
said hello and its clock offset is measured, the job is built with each framework's own
rendezvous (``profiler.distributed.build_launch``: ``torchrun --nnodes N --node-rank i
--master-addr host0 --master-port p``, ``TF_CONFIG`` naming every worker's host:port, the JAX
coordinator on host 0) and every agent starts its node's part. The rendezvous address of a host
is ``run.distributed.addresses[host]``, else the ``hostname`` its ssh config gives it (``ssh -G``;
``profiler.node_address``), the port one the first host's agent found free.

Each agent relays its ranks' events (each rank's named pipe is read on its own host) with the
rank in front, on that host's clock turned into this one's; ``RankMerger`` lines the ranks up
as for a local job, with ``shared_clock`` off: the hosts' clocks agree only to within half a
ping's round trip, so a window's job time is the longest rank's own. Samples are each node's
process trees, summed over the nodes at each sample of the first node.

A link lost to any host ends the job on every host (the others would wait in a collective
forever) and marks the run lost; the agents kill their processes when their stdin closes.
"""

from __future__ import annotations

import math
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from profiler.config import Config, ConfigError
from profiler.distributed import (
    DistributedConfigError,
    DistributedLaunch,
    Node,
    Rendezvous,
    Scaling,
    build_launch,
    worker_batch,
)
from profiler.distributed_run import RankMerger
from profiler.launcher import WORKER_MODULE
from profiler.node_address import AddressError, NodeAddress, pick_addresses
from profiler.nvml import device_index
from profiler.protocol import Event
from profiler.remote import RemoteChild, host_interpreter
from profiler.sampler import Sample
from profiler.ssh import RemoteHostError, SshTarget

# Mirrored in workloads.agent (profiler imports no workloads): replaced there by the host's
# interpreter and the run's folder.
PYTHON_PLACEHOLDER = "@FRAMEDUEL_PYTHON@"
WORKDIR_PLACEHOLDER = "@FRAMEDUEL_WORKDIR@"


def node_layout(workers: int, hosts: Sequence[str]) -> list[tuple[str, int]]:
    """(host, ranks) of each node for ``workers`` ranks over ``hosts``: one rank on each of the
    first ``workers`` hosts when there are fewer workers than hosts, else the same number on
    every host (torchrun and the other engines are launched per node with one count)."""
    if not hosts:
        raise DistributedConfigError("no hosts to place the workers on")
    if workers <= len(hosts):
        return [(h, 1) for h in hosts[:workers]]
    if workers % len(hosts):
        raise DistributedConfigError(
            f"{workers} workers do not split evenly over the {len(hosts)} hosts of run.hosts: "
            "give run.distributed.workers counts up to the host count or multiples of it"
        )
    return [(h, workers // len(hosts)) for h in hosts]


def check_addresses(
    config: Config, ssh_args: Sequence[str], config_path: str | None = None
) -> dict[str, dict[str, str]]:
    """The rendezvous address of every host the config's largest multi-node job uses, and
    where it came from (``{host: {address, from}}``), checked before any run: ConfigError
    naming run.distributed.addresses when a loopback address would meet another host's."""
    dist = config.run.distributed
    if dist is None or not config.run.hosts:
        return {}
    hosts = [h for h, _ in node_layout(max(dist.workers), config.run.hosts)]
    source = config_path or "<config>"
    try:
        picked = pick_addresses(hosts, dist.addresses, ssh_args)
    except AddressError as exc:
        raise ConfigError(source, str(exc), "run.distributed.addresses") from None
    except RemoteHostError as exc:
        raise ConfigError(source, str(exc), "run.hosts") from None
    return {n.host: n.record() for n in picked}


@dataclass
class _NodeState:
    host: str
    address: NodeAddress
    nproc: int
    child: RemoteChild | None = None
    sample: Sample | None = None


class MultiNodeRun:
    """One framework's data-parallel job at ``workers`` ranks over the config's hosts, with
    ``ChildProcess``'s interface (pid, wait, kill_tree, close), plus ``lost``, ``launch`` and
    ``remote_info()`` as a remote run has them."""

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
        on_sample: Callable[[Sample], None] | None,
        ssh_args: Sequence[str] = (),
    ) -> None:
        dist = config.run.distributed
        if dist is None:
            raise ValueError("MultiNodeRun needs a config with run.distributed")
        self.framework = framework
        self._on_sample = on_sample
        self._on_log = on_log
        self._lock = threading.Lock()
        self.nodes: list[_NodeState] = []
        layout = node_layout(workers, config.run.hosts)
        addresses = pick_addresses([h for h, _ in layout], dist.addresses, ssh_args)
        for (host, nproc), address in zip(layout, addresses, strict=True):
            self.nodes.append(_NodeState(host, address, nproc))
        rendezvous_nodes = tuple(Node(n.address.address, n.nproc) for n in self.nodes)
        ranks = tuple(range(sum(n.nproc for n in self.nodes)))
        self.merger = RankMerger(ranks, on_event, self._rank_rss)
        # the hosts' clocks agree only to within half a ping's round trip
        self.merger.shared_clock = False
        try:
            for i, node in enumerate(self.nodes):
                node.child = RemoteChild(
                    framework,
                    config,
                    target=SshTarget.parse(node.host),
                    python=host_interpreter(config, node.host, framework),
                    cache_dir=cache_dir,
                    on_event=on_event,
                    on_garbage=on_garbage,
                    on_log=self._logger(node.host),
                    on_sample=self._sampler(i) if on_sample is not None else None,
                    ssh_args=ssh_args,
                    gpu_index=None if config.device == "cpu" else device_index(config.device),
                    on_rank_event=self.merger.add,
                )
            self.launch = self._build(framework, config, workers, dist.scaling, rendezvous_nodes)
            spec_config = self._spec_config(config, workers, dist.scaling)
            spec = {
                "config": spec_config.model_dump(mode="json"),
                "window_steps": spec_config.window_steps(),
            }
            for i, node in enumerate(self.nodes):
                assert node.child is not None
                mine = [p for p in self.launch.processes if p.node_rank == i]
                node.child.start_node(
                    {
                        "spec": spec,
                        "ranks": [r for p in mine for r in p.ranks],
                        "processes": [{"argv": list(p.argv), "env": dict(p.env)} for p in mine],
                    }
                )
            # as recorded: each node's own interpreter and folder in place of the placeholders
            self.launch = replace(
                self.launch,
                processes=tuple(
                    replace(p, argv=tuple(self._placed(a, p.node_rank) for a in p.argv))
                    for p in self.launch.processes
                ),
            )
        except BaseException:
            self.close()
            raise
        first = self._child(0)
        self.pid = first.pid
        self.command = list(self.launch.processes[0].argv)

    def _child(self, i: int) -> RemoteChild:
        child = self.nodes[i].child
        assert child is not None
        return child

    def _placed(self, value: str, node: int) -> str:
        hello = self._child(node).hello
        python, workdir = str(hello.get("python")), str(hello.get("workdir"))
        return value.replace(PYTHON_PLACEHOLDER, python).replace(WORKDIR_PLACEHOLDER, workdir)

    def _children(self) -> list[RemoteChild]:
        return [n.child for n in self.nodes if n.child is not None]

    def _logger(self, host: str) -> Callable[[str], None]:
        return lambda line: self._on_log(f"[{host}] {line}")

    def _build(
        self,
        framework: str,
        config: Config,
        workers: int,
        scaling: Scaling,
        nodes: tuple[Node, ...],
    ) -> DistributedLaunch:
        hellos = [self._child(i).hello for i in range(len(self.nodes))]
        port = hellos[0].get("free_port")
        if not isinstance(port, int):
            raise DistributedConfigError(
                f"host {self.nodes[0].host}: the agent named no free port for the rendezvous"
            )
        cpus = [h.get("cpus") for h in hellos]
        known = [c for c in cpus if isinstance(c, int)]
        self._cuda = config.device.startswith("cuda") or (
            config.device == "auto" and all(h.get("gpu") for h in hellos)
        )
        return build_launch(
            framework,
            (
                "-m",
                WORKER_MODULE,
                "--framework",
                framework,
                "--spec-file",
                f"{WORKDIR_PLACEHOLDER}/spec.json",
            ),
            python=PYTHON_PLACEHOLDER,
            workers=workers,
            scaling=scaling,
            batch_size=config.train.batch_size,
            rendezvous=Rendezvous(port, nodes),
            event_dir=f"{WORKDIR_PLACEHOLDER}/ranks",
            device="cuda" if self._cuda else "cpu",
            threads=config.threads,
            cpus=min(known) if known else None,
        )

    def _spec_config(self, config: Config, workers: int, scaling: Scaling) -> Config:
        """What every rank runs: the per-worker batch and, on the CPU, its share of threads."""
        per_worker, _ = worker_batch(config.train.batch_size, workers, scaling)
        train = config.train.model_copy(update={"batch_size": per_worker})
        threads = config.threads if self._cuda else self.launch.threads_per_worker
        return config.model_copy(update={"train": train, "threads": threads})

    # -- samples --------------------------------------------------------------------------

    def _rank_rss(self) -> dict[int, float]:
        """Each rank's RSS (MiB) at its host's last sample."""
        return {r: v for c in self._children() for r, v in c.rank_rss.items()}

    def _sampler(self, i: int) -> Callable[[Sample], None]:
        def on_sample(sample: Sample) -> None:
            with self._lock:
                self.nodes[i].sample = sample
                if i != 0:
                    return
                combined = _sum_samples([n.sample for n in self.nodes if n.sample is not None])
            if self._on_sample is not None:
                self._on_sample(combined)

        return on_sample

    # -- the ChildProcess interface ------------------------------------------------------

    def wait(self, timeout: float | None = None) -> int:
        """Wait for every node (raises subprocess.TimeoutExpired). The first node to fail or
        to lose its link ends the job on every host."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            children = self._children()
            ended = [c for c in children if c.proc.poll() is not None]
            for child in ended:
                code = child.wait(timeout=5.0)
                if code != 0 or child.lost is not None:
                    self.kill_tree()
                    return code if code != 0 else 1
            if len(ended) == len(children):
                return 0
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(self.command, timeout or 0.0)
            time.sleep(0.05)

    @property
    def lost(self) -> str | None:
        """Why a host's link was lost (None while all stand or the job ended as planned)."""
        return next((c.lost for c in self._children() if c.lost is not None), None)

    def kill_tree(self) -> None:
        """End the job on every host at once (each agent kills its node's processes)."""
        killers = [threading.Thread(target=c.kill_tree, daemon=True) for c in self._children()]
        for t in killers:
            t.start()
        for t in killers:
            t.join()

    def close(self) -> None:
        """End what is left on every host and let the readers drain."""
        self.kill_tree()
        for child in self._children():
            child.close()

    def recorded_environment(self) -> dict[str, str]:
        """Node 0's first process's environment, as far as it changes what it measures."""
        return self._child(0).recorded_environment()

    def remote_info(self) -> dict[str, Any]:
        """Node 0's host and link as a remote run records them, plus every node's."""
        nodes = []
        for i, n in enumerate(self.nodes):
            info = n.child.remote_info() if n.child is not None else {"host": n.host}
            launch = getattr(self, "launch", None)
            mine = [p for p in launch.processes if p.node_rank == i] if launch else []
            nodes.append(
                {
                    **info,
                    "address": n.address.address,
                    # ssh -G or run.distributed.addresses: which one the job met at
                    "address_from": n.address.source,
                    "ranks": n.nproc,
                    # what FrameDuel set for the node's processes: the rendezvous among it
                    "launch_env": [dict(p.env) for p in mine],
                }
            )
        return {**nodes[0], "nodes": nodes}

    @property
    def rank_count(self) -> int:
        """Ranks in the job."""
        return len(self.merger.ranks)


def _sum_samples(samples: list[Sample]) -> Sample:
    """The job's sample: the nodes' trees and machines summed (GPU: summed where additive,
    else the mean or the worst), at the first node's time."""

    def total(name: str) -> float:
        values = [getattr(s, name) for s in samples if math.isfinite(getattr(s, name))]
        return sum(values) if values else math.nan

    def mean(name: str) -> float:
        values = [getattr(s, name) for s in samples if math.isfinite(getattr(s, name))]
        return sum(values) / len(values) if values else math.nan

    def worst(name: str, pick: Callable[[list[float]], float]) -> float:
        values = [getattr(s, name) for s in samples if math.isfinite(getattr(s, name))]
        return pick(values) if values else math.nan

    first = samples[0]
    return Sample(
        t=first.t,
        cpu_percent=total("cpu_percent"),
        rss_mib=total("rss_mib"),
        threads=sum(s.threads for s in samples),
        gpu_util_percent=mean("gpu_util_percent"),
        gpu_mem_mib=total("gpu_mem_mib"),
        gpu_power_w=total("gpu_power_w"),
        gpu_temp_c=worst("gpu_temp_c", max),
        gpu_sm_clock_mhz=worst("gpu_sm_clock_mhz", min),
        gpu_energy_j=total("gpu_energy_j"),
        gpu_throttle_reasons=first.gpu_throttle_reasons,
        sys_mem_used_mib=total("sys_mem_used_mib"),
        sys_mem_total_mib=total("sys_mem_total_mib"),
        cpu_per_core=tuple(c for s in samples for c in s.cpu_per_core),
    )
