"""The SQLite store: sessions, runs, events, samples and logs, written as they arrive.

WAL mode lets the GUI's history view read while a run writes. Bulk rows (events, samples, logs)
go through a queue to one writer thread that commits in small batches, so sampling never waits
on the disk; sessions and runs are created synchronously because their ids are needed at once.

A store is marked as FrameDuel's (``PRAGMA application_id``); any other SQLite file is refused
untouched. Opened ``read_only`` (listing, exporting), nothing is written, so an archived file or
a read-only mount can still be read. Whether a session marked running is still being recorded is
asked of the lock its recorder holds (``profiler.store_locks``), not of its process id.
"""

from __future__ import annotations

import contextlib
import json
import logging
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

from profiler.breakdown import (
    BreakdownFileError,
    RunBreakdown,
    load_breakdowns,
    session_trace_dir,
)
from profiler.protocol import check_payload
from profiler.store_locks import SessionLock, remove_stale_lock, session_alive
from profiler.store_schema import (
    MIN_FREE_BYTES,
    SAMPLE_COLUMNS,
    SCHEMA_VERSION,
    StoreError,
    open_read_only,
    open_writable,
)

_log = logging.getLogger(__name__)

# Re-exported: the store's public vocabulary lives here for its users.
__all__ = [
    "MIN_FREE_BYTES",
    "SAMPLE_COLUMNS",
    "SCHEMA_VERSION",
    "SessionRow",
    "Store",
    "StoreError",
    "StoredEvent",
    "StoredRun",
    "StoredSession",
]

_INSERT_SAMPLE = (
    f"INSERT INTO samples (run_id, {', '.join(SAMPLE_COLUMNS)}, cpu_cores) "
    f"VALUES ({', '.join('?' * (len(SAMPLE_COLUMNS) + 2))})"
)


