"""Starts one framework's child process and reads what it says.

One place builds the child's command line (as in pyperf). The child is a fresh interpreter (never
a fork) in its own session, so the whole tree can be signalled at once; its events arrive on a
dedicated pipe, its stdout/stderr are kept as logs and never parsed.

The run's spec (the whole validated config) travels in a file beside the store's caches, not on
the command line, where Linux caps one argument at 128 KiB. Every process the run creates inherits
a token in its environment (``FRAMEDUEL_RUN_TOKEN``), so the tree can be found and killed even
after a daemon double-forked out of it and its parent died. Lines are read with a bounded buffer:
a child that prints a 100 MiB line costs the parent at most one line's limit.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import psutil

from profiler.config import Config
from profiler.paths import child_code_dir, default_python
from profiler.protocol import Event, GarbageLine, decode_event

WORKER_MODULE = "workloads.worker"
# Inherited by every process of a run: how the parent finds the ones that left its tree.
RUN_TOKEN_ENV = "FRAMEDUEL_RUN_TOKEN"
# Longest event line kept (an error's traceback fits); a longer one is garbage, never buffered.
MAX_EVENT_LINE_BYTES = 4 * 2**20
# Longest stdout/stderr line kept whole, and the most log text kept per run.
MAX_LOG_LINE_BYTES = 64 * 2**10
MAX_LOG_BYTES = 32 * 2**20
# Recorded with every run: they change what a framework does or where it writes.
RECORDED_ENV = frozenset(
    {
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "OPENBLAS_CORETYPE",
        "CUDA_VISIBLE_DEVICES",
        "CUDA_DEVICE_ORDER",
        "TF_CPP_MIN_LOG_LEVEL",
        "TF_ENABLE_ONEDNN_OPTS",
        "XLA_FLAGS",
        "KERAS_HOME",
        "TORCHINDUCTOR_CACHE_DIR",
        "TRITON_CACHE_DIR",
        "JAX_COMPILATION_CACHE_DIR",
        "MPLCONFIGDIR",
        "PYTHONPATH",
    }
)


def write_spec(config: Config, folder: Path, trace_dir: Path | None = None) -> Path:
    """Write the child's spec (the whole config and its window size) to a new file in ``folder``;
    with ``trace_dir``, the child runs the trace phase (``run.trace``) and writes there."""
    spec: dict[str, Any] = {
        "config": config.model_dump(mode="json"),
        "window_steps": config.window_steps(),
    }
    if trace_dir is not None and config.run.trace is not None:
        spec["trace"] = {"steps": config.run.trace.steps, "dir": str(trace_dir)}
    fd, name = tempfile.mkstemp(prefix="spec-", suffix=".json", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(spec, out, separators=(",", ":"))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
    return Path(name)


def child_command(
    framework: str,
    spec_file: Path,
    event_fd: int,
    python: str | None = None,
    worker_module: str = WORKER_MODULE,
) -> list[str]:
    """The argv running ``framework``'s workload for the spec in ``spec_file``, events to
    ``event_fd``."""
    return [
        python or default_python(),
        "-u",
        "-m",
        worker_module,
        "--framework",
        framework,
        "--event-fd",
        str(event_fd),
        "--spec-file",
        str(spec_file),
    ]


def script_command(line: str, python: str | None = None) -> list[str]:
    """The argv of a user's own command (``run.commands``); a leading ``python``/``python3``
    becomes the framework's interpreter (``run.python``, ``--python``), else FrameDuel's own."""
    words = shlex.split(line)
    if words and words[0] in ("python", "python3"):
        # As for FrameDuel's own workloads: the framework's interpreter, else FrameDuel's.
        words[0] = python or default_python()
    return words


def script_environment(framework: str, config: Config, event_fd: int) -> dict[str, str]:
    """What ``workloads.mark`` in a user's script reads: the pipe, the framework, the phases."""
    env = {
        "FRAMEDUEL_EVENT_FD": str(event_fd),
        "FRAMEDUEL_FRAMEWORK": framework,
        "FRAMEDUEL_WARMUP_STEPS": str(config.train.warmup_steps),
    }
    if config.train.window_steps is not None:
        env["FRAMEDUEL_WINDOW_STEPS"] = str(config.train.window_steps)
    return env


