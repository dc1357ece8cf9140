"""Children that escape, flood or never start: real misbehaving children through the engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil

from profiler.protocol import Event
from profiler.session import ComparisonSession, RunOptions
from profiler.store import Store
from tests.profiler.conftest import tiny_config, with_run

MISBEHAVING = "tests.profiler.misbehaving_worker"
ROOT = Path(__file__).resolve().parents[2]


def _session(store: Store, frameworks: list[str], **options: object) -> ComparisonSession:
    return ComparisonSession(
        tiny_config(frameworks), store, options=RunOptions(worker_module=MISBEHAVING, **options)
    )


def _gone(pid: int, within_s: float = 3.0) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    psutil.Process(pid).kill()  # leave nothing behind for the next test
    return False


class _Watcher:
    """A listener that notes the worker's pid and the daemon's, and may stop the session."""

    def __init__(self, session: ComparisonSession | None = None) -> None:
        self.session = session
        self.worker: int | None = None
        self.daemon: int | None = None
        self.daemon_parent: int | None = None

    def run_started(self, run: object) -> None: ...
    def run_sample(self, *a: object) -> None: ...
    def run_log(self, *a: object) -> None: ...
    def run_finished(self, outcome: object) -> None: ...

    def run_event(self, run_id: int, t: float, event: Event) -> None:
        if event.kind == "hello":
            self.worker = int(event.payload["pid"])
        message = str(event.payload.get("message", ""))
        if event.kind == "log" and message.startswith("daemon "):
            self.daemon = int(message.split()[1])
            self.daemon_parent = psutil.Process(self.daemon).ppid()
            if self.session is not None:
                self.session.stop()


def test_a_double_forked_daemon_stays_in_the_tree_and_stop_kills_it(store: Store) -> None:
    session = _session(store, ["daemon-hang"])
    watcher = _Watcher(session)
    session.listener = watcher
    (outcome,) = session.run()
    assert outcome.status == "stopped"
    assert watcher.daemon is not None
    # The worker is a subreaper: the daemon left its session but not its tree (so it is sampled).
    assert watcher.daemon_parent == watcher.worker
    assert _gone(watcher.daemon), "the daemon outlived Stop"


def test_a_daemon_is_killed_even_when_its_worker_crashed(store: Store) -> None:
    session = _session(store, ["daemon-crash", "ok"])
    watcher = _Watcher()
    session.listener = watcher
    outcomes = session.run()
    assert "SIGSEGV" in (outcomes[0].error or "")
    assert outcomes[1].status == "ok"
    assert watcher.daemon is not None
    assert _gone(watcher.daemon), "the daemon outlived its crashed worker"


def test_a_config_longer_than_a_command_line_argument_reaches_the_child(store: Store) -> None:
    config = tiny_config(["ok"])
    # 160 KB of JSON: over Linux's 128 KiB limit on one argument (the old --spec)
    config = config.model_copy(
        update={"model": config.model.model_copy(update={"hidden": [3] * 80000})}
    )
    session = ComparisonSession(config, store, options=RunOptions(worker_module=MISBEHAVING))
    (outcome,) = session.run()
    assert outcome.status == "ok", outcome.error
    logs = [line for _, line in store.load(session.session_id or -1).runs[0].logs]
    size = next(int(line.split()[2]) for line in logs if line.startswith("spec of "))
    assert size > 160_000
    assert not list((store.path.parent / "cache").glob("spec-*.json")), "spec file left behind"


def test_a_child_that_cannot_start_fails_its_run_with_the_reason(
    store: Store, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-python"
    config = with_run(tiny_config(["ok", "garbage"]), python={"ok": str(missing)})
    session = ComparisonSession(config, store, options=RunOptions(worker_module=MISBEHAVING))
    first, second = session.run()
    assert first.status == "failed"
    assert first.error == f"could not start the workload: No such file or directory ({missing})"
    assert second.status == "ok", second.error
    stored = store.load(session.session_id or -1)
    assert [r.status for r in stored.runs] == ["failed", "ok"]
    assert stored.status == "failed"


def test_done_without_a_measured_window_is_not_ok(store: Store) -> None:
    (outcome,) = _session(store, ["no-measure"]).run()
    assert outcome.status == "failed"
    assert outcome.error == (
        "the workload finished without measuring anything (no measured window)"
    )


FLOOD_SCRIPT = """
import json, sys
from pathlib import Path
import profiler.launcher as launcher
from profiler.session import ComparisonSession, RunOptions
from profiler.store import Store
from tests.profiler.conftest import tiny_config

launcher.MAX_LOG_BYTES = 2**20  # the per-run log cap, made small enough to reach quickly
with Store(Path(sys.argv[1])) as store:
    session = ComparisonSession(
        tiny_config(["flood"]), store,
        options=RunOptions(worker_module="tests.profiler.misbehaving_worker"),
    )
    (outcome,) = session.run()
    run = store.load(session.session_id).runs[0]
# VmHWM: this process image's peak RSS (ru_maxrss would include the forking parent's)
hwm_kib = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])
print(json.dumps({
    "status": outcome.status,
    "peak_mib": hwm_kib / 1024,
    "logs": [line[-200:] for _, line in run.logs if "frameduel" in line or "after" in line],
    "longest_log": max(len(line) for _, line in run.logs),
    "garbage": [e.payload["reason"][:120] for e in run.events_of("garbage")],
}))
"""


def test_huge_output_is_cut_visibly_and_the_parent_stays_small(tmp_path: Path) -> None:
    """A 100 MiB stdout line, a 300 MiB event line and more log than the cap: the parent's peak
    memory stays far below them, and the stored log says what was cut."""
    env = {**os.environ, "FRAMEDUEL_TEST_LOG_LINES": "3000"}
    done = subprocess.run(
        [sys.executable, "-c", FLOOD_SCRIPT, str(tmp_path / "store.sqlite3")],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env=env,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["status"] == "ok"
    assert result["peak_mib"] < 200, result["peak_mib"]  # 77 MiB measured; 400+ unbounded
    logs = result["logs"]
    assert any(
        "[frameduel: line cut at 64 KiB, 104,792,064 more bytes dropped]" in line for line in logs
    ), logs
    assert "after the long line" in logs
    assert any(
        "this run's log reached 1 MiB; the rest of its output is dropped" in line for line in logs
    )
    assert any(line.startswith("[frameduel] ") and "more lines" in line for line in logs), logs
    assert result["longest_log"] < 70_000
    assert len(result["garbage"]) == 1
    # 37 bytes of head, 300 MiB of message, 2 of tail
    assert result["garbage"][0].startswith("a line of 314,572,839 bytes, over the 4 MiB limit")
