"""Faults that need a real framework in the child: a custom module that daemonises a process,
a loss that diverges. Real PyTorch, TensorFlow and JAX on tiny models, through the real engine."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest

from profiler.config import Config
from profiler.session import ComparisonSession
from profiler.store import Store

pytestmark = pytest.mark.slow

DAEMONISING_MODULE = '''
import os
import time


def _daemon(pidfile):
    """The classic double fork: the grandchild leaves the session and its parent exits."""
    first = os.fork()
    if first == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv("/bin/sh", ["sh", "-c", f"echo $$ > {pidfile}.tmp && mv {pidfile}.tmp "
                                 f"{pidfile} && exec sleep 3600"])
        os._exit(0)
    os.waitpid(first, 0)
    for _ in range(200):
        if os.path.exists(pidfile):
            return
        time.sleep(0.05)


def build_torch(config):
    import torch
    from torch import nn

    _daemon(config["model"]["options"]["pidfile"])
    model = nn.Sequential(nn.Linear(4, 2))
    return model, nn.CrossEntropyLoss(), torch.optim.SGD(model.parameters(), lr=0.1)
'''


def _config(tmp_path: Path, frameworks: list[str], **changes: Any) -> Config:
    data: dict[str, Any] = {
        "name": "faults",
        "frameworks": frameworks,
        "threads": 1,
        "model": {"family": "mlp", "input_dim": 4, "hidden": [3], "num_classes": 2},
        "data": {"samples": 16},
        "train": {"batch_size": 8, "steps": 6, "warmup_steps": 2, "window_steps": 2},
        "run": {"sample_hz": 5},
    }
    for key, value in changes.items():
        data[key] = {**data[key], **value} if key in ("data", "train") else value
    return Config.model_validate(data, context={"base_dir": str(tmp_path)})


def test_a_daemon_double_forked_by_a_custom_module_dies_with_the_run(tmp_path: Path) -> None:
    module = tmp_path / "daemonising.py"
    module.write_text(DAEMONISING_MODULE)
    pidfile = tmp_path / "daemon.pid"
    model = {
        "family": "custom",
        "module": str(module),
        "input_shape": [4],
        "num_classes": 2,
        "options": {"pidfile": str(pidfile)},
    }
    config = _config(tmp_path, ["torch"], model=model)
    with Store(tmp_path / "store.sqlite3") as store:
        (outcome,) = ComparisonSession(config, store).run()
    assert outcome.status == "ok", outcome.error
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while psutil.pid_exists(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    if alive:  # do not leave it behind for the next test
        os.kill(pid, 9)
    assert not alive, f"the daemon {pid} outlived the run"


@pytest.fixture
def nan_data(tmp_path: Path) -> Path:
    """Finite inputs, NaN regression targets: the mse loss is NaN from step 1 in any framework.
    (NaN inputs would not do: TensorFlow's ReLU on the CPU turns NaN into 0.)"""
    path = tmp_path / "nan.npz"
    np.savez(path, x=np.ones((16, 4), np.float32), y=np.full((16, 2), np.nan, np.float32))
    return path


def test_a_loss_that_becomes_nan_fails_the_run_in_every_framework(
    tmp_path: Path, nan_data: Path
) -> None:
    config = _config(
        tmp_path,
        ["torch", "tensorflow", "jax"],
        data={"kind": "npz", "path": str(nan_data), "samples": 16},
        train={"loss": "mse"},
    )
    with Store(tmp_path / "store.sqlite3") as store:
        session = ComparisonSession(config, store)
        outcomes = session.run()
        stored = store.load(session.session_id or -1)
    for outcome in outcomes:
        assert outcome.status == "failed", outcome
        assert "LossDiverged: loss diverged at step 1: it is nan" in (outcome.error or "")
    assert stored.status == "failed"
    for run in stored.runs:  # what was measured before the check is kept
        assert run.events_of("first_step")[0].payload["loss"] is None


def test_allow_nonfinite_loss_records_the_run(tmp_path: Path, nan_data: Path) -> None:
    config = _config(
        tmp_path,
        ["torch"],
        data={"kind": "npz", "path": str(nan_data), "samples": 16},
        train={"loss": "mse", "allow_nonfinite_loss": True},
    )
    with Store(tmp_path / "store.sqlite3") as store:
        session = ComparisonSession(config, store)
        (outcome,) = session.run()
        run = store.load(session.session_id or -1).runs[0]
    assert outcome.status == "ok", outcome.error
    losses = [e.payload["loss"] for e in run.events_of("window") if e.payload["phase"] != "trace"]
    assert len(losses) == 3 and losses == [None] * 3
