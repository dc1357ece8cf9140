"""Faults survived, explained, nothing lost: real misbehaving children through the real engine."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import psutil

from profiler.session import ComparisonSession, RunOptions, RunOutcome
from profiler.store import Store
from tests.profiler.conftest import tiny_config

MISBEHAVING = "tests.profiler.misbehaving_worker"


def _session(store: Store, frameworks: list[str], **run: object) -> ComparisonSession:
    options = RunOptions(worker_module=MISBEHAVING)
    return ComparisonSession(tiny_config(frameworks, **run), store, options=options)


def _by_framework(outcomes: list[RunOutcome]) -> dict[str, RunOutcome]:
    return {o.framework: o for o in outcomes}


def test_each_fault_is_named_and_the_other_runs_continue(store: Store) -> None:
    session = _session(store, ["exception", "oom", "segfault", "sigkill", "silent-exit", "ok"])
    out = _by_framework(session.run())
    assert out["exception"].status == "failed"
    assert "ValueError: shape mismatch in layer 2" in (out["exception"].error or "")
    assert (out["oom"].error or "").startswith("out of memory (peak RSS seen ")
    assert "tried to allocate 4 GiB" in (out["oom"].error or "")
    assert "SIGSEGV" in (out["segfault"].error or "")
    assert "killed by SIGKILL" in (out["sigkill"].error or "")
    assert "out-of-memory killer" in (out["sigkill"].error or "")
    assert "without finishing" in (out["silent-exit"].error or "")
    assert out["ok"].status == "ok"
    stored = store.load(session.session_id or -1)
    assert stored.status == "failed"
    by_fw = {r.framework: r for r in stored.runs}
    tb = by_fw["exception"].events_of("error")[0].payload["traceback"]
    assert "Traceback" in tb and "shape mismatch" in tb
    # What arrived before the crash is kept.
    assert len(by_fw["segfault"].events_of("window")) == 2
    assert any("misbehaving worker: segfault" in line for _, line in by_fw["segfault"].logs)


def test_hang_is_ended_by_the_timeout_and_its_tree_killed(store: Store) -> None:
    session = _session(store, ["hang", "ok"], timeout_s=1.5)
    out = _by_framework(session.run())
    assert out["hang"].status == "timeout"
    assert "timed out after 1.5 s" in (out["hang"].error or "")
    assert out["ok"].status == "ok"


def test_garbage_on_the_pipe_is_logged_and_the_run_goes_on(store: Store) -> None:
    session = _session(store, ["garbage"])
    (outcome,) = session.run()
    assert outcome.status == "ok", outcome.error
    run = store.load(session.session_id or -1).runs[0]
    reasons = [e.payload["reason"] for e in run.events_of("garbage")]
    assert len(reasons) == 3
    assert any("not JSON" in r for r in reasons)
    assert any("half line" in r for r in reasons)
    assert len(run.events_of("window")) == 5


def test_stop_kills_grandchildren_too(store: Store) -> None:
    session = _session(store, ["grandchildren", "ok"])
    pids: list[int] = []

    class Listener:
        def run_started(self, run: object) -> None: ...
        def run_sample(self, *a: object) -> None: ...
        def run_log(self, *a: object) -> None: ...
        def run_finished(self, outcome: object) -> None: ...

        def run_event(self, run_id: int, t: float, event: object) -> None:
            msg = getattr(event, "payload", {}).get("message", "")
            if msg.startswith("grandchildren"):
                pids.extend(int(p) for p in msg.split("[")[1].rstrip("]").split(","))
                session.stop()

    session.listener = Listener()
    out = _by_framework(session.run())
    assert out["grandchildren"].status == "stopped"
    assert out["ok"].status == "stopped" and out["ok"].error == "not started"
    assert len(pids) == 2
    for pid in pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert store.load(session.session_id or -1).status == "stopped"


def test_interpreter_per_framework_environment_and_cooldown(store: Store, tmp_path: Path) -> None:
    marker = tmp_path / "used"
    wrapper = tmp_path / "other-python"
    wrapper.write_text(f'#!/bin/sh\ntouch "{marker}"\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    options = RunOptions(worker_module=MISBEHAVING, pythons={"ok": str(wrapper)}, cooldown_s=0.5)
    config = tiny_config(["ok", "silent-exit"]).model_copy(update={"threads": 1})
    session = ComparisonSession(config, store, options=options)
    start = time.monotonic()
    session.run()
    assert time.monotonic() - start >= 0.5
    assert marker.exists()
    runs = {r.framework: r for r in store.load(session.session_id or -1).runs}
    assert runs["ok"].info["python"] == str(wrapper)
    assert runs["silent-exit"].info["python"] == sys.executable
    env = runs["ok"].info["environment"]
    assert env["OMP_NUM_THREADS"] == "1"
    assert "KERAS_HOME" in env and "PYTHONPATH" in env
    assert "HOME" not in env


def test_config_run_settings_apply_unless_overridden(store: Store) -> None:
    run = {"python": {"torch": sys.executable}, "cooldown_s": 3.0}
    config = tiny_config(["torch"]).model_copy(
        update={"run": tiny_config(["torch"]).run.model_copy(update=run)}
    )
    assert ComparisonSession(config, store).options.pythons == {"torch": sys.executable}
    assert ComparisonSession(config, store).options.cooldown_s == 3.0
    override = RunOptions(pythons={"torch": "/opt/other/python"}, cooldown_s=1.0)
    session = ComparisonSession(config, store, options=override)
    assert session.options.pythons == {"torch": "/opt/other/python"}
    assert session.options.cooldown_s == 1.0
