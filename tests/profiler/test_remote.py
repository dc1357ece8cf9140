"""Runs on another host over SSH, for real: an OpenSSH server on 127.0.0.1 started here, the
user's own ssh client, the agent on "the host", real frameworks on a tiny model."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psutil
import pytest

from profiler.config import ConfigError
from profiler.listener import NullListener
from profiler.protocol import Event
from profiler.remote import RemoteChild
from profiler.session import ComparisonSession, RunOptions
from profiler.store import Store
from tests.profiler.conftest import tiny_config
from tests.profiler.sshd import DEAD_ALIAS, SshServer, needs_sshd, running_sshd
from workloads import agent

pytestmark = needs_sshd


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshServer]:
    """A real sshd on 127.0.0.1 with throwaway keys, for this module's tests."""
    with running_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


def _remote_session(
    store: Store, server: SshServer, frameworks: list[str], python: str, **run: object
) -> ComparisonSession:
    config = tiny_config(frameworks, hosts=["gpu-box"], python={"gpu-box": python}, **run)
    return ComparisonSession(config, store, options=RunOptions(ssh_args=server.ssh_args))


def _processes_with_token(token: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if proc.environ().get("FRAMEDUEL_RUN_TOKEN") == token:
                found.append(proc)
    return found


@pytest.mark.slow
def test_a_comparison_runs_on_the_host_with_the_agents_samples(
    sshd: SshServer, store: Store
) -> None:
    session = _remote_session(store, sshd, ["torch", "tensorflow"], sys.executable, sample_hz=20)
    outcomes = session.run()
    assert [o.status for o in outcomes] == ["ok", "ok"], outcomes
    stored = store.load(session.session_id or -1)
    assert stored.status == "ok"
    probe = stored.env["hosts"]["gpu-box"][sys.executable]
    assert probe["python"] == sys.executable and probe["cpus"] == os.cpu_count()
    for run in stored.runs:
        remote = run.info["remote"]
        assert remote["host"] == "gpu-box" and remote["psutil"] is True
        assert run.info["python"] == sys.executable
        # loopback: the host's clock is this one, so the measured offset is tiny
        assert abs(remote["clock_offset_s"]) < 0.05
        assert remote["child_pid"] != remote["agent_pid"]
        assert not Path(remote["workdir"]).exists()  # the run's folder on the host is gone
        assert run.events_of("window") and run.events_of("done")
        # samples came from the agent: the child's tree measured on the host
        sample_t = run.samples["t"]
        assert len(sample_t) >= 3
        assert np.nanmax(run.samples["rss_mib"]) > 20  # MiB: an interpreter with a framework
        # events and samples share the session's clock: the run's windows lie within them
        window_t = [e.t for e in run.events_of("window")]
        assert sample_t[0] - 1.0 < window_t[0] and window_t[-1] < sample_t[-1] + 1.0


class _KillOnFirstWindow(NullListener):
    """Kills one end of the run's link once the run has measured something: the ssh client
    here, or the sshd process serving it on the host."""

    def __init__(self, session: ComparisonSession, end: str) -> None:
        self.session = session
        self.end = end
        self.killed_at: float | None = None
        self.token: str | None = None
        self.ready = threading.Event()

    def run_event(self, run_id: int, t: float, event: Event) -> None:
        if event.kind != "window" or self.killed_at is not None:
            return
        child = self.session._current
        assert isinstance(child, RemoteChild)
        self.token = child.token
        if self.end == "client":
            victim = child.pid
        else:  # the agent's parent is the sshd process of this connection
            victim = psutil.Process(child.hello["pid"]).ppid()
            assert "sshd" in psutil.Process(victim).name()
        self.killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        self.ready.set()


@pytest.mark.slow
@pytest.mark.parametrize("end", ["client", "server"])
def test_a_killed_link_ends_every_remote_process_and_marks_the_run_lost(
    sshd: SshServer, store: Store, end: str
) -> None:
    session = _remote_session(store, sshd, ["torch"], sys.executable, timeout_s=120, sample_hz=20)
    session.config = session.config.model_copy(
        update={"train": session.config.train.model_copy(update={"steps": 200_000})}
    )
    listener = _KillOnFirstWindow(session, end)
    session.listener = listener
    runner = threading.Thread(target=session.run)
    runner.start()
    assert listener.ready.wait(120), "the run never measured a window"
    assert listener.token is not None and listener.killed_at is not None
    while _processes_with_token(listener.token):
        assert time.monotonic() - listener.killed_at < 2.0, "remote processes outlived the link"
        time.sleep(0.05)
    runner.join(60)
    assert not runner.is_alive()
    (run,) = store.load(session.session_id or -1).runs
    assert run.status == "lost"
    assert "SSH link to host gpu-box was lost" in (run.error or "")
    # everything received before the link died is kept
    assert run.events_of("window") and len(run.samples["t"]) >= 1
    assert not Path(run.info["remote"]["workdir"]).exists()


def test_an_unreachable_host_is_an_error_before_any_run(sshd: SshServer, store: Store) -> None:
    config = tiny_config(["torch"], hosts=[DEAD_ALIAS])
    session = ComparisonSession(config, store, options=RunOptions(ssh_args=sshd.ssh_args))
    with pytest.raises(ConfigError) as err:
        session.prepare()
    message = str(err.value)
    assert f"cannot reach host {DEAD_ALIAS} over ssh" in message
    assert "Connection refused" in message  # ssh's own words
    assert err.value.field == "run.hosts"
    assert store.sessions() == []  # nothing was recorded


def test_a_missing_interpreter_on_the_host_is_an_error_before_any_run(
    sshd: SshServer, store: Store
) -> None:
    session = _remote_session(store, sshd, ["torch"], "/opt/no-such-env/bin/python")
    with pytest.raises(ConfigError) as err:
        session.prepare()
    message = str(err.value)
    assert "host gpu-box: cannot run the interpreter '/opt/no-such-env/bin/python'" in message
    assert "run.python.gpu-box" in message


def _python_without_torch() -> str:
    for candidate in ("/usr/bin/python3", os.path.join(sys.base_prefix, "bin", "python3")):
        if os.access(candidate, os.X_OK):
            found = subprocess.run(
                [candidate, "-c", "import torch"], check=False, capture_output=True
            )
            if found.returncode != 0:
                return candidate
    pytest.skip("every interpreter here has torch")


def test_a_host_without_the_framework_fails_that_run_by_name(sshd: SshServer, store: Store) -> None:
    bare = _python_without_torch()
    session = _remote_session(store, sshd, ["torch"], bare)
    (outcome,) = session.run()
    assert outcome.status == "failed"
    assert outcome.error == (
        f"FrameworkMissing: torch is not installed for {bare} on host gpu-box: install torch "
        "there, or set run.python.gpu-box to an interpreter that has it"
    )


class _StopOnFirstWindow(NullListener):
    def __init__(self, session: ComparisonSession) -> None:
        self.session = session
        self.token: str | None = None

    def run_event(self, run_id: int, t: float, event: Event) -> None:
        if event.kind == "window" and self.token is None:
            child = self.session._current
            assert isinstance(child, RemoteChild)
            self.token = child.token
            threading.Thread(target=self.session.stop).start()


@pytest.mark.slow
def test_stop_ends_the_remote_run_as_stopped_not_lost(sshd: SshServer, store: Store) -> None:
    session = _remote_session(store, sshd, ["torch"], sys.executable, timeout_s=120)
    session.config = session.config.model_copy(
        update={"train": session.config.train.model_copy(update={"steps": 200_000})}
    )
    listener = _StopOnFirstWindow(session)
    session.listener = listener
    (outcome,) = session.run()
    assert outcome.status == "stopped", outcome
    assert listener.token is not None
    assert _processes_with_token(listener.token) == []


def test_the_cli_names_an_unreachable_host_and_exits_2(sshd: SshServer, tmp_path: Path) -> None:
    config = tmp_path / "remote.yaml"
    config.write_text(
        "name: r\nframeworks: [torch]\n"
        "model: {family: mlp, input_dim: 4, hidden: [3], num_classes: 2}\n"
        "train: {batch_size: 8, steps: 5, warmup_steps: 0}\n"
        f"run: {{repeats: 1, hosts: [{DEAD_ALIAS}]}}\n"
    )
    env = {**os.environ, "FRAMEDUEL_SSH_ARGS": f"-F {sshd.client_config}"}
    done = subprocess.run(
        [sys.executable, "-m", "profiler", "run", str(config), "--store", str(tmp_path / "s.db")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert f"run.hosts: cannot reach host {DEAD_ALIAS} over ssh: ssh: connect to host" in (
        done.stderr
    )


# What decides how fast the workload runs, besides the code: read from /proc while it runs.
_SCHEDULING_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "PYTHONUNBUFFERED")


def _scheduling(pid: int) -> dict[str, object]:
    """Policy and niceness of each of ``pid``'s threads, its CPU affinity and thread settings."""
    threads = set()
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):
            threads.add(
                (os.sched_getscheduler(int(tid)), os.getpriority(os.PRIO_PROCESS, int(tid)))
            )
    env = psutil.Process(pid).environ()
    return {
        "threads": threads,
        "affinity": os.sched_getaffinity(pid),
        "env": {k: env.get(k) for k in _SCHEDULING_ENV},
    }


class _SchedulingOnFirstWindow(NullListener):
    """Reads the child's scheduling (and, on a remote run, the agent's threads') once the run
    measures, then stops the session."""

    def __init__(self, session: ComparisonSession) -> None:
        self.session = session
        self.child: dict[str, object] | None = None
        self.agent_threads: set[tuple[int, int]] = set()

    def run_event(self, run_id: int, t: float, event: Event) -> None:
        if event.kind != "window" or self.child is not None:
            return
        child = self.session._current
        assert child is not None
        if isinstance(child, RemoteChild):
            self.child = _scheduling(int(child.started["pid"]))
            agent = int(child.hello["pid"])
            self.agent_threads = {
                (os.sched_getscheduler(int(tid)), os.getpriority(os.PRIO_PROCESS, int(tid)))
                for tid in os.listdir(f"/proc/{agent}/task")
            }
        else:
            self.child = _scheduling(child.pid)
        threading.Thread(target=self.session.stop).start()


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_host_runs_the_child_as_a_direct_run_would_while_the_agent_yields_to_it(
    sshd: SshServer, store: Store
) -> None:
    seen = {}
    for where in ("direct", "ssh"):
        hosts = {"hosts": ["gpu-box"], "python": {"gpu-box": sys.executable}}
        config = tiny_config(["torch"], timeout_s=120, **(hosts if where == "ssh" else {}))
        config = config.model_copy(
            update={"threads": 1, "train": config.train.model_copy(update={"steps": 200_000})}
        )
        options = RunOptions(ssh_args=sshd.ssh_args) if where == "ssh" else RunOptions()
        session = ComparisonSession(config, store, options=options)
        listener = _SchedulingOnFirstWindow(session)
        session.listener = listener
        (outcome,) = session.run()
        assert outcome.status == "stopped", outcome
        seen[where] = listener
    direct, remote = seen["direct"].child, seen["ssh"].child
    assert direct is not None and remote is not None
    # the workload's threads: the policy and niceness this test runs with, on the same cores,
    # with the same thread settings, as in the run started directly
    mine = (os.sched_getscheduler(0), os.getpriority(os.PRIO_PROCESS, 0))
    assert direct["threads"] == {mine}
    assert remote == direct
    assert direct["env"] == {
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "PYTHONUNBUFFERED": "1",
    }
    # the agent's own threads (relaying, sampling, watchdog) all yield to the workload
    lowered = {(os.SCHED_BATCH, min(19, mine[1] + agent.AGENT_NICE))}
    assert seen["ssh"].agent_threads == lowered
