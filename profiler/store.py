"""The SQLite store: sessions, runs, events, samples and logs, written as they arrive.

WAL mode lets the GUI's history view read while a run writes. Bulk rows (events, samples, logs)
go through a queue to one writer thread that commits in small batches, so sampling never waits
on the disk; sessions and runs are created synchronously because their ids are needed at once.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import queue
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psutil

# History: 1 = first version; 2 = samples gain GPU temperature, SM clock, energy counter,
# throttle reasons, system memory and per-core CPU; 3 = sessions gain repeats_json (how auto
# repeats went and why they stopped).
SCHEMA_VERSION = 3
MIN_FREE_BYTES = 64 * 1024 * 1024

SAMPLE_COLUMNS: tuple[str, ...] = (
    "t",
    "cpu_percent",
    "rss_mib",
    "threads",
    "gpu_util_percent",
    "gpu_mem_mib",
    "gpu_power_w",
    "gpu_temp_c",
    "gpu_sm_clock_mhz",
    "gpu_energy_j",
    "gpu_throttle_reasons",
    "sys_mem_used_mib",
)
_ADDED_IN_2 = SAMPLE_COLUMNS[7:]

# Each migration takes a store from version N-1 to N; readers accept every older version.
_MIGRATIONS: dict[int, list[str]] = {
    2: [f"ALTER TABLE samples ADD COLUMN {c} REAL" for c in _ADDED_IN_2]
    + ["ALTER TABLE samples ADD COLUMN cpu_cores TEXT"],
    3: ["ALTER TABLE sessions ADD COLUMN repeats_json TEXT"],
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL,
    config_path TEXT, config_json TEXT NOT NULL, env_json TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL, owner_pid INTEGER, ended_at TEXT);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL, framework TEXT NOT NULL, repeat INTEGER NOT NULL,
    status TEXT NOT NULL, error TEXT, exit_code INTEGER,
    started_t REAL, ended_t REAL, info_json TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS events (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    t REAL NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS samples (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    t REAL NOT NULL, cpu_percent REAL, rss_mib REAL, threads INTEGER,
    gpu_util_percent REAL, gpu_mem_mib REAL, gpu_power_w REAL);
CREATE TABLE IF NOT EXISTS logs (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    t REAL NOT NULL, line TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_run ON events(run_id, t);
CREATE INDEX IF NOT EXISTS samples_run ON samples(run_id, t);
CREATE INDEX IF NOT EXISTS logs_run ON logs(run_id, t);
"""


_INSERT_SAMPLE = (
    f"INSERT INTO samples (run_id, {', '.join(SAMPLE_COLUMNS)}, cpu_cores) "
    f"VALUES ({', '.join('?' * (len(SAMPLE_COLUMNS) + 2))})"
)


class StoreError(RuntimeError):
    """The store cannot be used (unwritable, disk full, not a FrameDuel store)."""


@dataclass(frozen=True)
class SessionRow:
    """One stored session, as listed."""

    id: int
    name: str
    created_at: str
    status: str
    config_path: str | None
    frameworks: tuple[str, ...]


@dataclass(frozen=True)
class StoredEvent:
    """An event as stored: ``t`` in seconds since the session started."""

    t: float
    kind: str
    payload: dict[str, Any]


@dataclass
class StoredRun:
    """One run with everything recorded for it."""

    id: int
    seq: int
    framework: str
    repeat: int
    status: str
    error: str | None
    exit_code: int | None
    started_t: float | None
    ended_t: float | None
    info: dict[str, Any]
    events: list[StoredEvent] = field(default_factory=list)
    samples: dict[str, np.ndarray] = field(default_factory=dict)
    cpu_cores: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    logs: list[tuple[float, str]] = field(default_factory=list)

    def events_of(self, kind: str) -> list[StoredEvent]:
        """The run's events of one kind, in order."""
        return [e for e in self.events if e.kind == kind]


