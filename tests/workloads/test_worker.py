"""The worker as the parent runs it: real subprocess, real frameworks, real event pipe."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.workloads.helpers import (
    ROOT,
    TINY,
    WorkerRun,
    child_env,
    make_spec,
    run_worker,
    worker_command,
)
from workloads.base import MIN_WINDOW_S, MIN_WINDOWS

FRAMEWORKS = ("torch", "tensorflow", "jax")
STEPS = TINY["train"]["steps"]
WARMUP = TINY["train"]["warmup_steps"]
WINDOW = TINY["train"]["window_steps"]
BATCH = TINY["train"]["batch_size"]
# 16->8->5->3, kernels and biases
ANALYTIC_PARAMS = (16 * 8 + 8) + (8 * 5 + 5) + (5 * 3 + 3)

# Measured on this project's CPU machines: the first-batch loss agrees bit for bit or to ~1e-7,
# and every window's loss over 30 SGD-momentum steps to <= 1.2e-7 (float32 rounding in different
# kernels). Rounding differences grow with model size and steps: the 784-256-128-10 demo ends 200
# steps 4.5e-5 apart. The bounds leave room for other CPUs and library versions and still catch
# any semantic mismatch (another momentum convention, a transposed kernel), which moves the loss
# by 1e-2 or more.
PARITY_RTOL = 1e-5
TRAINED_RTOL = 1e-4

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, WorkerRun]:
    """The tiny config, run once per framework."""
    workdir = tmp_path_factory.mktemp("runs")
    spec = make_spec()
    return {fw: run_worker(fw, spec, workdir / fw) for fw in FRAMEWORKS}


def _token(event_kind: str, name: str | None, state: str | None) -> str:
    return f"{name}:{state}" if event_kind == "phase" else event_kind


def _shape(run: WorkerRun) -> list[str]:
    """The event sequence with each run of consecutive windows folded into ``window*``."""
    tokens: list[str] = []
    for e in run.events:
        token = _token(e.kind, e.get("name"), e.get("state"))
        if token == "window" and tokens[-1] == "window*":
            continue
        tokens.append("window*" if token == "window" else token)
    return tokens


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_event_sequence(runs: dict[str, WorkerRun], framework: str) -> None:
    run = runs[framework]
    assert run.returncode == 0, run.log
    assert _shape(run) == [
        "import:start",
        "import:end",
        "hello",
        "build:start",
        "model",
        "env",
        "build:end",
        "warmup:start",
        "first_step",
        "window*",
        "warmup:end",
        "measure:start",
        "window*",
        "measure:end",
        "memory",
        "done",
    ]
    times = [e.t for e in run.events]
    assert times == sorted(times)
    hello = run.one("hello")
    assert hello.get("pid") == run.pid
    assert hello.get("framework") == framework
    assert hello.get("device") == "cpu"
    assert isinstance(hello.get("framework_version"), str)
    assert hello.get("python") == ".".join(map(str, sys.version_info[:3]))
    assert run.one("done").get("steps") == STEPS


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_windows_cover_every_step_once(runs: dict[str, WorkerRun], framework: str) -> None:
    windows = runs[framework].of("window")
    done = 0
    for w in windows:
        assert 1 <= w.get("steps") <= WINDOW
        done += w.get("steps")
        assert w.get("step") == done
        assert w.get("samples") == w.get("steps") * BATCH
        assert w.get("seconds") > 0
        assert math.isfinite(w.get("loss"))
        assert w.get("phase") == ("warmup" if done <= WARMUP else "measure")
    assert done == STEPS
    assert sum(w.get("steps") for w in windows if w.get("phase") == "warmup") == WARMUP


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_model_env_first_step_and_memory(runs: dict[str, WorkerRun], framework: str) -> None:
    run = runs[framework]
    model = run.one("model")
    assert model.get("params") == ANALYTIC_PARAMS
    assert model.get("flops_per_step") == 6 * (16 * 8 + 8 * 5 + 5 * 3) * BATCH
    # without dropout the first training step sees the parity loss (computed before updates)
    first = run.one("first_step")
    assert first.get("step") == 1
    assert first.get("loss") == pytest.approx(model.get("parity_loss"), rel=1e-6)
    settings = run.one("env").get("settings")
    assert settings["intra_op_threads"] == 1
    assert settings["inter_op_threads"] == 1
    assert settings["tf32"] is False
    # XLA is JAX's only execution mode: its step is compiled even without train.compile
    assert settings["jit_compile"] is (framework == "jax")
    assert settings["precision"] == "fp32"
    # threads: 1 on a machine with more CPUs: pinned (run.affinity auto) to the highest one, and
    # the kernel agrees (cpus_available is read back from the worker's own affinity mask)
    allowed = sorted(os.sched_getaffinity(0))
    pinned = [allowed[-1]] if len(allowed) > 1 else None
    assert settings["cpu_affinity"] == pinned
    assert settings["cpus_available"] == (1 if pinned else len(allowed))
    memory = run.one("memory")
    assert memory.get("allocator_bytes") is None
    assert memory.get("allocator_peak_bytes") is None


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b))


def test_jax_settings(runs: dict[str, WorkerRun]) -> None:
    settings = runs["jax"].one("env").get("settings")
    assert settings["execution"] == "jax.jit (XLA)"
    assert settings["jax_enable_x64"] is False
    assert settings["float32_matmul_precision"] == "highest"
    # threads: 1 sizes XLA:CPU's thread pool; GPU memory is not grabbed up front
    assert settings["pjrt_nproc"] == "1"
    assert settings["xla_python_client_preallocate"] == "false"
    assert settings["backend"] == "cpu"
    assert settings["donated_state"] is True


@pytest.mark.parametrize("framework", FRAMEWORKS[1:])
def test_frameworks_agree(runs: dict[str, WorkerRun], framework: str) -> None:
    torch_run, other = runs["torch"], runs[framework]
    assert torch_run.one("model").get("params") == other.one("model").get("params")
    parity = [r.one("model").get("parity_loss") for r in (torch_run, other)]
    assert _rel(*parity) < PARITY_RTOL
    # every window's last loss, not just the final one: a drift shows up early
    for a, b in zip(torch_run.of("window"), other.of("window"), strict=True):
        assert a.get("step") == b.get("step")
        assert _rel(a.get("loss"), b.get("loss")) < TRAINED_RTOL, (a, b)
    # and training did something, so agreement is not trivially about unchanged weights
    assert torch_run.of("window")[-2].get("loss") < parity[0]


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_missing_device_is_an_error_event(tmp_path: Path, framework: str) -> None:
    run = run_worker(framework, make_spec(device="cuda:7"), tmp_path)
    assert run.returncode == 1
    assert [e.kind for e in run.events][-1] == "error"
    assert not run.of("done")
    error = run.one("error")
    assert error.get("type") == "RuntimeError"
    assert "cuda:7" in error.get("message")
    assert error.get("traceback").startswith("Traceback (most recent call last)")
    assert "setup" in error.get("traceback")
    assert error.get("oom") is False
    assert "RuntimeError" in run.log


def test_out_of_memory_is_flagged(tmp_path: Path) -> None:
    # 2**50 samples of 16 floats: 64 PiB, past any address space, so allocation fails at once.
    # The config's bounds refuse this in the parent; the child is given it directly.
    spec = make_spec()
    spec["config"]["data"]["samples"] = 2**50
    run = run_worker("torch", spec, tmp_path)
    assert run.returncode == 1
    error = run.one("error")
    assert error.get("oom") is True
    assert "MemoryError" in error.get("traceback")
    assert _shape(run)[-2:] == ["build:start", "error"]


def test_worker_exits_when_its_parent_dies(tmp_path: Path) -> None:
    # A middle process starts the worker on a run far too long to finish, waits for its hello,
    # reports the worker's pid and dies. No events follow for a long time (one huge window), so
    # only the orphan guards can end the worker.
    spec = make_spec(train__steps=10**8, train__warmup_steps=0, train__window_steps=10**8)
    middle = """
