"""The store under hostile conditions: a session recorded by another process (in another PID
namespace), read-only mounts, other applications' databases, damaged rows. Real SQLite files,
real processes, real namespaces (``unshare``; skipped where the kernel does not allow them)."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from profiler.store import Store, StoreError

ROOT = Path(__file__).resolve().parents[2]

HOLDER = """
import os, sys
from profiler.store import Store
store = Store(sys.argv[1])
sid = store.create_session("held", {}, None, {})
rid = store.create_run(sid, 0, "torch", 0)
store.update_run(rid, status="running")
print(sid, flush=True)
if sys.stdin.readline().strip() == "finish":
    store.update_run(rid, status="ok")
    store.finish_session(sid, "ok")
    store.close()
else:
    os._exit(9)  # dies as a crash would: no finish, no close
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


class Holder:
    """Another process recording a session in the store."""

    def __init__(self, store: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", HOLDER, str(store)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        assert self.proc.stdout is not None
        self.session_id = int(self.proc.stdout.readline())

    def end(self, how: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(how + "\n")
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[Holder]:
    held = Holder(tmp_path / "s.sqlite3")
    yield held
    if held.proc.poll() is None:
        held.proc.kill()
        held.proc.wait()
    for pipe in (held.proc.stdin, held.proc.stdout):
        if pipe is not None:
            pipe.close()


def frameduel(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "profiler", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        check=False,
    )


def _unshare(*flags: str) -> list[str]:
    cmd = ["unshare", "--user", "--map-root-user", *flags]
    if shutil.which("unshare") is None:
        pytest.skip("no unshare here")
    probe = subprocess.run([*cmd, "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"namespaces are not allowed here: {probe.stderr.decode()[:200]}")
    return cmd


LIST = """
import sys
from profiler.store import Store
store = Store(sys.argv[1])
print([r.status for r in store.sessions()])
store.close()
"""


def test_a_session_running_in_another_pid_namespace_is_not_marked_interrupted(
    tmp_path: Path, holder: Holder
) -> None:
    store = tmp_path / "s.sqlite3"
    # From a PID namespace where the recorder's pid does not exist (and a writable open, which
    # heals the sessions it believes dead).
    inside = subprocess.run(
        [*_unshare("--pid", "--fork", "--mount-proc"), sys.executable, "-c", LIST, str(store)],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
        check=False,
    )
    assert inside.returncode == 0, inside.stderr
    assert inside.stdout.strip() == "['running']"
    with Store(store) as outside:
        assert [r.status for r in outside.sessions()] == ["running"]
    holder.end("crash")
    with Store(store) as after:
        assert [r.status for r in after.sessions()] == ["interrupted"]
        assert after.load(holder.session_id).runs[0].status == "interrupted"
    assert not (tmp_path / "s.sqlite3-running" / f"session-{holder.session_id}.lock").exists()


def test_deleting_a_session_another_process_records_is_refused(
    tmp_path: Path, holder: Holder
) -> None:
    store = str(tmp_path / "s.sqlite3")
    res = frameduel("sessions", "--delete", str(holder.session_id), "--store", store)
    assert res.returncode == 2
    assert res.stderr.strip() == (
        f"frameduel: error: session {holder.session_id} is still running (process "
        f"{holder.proc.pid} is recording it); stop it first, then delete it"
    )
    holder.end("finish")
    assert holder.proc.returncode == 0
    res = frameduel("sessions", "--delete", str(holder.session_id), "--store", store)
    assert res.returncode == 0, res.stderr
    assert frameduel("sessions", "--store", store).stdout.startswith("no sessions in")


def _finished_store(path: Path) -> int:
    with Store(path) as store:
        sid = store.create_session("archived", {"name": "archived"}, None, {})
        rid = store.create_run(sid, 0, "torch", 0)
        store.add_event(rid, 0.1, "hello", {"pid": 1, "framework": "torch"})
        store.update_run(rid, status="ok")
        store.finish_session(sid, "ok")
    return sid


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        if p.is_file()
        else ""
        for p in sorted(folder.rglob("*"))
    }


def test_a_store_on_a_read_only_mount_is_listed_and_exported(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    archive.mkdir()
    sid = _finished_store(archive / "s.sqlite3")
    before = _digest(archive)
    out = tmp_path / "out"
    out.mkdir()
    script = (
        f"mount --bind -o ro {archive} {archive} && touch {archive}/probe 2>/dev/null; "
        f"test ! -e {archive}/probe && "
        f"{sys.executable} -m profiler sessions --store {archive}/s.sqlite3 && "
        f"{sys.executable} -m profiler report {sid} --out {out}/r.json --store {archive}/s.sqlite3"
    )
    res = subprocess.run(
        [*_unshare("--mount"), "sh", "-c", script],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert "archived" in res.stdout and " ok " in res.stdout
    assert (out / "r.json").stat().st_size > 0
    assert _digest(archive) == before  # nothing written: no -wal, no -shm, no lock folder


def test_another_applications_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "contacts.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE contacts (name TEXT, phone TEXT)")
        conn.execute("INSERT INTO contacts VALUES ('Ada', '123')")
    conn.close()
    before = _digest(tmp_path)
    with pytest.raises(StoreError, match=r"is not a FrameDuel store .* tables contacts\)"):
        Store(path)
    with pytest.raises(StoreError, match="is not a FrameDuel store"):
        Store(path, read_only=True)
    res = frameduel("sessions", "--store", str(path))
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1, res.stderr
    assert _digest(tmp_path) == before


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        ("UPDATE meta SET value='two' WHERE key='schema_version'", "schema version 'two' is not"),
        ("UPDATE events SET payload='{\"pid\": '", "an event of run 1 is not valid JSON"),
        ("UPDATE sessions SET config_json='[[['", "session 1's config is not valid JSON"),
        ("UPDATE runs SET info_json='nope'", "run 1's info is not valid JSON"),
    ],
)
def test_a_damaged_store_is_a_one_line_error(tmp_path: Path, damage: str, words: str) -> None:
    path = tmp_path / "s.sqlite3"
    sid = _finished_store(path)
    with sqlite3.connect(path) as conn:
        conn.execute(damage)
    conn.close()
    res = frameduel("report", str(sid), "--out", str(tmp_path / "r.json"), "--store", str(path))
    assert res.returncode == 2, res.stderr
    (line,) = res.stderr.strip().splitlines()
    assert line.startswith("frameduel: error: ") and words in line and "damaged" in line, line


@pytest.mark.slow
def test_doctor_checks_the_store_it_is_given_and_keeps_caches_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "given" / "s.sqlite3"
    path.parent.mkdir()
    _finished_store(path)
    default = tmp_path / "default" / "frameduel.sqlite3"
    env = {
        k: v
        for k, v in _env().items()
        if k not in ("KERAS_HOME", "TORCHINDUCTOR_CACHE_DIR", "MPLCONFIGDIR")
    }
    res = subprocess.run(
        [sys.executable, "-m", "profiler", "doctor", "--store", str(path)],
        capture_output=True,
        text=True,
        timeout=240,
        env={**env, "FRAMEDUEL_STORE": str(default)},
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert f"store       {path}: 1 session(s), writable" in res.stdout
    assert (path.parent / "cache" / "keras").is_dir()  # Keras writes its config on import
    assert not default.parent.exists()
    path.write_bytes(b"not a database at all" * 64)
    res = frameduel("doctor", "--store", str(path))
    assert f"store       {path}: PROBLEM: cannot read the store" in res.stdout, res.stdout


def test_events_an_older_version_stored_unchecked_are_read_as_garbage(tmp_path: Path) -> None:
    """Before events were checked, a window with "loss": "abc" was stored as it came and made the
    session impossible to export; read back, it is garbage with the reason."""
    from profiler.report import REPORT_SUFFIXES, write_report
    from profiler.report.model import build_report

    with Store(tmp_path / "s.sqlite3") as store:
        sid = store.create_session("old", {"name": "old"}, None, {})
        rid = store.create_run(sid, 0, "torch", 0)
        store.add_event(rid, 0.1, "phase", {"name": "measure", "state": "start"})
        for step, (steps, loss) in enumerate([(1, 0.5), ("y", 0.4), (1, "abc"), (1, 0.3)]):
            window = {"phase": "measure", "step": step + 1, "steps": steps, "seconds": 0.1}
            store.add_event(rid, 0.2 + step, "window", {**window, "loss": loss})
        store.update_run(rid, status="ok")
        store.finish_session(sid, "ok")
        run = store.load(sid).runs[0]
        reasons = [e.payload["reason"] for e in run.events_of("garbage")]
        assert reasons == [
            "stored window event: 'steps' must be an integer in [1, 9007199254740992], not 'y'",
            "stored window event: 'loss' must be a finite number within ±1e+100, not 'abc'",
        ]
        assert len(run.events_of("window")) == 2
        report = build_report(store.load(sid))
    for suffix in REPORT_SUFFIXES:
        assert write_report(report, tmp_path / f"r{suffix}").stat().st_size > 0
