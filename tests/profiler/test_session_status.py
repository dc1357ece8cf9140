"""Every planned run ends with a true final status, and the session's status is derived from them
once: a closed output pipe, a signal, an exception in the run loop or a run that never started
can no longer leave a run `running` or a session `ok` that is not. Real CLI processes, real
children, real stores."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from profiler.session import ComparisonSession, RunOptions
from profiler.status import session_status
from profiler.store import Store, StoreError
from tests.profiler.conftest import tiny_config

MISBEHAVING = "tests.profiler.misbehaving_worker"


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "profiler", "run", *args]


def _statuses(path: Path) -> tuple[str, list[tuple[str, str, str | None]]]:
    with Store(path) as store:
        (row,) = store.sessions()
        stored = store.load(row.id)
        assert row.status == stored.status  # the list and the report agree
        return stored.status, [(r.framework, r.status, r.error) for r in stored.runs]


def _wait_for_running(path: Path, proc: subprocess.Popen[bytes], deadline_s: float = 60) -> None:
    """Until the store (read without writing) has a run running."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        assert proc.poll() is None, "the CLI ended before its first run started"
        # not yet created, or half-way
        with contextlib.suppress(StoreError), Store(path, read_only=True) as store:
            rows = store.sessions()
            if rows and any(r.status == "running" for r in store.load(rows[0].id).runs):
                return
        time.sleep(0.1)
    raise AssertionError("no run started")


def test_session_status_is_ok_only_when_every_planned_run_is() -> None:
    assert session_status(["ok", "ok"]) == "ok"
    assert session_status(["ok", "not run"]) == "failed"
    assert session_status(["ok", "interrupted"]) == "interrupted"
    assert session_status(["ok", "ok"], stopped=True) == "stopped"
    assert session_status([]) == "empty"


@pytest.mark.slow
def test_output_piped_into_head_keeps_the_bookkeeping_whole(tmp_path: Path) -> None:
    """`frameduel run ... 2>&1 | head -1`: the reader leaves after one line; the runs go on,
    are stored with their true status, and the exit status is the run's, not a broken pipe's."""
    store = tmp_path / "s.sqlite3"
    step = f"{sys.executable} -c 'import time; time.sleep(0.3)'"
    command = " ".join(
        [
            *(f"'{a}'" for a in _cli("--store", str(store), "--name", "piped", "--repeats", "1")),
            "--cmd",
            f'"torch={step}"',
            "--cmd",
            f'"tensorflow={step}"',
        ]
    )
    res = subprocess.run(
        ["bash", "-c", f'{command} 2>&1 | head -1; echo "exit ${{PIPESTATUS[0]}}"'],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )
    lines = res.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith("FrameDuel: piped"), res.stdout
    assert lines[1] == "exit 0", res.stdout + res.stderr
    status, runs = _statuses(store)
    assert status == "ok"
    assert [(fw, st) for fw, st, _ in runs] == [("torch", "ok"), ("tensorflow", "ok")]


