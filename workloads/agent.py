"""FrameDuel's agent on a remote host: runs one framework's child there and streams it back.

Started over SSH by the parent (``profiler.remote``) with the run's interpreter, from a per-run
temporary folder holding a copy of ``workloads/`` that the parent shipped on stdin. It needs the
standard library only; psutil (CPU, memory and threads of the child's process tree) and
nvidia-ml-py (the GPU) are used when the interpreter has them.

stdin (from the parent), one JSON object per line after the shipped code:
  ``setup`` (once: framework, spec, environment, sample rate), then ``ping`` (id) any number of
  times, then ``start``. End of stdin at any time means the link is gone: the agent kills the
  child's whole tree, removes its folder and exits, so nothing of the run outlives the link.
  On a node of a multi-node run, ``start`` carries ``node``: the spec, this host's ranks and the
  processes to launch for them (argv and environment, with placeholders for this host's
  interpreter and run folder); every rank writes to its own named pipe in the run's folder, and
  the agent relays each rank's lines with the rank and a space in front.

stdout (to the parent), one line each: the child's events relayed byte for byte, as on the
child's own pipe (``profiler.protocol``), and the agent's own messages, marked by a leading
``@`` (no event line starts with one): ``hello`` (host facts), ``pong`` (id, the host's clock),
``started`` (child pid, environment), ``sample`` (process tree and GPU), ``garbage`` (reason),
``exit`` (the child's exit code). The child's stdout and stderr go to the agent's stderr, which
SSH carries back apart from stdout: they are logs, never parsed.

Times are ``time.monotonic()`` on the host; the parent turns them into its own clock with the
offset it measured from the pings.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import math
import os
import platform
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import IO, Any

AGENT_VERSION = 1
MARK = b"@"
RUN_TOKEN_ENV = "FRAMEDUEL_RUN_TOKEN"
MAX_EVENT_LINE_BYTES = 4 * 2**20
# In a multi-node launch's argv and environment, as the parent cannot know them: this host's
# interpreter (the agent's own) and the run's folder here.
PYTHON_PLACEHOLDER = "@FRAMEDUEL_PYTHON@"
WORKDIR_PLACEHOLDER = "@FRAMEDUEL_WORKDIR@"
# The module each framework's child imports: missing here means a clear error, not a traceback.
FRAMEWORK_MODULES = {"torch": "torch", "tensorflow": "tensorflow", "jax": "jax"}
# How far the agent's own threads lower their priority once the workload runs (``yield_cpu``).
AGENT_NICE = 10


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


class Channel:
    """The agent's stdout: whole lines, one writer at a time; a closed link is remembered,
    never raised (the watchdog is what ends the agent then)."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._lock = threading.Lock()
        self.broken = False

    def write_line(self, line: bytes) -> None:
        """Send one line (a trailing newline is added when missing)."""
        if not line.endswith(b"\n"):
            line += b"\n"
        with self._lock:
            if self.broken:
                return
            try:
                self._stream.write(line)
                self._stream.flush()
            except (OSError, ValueError):
                self.broken = True

    def send(self, kind: str, **payload: Any) -> None:
        """Send one of the agent's own messages, stamped with the host's clock."""
        obj = {"kind": kind, "t": time.monotonic(), **_clean(payload)}
        self.write_line(MARK + json.dumps(obj, separators=(",", ":"), allow_nan=False).encode())


def yield_cpu() -> None:
    """Lower the calling thread's priority below the workload's (Linux; elsewhere nothing).

    A run started on the host directly has no agent, so any moment the agent's relaying or
    sampling takes from the workload is the link's cost. SCHED_BATCH keeps the thread's wakeups
    (an event line to relay, a sample due) from preempting the workload, which then runs its
    time slice out; nice +AGENT_NICE makes it yield under contention while leaving it CPU
    enough (10 Hz samples need well under 1% of a core). Both are per thread on Linux and
    inherited by threads and processes started afterwards: call it only once the workload is
    started, so the workload keeps the policy and niceness a direct run would have.
    """
    if not sys.platform.startswith("linux"):
        return  # elsewhere niceness is per process: the workload's, too
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    with contextlib.suppress(OSError, AttributeError):
        tid = threading.get_native_id()
        nice = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, nice + AGENT_NICE))