@dataclass(frozen=True)
class SessionRow:
    """One stored session, as listed."""

    id: int
    name: str
    created_at: str
    status: str
    config_path: str | None
    frameworks: tuple[str, ...]
    duration_s: float = math.nan  # from the session's start to its last run's end
    tags: tuple[str, ...] = ()
    note: str = ""
    # the app's Run all this session was part of: "<batch id> <index>/<total>", else ""
    batch: str = ""


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
    # the traced runs' breakdowns (profiler.breakdown), read from beside the store's traces
    breakdowns: tuple[RunBreakdown, ...] = ()


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _nan_to_none(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


class Store:
    """A FrameDuel SQLite store; one writer per process, any number of readers."""

    def __init__(
        self, path: str | Path, *, flush_interval_s: float = 0.25, read_only: bool = False
    ) -> None:
        self.path = Path(path).expanduser()
        self.read_only = read_only
        self._flush_interval_s = flush_interval_s
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[tuple[str, tuple[Any, ...]] | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self._writer_lock = threading.Lock()
        self._write_error: BaseException | None = None
        self._held: dict[int, SessionLock] = {}
        # Set when a write failed (a full disk): the session stops instead of measuring on.
        self.failed = threading.Event()
        # immutable=1 when even a read-only WAL connection cannot be opened (no -shm possible)
        self._ro_uri: str | None = None
        if read_only:
            self._conn, self._ro_uri = open_read_only(self.path)
        else:
            self._conn = open_writable(self.path)
            self._mark_interrupted(self._conn)

    # -- opening and checks -------------------------------------------------------------------

    def _alive(self, session_id: int, owner_pid: int | None) -> bool:
        return session_alive(self.path, session_id, owner_pid)

    def _mark_interrupted(self, conn: sqlite3.Connection) -> None:
        """Sessions left 'running' by a recorder that no longer holds their lock (or, for ones
        from before the locks, whose process is gone) were interrupted."""
        rows = conn.execute("SELECT id, owner_pid FROM sessions WHERE status='running'").fetchall()
        dead = [sid for sid, pid in rows if not self._alive(sid, pid)]
        if dead:
            with conn:
                marks = ",".join("?" * len(dead))
                # status='running' again: one that finished meanwhile keeps its status
                conn.execute(
                    "UPDATE sessions SET status='interrupted' "
                    f"WHERE status='running' AND id IN ({marks})",
                    dead,
                )
                conn.execute(
                    "UPDATE runs SET status='interrupted', error='FrameDuel stopped during the run'"
                    f" WHERE status IN ('running', 'pending') AND session_id IN ({marks})",
                    dead,
                )
            for sid in dead:
                remove_stale_lock(self.path, sid)

    def check_writable(self) -> None:
        """Raise StoreError when the store's disk is (nearly) full or the file is read-only."""
        self.check_writable_mode()
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
        """Record a new running session and return its id; this process holds its lock until
        ``finish_session`` (or ``close``)."""
        with self._lock, self._conn:
            cur = self._conn.execute(
                "INSERT INTO sessions(name, created_at, config_path, config_json, env_json, status,"
                " owner_pid) VALUES (?, ?, ?, ?, ?, 'running', ?)",
                (name, _now_iso(), config_path, json.dumps(config), json.dumps(env), os.getpid()),
            )
            assert cur.lastrowid is not None
            # Locked before the row is committed: no reader can see it running and unlocked.
            try:
                self._held[cur.lastrowid] = SessionLock(self.path, cur.lastrowid)
            except OSError as exc:
                raise StoreError(
                    f"cannot lock the new session beside {self.path}: {exc.strerror or exc}"
                ) from None
        return cur.lastrowid

    def finish_session(self, session_id: int, status: str) -> None:
        """Mark a session finished (after flushing its pending rows)."""
        self.flush()
        with self._lock, self._conn:
            self._conn.execute(
                "UPDATE sessions SET status=?, ended_at=? WHERE id=?",
                (status, _now_iso(), session_id),
            )
        held = self._held.pop(session_id, None)
        if held is not None:
            held.release()

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
            for held in self._held.values():
                held.release()
            self._held.clear()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        if self._ro_uri is not None:
            conn = sqlite3.connect(self._ro_uri, uri=True, timeout=10.0)
        else:
            conn = sqlite3.connect(self.path, timeout=10.0)
        try:
            yield conn
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot read the store {self.path}: {exc}") from None
        finally:
            conn.close()

    def _status(self, session_id: int, status: str, owner_pid: int | None) -> str:
        """A session's status as it is: one marked running whose recorder is gone was
        interrupted (read-only stores are never healed on disk, so this is said when read)."""
        if status == "running" and not self._alive(session_id, owner_pid):
            return "interrupted"
        return status

    def sessions(self) -> list[SessionRow]:
        """Every stored session, newest first."""
        with self._reader() as conn:
            rows = conn.execute(
                "SELECT s.id, s.name, s.created_at, s.status, s.config_path,"
                " (SELECT group_concat(DISTINCT framework) FROM runs WHERE session_id = s.id),"
                " (SELECT MAX(ended_t) FROM runs WHERE session_id = s.id), s.tags, s.note,"
                " s.owner_pid, s.env_json FROM sessions s ORDER BY s.id DESC"
            ).fetchall()
        return [
            SessionRow(
                r[0],
                r[1],
                r[2],
                self._status(r[0], r[3], r[9]),
                r[4],
                tuple(sorted((r[5] or "").split(",")) or ()),
                math.nan if r[6] is None else float(r[6]),
                split_tags(r[7]),
                r[8],
                _batch(r[10]),
            )
            for r in rows
        ]

    def step_times_ms(self) -> dict[int, dict[str, list[float]]]:
        """Per session and framework, the mean step time (ms) of each measured window."""
        out: dict[int, dict[str, list[float]]] = {}
        with self._reader() as conn:
            rows = conn.execute(
                "SELECT r.session_id, r.framework, json_extract(e.payload, '$.seconds'),"
                " json_extract(e.payload, '$.steps') FROM events e JOIN runs r ON r.id = e.run_id"
                " WHERE e.kind = 'window' AND json_extract(e.payload, '$.phase') = 'measure'"
            ).fetchall()
        for session_id, framework, seconds, steps in rows:
            if isinstance(seconds, int | float) and isinstance(steps, int | float) and steps > 0:
                times = out.setdefault(session_id, {}).setdefault(framework, [])
                times.append(1000.0 * seconds / steps)
        return out

    def annotate_session(
        self,
        session_id: int,
        *,
        name: str | None = None,
        tags: list[str] | tuple[str, ...] | None = None,
        note: str | None = None,
    ) -> None:
        """Rename, tag or annotate a session (None leaves a field as it is); KeyError when
        there is no such session, ValueError for an empty name."""
        fields: dict[str, str] = {}
        if name is not None:
            if not name.strip():
                raise ValueError("a session's name cannot be empty")
            fields["name"] = name.strip()
        if tags is not None:
            fields["tags"] = ",".join(dict.fromkeys(t.strip() for t in tags if t.strip()))
        if note is not None:
            fields["note"] = note.strip()
        if not fields:
            return
        assignments = ", ".join(f"{k}=?" for k in fields)
        with self._lock, self._conn:
            cur = self._conn.execute(
                f"UPDATE sessions SET {assignments} WHERE id=?", (*fields.values(), session_id)
            )
        if cur.rowcount == 0:
            raise KeyError(session_id)

    def delete_session(self, session_id: int) -> bool:
        """Delete a session and everything recorded for it; False when there was none.

        Raises StoreError for a session another process (or this one) is still recording.
        """
        self.check_writable_mode()
        with self._lock, self._conn:
            row = self._conn.execute(
                "SELECT status, owner_pid FROM sessions WHERE id=?", (session_id,)
            ).fetchone()
            if row is not None and row[0] == "running" and self._alive(session_id, row[1]):
                raise StoreError(
                    f"session {session_id} is still running (process {row[1]} is recording it); "
                    "stop it first, then delete it"
                )
            cur = self._conn.execute("DELETE FROM sessions WHERE id=?", (session_id,))
        remove_stale_lock(self.path, session_id)
        shutil.rmtree(session_trace_dir(self.path, session_id), ignore_errors=True)
        return cur.rowcount > 0

    def check_writable_mode(self) -> None:
        """Raise StoreError when the store was opened read-only."""
        if self.read_only:
            raise StoreError(f"the store {self.path} was opened read-only")

    def load(self, session_id: int) -> StoredSession:
        """Read a whole session back; raise KeyError when it does not exist."""
        with self._reader() as conn:
            row = conn.execute(
                "SELECT id, name, created_at, status, config_path, config_json, env_json,"
                " owner_pid, repeats_json FROM sessions WHERE id=?",
                (session_id,),
            ).fetchone()
            if row is None:
                raise KeyError(session_id)
            status = self._status(row[0], row[3], row[7])
            runs = [
                StoredRun(
                    r[0],
                    r[1],
                    r[2],
                    r[3],
                    r[4],
                    r[5],
                    r[6],
                    r[7],
                    r[8],
                    self._json(r[9], f"run {r[0]}'s info"),
                )
                for r in conn.execute(
                    "SELECT id, seq, framework, repeat, status, error, exit_code, started_t,"
                    " ended_t, info_json FROM runs WHERE session_id=? ORDER BY seq",
                    (session_id,),
                )
            ]
            for run in runs:
                if status == "interrupted" and run.status in ("running", "pending"):
                    run.status, run.error = "interrupted", "FrameDuel stopped during the run"
                run.events = [
                    _checked_event(t, kind, self._json(payload, f"an event of run {run.id}"))
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
                cores = [
                    self._json(r[-1], f"a sample of run {run.id}") if r[-1] else [] for r in rows
                ]
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
            status=status,
            config_path=row[4],
            config=self._json(row[5], f"session {row[0]}'s config"),
            env=self._json(row[6], f"session {row[0]}'s environment"),
            runs=runs,
            repeats=self._json(row[8], f"session {row[0]}'s repeats") if row[8] else None,
            breakdowns=_breakdowns(self.path, row[0]),
        )

    def _json(self, text: Any, what: str) -> Any:
        """A stored JSON column, or StoreError naming the row when it is damaged."""
        try:
            return json.loads(text)
        except (TypeError, ValueError, RecursionError) as exc:
            raise StoreError(
                f"{self.path}: {what} is not valid JSON ({exc}): the store is damaged"
            ) from None


def _breakdowns(store_path: Path, session_id: int) -> tuple[RunBreakdown, ...]:
    """A session's breakdowns; none (and a logged warning) when their file is unreadable,
    so a damaged trace folder never hides the session's measurements."""
    try:
        return load_breakdowns(store_path, session_id)
    except BreakdownFileError as exc:
        _log.warning("%s", exc)
        return ()


def _batch(env_json: str | None) -> str:
    """``"<id> <index>/<total>"`` of the Run all a session belonged to (its environment's
    ``run_all``), or "" (not part of one, or an unreadable environment: listing never fails)."""
    try:
        run_all = json.loads(env_json or "{}").get("run_all")
        return f"{run_all['id']} {int(run_all['index'])}/{int(run_all['total'])}"
    except (ValueError, TypeError, KeyError, AttributeError):
        return ""


def split_tags(text: str | None) -> tuple[str, ...]:
    """Stored tags (comma-separated) as a tuple; "" gives none."""
    return tuple(t for t in (text or "").split(",") if t)


def _checked_event(t: float, kind: str, payload: Any) -> StoredEvent:
    """A stored event, held to the protocol's types. One stored by an older FrameDuel that
    did not check them (a window whose loss is "abc") is read back as garbage, so the session
    can still be shown and exported."""
    if not isinstance(payload, dict):
        problem: str | None = f"{kind} event whose payload is not an object"
    else:
        problem = check_payload(kind, payload, complete=False)
    if problem is None:
        return StoredEvent(t, kind, payload)
    return StoredEvent(t, "garbage", {"reason": f"stored {problem}"})