def child_environment(
    cache_dir: Path,
    threads: int | None = None,
    compile_cache: str = "cold",
    cold_compile_dir: Path | None = None,
) -> dict[str, str]:
    """The child's environment: our workloads importable, caches out of home, threads pinned.

    ``compile_cache`` ``"warm"`` keeps compile caches in ``cache_dir`` across runs (torch.compile's,
    and JAX's persistent compilation cache). ``"cold"`` gives JAX no persistent cache, and
    ``cold_compile_dir`` (a fresh, empty folder) becomes this run's torch.compile cache.
    """
    env = dict(os.environ)
    root = str(child_code_dir(cache_dir))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    cache_dir = cache_dir.absolute()
    for var, sub in (
        ("TORCHINDUCTOR_CACHE_DIR", "torchinductor"),
        ("KERAS_HOME", "keras"),
        ("MPLCONFIGDIR", "matplotlib"),
    ):
        # The child runs in the store's folder: a path the user gave relative to theirs is
        # made absolute first, so it names the folder they meant.
        env[var] = os.path.abspath(env[var]) if env.get(var) else str(cache_dir / sub)
    if compile_cache == "warm":
        cached = env.get("JAX_COMPILATION_CACHE_DIR")
        env["JAX_COMPILATION_CACHE_DIR"] = (
            os.path.abspath(cached) if cached else str(cache_dir / "jax")
        )
    else:
        # JAX always compiles (jit), with compile: true or not: cold means no persistent cache.
        env.pop("JAX_COMPILATION_CACHE_DIR", None)
        if cold_compile_dir is not None:
            env["TORCHINDUCTOR_CACHE_DIR"] = str(cold_compile_dir.absolute())
            env.pop("TRITON_CACHE_DIR", None)  # Triton's cache then lives inside inductor's
    env.setdefault("CUDA_DEVICE_ORDER", "PCI_BUS_ID")
    env["TF_CPP_MIN_LOG_LEVEL"] = env.get("TF_CPP_MIN_LOG_LEVEL", "2")
    if threads is not None:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[var] = str(threads)
    return env