def process_tree(root: int) -> list[int]:
    """The pids of ``root`` and its descendants (Linux /proc; just ``root`` elsewhere)."""
    children: dict[int, list[int]] = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return [root]
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: fields start after the last ')'
        fields = stat[stat.rfind(b")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def processes_with_token(token: str) -> list[int]:
    """Pids (this one excepted) whose environment carries the run's token (Linux /proc)."""
    needle = f"{RUN_TOKEN_ENV}={token}".encode()
    found = []
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc"):
            if not name.isdigit() or int(name) == os.getpid():
                continue
            with contextlib.suppress(OSError), open(f"/proc/{name}/environ", "rb") as f:
                if needle in f.read().split(b"\0"):
                    found.append(int(name))
    return found


def kill_run(pid: int, token: str) -> None:
    """SIGKILL the child's session, its descendants, and anything else carrying the token."""
    victims = set(process_tree(pid)) | set(processes_with_token(token))
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)
    for victim in victims:
        if victim != os.getpid():
            with contextlib.suppress(OSError):
                os.kill(victim, signal.SIGKILL)


class TreeSampler:
    """CPU % (of one core), RSS and threads summed over the child's process tree, with psutil.

    CPU is each process's own time plus that of the children it reaped, so short-lived helpers
    still count; the tree is walked at most twice a second.
    """

    def __init__(
        self, psutil: ModuleType, root: int | list[int], rank_pids: dict[int, int] | None = None
    ) -> None:
        self._psutil = psutil
        # rank -> pid, filled in as ranks announce themselves: each rank's own RSS is sampled
        self._rank_pids = rank_pids
        # several roots: a node of a multi-node run, one process per worker (or one torchrun)
        self._roots = root if isinstance(root, list) else [root]
        self._procs: dict[int, Any] = {}
        self._cpu: dict[int, float] = {}
        self._last: float | None = None
        self._next_walk = 0.0
        # per-core busy % from cpu_times deltas: psutil's cpu_percent keeps its baseline per
        # thread, so priming it here left the sampler thread's first reading at 0 % everywhere
        self._cores = psutil.cpu_times(percpu=True)

    def sample(self) -> dict[str, Any]:
        """One reading of the tree and the machine."""
        ps, now = self._psutil, time.monotonic()
        if now >= self._next_walk:
            self._next_walk = now + 0.5
            for pid in {p for root in self._roots for p in process_tree(root)}:
                if pid not in self._procs:
                    with contextlib.suppress(ps.Error):
                        self._procs[pid] = ps.Process(pid)
        rss = threads = live = 0
        cpu: dict[int, float] = {}
        for pid, proc in list(self._procs.items()):
            try:
                with proc.oneshot():
                    t = proc.cpu_times()
                    cpu[pid] = t.user + t.system + t.children_user + t.children_system
                    if proc.status() == ps.STATUS_ZOMBIE:
                        continue  # exited, not yet waited for: no memory to measure
                    rss += proc.memory_info().rss
                    threads += proc.num_threads()
                    live += 1
            except ps.Error:
                del self._procs[pid]
        gained = sum(max(0.0, v - self._cpu.get(pid, v)) for pid, v in cpu.items())
        elapsed = None if self._last is None else now - self._last
        self._cpu, self._last = cpu, now
        memory = ps.virtual_memory()
        ranks: dict[str, float] = {}
        for rank, pid in list((self._rank_pids or {}).items()):
            proc = self._procs.get(pid)
            if proc is not None:
                with contextlib.suppress(ps.Error):
                    ranks[str(rank)] = proc.memory_info().rss / 2**20
        extra = {"rank_rss_mib": ranks} if self._rank_pids is not None else {}
        cores, self._cores = self._cores, ps.cpu_times(percpu=True)
        return {
            **extra,
            "cpu_percent": 100.0 * gained / elapsed if elapsed else None,
            "rss_mib": rss / 2**20 if live else None,  # a tree that is gone: NaN, not 0 MiB
            "threads": threads,
            "cpu_per_core": [_busy_percent(a, b) for a, b in zip(cores, self._cores, strict=False)],
            "sys_mem_used_mib": memory.used / 2**20,
            "sys_mem_total_mib": memory.total / 2**20,
        }


def _busy_percent(before: Any, after: Any) -> float:
    """A core's busy % between two psutil cpu_times readings (guest time is already in user
    and nice; iowait is idle), as the parent's own per-core meter counts it."""
    delta = {f: max(0.0, getattr(after, f) - getattr(before, f)) for f in after._fields}
    total = sum(delta.values()) - delta.get("guest", 0.0) - delta.get("guest_nice", 0.0)
    busy = total - delta["idle"] - delta.get("iowait", 0.0)
    return round(100.0 * busy / total, 1) if total > 0 else 0.0


class GpuSampler:
    """One GPU through NVML (nvidia-ml-py); every reading that fails is left out."""

    def __init__(self, nvml: ModuleType, index: int) -> None:
        self._nvml = nvml
        nvml.nvmlInit()
        self._handle = nvml.nvmlDeviceGetHandleByIndex(index)

    def name(self) -> str:
        """The GPU's name as NVML gives it."""
        name = self._nvml.nvmlDeviceGetName(self._handle)
        return name.decode() if isinstance(name, bytes) else str(name)

    def sample(self) -> dict[str, Any]:
        """Utilisation, memory, power, temperature, SM clock, energy, throttle reasons."""
        nv, h = self._nvml, self._handle
        queries: dict[str, Callable[[], float]] = {
            "gpu_util_percent": lambda: float(nv.nvmlDeviceGetUtilizationRates(h).gpu),
            "gpu_mem_mib": lambda: nv.nvmlDeviceGetMemoryInfo(h).used / 2**20,
            "gpu_power_w": lambda: nv.nvmlDeviceGetPowerUsage(h) / 1000.0,
            "gpu_temp_c": lambda: float(nv.nvmlDeviceGetTemperature(h, 0)),
            "gpu_sm_clock_mhz": lambda: float(nv.nvmlDeviceGetClockInfo(h, 1)),
            "gpu_energy_j": lambda: nv.nvmlDeviceGetTotalEnergyConsumption(h) / 1000.0,
            "gpu_throttle_reasons": lambda: float(nv.nvmlDeviceGetCurrentClocksThrottleReasons(h)),
        }
        out = {}
        for key, query in queries.items():
            with contextlib.suppress(Exception):
                out[key] = query()
        return out


def _optional(module: str) -> ModuleType | None:
    try:
        return importlib.import_module(module)
    except Exception:  # absent, or broken: the run goes on without it
        return None


def _gpu(index: int | None) -> GpuSampler | None:
    nvml = _optional("pynvml") if index is not None else None
    if nvml is None or index is None:
        return None
    try:
        return GpuSampler(nvml, index)
    except Exception:  # no driver, no such GPU: no GPU readings
        return None


def _sampler_loop(
    channel: Channel,
    tree: TreeSampler | None,
    gpu: GpuSampler | None,
    hz: float,
    stop: threading.Event,
) -> None:
    """Send a sample every 1/hz seconds on a drift-free clock, and one last when stopped."""
    interval, next_tick = 1.0 / hz, time.monotonic()
    while True:
        reading: dict[str, Any] = {}
        if tree is not None:
            reading.update(tree.sample())
        if gpu is not None:
            reading.update(gpu.sample())
        channel.send("sample", **reading)
        if stop.is_set():
            return
        next_tick += interval
        delay = next_tick - time.monotonic()
        if delay < 0:
            next_tick, delay = time.monotonic(), 0.0
        stop.wait(delay)  # when stopped, the loop takes its last sample and returns


def _relay(
    events: IO[bytes],
    channel: Channel,
    prefix: bytes = b"",
    watch: Callable[[bytes], None] | None = None,
) -> None:
    """Copy the child's event lines to stdout; an over-long line becomes a garbage report.

    ``prefix`` (a rank and a space, on a node of a multi-node run) goes before each line, so the
    parent knows whose event it is; such a line starts with a digit, never with the mark.
    ``watch`` sees every whole line first."""
    while True:
        line = events.readline(MAX_EVENT_LINE_BYTES)
        if not line:
            return
        if len(line) >= MAX_EVENT_LINE_BYTES and not line.endswith(b"\n"):
            while (rest := events.readline(MAX_EVENT_LINE_BYTES)) and not rest.endswith(b"\n"):
                pass
            channel.send("garbage", reason=f"an event line over 4 MiB was dropped: {line[:200]!r}")
            continue
        if watch is not None:
            watch(line)
        # a line that looks like the agent's own is the child's garbage, and stays the child's
        channel.write_line(prefix + (b" " + line if line.startswith(MARK) else line))


def _read_command(stdin: IO[bytes]) -> dict[str, Any] | None:
    """The parent's next command; None at end of stdin ({} for a line that is not one)."""
    line = stdin.readline()
    if not line:
        return None
    try:
        obj = json.loads(line)
    except ValueError:
        return {}
    return obj if isinstance(obj, dict) else {}


def child_environment(workdir: str, setup: dict[str, Any]) -> dict[str, str]:
    """The host's own environment, plus FrameDuel's settings and caches in the run's folder."""
    env = dict(os.environ)
    env.update({str(k): str(v) for k, v in setup.get("environment", {}).items()})
    env["PYTHONPATH"] = os.pathsep.join(p for p in (workdir, os.environ.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    for var, sub in (
        ("TORCHINDUCTOR_CACHE_DIR", "torchinductor"),
        ("KERAS_HOME", "keras"),
        ("MPLCONFIGDIR", "matplotlib"),
        ("XDG_CACHE_HOME", "xdg"),
    ):
        env.setdefault(var, os.path.join(workdir, "cache", sub))
    return env


def main(workdir: str) -> int:
    """Serve one run from ``workdir`` (the shipped code's folder); returns the exit status."""
    stdin, channel = sys.stdin.buffer, Channel(sys.stdout.buffer)
    setup = _read_command(stdin)
    if setup is None:
        return 0
    psutil = _optional("psutil")
    device = setup.get("gpu_index")
    gpu = _gpu(device if isinstance(device, int) else None)
    channel.send(
        "hello",
        agent=AGENT_VERSION,
        pid=os.getpid(),
        hostname=socket.gethostname(),
        python=sys.executable,
        python_version=platform.python_version(),
        platform=platform.platform(),
        cpus=os.cpu_count(),
        psutil=psutil is not None,
        gpu=gpu.name() if gpu is not None else None,
        workdir=workdir,
        free_port=free_port(),
    )
    while (command := _read_command(stdin)) is not None and command.get("cmd") != "start":
        if command.get("cmd") == "ping":
            channel.send("pong", id=command.get("id"))
    if command is None:
        return 0
    framework = str(setup["framework"])
    module = FRAMEWORK_MODULES.get(framework, framework)
    node = command.get("node")
    # on a node of a multi-node run, the parent reads every event line as a rank's
    prefix = b"%d " % min(node["ranks"]) if isinstance(node, dict) else b""
    if importlib.util.find_spec(module) is None:
        message = f"{module} is not installed for {sys.executable}"
        _send_error(channel, "FrameworkMissing", message, prefix)
        channel.send("exit", code=1)
        return 1
    if isinstance(node, dict):
        return _run_node(
            workdir, node, setup=setup, stdin=stdin, channel=channel, psutil=psutil, gpu=gpu
        )
    return _run_child(workdir, setup=setup, stdin=stdin, channel=channel, psutil=psutil, gpu=gpu)


def free_port() -> int:
    """A TCP port free on this host now (the OS's pick): the rendezvous port when this host
    is node 0 of a multi-node run."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("", 0))
        return int(s.getsockname()[1])


def _placed(value: str, workdir: str) -> str:
    """``value`` with the parent's placeholders for this host's interpreter and run folder."""
    return value.replace(PYTHON_PLACEHOLDER, sys.executable).replace(WORKDIR_PLACEHOLDER, workdir)


def _run_node(
    workdir: str,
    node: dict[str, Any],
    *,
    setup: dict[str, Any],
    stdin: IO[bytes],
    channel: Channel,
    psutil: ModuleType | None,
    gpu: GpuSampler | None,
) -> int:
    """Run this host's part of a multi-node job: its launch processes (torchrun for the node's
    ranks, or one TensorFlow/JAX worker each), every rank's events relayed from its named pipe
    with the rank in front, and samples of all their process trees."""
    with open(os.path.join(workdir, "spec.json"), "w", encoding="utf-8") as f:
        json.dump(node["spec"], f)
    ranks = [int(r) for r in node["ranks"]]
    event_dir = os.path.join(workdir, "ranks")
    os.mkdir(event_dir)
    for rank in ranks:
        os.mkfifo(os.path.join(event_dir, f"rank-{rank}.events"), 0o600)
    base = child_environment(workdir, setup)
    token = base.get(RUN_TOKEN_ENV, "")

    rank_pids: dict[int, int] = {}

    def relay(rank: int) -> None:
        def watch(line: bytes) -> None:
            # the rank's pid (its ``rank`` event, among its first lines), for its own RSS
            if rank in rank_pids:
                return
            with contextlib.suppress(ValueError, AttributeError):
                event = json.loads(line)
                if event.get("kind") == "rank" and isinstance(event.get("pid"), int):
                    rank_pids[rank] = event["pid"]

        yield_cpu()  # a thread of its own: lowering it leaves the launches below as they are
        # blocks in open() until the rank opens its end (or the agent does, to end it)
        with open(os.path.join(event_dir, f"rank-{rank}.events"), "rb") as events:
            _relay(events, channel, b"%d " % rank, watch)

    readers = [threading.Thread(target=relay, args=(r,), daemon=True) for r in ranks]
    for t in readers:
        t.start()
    procs: list[subprocess.Popen[bytes]] = []
    envs = []
    cpu_before = transport_cpu_s()
    for process in node["processes"]:
        env = {**base, **{str(k): _placed(str(v), workdir) for k, v in process["env"].items()}}
        envs.append(env)
        try:
            procs.append(
                subprocess.Popen(
                    [_placed(str(a), workdir) for a in process["argv"]],
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=sys.stderr.fileno(),
                    stderr=sys.stderr.fileno(),
                    start_new_session=True,
                    cwd=workdir,
                )
            )
        except OSError as exc:
            for proc in procs:
                kill_run(proc.pid, token)
            _end_readers(event_dir, ranks, readers)
            message = f"could not start the workload on this host: {exc}"
            _send_error(channel, "OSError", message, b"%d " % min(ranks))
            channel.send("exit", code=1)
            return 1
    yield_cpu()  # everything launched: from here on this thread and those it starts only serve
    recorded = set(setup.get("recorded_env", []))
    channel.send(
        "started",
        pid=procs[0].pid,
        pids=[p.pid for p in procs],
        command=[_placed(str(a), workdir) for a in node["processes"][0]["argv"]],
        environment={k: v for k, v in sorted(envs[0].items()) if k in recorded or k == "TF_CONFIG"},
    )

    def kill_all() -> None:
        for proc in procs:
            kill_run(proc.pid, token)

    def watchdog() -> None:
        while (command := _read_command(stdin)) is not None and command.get("cmd") != "kill":
            pass
        kill_all()

    threading.Thread(target=watchdog, name="watchdog", daemon=True).start()
    stop = threading.Event()
    tree = TreeSampler(psutil, [p.pid for p in procs], rank_pids) if psutil is not None else None
    sampler = threading.Thread(
        target=_sampler_loop,
        args=(channel, tree, gpu, float(setup.get("sample_hz", 10.0)), stop),
        name="sampler",
        daemon=True,
    )
    if setup.get("sampling", True):
        sampler.start()
    code = 0
    while True:
        codes = [p.poll() for p in procs]
        failed = [c for c in codes if c not in (None, 0)]
        if failed:
            # the others would wait in a collective forever
            code = failed[0]
            kill_all()
            break
        if all(c == 0 for c in codes):
            break
        time.sleep(0.05)
    for proc in procs:
        proc.wait()
    _end_readers(event_dir, ranks, readers)
    stop.set()
    if sampler.is_alive():
        sampler.join()
    kill_all()  # grandchildren that outlived the launch
    cpu_after = transport_cpu_s()
    used = {
        k: None if v is None or cpu_before[k] is None else v - (cpu_before[k] or 0.0)
        for k, v in cpu_after.items()
    }
    channel.send("exit", code=code, **used)
    return 0


def _end_readers(event_dir: str, ranks: list[int], readers: list[threading.Thread]) -> None:
    """Let every rank's reader finish: a reader still blocked opening the pipe of a rank that
    never opened it gets a writer that closes at once."""
    for rank in ranks:
        path = os.path.join(event_dir, f"rank-{rank}.events")
        with contextlib.suppress(OSError):
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    for t in readers:
        t.join(timeout=10.0)


def _run_child(
    workdir: str,
    *,
    setup: dict[str, Any],
    stdin: IO[bytes],
    channel: Channel,
    psutil: ModuleType | None,
    gpu: GpuSampler | None,
) -> int:
    spec_file = os.path.join(workdir, "spec.json")
    with open(spec_file, "w", encoding="utf-8") as f:
        json.dump(setup["spec"], f)
    env = child_environment(workdir, setup)
    token = env.get(RUN_TOKEN_ENV, "")
    read_fd, write_fd = os.pipe()
    command = [sys.executable, "-u", "-m", "workloads.worker", "--framework"]
    command += [str(setup["framework"]), "--event-fd", str(write_fd), "--spec-file", spec_file]
    cpu_before = transport_cpu_s()  # what starting the agent and the channel cost is not counted
    try:
        proc = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sys.stderr.fileno(),
            stderr=sys.stderr.fileno(),
            pass_fds=(write_fd,),
            start_new_session=True,
            cwd=workdir,
        )
    except OSError as exc:
        os.close(read_fd)
        _send_error(channel, "OSError", f"could not start the workload on this host: {exc}")
        channel.send("exit", code=1)
        return 1
    finally:
        os.close(write_fd)
    yield_cpu()  # the child started: from here on this thread and those it starts only serve
    recorded = set(setup.get("recorded_env", []))
    channel.send(
        "started",
        pid=proc.pid,
        command=command,
        environment={k: v for k, v in sorted(env.items()) if k in recorded},
    )

    def watchdog() -> None:
        # End of stdin: the parent closed it (stop, timeout) or the link is gone. Either way
        # nothing of the run may outlive it on this host.
        while (command := _read_command(stdin)) is not None and command.get("cmd") != "kill":
            pass
        kill_run(proc.pid, token)

    threading.Thread(target=watchdog, name="watchdog", daemon=True).start()
    stop = threading.Event()
    tree = TreeSampler(psutil, proc.pid) if psutil is not None else None
    if tree is None:
        sys.stderr.write("[frameduel agent] psutil is not installed here: no CPU/memory samples\n")
    sampler = threading.Thread(
        target=_sampler_loop,
        args=(channel, tree, gpu, float(setup.get("sample_hz", 10.0)), stop),
        name="sampler",
        daemon=True,
    )
    if setup.get("sampling", True):
        sampler.start()
    with os.fdopen(read_fd, "rb") as events:
        _relay(events, channel)
    code = proc.wait()
    stop.set()
    if sampler.is_alive():
        sampler.join()
    kill_run(proc.pid, token)  # grandchildren that outlived the child
    cpu_after = transport_cpu_s()
    # CPU the transport used while the child ran (relaying, sampling, the channel's crypto)
    used = {
        k: None if v is None or cpu_before[k] is None else v - (cpu_before[k] or 0.0)
        for k, v in cpu_after.items()
    }
    channel.send("exit", code=code, **used)
    return 0


def _send_error(channel: Channel, kind: str, message: str, prefix: bytes = b"") -> None:
    """An ``error`` event as the child would send it (the run fails with this message)."""
    event = {"v": 1, "kind": "error", "t": time.monotonic(), "type": kind, "message": message}
    channel.write_line(prefix + json.dumps(event).encode())


def transport_cpu_s() -> dict[str, float | None]:
    """CPU seconds used so far by the agent (relaying and sampling) and by its parent, the sshd
    process carrying the channel (Linux /proc only; None elsewhere)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    parent: float | None = None
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open(f"/proc/{os.getppid()}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        parent = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return {"agent_cpu_s": own.ru_utime + own.ru_stime, "channel_cpu_s": parent}