import json, os, subprocess, sys
r, w = os.pipe()
cmd = [str(w) if arg == "EVENT_FD" else arg for arg in json.loads(sys.argv[1])]
with open(sys.argv[2], "wb") as log:
    proc = subprocess.Popen(cmd, pass_fds=(w,), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
os.close(w)
buf = b""
while b'"hello"' not in buf:
    chunk = os.read(r, 4096)
    if not chunk:
        sys.exit(2)
    buf += chunk
print(proc.pid, flush=True)
os._exit(0)
"""
    command = worker_command("torch", spec, "EVENT_FD")
    done = subprocess.run(
        [sys.executable, "-c", middle, json.dumps(command), str(tmp_path / "worker.log")],
        cwd=ROOT,
        env=child_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    pid = int(done.stdout.split()[-1])
    deadline = time.monotonic() + 10
    try:
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.1)
        pytest.fail("the orphaned worker was still running 10 s after its parent died")
    finally:
        if _alive(pid):
            psutil.Process(pid).kill()


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.slow
def test_windows_of_very_short_steps_grow_to_a_useful_length(tmp_path: Path) -> None:
    """Left to FrameDuel, measured windows of sub-millisecond steps last about 50 ms (so the
    closing sync and event cost well under 1%), yet at least 20 windows remain."""
    steps = 6000
    auto = make_spec(train__steps=steps, train__warmup_steps=200, train__window_steps=None)
    run = run_worker("torch", auto, tmp_path / "auto")
    assert run.returncode == 0, run.log[-2000:]
    measured = [w for w in run.of("window") if w.get("phase") == "measure"]
    base = auto["window_steps"]
    assert sum(w.get("steps") for w in measured) == steps - 200
    assert len(measured) >= 20
    sizes = {w.get("steps") for w in measured[:-1]}
    (size,) = sizes  # one size, the last window may be shorter
    # The size follows from the last warmup window's step time, whatever the machine's load: a
    # busy machine makes steps slower and windows shorter, but the rule is the same.
    last = [w for w in run.of("window") if w.get("phase") == "warmup"][-1]
    step_s = last.get("seconds") / last.get("steps")
    expected = max(base, min(math.ceil(MIN_WINDOW_S / step_s), (steps - 200) // MIN_WINDOWS))
    assert size == expected
    fixed = make_spec(train__steps=steps, train__warmup_steps=200, train__window_steps=base)
    run = run_worker("torch", fixed, tmp_path / "fixed")
    measured = [w for w in run.of("window") if w.get("phase") == "measure"]
    assert {w.get("steps") for w in measured[:-1]} == {base}
