"""Multi-node data parallel over ssh, for real: two "hosts" that are two aliases of one OpenSSH
server on 127.0.0.1, an agent on each, each framework's own rendezvous between them."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import psutil
import pytest

from profiler.config import Config, ConfigError, parse_config
from profiler.distributed import DistributedConfigError
from profiler.listener import NullListener
from profiler.multinode import MultiNodeRun, node_layout
from profiler.protocol import Event
from profiler.report import render_text
from profiler.report.model import build_report
from profiler.report.scaling import with_scaling
from profiler.scaling_session import run_scaling
from profiler.session import ComparisonSession, RunOptions
from profiler.store import Store
from tests.profiler.sshd import SshServer, needs_sshd, running_sshd


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    """A real sshd on 127.0.0.1 with throwaway keys; node-a and node-b both reach it."""
    with running_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


def _data(frameworks: list[str], steps: int, **run: object) -> dict[str, object]:
    return {
        "name": "multinode",
        "frameworks": frameworks,
        "device": "cpu",
        "threads": 1,
        "model": {"family": "mlp", "input_dim": 8, "hidden": [16], "num_classes": 3},
        "data": {"samples": 64},
        "train": {"batch_size": 8, "steps": steps, "warmup_steps": 5, "window_steps": 1},
        "run": {
            "repeats": 1,
            "sample_hz": 10,
            "timeout_s": 240,
            "hosts": ["node-a", "node-b"],
            "python": {"node-a": sys.executable, "node-b": sys.executable},
            "distributed": {"workers": [1, 2], "scaling": "weak"},
            **run,
        },
    }


def _config(frameworks: list[str], steps: int = 100, **run: object) -> Config:
    return Config.model_validate(_data(frameworks, steps, **run))


def _refusal(**run: object) -> ConfigError:
    """The ConfigError a config file with these run settings gets."""
    text = json.dumps(_data(["torch"], 10, **run))
    with pytest.raises(ConfigError) as err:
        parse_config(text, ".json", "multinode.json", check_memory=False)
    return err.value


def test_workers_are_placed_one_per_host_then_evenly() -> None:
    hosts = ["a", "b"]
    assert node_layout(1, hosts) == [("a", 1)]
    assert node_layout(2, hosts) == [("a", 1), ("b", 1)]
    assert node_layout(4, hosts) == [("a", 2), ("b", 2)]
    with pytest.raises(DistributedConfigError, match="do not split evenly over the 2 hosts"):
        node_layout(3, hosts)


def test_a_worker_count_that_does_not_split_over_the_hosts_is_refused() -> None:
    err = _refusal(distributed={"workers": [1, 3]})
    assert err.field == "run.distributed.workers"
    assert "3 workers do not split evenly over the 2 host(s) of run.hosts" in err.message


def test_several_hosts_without_distributed_are_refused_naming_both_fields() -> None:
    err = _refusal(distributed=None)
    assert err.field == "run.hosts"
    assert "add run.distributed" in err.message


@needs_sshd
@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("framework", ["torch", "tensorflow", "jax"])
def test_two_hosts_run_one_data_parallel_job(sshd: SshServer, store: Store, framework: str) -> None:
    config = _config([framework])
    ids, outcomes = run_scaling(config, store, options=RunOptions(ssh_args=sshd.ssh_args))
    # a failed run's own log says why (it failed once on CI: "exited with code 1 without
    # reporting an error", with nothing else kept)
    logs = [line for i in ids for r in store.load(i).runs for _, line in r.logs][-60:]
    assert [o.status for o in outcomes] == ["ok", "ok"], ([o.error for o in outcomes], logs)
    two = store.load(ids[-1])
    assert two.status == "ok"
    (run,) = two.runs
    launch = run.info["distributed"]
    assert launch["world_size"] == 2
    if framework == "torch":
        # one torchrun per node, each told the node count, its node rank and host 0's address
        argv = [" ".join(p) for p in launch["processes"]]
        assert "--nnodes=2" in argv[0] and "--node-rank=0" in argv[0]
        assert "--node-rank=1" in argv[1] and "--master-addr=127.0.0.1" in argv[1]
    assert all(p[0] == sys.executable for p in launch["processes"])  # each host's interpreter
    nodes = run.info["remote"]["nodes"]
    env0, env1 = (n["launch_env"][0] for n in nodes)
    if framework == "tensorflow":
        # TF_CONFIG names both workers' addresses; each process knows its own index
        for index, env in enumerate((env0, env1)):
            tf_config = json.loads(env["TF_CONFIG"])
            workers = tf_config["cluster"]["worker"]
            assert len(workers) == 2 and all(w.startswith("127.0.0.1:") for w in workers)
            assert tf_config["task"] == {"type": "worker", "index": index}
    if framework == "jax":
        # both processes meet at the coordinator on host 0
        coordinator = env0["FRAMEDUEL_DIST_COORDINATOR"]
        assert coordinator == env1["FRAMEDUEL_DIST_COORDINATOR"]
        assert coordinator.startswith("127.0.0.1:")
        assert (env0["FRAMEDUEL_DIST_RANK"], env1["FRAMEDUEL_DIST_RANK"]) == ("0", "1")
    assert [(n["host"], n["address"], n["ranks"]) for n in nodes] == [
        ("node-a", "127.0.0.1", 1),
        ("node-b", "127.0.0.1", 1),
    ]
    assert all(n["address_from"] == "ssh -G" for n in nodes)  # no run.distributed.addresses
    # two agents, two runs' folders, each gone
    assert nodes[0]["agent_pid"] != nodes[1]["agent_pid"]
    # both ranks measured every window, from the same initial weights
    ranks = run.events_of("rank")
    assert sorted(e.payload["rank"] for e in ranks) == [0, 1]
    assert len({e.payload["weights_digest"] for e in ranks}) == 1
    per_rank: dict[int, int] = {}
    for e in run.events_of("rank_window"):
        per_rank[int(e.payload["rank"])] = per_rank.get(int(e.payload["rank"]), 0) + 1
    windows = run.events_of("window")
    assert per_rank == {0: len(windows), 1: len(windows)}
    assert all(w.payload["ranks"] == 2 and w.payload["samples"] == 16 for w in windows)
    # each rank's own memory, sampled on its host (the first windows may precede a sample)
    rss = windows[-1].payload["rank_rss_mib"]
    assert len(rss) == 2 and all(v is not None and v > 20 for v in rss)
    # the agents' samples of both nodes' trees, summed
    assert len(run.samples["t"]) >= 2
    # the report's JSON: the scaling section with the efficiency at 1 and 2 workers
    model = with_scaling(build_report(two), store)
    data = json.loads(render_text(model, "json"))
    points = {p["workers"]: p for p in data["scaling"]["points"]}
    assert set(points) == {1, 2}
    assert points[1]["efficiency"] == pytest.approx(1.0)
    assert points[2]["efficiency"] == pytest.approx(
        points[2]["samples_per_s"] / (2 * points[1]["samples_per_s"]), rel=0.05
    )
    assert points[2]["same_initial_weights"] is True


@needs_sshd
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_configured_address_is_where_the_job_meets(sshd: SshServer, store: Store) -> None:
    # node-a's ssh hostname is 127.0.0.1; the job is told to meet it at 127.0.0.2 instead (Linux
    # routes all of 127/8 to loopback, and torchrun's store on node 0 listens on every address),
    # so node-b's torchrun can only have joined at the configured address
    addresses = {"node-a": "127.0.0.2"}
    config = _config(["torch"], steps=30, distributed={"workers": [1, 2], "addresses": addresses})
    options = RunOptions(
        ssh_args=sshd.ssh_args, distributed={"group": "addr", "workers": 2, "scaling": "weak"}
    )
    session = ComparisonSession(config, store, options=options)
    listener = _PeersOfNodeB(session)
    session.listener = listener
    (outcome,) = session.run()
    stored = store.load(session.session_id or -1)
    (run,) = stored.runs
    assert outcome.status == "ok", (outcome.error, [line for _, line in run.logs][-40:])
    argv = [" ".join(p) for p in run.info["distributed"]["processes"]]
    assert len(argv) == 2 and all("--master-addr=127.0.0.2" in a for a in argv)
    nodes = run.info["remote"]["nodes"]
    assert [(n["host"], n["address"], n["address_from"]) for n in nodes] == [
        ("node-a", "127.0.0.2", "run.distributed.addresses"),
        ("node-b", "127.0.0.1", "ssh -G"),
    ]
    used = {
        "node-a": {"address": "127.0.0.2", "from": "run.distributed.addresses"},
        "node-b": {"address": "127.0.0.1", "from": "ssh -G"},
    }
    assert stored.env["addresses"] == used
    # and the report says so
    report = json.loads(render_text(build_report(stored), "json"))
    assert report["environment"]["addresses"] == used
    assert len(run.events_of("window")) > 0
    assert all(w.payload["ranks"] == 2 for w in run.events_of("window"))
    # node-b's torchrun and rank really joined the store there, not at ssh's 127.0.0.1
    assert listener.peers is not None and "127.0.0.2" in listener.peers, listener.peers


class _PeersOfNodeB(NullListener):
    """At the job's first window: the addresses node-b's processes hold TCP connections to."""

    def __init__(self, session: ComparisonSession) -> None:
        self.session = session
        self.peers: set[str] | None = None

    def run_event(self, run_id: int, t: float, event: Event) -> None:
        if event.kind != "window" or self.peers is not None:
            return
        job = self.session._current
        assert isinstance(job, MultiNodeRun)
        node_b = job.nodes[1].child
        assert node_b is not None
        peers: set[str] = set()
        for proc in _processes_with_token({node_b.token}):
            with contextlib.suppress(psutil.Error):
                peers |= {
                    c.raddr.ip.removeprefix("::ffff:")
                    for c in proc.net_connections(kind="tcp")
                    if c.raddr
                }
        self.peers = peers


def _processes_with_token(tokens: set[str]) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if proc.environ().get("FRAMEDUEL_RUN_TOKEN") in tokens:
                found.append(proc)
    return found


class _KillNodeBOnFirstWindow(NullListener):
    """Kills the ssh client of the second host once the job has measured a window."""

    def __init__(self, session: ComparisonSession) -> None:
        self.session = session
        self.killed_at: float | None = None
        self.tokens: set[str] = set()
        self.ready = threading.Event()

    def run_event(self, run_id: int, t: float, event: Event) -> None:
        if event.kind != "window" or self.killed_at is not None:
            return
        job = self.session._current
        assert isinstance(job, MultiNodeRun)
        children = [n.child for n in job.nodes]
        assert all(c is not None for c in children)
        self.tokens = {c.token for c in children if c is not None}
        # both hosts really run the job now
        assert len(_processes_with_token(self.tokens)) >= 4  # agents and their workers
        victim = children[1]
        assert victim is not None
        self.killed_at = time.monotonic()
        os.kill(victim.pid, signal.SIGKILL)
        self.ready.set()


@needs_sshd
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_lost_link_to_one_host_ends_the_job_on_every_host(sshd: SshServer, store: Store) -> None:
    config = _config(["torch"], steps=200_000)
    options = RunOptions(
        ssh_args=sshd.ssh_args, distributed={"group": "lost", "workers": 2, "scaling": "weak"}
    )
    session = ComparisonSession(config, store, options=options)
    listener = _KillNodeBOnFirstWindow(session)
    session.listener = listener
    runner = threading.Thread(target=session.run)
    runner.start()
    assert listener.ready.wait(180), "the job never measured a window"
    assert listener.killed_at is not None
    while _processes_with_token(listener.tokens):
        assert time.monotonic() - listener.killed_at < 2.0, "processes outlived the lost link"
        time.sleep(0.05)
    runner.join(60)
    assert not runner.is_alive()
    (run,) = store.load(session.session_id or -1).runs
    assert run.status == "lost"
    assert "SSH link to host node-b was lost" in (run.error or "")
    assert run.events_of("window")  # what was received is kept


def _python_without_torch() -> str:
    for candidate in ("/usr/bin/python3", os.path.join(sys.base_prefix, "bin", "python3")):
        if os.access(candidate, os.X_OK):
            found = subprocess.run(
                [candidate, "-c", "import torch"], check=False, capture_output=True
            )
            if found.returncode != 0:
                return candidate
    pytest.skip("every interpreter here has torch")


@needs_sshd
@pytest.mark.timeout(300)
def test_a_host_without_the_framework_fails_the_job_by_name(sshd: SshServer, store: Store) -> None:
    bare = _python_without_torch()
    config = _config(["torch"], steps=10, python={"node-a": sys.executable, "node-b": bare})
    options = RunOptions(
        ssh_args=sshd.ssh_args, distributed={"group": "bare", "workers": 2, "scaling": "weak"}
    )
    session = ComparisonSession(config, store, options=options)
    (outcome,) = session.run()
    assert outcome.status == "failed"
    assert outcome.error == (
        f"FrameworkMissing: torch is not installed for {bare} on host node-b: install torch "
        "there, or set run.python.node-b to an interpreter that has it"
    )