class ChildProcess:
    """A running workload: its Popen, an event-reader thread and a log-reader thread."""

    # a local child has no link to lose (profiler.remote's runs on other hosts do)
    lost: str | None = None

    def __init__(
        self,
        framework: str,
        config: Config,
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
        self.token = uuid.uuid4().hex
        self.environment = child_environment(
            cache_dir, config.threads, config.train.compile_cache, cold_compile_dir
        )
        self.environment[RUN_TOKEN_ENV] = self.token
        script = {str(k): v for k, v in config.run.commands.items()}.get(framework)
        # the user's own script reads no spec: it is its own model
        self.spec_file: Path | None = (
            None if script is not None else write_spec(config, cache_dir, trace_dir)
        )
        try:
            read_fd, write_fd = os.pipe()
        except BaseException:
            self._remove_spec()
            raise
        if script is not None:
            self.command = script_command(script, python)
            self.environment.update(script_environment(framework, config, write_fd))
            cwd = config.run.workdir or os.getcwd()
        else:
            assert self.spec_file is not None
            self.command = child_command(framework, self.spec_file, write_fd, python, worker_module)
            cwd = str(cache_dir.parent)
        try:
            self.proc = subprocess.Popen(
                self.command,
                env=self.environment,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(write_fd,),
                start_new_session=True,
                cwd=cwd,
            )
        except BaseException:
            os.close(read_fd)
            self._remove_spec()
            raise
        finally:
            os.close(write_fd)
        self.pid = self.proc.pid
        self._events = os.fdopen(read_fd, "rb")
        self._on_event = on_event
        self._on_garbage = on_garbage
        self._on_log = on_log
        self._readers = [
            threading.Thread(target=self._read_events, name=f"events-{self.pid}", daemon=True),
            threading.Thread(target=self._read_logs, name=f"logs-{self.pid}", daemon=True),
        ]
        for t in self._readers:
            t.start()

    def recorded_environment(self) -> dict[str, str]:
        """The variables of the child's environment that change what it measures."""
        return {k: v for k, v in sorted(self.environment.items()) if k in RECORDED_ENV}

    def _read_events(self) -> None:
        with self._events:
            for raw, dropped in bounded_lines(self._events, MAX_EVENT_LINE_BYTES):
                if dropped:
                    self._on_garbage(
                        f"a line of {len(raw) + dropped:,} bytes, over the "
                        f"{MAX_EVENT_LINE_BYTES // 2**20} MiB limit, was dropped: {raw[:200]!r}"
                    )
                    continue
                if not raw.endswith(b"\n"):
                    self._on_garbage(f"half line at end of pipe: {raw[:200]!r}")
                    continue
                try:
                    event = decode_event(raw)
                except GarbageLine as exc:
                    self._on_garbage(str(exc))
                    continue
                try:
                    self._on_event(event)
                except Exception as exc:  # a bug handling one event must not end the reader
                    self._on_garbage(
                        f"a {event.kind} event could not be handled "
                        f"({type(exc).__name__}: {exc}): {str(event.payload)[:200]}"
                    )

    def _read_logs(self) -> None:
        stream: IO[bytes] | None = self.proc.stdout
        if stream is None:
            return
        kept = lost_lines = lost_bytes = 0
        with stream:
            for raw, dropped in bounded_lines(stream, MAX_LOG_LINE_BYTES):
                if kept >= MAX_LOG_BYTES:
                    # Keep draining, or the child would block on a full pipe.
                    lost_lines += 1
                    lost_bytes += len(raw) + dropped
                    continue
                line = raw.decode("utf-8", errors="replace").rstrip("\n")
                if dropped:
                    line += (
                        f" [frameduel: line cut at {MAX_LOG_LINE_BYTES // 2**10} KiB, "
                        f"{dropped:,} more bytes dropped]"
                    )
                kept += len(raw)
                self._on_log(line)
                if kept >= MAX_LOG_BYTES:
                    self._on_log(
                        f"[frameduel] this run's log reached {MAX_LOG_BYTES // 2**20} MiB; "
                        "the rest of its output is dropped"
                    )
        if lost_lines:
            self._on_log(
                f"[frameduel] {lost_lines:,} more lines ({lost_bytes:,} bytes) of output "
                "were dropped"
            )

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the child to exit (raises subprocess.TimeoutExpired)."""
        return self.proc.wait(timeout)

    def close(self) -> None:
        """Kill what is left of the run's processes, let the readers drain the pipes, and remove
        the spec file. Call once the child has exited or been given up on."""
        self.kill_tree()
        with contextlib.suppress(subprocess.TimeoutExpired):  # reaped, even when nobody waited
            self.proc.wait(timeout=5.0)
        # The readers end at EOF, which comes once every holder of the pipes is dead.
        for t in self._readers:
            t.join(timeout=5.0)
        self._remove_spec()

    def _remove_spec(self) -> None:
        if self.spec_file is not None:
            with contextlib.suppress(OSError):
                self.spec_file.unlink()
            self.spec_file = None

    def kill_tree(self) -> None:
        """SIGKILL the child's session and every process the run created: its descendants,
        and any that left the tree (a double-forked daemon) but carry the run's token."""
        try:
            descendants = psutil.Process(self.pid).children(recursive=True)
        except psutil.Error:
            descendants = []
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self.proc.kill()
        known = {p.pid for p in descendants}
        victims = descendants + [p for p in processes_of_run(self.token) if p.pid not in known]
        for p in victims:
            with contextlib.suppress(psutil.Error):
                p.kill()
        # SIGKILL is asynchronous: make sure the tree is gone before anyone measures the next run.
        psutil.wait_procs(victims, timeout=2.0)


def processes_of_run(token: str) -> list[psutil.Process]:
    """Processes (of this user) whose environment carries the run's token, this one excepted."""
    found = []
    for proc in psutil.process_iter():
        if proc.pid == os.getpid():
            continue
        with contextlib.suppress(psutil.Error):
            if proc.environ().get(RUN_TOKEN_ENV) == token:
                found.append(proc)
    return found


def bounded_lines(stream: IO[bytes], limit: int) -> Iterator[tuple[bytes, int]]:
    """The stream's lines, each cut at ``limit`` bytes: (the kept head, bytes dropped after it,
    not counting the newline).

    Memory stays within ``limit`` whatever the line's length; a last line without a newline
    comes out as it is.
    """
    while True:
        head = stream.readline(limit)
        if not head:
            return
        dropped = 0
        if len(head) >= limit and not head.endswith(b"\n"):
            while rest := stream.readline(limit):
                if rest.endswith(b"\n"):
                    dropped += len(rest) - 1
                    break
                dropped += len(rest)
        yield head, dropped


def describe_exit(code: int) -> str:
    """Words for an exit status: 'killed by SIGKILL' or 'exited with code 3'."""
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by {name}"
    return f"exited with code {code}"