@pytest.mark.slow
def test_sigterm_mid_run_stops_the_run_and_settles_the_rest(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    proc = subprocess.Popen(
        _cli(
            "--store",
            str(store),
            "--repeats",
            "1",
            "--cmd",
            "torch=sleep 60",
            "--cmd",
            "tensorflow=sleep 60",
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for_running(store, proc)
        sleeper = [p for p in psutil.Process(proc.pid).children(recursive=True)]
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signal.SIGTERM, err.decode()[-2000:]
    assert b"Traceback" not in err
    status, runs = _statuses(store)
    assert status == "stopped"
    assert runs == [
        ("torch", "stopped", "stopped by SIGTERM"),
        ("tensorflow", "not run", "stopped by SIGTERM"),
    ]
    assert not [p for p in sleeper if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


@pytest.mark.slow
def test_a_planned_run_that_never_started_keeps_the_session_from_ok(tmp_path: Path) -> None:
    """Stopped during the cooldown after the first run (which was ok): the second run is `not
    run` and the session is not `ok`."""
    store = tmp_path / "s.sqlite3"
    proc = subprocess.Popen(
        _cli(
            "--store",
            str(store),
            "--repeats",
            "1",
            "--cooldown",
            "60",
            "--cmd",
            "torch=true",
            "--cmd",
            "tensorflow=true",
        ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        end = time.monotonic() + 60
        assert proc.stderr is not None
        while not (line := proc.stderr.readline()).startswith(b"PyTorch") or b": ok" not in line:
            assert time.monotonic() < end and line, "the first run did not finish"
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    status, runs = _statuses(store)
    assert status == "stopped"
    assert runs == [("torch", "ok", None), ("tensorflow", "not run", "stopped by SIGTERM")]


class _FailingAfterRoundOne(ComparisonSession):
    """A bug in the engine's loop between rounds, injected where the certainty is computed."""

    def _update_certainty(self) -> None:
        raise RuntimeError("injected between rounds")


def test_an_exception_between_rounds_leaves_later_runs_not_run(store: Store) -> None:
    session = _FailingAfterRoundOne(
        tiny_config(["ok", "garbage"], repeats=2),
        store,
        options=RunOptions(worker_module=MISBEHAVING),
    )
    with pytest.raises(RuntimeError, match="injected"):
        session.run()
    stored = store.load(session.session_id or -1)
    assert [r.status for r in stored.runs] == ["ok", "ok", "not run", "not run"]
    assert "RuntimeError: injected between rounds" in (stored.runs[2].error or "")
    assert stored.status == session.status == "failed"


class _FailingMidRun(ComparisonSession):
    """A bug in the engine while a child is running, injected where the loop waits for it."""

    def _wait(self, child: object) -> tuple[int, bool]:
        time.sleep(0.2)
        raise RuntimeError("injected mid-run")


def test_an_exception_during_a_run_fails_it_and_kills_its_child(store: Store) -> None:
    session = _FailingMidRun(
        tiny_config(["hang", "ok"]), store, options=RunOptions(worker_module=MISBEHAVING)
    )
    with pytest.raises(RuntimeError, match="injected"):
        session.run()
    stored = store.load(session.session_id or -1)
    (hang, ok) = stored.runs
    assert hang.status == "failed"
    assert hang.error == "FrameDuel's run loop failed: RuntimeError: injected mid-run"
    assert hang.ended_t is not None
    assert ok.status == "not run"
    assert stored.status == "failed"
    assert not psutil.Process().children(recursive=True)


def test_a_store_left_by_an_older_version_is_settled_when_opened(tmp_path: Path) -> None:
    """What the old loop could store: a session `ok` whose second run never ran, and one
    `empty` with a run stuck `running`."""
    path = tmp_path / "old.sqlite3"
    with Store(path) as store:
        cooled = store.create_session("cooldown inf", {}, None, {})
        first = store.create_run(cooled, 0, "torch", 0)
        store.create_run(cooled, 1, "tensorflow", 0)
        store.update_run(first, status="ok")
        store.finish_session(cooled, "ok")
        piped = store.create_session("head -1", {}, None, {})
        stuck = store.create_run(piped, 0, "torch", 0)
        store.update_run(stuck, status="running")
        store.finish_session(piped, "empty")
    with Store(path, read_only=True) as store:  # read without healing the file: said on read
        assert store.load(cooled).status == "failed"
        assert store.load(piped).runs[0].status == "interrupted"
    with Store(path) as store:  # opened for writing: healed on disk, the list agrees
        rows = {r.id: r.status for r in store.sessions()}
        assert rows == {cooled: "failed", piped: "interrupted"}
        runs = store.load(cooled).runs
        assert [(r.status, r.error) for r in runs] == [
            ("ok", None),
            ("not run", "FrameDuel stopped before this run started"),
        ]
