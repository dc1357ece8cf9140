"""The SQLite store: written as data arrives, read back whole, interrupted sessions marked."""

from __future__ import annotations

import math
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from profiler.events import Hello, Window
from profiler.store import SCHEMA_VERSION, Store, StoreError


def test_rows_are_on_disk_before_close(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    sid = store.create_session("n", {"a": 1}, "cfg.yaml", {"cpu": "x"})
    rid = store.create_run(sid, 0, "torch", 0)
    hello = {"pid": 1, "framework": "torch", "framework_version": "2.9", "device": "cpu"}
    store.add_event(rid, 0.5, "hello", hello)
    store.add_sample(
        rid,
        {"t": 0.6, "cpu_percent": 50.0, "rss_mib": 123.0, "threads": 4, "gpu_mem_mib": math.nan},
    )
    store.add_log(rid, 0.7, "hello from child")
    store.flush()
    # Another connection (the GUI's history view, a crash survivor) sees it all.
    with sqlite3.connect(tmp_path / "s.sqlite3") as conn:
        assert conn.execute("SELECT count(*) FROM events").fetchone() == (1,)
        assert conn.execute("SELECT gpu_util_percent FROM samples").fetchone() == (None,)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    loaded = store.load(sid)
    run = loaded.runs[0]
    assert run.events[0].data == Hello(
        pid=1, framework="torch", framework_version="2.9", device="cpu"
    )
    assert run.samples["rss_mib"].tolist() == [123.0]
    assert math.isnan(run.samples["gpu_util_percent"][0])
    assert run.logs == [(0.7, "hello from child")]
    assert loaded.config == {"a": 1} and loaded.env == {"cpu": "x"}
    store.close()


def test_session_of_a_killed_process_shows_as_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    code = (
        "import os, sys; from profiler.store import Store\n"
        f"s = Store({str(path)!r}); sid = s.create_session('n', {{}}, None, {{}})\n"
        "rid = s.create_run(sid, 0, 'torch', 0); s.update_run(rid, status='running')\n"
        "w = {'phase': 'measure', 'step': 3, 'steps': 1, 'seconds': 0.5}\n"
        "s.add_event(rid, 1.0, 'window', w); s.flush()\n"
        "os._exit(9)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=False, env=os.environ)
    store = Store(path)
    (row,) = store.sessions()
    assert row.status == "interrupted"
    session = store.load(row.id)
    assert session.runs[0].status == "interrupted"
    assert session.runs[0].views(Window) == [(1.0, Window("measure", 3, 1, 0.5))]
    store.close()


def test_unwritable_location_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError, match=r"cannot create the store .*--store"):
        Store(blocker / "sub" / "s.sqlite3")


def test_not_a_store_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite3"
    path.write_bytes(b"definitely not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot use the store"):
        Store(path)


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    Store(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match="newer FrameDuel"):
        Store(path)


def test_delete_session(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite3") as store:
        sid = store.create_session("n", {}, None, {})
        store.add_event(store.create_run(sid, 0, "torch", 0), 0.1, "hello", {})
        store.flush()
        with pytest.raises(StoreError, match=f"session {sid} is still running"):
            store.delete_session(sid)
        store.finish_session(sid, "ok")
        assert store.delete_session(sid)
        assert not store.delete_session(sid)
        assert store.sessions() == []


def test_readers_see_a_session_while_it_is_written(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    writer = Store(path, flush_interval_s=0.01)
    sid = writer.create_session("live", {}, None, {})
    rid = writer.create_run(sid, 0, "torch", 0)
    reader = Store(path)  # the GUI's history view opens its own
    for chunk in range(5):
        for i in range(200):
            writer.add_sample(rid, {"t": (chunk * 200 + i) * 0.01, "rss_mib": 100.0})
        # No flush: the background writer commits on its own, and the reader sees it meanwhile.
        deadline = time.monotonic() + 10
        while len(reader.load(sid).runs[0].samples["t"]) < (chunk + 1) * 200:
            assert time.monotonic() < deadline, "the reader never saw the committed rows"
            time.sleep(0.01)
    reader.close()
    writer.close()


V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('schema_version', '1');
CREATE TABLE sessions (id INTEGER PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL,
    config_path TEXT, config_json TEXT NOT NULL, env_json TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL, owner_pid INTEGER, ended_at TEXT);
CREATE TABLE runs (id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL, seq INTEGER NOT NULL,
    framework TEXT NOT NULL, repeat INTEGER NOT NULL, status TEXT NOT NULL, error TEXT,
    exit_code INTEGER, started_t REAL, ended_t REAL, info_json TEXT NOT NULL DEFAULT '{}');
CREATE TABLE events (run_id INTEGER NOT NULL, t REAL NOT NULL, kind TEXT NOT NULL,
    payload TEXT NOT NULL);
CREATE TABLE samples (run_id INTEGER NOT NULL, t REAL NOT NULL, cpu_percent REAL, rss_mib REAL,
    threads INTEGER, gpu_util_percent REAL, gpu_mem_mib REAL, gpu_power_w REAL);
CREATE TABLE logs (run_id INTEGER NOT NULL, t REAL NOT NULL, line TEXT NOT NULL);
INSERT INTO sessions VALUES (1, 'old', '2026-01-01T00:00:00', NULL, '{}', '{}', 'ok', 1, NULL);
INSERT INTO runs VALUES (1, 1, 0, 'torch', 0, 'ok', NULL, 0, 0.0, 1.0, '{}');
INSERT INTO samples VALUES (1, 0.5, 80.0, 300.0, 6, NULL, NULL, NULL);
"""


def test_a_version_1_store_is_migrated_and_still_readable(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(V1_SCHEMA)
    with Store(path) as store:
        run = store.load(1).runs[0]
        assert run.samples["rss_mib"].tolist() == [300.0]
        assert math.isnan(run.samples["gpu_temp_c"][0])
        rid = store.create_run(1, 1, "tensorflow", 0)
        store.add_sample(rid, {"t": 0.1, "rss_mib": 2.0}, cpu_cores=(50.0, 25.0))
        store.flush()
        assert store.load(1).runs[1].cpu_cores.tolist() == [[50.0, 25.0]]
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta").fetchone() == (str(SCHEMA_VERSION),)


def test_rows_from_many_threads_with_flushes_in_between_all_land(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3", flush_interval_s=0.001)
    sid = store.create_session("threads", {}, None, {})
    rid = store.create_run(sid, 0, "torch", 0)

    def feed(offset: int) -> None:
        for i in range(500):
            store.add_event(rid, offset + i, "window", {"i": i})
            if i % 50 == 0:
                store.flush()

    threads = [threading.Thread(target=feed, args=(k * 1000,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.flush()
    assert len(store.load(sid).runs[0].events) == 2000
    store.close()
