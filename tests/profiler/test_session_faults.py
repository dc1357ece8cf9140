"""Faults survived, explained, nothing lost: real misbehaving children through the real engine."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import psutil
import pytest

from profiler.config import OverrideError, apply_overrides
from profiler.events import Garbage, Window
from profiler.report import REPORT_SUFFIXES, build_report, write_report
from profiler.session import ComparisonSession, RunOptions, RunOutcome
from profiler.store import Store
from tests.profiler.conftest import tiny_config, with_run

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
        def runs_added(self, runs: object) -> None: ...
        def certainty_changed(self, certainty: object) -> None: ...

        def run_event(self, run_id: int, t: float, event: object) -> None:
            msg = getattr(event, "payload", {}).get("message", "")
            if msg.startswith("grandchildren"):
                pids.extend(int(p) for p in msg.split("[")[1].rstrip("]").split(","))
                session.stop()

    session.listener = Listener()
    out = _by_framework(session.run())
    assert out["grandchildren"].status == "stopped"
    assert out["ok"].status == "not run" and out["ok"].error == "stopped by the user"
    assert len(pids) == 2
    for pid in pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert store.load(session.session_id or -1).status == "stopped"


def test_interpreter_per_framework_environment_and_cooldown(store: Store, tmp_path: Path) -> None:
    marker = tmp_path / "used"
    wrapper = tmp_path / "other-python"
    wrapper.write_text(f'#!/bin/sh\ntouch "{marker}"\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    options = RunOptions(worker_module=MISBEHAVING)
    config = with_run(
        tiny_config(["ok", "silent-exit"]).model_copy(update={"threads": 1}),
        python={"ok": str(wrapper)},
        cooldown_s=0.5,
    )
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


def test_cooldown_and_interpreters_override_the_config_through_one_path(
    store: Store, tmp_path: Path
) -> None:
    other = tmp_path / "other-python"
    other.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    other.chmod(0o755)
    run = {"python": {"torch": sys.executable}, "cooldown_s": 3.0}
    config = with_run(tiny_config(["torch"]), **run)
    # 0 is a value: a pause the config asks for can be overridden away (it was taken as unset)
    quick = apply_overrides(config, "t.yaml", cooldown_s=0, python={"torch": str(other)})
    assert quick.run.cooldown_s == 0.0
    assert quick.run.python == {"torch": str(other)}
    assert apply_overrides(config, "t.yaml").run == config.run  # nothing given: as the file says
    with pytest.raises(OverrideError) as bad:
        apply_overrides(config, "t.yaml", cooldown_s=-1)
    assert str(bad.value) == (
        "--cooldown -1: run.cooldown_s: Input should be greater than or equal to 0"
    )
    assert bad.value.override is not None and bad.value.override.key == "cooldown_s"


def _cache_lines(store: Store, session: ComparisonSession) -> list[str]:
    stored = store.load(session.session_id or -1)
    return [line for run in stored.runs for _, line in run.logs if line.startswith("cache ")]


def _jax_cache_lines(store: Store, session: ComparisonSession) -> list[str]:
    stored = store.load(session.session_id or -1)
    return [line for run in stored.runs for _, line in run.logs if line.startswith("jax cache")]


def test_a_cold_compile_cache_is_fresh_for_every_run_and_removed(store: Store) -> None:
    config = tiny_config(["compile-cache"], repeats=2)
    train = config.train.model_copy(update={"compile": True})
    session = ComparisonSession(
        config.model_copy(update={"train": train}),
        store,
        options=RunOptions(worker_module=MISBEHAVING),
    )
    assert [o.status for o in session.run()] == ["ok", "ok"]
    lines = _cache_lines(store, session)
    assert len(lines) == 2 and all(line.endswith("holds []") for line in lines), lines
    folders = [line.split()[1] for line in lines]
    cache = store.path.absolute().parent / "cache"
    assert folders[0] != folders[1]
    assert all(Path(f).parent == cache and not Path(f).exists() for f in folders)
    assert _jax_cache_lines(store, session) == ["jax cache None"] * 2


def test_jax_has_no_persistent_cache_when_cold_even_without_compile(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", "/somewhere/warm")  # cold wins over it
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)  # the worker writes there
    session = ComparisonSession(
        tiny_config(["compile-cache"]), store, options=RunOptions(worker_module=MISBEHAVING)
    )
    assert [o.status for o in session.run()] == ["ok"]
    assert _jax_cache_lines(store, session) == ["jax cache None"]


def test_a_warm_compile_cache_is_shared_between_runs(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)  # else the user's is used
    config = tiny_config(["compile-cache"], repeats=2)
    train = config.train.model_copy(update={"compile": True, "compile_cache": "warm"})
    session = ComparisonSession(
        config.model_copy(update={"train": train}),
        store,
        options=RunOptions(worker_module=MISBEHAVING),
    )
    assert [o.status for o in session.run()] == ["ok", "ok"]
    first, second = _cache_lines(store, session)
    assert (
        first.split()[1] == second.split()[1] == str(store.path.parent / "cache" / "torchinductor")
    )
    assert "kernel-" in second  # the second run found what the first compiled
    jax = str(store.path.parent / "cache" / "jax")
    assert _jax_cache_lines(store, session) == [f"jax cache {jax}"] * 2


def test_events_of_wrong_types_are_garbage_the_run_goes_on_and_exports(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the issue found: a window with "steps": "y" killed the reader thread, one with
    "loss": "abc" made the session impossible to export. Each is now garbage with its reason,
    never a typed event; the worker's good windows after them still arrive; every format
    exports."""
    lines = [
        '{"v":1,"kind":"window","t":1,"phase":"measure","step":1,"steps":"y","seconds":0.1}',
        '{"v":1,"kind":"window","t":1,"phase":"measure","step":1,"steps":1,"seconds":1,'
        '"loss":"abc"}',
        '{"v":1,"kind":"window","t":1,"phase":"measure","step":1,"steps":1,"seconds":NaN}',
        '{"v":2,"kind":"window","t":1,"phase":"measure","step":1,"steps":1,"seconds":1}',
        '{"v":1,"kind":"model","t":1,"params":"many"}',
    ]
    replay = tmp_path / "lines"
    replay.write_text("".join(line + "\n" for line in lines))
    monkeypatch.setenv("FRAMEDUEL_TEST_REPLAY", str(replay))
    session = _session(store, ["replay"])
    (outcome,) = session.run()
    assert outcome.status == "ok", outcome.error
    run = store.load(session.session_id or -1).runs[0]
    reasons = [g.reason for _, g in run.views(Garbage)]
    assert len(reasons) == 5
    assert "window event: 'steps' must be an integer in [1, " in reasons[0]
    assert "window event: 'loss' must be a finite number" in reasons[1]
    assert (
        "window event: 'seconds' must be a number of seconds in [1e-09, 1e+07], not nan"
        in (reasons[2])
    )
    assert "protocol version 2, expected 1" in reasons[3]
    assert "model event: 'params' must be an integer" in reasons[4]
    # no bad value reached a typed event: the windows are the worker's own, one per line
    windows = [w for _, w in run.views(Window)]
    assert [w.steps for w in windows] == [1] * len(lines)
    assert all(w.loss == 1.0 for w in windows)
    assert run.info["protocol_version"] == 1  # what the child sent, kept on decode
    assert store.load(session.session_id or -1).env["protocol_version"] == 1
    logged = [line for _, line in run.logs if "ignored a bad line" in line]
    assert len(logged) == 5  # visible in the run's log
    report = build_report(store.load(session.session_id or -1))
    assert "5 bad lines were ignored on the event pipe" in " ".join(report.runs[0].warnings)
    for suffix in REPORT_SUFFIXES:
        out = write_report(report, tmp_path / f"report{suffix}")
        assert out.stat().st_size > 0
