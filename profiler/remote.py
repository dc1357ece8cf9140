"""One framework's run on another host, over the user's own ssh: a drop-in for ChildProcess.

The parent starts ``ssh host python -c BOOTSTRAP`` and writes the child code (a tar of
``workloads/``) and the run's setup on the channel's stdin; the agent (``workloads.agent``) runs
the child there and streams its events and samples back on stdout, its logs on stderr. The
session sees the same events, samples and logs as for a local child, on its own clock: the
host's clock is converted with an offset measured by pings before the child starts (the ping
with the shortest round trip wins; the error is at most half of it).

A link that ends without the agent's ``exit`` message, unless FrameDuel ended it itself (stop,
timeout), is *lost*: everything received is kept, and the agent on the host, seeing its stdin
close, kills the child's whole tree and removes its folder.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import queue
import signal
import subprocess
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import IO, Any

import psutil

from profiler.config import Config, ConfigError
from profiler.launcher import MAX_EVENT_LINE_BYTES, RECORDED_ENV, bounded_lines, describe_exit
from profiler.nvml import device_index
from profiler.protocol import Event, GarbageLine, decode_event
from profiler.sampler import Sample
from profiler.ssh import (
    DEFAULT_REMOTE_PYTHON,
    RemoteHostError,
    SshTarget,
    agent_command,
    archive_digest,
    code_archive,
    probe_host,
    ssh_command,
)

AGENT_MARK = b"@"
SSH_ERROR_EXIT = 255
HANDSHAKE_TIMEOUT_S = 60.0
PINGS = 5
# After its stdin closes, the agent kills the run and exits; ssh is killed if it takes longer.
KILL_GRACE_S = 3.0
# Lines of ssh's stderr kept to explain a failure.
LAST_WORDS = 20

_SAMPLE_FIELDS = (
    "cpu_percent",
    "rss_mib",
    "gpu_util_percent",
    "gpu_mem_mib",
    "gpu_power_w",
    "gpu_temp_c",
    "gpu_sm_clock_mhz",
    "gpu_energy_j",
    "gpu_throttle_reasons",
    "sys_mem_used_mib",
    "sys_mem_total_mib",
)


def _number(value: Any) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return math.nan


def sample_from_agent(message: dict[str, Any], offset_s: float) -> Sample:
    """A Sample from the agent's ``sample`` message, on the parent's clock; NaN for what the
    host could not measure."""
    v = {name: _number(message.get(name)) for name in _SAMPLE_FIELDS}
    cores = message.get("cpu_per_core")
    threads = message.get("threads")
    return Sample(
        t=_number(message.get("t")) + offset_s,
        cpu_percent=v["cpu_percent"],
        rss_mib=v["rss_mib"],
        threads=threads if isinstance(threads, int) and not isinstance(threads, bool) else 0,
        gpu_util_percent=v["gpu_util_percent"],
        gpu_mem_mib=v["gpu_mem_mib"],
        gpu_power_w=v["gpu_power_w"],
        gpu_temp_c=v["gpu_temp_c"],
        gpu_sm_clock_mhz=v["gpu_sm_clock_mhz"],
        gpu_energy_j=v["gpu_energy_j"],
        gpu_throttle_reasons=v["gpu_throttle_reasons"],
        sys_mem_used_mib=v["sys_mem_used_mib"],
        sys_mem_total_mib=v["sys_mem_total_mib"],
        cpu_per_core=tuple(_number(c) for c in cores) if isinstance(cores, list) else (),
    )


def remote_environment(config: Config) -> dict[str, str]:
    """What FrameDuel sets in the child's environment on the host (on top of the host's own)."""
    env = {"CUDA_DEVICE_ORDER": "PCI_BUS_ID", "TF_CPP_MIN_LOG_LEVEL": "2"}
    if config.threads is not None:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[var] = str(config.threads)
    return env


class RemoteChild:
    """A workload running on ``target`` under the agent; the same interface as ChildProcess
    (pid is the local ssh client's), plus ``lost`` and ``remote_info()``."""

    def __init__(
        self,
        framework: str,
        config: Config,
        *,
        target: SshTarget,
        python: str,
        cache_dir: Path,
        on_event: Callable[[Event], None],
        on_garbage: Callable[[str], None],
        on_log: Callable[[str], None],
        on_sample: Callable[[Sample], None] | None,
        ssh_args: Sequence[str] = (),
        gpu_index: int | None = None,
        handshake_timeout_s: float = HANDSHAKE_TIMEOUT_S,
        on_rank_event: Callable[[int, Event], None] | None = None,
    ) -> None:
        """``on_rank_event`` makes this one node of a multi-node run (``profiler.multinode``):
        the agent waits after the pings until ``start_node`` says what to launch, and every
        event line comes with its rank, passed here instead of to ``on_event``."""
        self.target = target
        self.framework = framework
        self.token = uuid.uuid4().hex
        # as the run's record shows it: the interpreter and module that ran on the host
        self.command = [python, "-u", "-m", "workloads.worker", "--framework", framework]
        archive = code_archive(cache_dir)
        self.code_digest = archive_digest(archive)
        self.ssh_command = ssh_command(target, agent_command(python, self.token), ssh_args)
        self._on_event, self._on_garbage, self._on_log = on_event, on_garbage, on_log
        self._on_sample = on_sample
        self._on_rank_event = on_rank_event
        self.rank_rss: dict[int, float] = {}
        self._handshake: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._last_words: deque[str] = deque(maxlen=LAST_WORDS)
        self._lock = threading.Lock()
        self._killed = False
        self.offset_s = 0.0
        self.rtt_s = math.nan
        self.hello: dict[str, Any] = {}
        self.started: dict[str, Any] = {}
        self.remote_exit: int | None = None
        self.transport_cpu_s: dict[str, float] = {}
        self._client_cpu0 = math.nan
        self.proc = subprocess.Popen(
            self.ssh_command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.pid = self.proc.pid
        self._readers = [
            threading.Thread(target=self._read_stdout, name=f"remote-{self.pid}", daemon=True),
            threading.Thread(target=self._read_stderr, name=f"rlogs-{self.pid}", daemon=True),
        ]
        for t in self._readers:
            t.start()
        try:
            self._start(framework, config, archive, gpu_index, handshake_timeout_s)
        except BaseException:
            self.close()
            raise

    # -- starting -------------------------------------------------------------------------

    def _send(self, data: bytes) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        stdin.write(data)
        stdin.flush()

    def _start(
        self, framework: str, config: Config, archive: bytes, gpu: int | None, timeout: float
    ) -> None:
        setup = {
            "framework": framework,
            "spec": {
                "config": config.model_dump(mode="json"),
                "window_steps": config.window_steps(),
            },
            "environment": remote_environment(config),
            "recorded_env": sorted(RECORDED_ENV),
            "sample_hz": config.run.sample_hz,
            "sampling": self._on_sample is not None,
            "gpu_index": gpu,
        }
        deadline = time.monotonic() + timeout
        try:
            self._send(b"%d\n" % len(archive) + archive + _line(setup))
            self.hello = self._expect("hello", deadline)
            best = math.inf
            for i in range(PINGS):
                sent = time.monotonic()
                self._send(_line({"cmd": "ping", "id": i}))
                pong = self._expect("pong", deadline)
                back = time.monotonic()
                if back - sent < best:
                    best = back - sent
                    self.offset_s = (sent + back) / 2 - float(pong["t"])
            self.rtt_s = best
            if self._on_rank_event is None:
                self._client_cpu0 = self._client_cpu_s()
                self._send(_line({"cmd": "start"}))
        except (OSError, ValueError, KeyError) as exc:
            raise RemoteHostError(self._failure(f"the agent did not start ({exc})")) from None

    def start_node(self, node: dict[str, Any]) -> None:
        """Start this host's part of a multi-node run: ``node`` holds the spec, the node's
        ranks and its processes (``workloads.agent`` says how they are read)."""
        self._client_cpu0 = self._client_cpu_s()
        try:
            self._send(_line({"cmd": "start", "node": node}))
        except (OSError, ValueError) as exc:
            raise RemoteHostError(
                self._failure(f"the agent did not start the node ({exc})")
            ) from None

    def _client_cpu_s(self) -> float:
        """CPU seconds the local ssh client has used (NaN once it is gone)."""
        try:
            times = psutil.Process(self.pid).cpu_times()
        except psutil.Error:
            return math.nan
        return float(times.user + times.system)

    def _expect(self, kind: str, deadline: float) -> dict[str, Any]:
        try:
            message = self._handshake.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise RemoteHostError(self._failure(f"no {kind!r} from the agent in time")) from None
        if message is None:
            raise RemoteHostError(self._failure("the agent did not start"))
        if message.get("kind") != kind:
            raise RemoteHostError(self._failure(f"the agent said {message.get('kind')!r}"))
        return message

    def _failure(self, what: str) -> str:
        """Words for a failed start, with ssh's (or the host shell's) last words."""
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=2.0)
        self._readers[1].join(timeout=2.0)
        said = [w for w in self._last_words if w.strip()]
        reason = said[-1] if said else describe_exit(self.proc.returncode or 0)
        return f"host {self.target.name}: {what}: {reason}"

    # -- reading --------------------------------------------------------------------------

    def _read_stdout(self) -> None:
        stream: IO[bytes] | None = self.proc.stdout
        assert stream is not None
        try:
            with stream:
                for raw, dropped in bounded_lines(stream, MAX_EVENT_LINE_BYTES):
                    if dropped or not raw.endswith(b"\n"):
                        self._on_garbage(f"a cut or half line from the agent: {raw[:200]!r}")
                    elif raw.startswith(AGENT_MARK):
                        self._agent_message(raw[1:])
                    else:
                        self._child_line(raw)
        finally:
            self._handshake.put(None)

    def _agent_message(self, raw: bytes) -> None:
        try:
            message = json.loads(raw)
            kind = message["kind"]
        except (ValueError, KeyError, TypeError):
            self._on_garbage(f"an unreadable line from the agent: {raw[:200]!r}")
            return
        if kind in ("hello", "pong"):
            self._handshake.put(message)
        elif kind == "sample":
            ranks = message.get("rank_rss_mib")
            if isinstance(ranks, dict):
                # a node of a multi-node run: each of its ranks' own RSS (MiB)
                self.rank_rss = {
                    int(r): float(v)
                    for r, v in ranks.items()
                    if str(r).isdigit() and isinstance(v, int | float)
                }
            if self._on_sample is not None:
                self._on_sample(sample_from_agent(message, self.offset_s))
        elif kind == "started":
            self.started = message
        elif kind == "exit":
            code = message.get("code")
            self.remote_exit = code if isinstance(code, int) else None
            self.transport_cpu_s = {
                k: _number(message.get(k)) for k in ("agent_cpu_s", "channel_cpu_s")
            }
            self.transport_cpu_s["client_cpu_s"] = self._client_cpu_s() - self._client_cpu0
        elif kind == "garbage":
            self._on_garbage(str(message.get("reason", "")))

    def _child_line(self, raw: bytes) -> None:
        rank = None
        if self._on_rank_event is not None:
            head, _, raw = raw.partition(b" ")
            if not head.isdigit():
                self._on_garbage(f"an event line without its rank: {head[:200]!r}")
                return
            rank = int(head)
        try:
            event = decode_event(raw)
        except GarbageLine as exc:
            self._on_garbage(str(exc) if rank is None else f"rank {rank}: {exc}")
            return
        payload = event.payload
        if event.kind == "error" and payload.get("type") == "FrameworkMissing":
            payload = {
                **payload,
                "message": f"{payload['message']} on host {self.target.name}: install "
                f"{self.framework} there, or set run.python.{self.target.name} to an "
                "interpreter that has it",
            }
        event = replace(event, t=event.t + self.offset_s, payload=payload)
        if rank is not None and self._on_rank_event is not None:
            self._on_rank_event(rank, event)
        else:
            self._on_event(event)

    def _read_stderr(self) -> None:
        stream: IO[bytes] | None = self.proc.stderr
        assert stream is not None
        with stream:
            for raw, dropped in bounded_lines(stream, 64 * 2**10):
                line = raw.decode("utf-8", errors="replace").rstrip("\n")
                if dropped:
                    line += f" [frameduel: line cut, {dropped:,} more bytes dropped]"
                self._last_words.append(line)
                self._on_log(line)

    # -- the ChildProcess interface ------------------------------------------------------

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the run to end (raises subprocess.TimeoutExpired): the child's exit code
        on the host, or ssh's own when the agent never said."""
        code = self.proc.wait(timeout)
        self._readers[0].join(timeout=5.0)  # the agent's last lines, its exit among them
        return self.remote_exit if self.remote_exit is not None else code

    @property
    def lost(self) -> str | None:
        """Why the link was lost (None while it stands, or when the run ended as planned).

        ssh exits 255 for its own errors (a dead link among them) and is killed by a signal
        when someone kills it here; any other status is the agent's own exit, over a live link.
        """
        code = self.proc.returncode
        if code is None or self.remote_exit is not None or self._killed:
            return None
        if code != SSH_ERROR_EXIT and code >= 0:
            return None
        said = [w for w in self._last_words if w.strip()]
        how = said[-1] if said else f"ssh {describe_exit(self.proc.returncode)}"
        return (
            f"the SSH link to host {self.target.name} was lost ({how}); everything received "
            "until then is kept, and the run's processes there were ended"
        )

    def kill_tree(self) -> None:
        """End the run: close the agent's stdin (it kills the child's tree on the host and
        exits), then kill ssh if it lingers."""
        with self._lock:
            self._killed = self._killed or self.proc.returncode is None
            stdin = self.proc.stdin
            if stdin is not None:
                with contextlib.suppress(OSError, ValueError):
                    stdin.close()
        try:
            self.proc.wait(timeout=KILL_GRACE_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signal.SIGKILL)
            self.proc.wait()

    def close(self) -> None:
        """End the run if it is still going and let the readers drain."""
        self.kill_tree()
        for t in self._readers:
            t.join(timeout=5.0)

    def recorded_environment(self) -> dict[str, str]:
        """The child's environment on the host, as far as it changes what it measures."""
        env = self.started.get("environment")
        return {str(k): str(v) for k, v in env.items()} if isinstance(env, dict) else {}

    def remote_info(self) -> dict[str, Any]:
        """What the run's record keeps about the host and the link."""
        hello = self.hello
        return {
            "host": self.target.name,
            "hostname": hello.get("hostname"),
            "python": hello.get("python"),
            "python_version": hello.get("python_version"),
            "platform": hello.get("platform"),
            "cpus": hello.get("cpus"),
            "gpu": hello.get("gpu"),
            "psutil": hello.get("psutil"),
            "agent_pid": hello.get("pid"),
            "workdir": hello.get("workdir"),
            "child_pid": self.started.get("pid"),
            "clock_offset_s": self.offset_s,
            "rtt_ms": self.rtt_s * 1e3 if math.isfinite(self.rtt_s) else None,
            "code": self.code_digest,
            # CPU the transport used while the child ran: the agent's relaying and sampling, the
            # sshd process carrying the channel, the ssh client here (None: not known)
            **{k: v if math.isfinite(v) else None for k, v in self.transport_cpu_s.items()},
            "token": self.token,
        }


def _line(obj: dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def host_interpreter(config: Config, host: str, framework: str) -> str:
    """The interpreter ``framework`` runs with on ``host`` (run.python's host key, else
    python3)."""
    chosen = config.run.host_python.get(host)
    if isinstance(chosen, dict):
        return str(chosen.get(framework, DEFAULT_REMOTE_PYTHON))  # type: ignore[call-overload]
    return chosen or DEFAULT_REMOTE_PYTHON


def check_hosts(
    config: Config, ssh_args: Sequence[str], config_path: str | None = None
) -> dict[str, Any]:
    """Check every host in run.hosts with every interpreter the runs will use there, before
    any run: the hosts' facts by name, or ConfigError naming the host and ssh's error."""
    facts: dict[str, Any] = {}
    for name in config.run.hosts:
        target = SshTarget.parse(name)
        pythons = {host_interpreter(config, name, fw) for fw in config.frameworks}
        try:
            facts[name] = {py: probe_host(target, py, ssh_args) for py in sorted(pythons)}
        except RemoteHostError as exc:
            raise ConfigError(config_path or "<config>", str(exc), "run.hosts") from None
    return facts


def start_remote(
    framework: str,
    config: Config,
    *,
    cache_dir: Path,
    on_event: Callable[[Event], None],
    on_garbage: Callable[[str], None],
    on_log: Callable[[str], None],
    on_sample: Callable[[Sample], None] | None,
    ssh_args: Sequence[str] = (),
) -> RemoteChild:
    """Start ``framework``'s run on the config's host (run.hosts)."""
    if len(config.run.hosts) != 1:
        raise ConfigError(
            "<config>",
            "several hosts run only as a data-parallel job (run.distributed, through the scaling "
            "session); list one host for a single remote run",
            "run.hosts",
        )
    (host,) = config.run.hosts
    return RemoteChild(
        framework,
        config,
        target=SshTarget.parse(host),
        python=host_interpreter(config, host, framework),
        cache_dir=cache_dir,
        on_event=on_event,
        on_garbage=on_garbage,
        on_log=on_log,
        on_sample=on_sample,
        ssh_args=ssh_args,
        gpu_index=None if config.device == "cpu" else device_index(config.device),
    )
