"""Run the real worker as a subprocess and collect its events, for the workload tests."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from profiler.config import Config
from profiler.protocol import Event, decode_event

ROOT = Path(__file__).resolve().parents[2]

# The tiny comparison every framework test runs: odd layer sizes catch transposed kernels.
TINY: dict[str, Any] = {
    "name": "tiny",
    "threads": 1,
    "seed": 7,
    "model": {"family": "mlp", "input_dim": 16, "hidden": [8, 5], "num_classes": 3},
    "data": {"samples": 64},
    "train": {
        "batch_size": 8,
        "steps": 30,
        "warmup_steps": 5,
        "window_steps": 4,
        "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9},
    },
}


def make_spec(**changes: Any) -> dict[str, Any]:
    """The ``--spec`` object for TINY with changes (``train__steps=9``: nested), Config-checked."""
    data = json.loads(json.dumps(TINY))
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    config = Config.model_validate(data)
    return {"config": config.model_dump(), "window_steps": config.window_steps()}


def config_spec(config: dict[str, Any]) -> dict[str, Any]:
    """The ``--spec`` object for a config given as a dict, validated as the parent does."""
    checked = Config.model_validate(config)
    return {"config": checked.model_dump(mode="json"), "window_steps": checked.window_steps()}


def child_env(workdir: Path) -> dict[str, str]:
    """The environment of a worker: caches in ``workdir``, the project importable."""
    env = dict(os.environ)
    for var, sub in (
        ("KERAS_HOME", "keras"),
        ("MPLCONFIGDIR", "mpl"),
        ("TORCHINDUCTOR_CACHE_DIR", "inductor"),
    ):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
        env[var] = str(workdir / sub)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


@dataclass(frozen=True)
class WorkerRun:
    """What one worker process reported and how it ended."""

    pid: int
    returncode: int
    events: list[Event]
    log: str

    def of(self, kind: str) -> list[Event]:
        """Events of one kind, in order."""
        return [e for e in self.events if e.kind == kind]

    def one(self, kind: str) -> Event:
        """The only event of ``kind``; fails the test if there is not exactly one."""
        found = self.of(kind)
        assert len(found) == 1, f"expected one {kind!r} event, got {len(found)}\n{self.log}"
        return found[0]


def worker_command(framework: str, spec: dict[str, Any], event_fd: int | str) -> list[str]:
    """The worker's command line, as the parent builds it."""
    return [
        sys.executable,
        "-m",
        "workloads.worker",
        "--framework",
        framework,
        "--event-fd",
        str(event_fd),
        "--spec",
        json.dumps(spec),
    ]


def run_worker(
    framework: str, spec: dict[str, Any], workdir: Path, timeout_s: float = 120.0
) -> WorkerRun:
    """Run the worker to the end; kill it (and fail) if it outlives ``timeout_s``."""
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / f"{framework}.log"
    read_fd, write_fd = os.pipe()
    try:
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                worker_command(framework, spec, write_fd),
                pass_fds=(write_fd,),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                env=child_env(workdir),
            )
    finally:
        os.close(write_fd)
    try:
        raw = read_until_eof(read_fd, time.monotonic() + timeout_s)
        returncode = proc.wait(timeout=10)
    finally:
        os.close(read_fd)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    events = [decode_event(line) for line in raw.decode("utf-8").splitlines()]
    return WorkerRun(proc.pid, returncode, events, log_path.read_text(errors="replace"))


def read_until_eof(fd: int, deadline: float) -> bytes:
    """Everything written to the pipe ``fd`` until every writer closed it."""
    chunks: list[bytes] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the worker did not close its event pipe in time")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def probe_all(
    frameworks: tuple[str, ...], specs: list[dict[str, Any]], workdir: Path, timeout_s: float = 240
) -> dict[str, list[dict[str, Any]]]:
    """Each framework's ``parity_probe`` results for every spec, the children running at once."""
    text = json.dumps(specs)
    procs = {
        fw: subprocess.Popen(
            [sys.executable, "-m", "tests.workloads.parity_probe", fw],
            cwd=ROOT,
            env=child_env(workdir / fw),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for fw in frameworks
    }
    out = {}
    try:
        for fw, proc in procs.items():
            stdout, stderr = proc.communicate(text, timeout=timeout_s)
            assert proc.returncode == 0, stderr[-4000:]
            out[fw] = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
            assert len(out[fw]) == len(specs), stderr[-4000:]
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    return out