@dataclass
class StoredSession:
    """A session with its config, environment and runs."""

    id: int
    name: str
    created_at: str
    status: str
    config_path: str | None
    config: dict[str, Any]
    env: dict[str, Any]
    runs: list[StoredRun]
    # how the repeats went and why they stopped (profiler.repeats.StopRecord as JSON); None
    # for a store older than schema 3 or a session that never finished
    repeats: dict[str, Any] | None = None


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _nan_to_none(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


class Store:
    """A FrameDuel SQLite store; one writer per process, any number of readers."""

    def __init__(self, path: str | Path, *, flush_interval_s: float = 0.25) -> None:
        self.path = Path(path).expanduser()
        self._flush_interval_s = flush_interval_s
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[tuple[str, tuple[Any, ...]] | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._writer_lock = threading.Lock()
        self._write_error: BaseException | None = None
        # Set when a write failed (a full disk): the session stops instead of measuring on.
        self.failed = threading.Event()
        self._conn = self._open()

    # -- opening and checks -------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, check_same_thread=False, timeout=10.0)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            with conn:
                fresh = conn.execute("SELECT name FROM sqlite_master WHERE name='meta'").fetchone()
                conn.executescript(_SCHEMA)
                if fresh is None:
                    conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
                row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
                version = 1 if row is None else int(row[0])
                if version > SCHEMA_VERSION:
                    raise StoreError(
                        f"{self.path}: written by a newer FrameDuel (schema {version}); "
                        "upgrade FrameDuel or pick another store with --store"
                    )
                for target in range(version + 1, SCHEMA_VERSION + 1):
                    for sql in _MIGRATIONS[target]:
                        conn.execute(sql)
                conn.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"cannot use the store {self.path}: {exc}. Pick a writable location with --store "
                "or FRAMEDUEL_STORE"
            ) from None
        except OSError as exc:
            raise StoreError(
                f"cannot create the store {self.path}: {exc.strerror or exc}. Pick a writable "
                "location with --store or FRAMEDUEL_STORE"
            ) from None
        self._mark_interrupted(conn)
        return conn

    def _mark_interrupted(self, conn: sqlite3.Connection) -> None:
        """Sessions left 'running' by a process that no longer exists were interrupted."""
        rows = conn.execute("SELECT id, owner_pid FROM sessions WHERE status='running'").fetchall()
        dead = [sid for sid, pid in rows if pid is None or not _pid_alive(int(pid))]
        if dead:
            with conn:
                marks = ",".join("?" * len(dead))
                conn.execute(
                    f"UPDATE sessions SET status='interrupted' WHERE id IN ({marks})", dead
                )
                conn.execute(
                    "UPDATE runs SET status='interrupted', error='FrameDuel stopped during the run'"
                    f" WHERE status IN ('running', 'pending') AND session_id IN ({marks})",
                    dead,
                )

    def check_writable(self) -> None:
        """Raise StoreError when the store's disk is (nearly) full or the file is read-only."""
        free = shutil.disk_usage(self.path.parent).free
        if free < MIN_FREE_BYTES:
            raise StoreError(
                f"only {free / 2**20:.0f} MiB free on the disk of {self.path}; free some space "
                "or pick another store with --store"
            )
        if not os.access(self.path, os.W_OK):
            raise StoreError(f"the store {self.path} is read-only; pick another with --store")

    # -- writing ----------------------------------------------------------------------------

    def create_session(
        self, name: str, config: dict[str, Any], config_path: str | None, env: dict[str, Any]
    ) -> int:
        """Record a new running session and return its id."""
        with self._lock, self._conn:
            cur = self._conn.execute(
                "INSERT INTO sessions(name, created_at, config_path, config_json, env_json, status,"
                " owner_pid) VALUES (?, ?, ?, ?, ?, 'running', ?)",
                (name, _now_iso(), config_path, json.dumps(config), json.dumps(env), os.getpid()),
            )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def finish_session(self, session_id: int, status: str) -> None:
        """Mark a session finished (after flushing its pending rows)."""
        self.flush()
        with self._lock, self._conn:
            self._conn.execute(
                "UPDATE sessions SET status=?, ended_at=? WHERE id=?",
                (status, _now_iso(), session_id),
            )

    def set_session_repeats(self, session_id: int, repeats: dict[str, Any]) -> None:
        """Record how the session's repeats went and why they stopped."""
        with self._lock, self._conn:
            self._conn.execute(
                "UPDATE sessions SET repeats_json=? WHERE id=?", (json.dumps(repeats), session_id)
            )

    def create_run(self, session_id: int, seq: int, framework: str, repeat: int) -> int:
        """Record a pending run and return its id."""
        with self._lock, self._conn:
            cur = self._conn.execute(
                "INSERT INTO runs(session_id, seq, framework, repeat, status) "
                "VALUES (?, ?, ?, ?, 'pending')",
                (session_id, seq, framework, repeat),
            )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def update_run(self, run_id: int, **fields: Any) -> None:
        """Update a run's columns (status, error, exit_code, started_t, ended_t, info)."""
        if "info" in fields:
            fields["info_json"] = json.dumps(fields.pop("info"))
        allowed = {"status", "error", "exit_code", "started_t", "ended_t", "info_json"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"unknown run fields {sorted(unknown)}")
        self.flush()
        sets = ", ".join(f"{k}=?" for k in fields)
        with self._lock, self._conn:
            self._conn.execute(f"UPDATE runs SET {sets} WHERE id=?", (*fields.values(), run_id))

    def add_event(self, run_id: int, t: float, kind: str, payload: dict[str, Any]) -> None:
        """Queue an event row (t in seconds since the session started)."""
        self._put("INSERT INTO events VALUES (?, ?, ?, ?)", (run_id, t, kind, json.dumps(payload)))

    def add_sample(
        self, run_id: int, values: Sequence[float], cpu_cores: Sequence[float] = ()
    ) -> None:
        """Queue a sample row; ``values`` follow SAMPLE_COLUMNS (trailing ones may be left out),
        NaN for a missing metric; ``cpu_cores`` is the system's CPU % per core."""
        row = [_nan_to_none(v) for v in values]
        row += [None] * (len(SAMPLE_COLUMNS) - len(row))
        cores = json.dumps([round(c, 1) for c in cpu_cores]) if cpu_cores else None
        self._put(_INSERT_SAMPLE, (run_id, *row, cores))

    def add_log(self, run_id: int, t: float, line: str) -> None:
        """Queue one line of a child's stdout/stderr."""
        self._put("INSERT INTO logs VALUES (?, ?, ?)", (run_id, t, line))

    def _put(self, sql: str, params: tuple[Any, ...]) -> None:
        # Rows come from several threads (events, logs, samples) while another may flush: the
        # writer is started, fed and stopped under one lock so no row lands behind a stopped one.
        with self._writer_lock:
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._write_loop, name="store-writer", daemon=True
                )
                self._writer.start()
            self._queue.put((sql, params))

    def _write_loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            deadline = time.monotonic() + self._flush_interval_s
            stop = False
            while time.monotonic() < deadline and len(batch) < 5000:
                try:
                    nxt = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[tuple[str, tuple[Any, ...]]]) -> None:
        try:
            with self._lock, self._conn:
                for sql, params in batch:
                    self._conn.execute(sql, params)
        except sqlite3.Error as exc:
            self._write_error = exc
            self.failed.set()

    def _stop_writer(self) -> None:
        with self._writer_lock:
            if self._writer is not None:
                self._queue.put(None)
                self._writer.join()
                self._writer = None

    def flush(self) -> None:
        """Write every queued row now (blocks until done); StoreError if a write ever failed."""
        self._stop_writer()
        if self._write_error is not None:
            raise StoreError(
                f"could not write to the store {self.path}: {self._write_error}; the session was "
                "stopped and everything recorded before the failure is kept. Free some space or "
                "use another store with --store"
            )

    def close(self) -> None:
        """Flush and close the store."""
        # A failed write was already reported by flush(); closing must not hide the first error.
        try:
            self._stop_writer()
        finally:
            self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=10.0)
        try:
            yield conn
        finally:
            conn.close()

    def sessions(self) -> list[SessionRow]:
        """Every stored session, newest first."""
        with self._reader() as conn:
            rows = conn.execute(
                "SELECT s.id, s.name, s.created_at, s.status, s.config_path,"
                " (SELECT group_concat(DISTINCT framework) FROM runs WHERE session_id = s.id)"
                " FROM sessions s ORDER BY s.id DESC"
            ).fetchall()
        return [
            SessionRow(r[0], r[1], r[2], r[3], r[4], tuple(sorted((r[5] or "").split(",")) or ()))
            for r in rows
        ]

    def delete_session(self, session_id: int) -> bool:
        """Delete a session and everything recorded for it; False when there was none."""
        with self._lock, self._conn:
            cur = self._conn.execute("DELETE FROM sessions WHERE id=?", (session_id,))
        return cur.rowcount > 0

    def load(self, session_id: int) -> StoredSession:
        """Read a whole session back; raise KeyError when it does not exist."""
        with self._reader() as conn:
            row = conn.execute(
                "SELECT id, name, created_at, status, config_path, config_json, env_json,"
                " repeats_json FROM sessions WHERE id=?",
                (session_id,),
            ).fetchone()
            if row is None:
                raise KeyError(session_id)
            runs = [
                StoredRun(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], json.loads(r[9]))
                for r in conn.execute(
                    "SELECT id, seq, framework, repeat, status, error, exit_code, started_t,"
                    " ended_t, info_json FROM runs WHERE session_id=? ORDER BY seq",
                    (session_id,),
                )
            ]
            for run in runs:
                run.events = [
                    StoredEvent(t, kind, json.loads(payload))
                    for t, kind, payload in conn.execute(
                        "SELECT t, kind, payload FROM events WHERE run_id=? ORDER BY rowid",
                        (run.id,),
                    )
                ]
                # One query for both, so per-core rows stay aligned with their samples.
                rows = conn.execute(
                    f"SELECT {', '.join(SAMPLE_COLUMNS)}, cpu_cores FROM samples"
                    " WHERE run_id=? ORDER BY t",
                    (run.id,),
                ).fetchall()
                arr = np.array([r[:-1] for r in rows], dtype=float).reshape(-1, len(SAMPLE_COLUMNS))
                run.samples = {name: arr[:, i] for i, name in enumerate(SAMPLE_COLUMNS)}
                cores = [json.loads(r[-1]) if r[-1] else [] for r in rows]
                width = max((len(c) for c in cores), default=0)
                run.cpu_cores = np.array(
                    [c + [math.nan] * (width - len(c)) for c in cores], dtype=float
                ).reshape(len(cores), width)
                run.logs = conn.execute(
                    "SELECT t, line FROM logs WHERE run_id=? ORDER BY rowid", (run.id,)
                ).fetchall()
        return StoredSession(
            id=row[0],
            name=row[1],
            created_at=row[2],
            status=row[3],
            config_path=row[4],
            config=json.loads(row[5]),
            env=json.loads(row[6]),
            runs=runs,
            repeats=json.loads(row[7]) if row[7] else None,
        )


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        return psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
