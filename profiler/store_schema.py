"""The store's file: its schema and migrations, how it is recognised as FrameDuel's, and how it
is opened for writing or, without writing anything, for reading.

A store is marked as FrameDuel's (``PRAGMA application_id``); any other SQLite file is refused
untouched. A read-only open switches nothing (no WAL, no schema); when even a read-only WAL
connection cannot be made (a read-only mount, where no ``-shm`` file can be created) the file is
read as ``immutable``.
"""

from __future__ import annotations

import sqlite3
import urllib.parse
from pathlib import Path

# History: 1 = first version; 2 = samples gain GPU temperature, SM clock, energy counter,
# throttle reasons, system memory and per-core CPU; 3 = sessions gain the user's tags and note,
# and repeats_json (how auto repeats went and why they stopped).
SCHEMA_VERSION = 3
MIN_FREE_BYTES = 64 * 1024 * 1024
# "FrDl": marks a SQLite file as a FrameDuel store (PRAGMA application_id).
APPLICATION_ID = 0x4672446C
# Stores made before the application id carry these tables (and meta's schema_version).
_OWN_TABLES = frozenset({"meta", "sessions", "runs", "events", "samples", "logs"})

# Sample columns added by schema 2 (history: frozen, whatever SAMPLE_COLUMNS becomes).
_ADDED_IN_2 = (
    "gpu_temp_c",
    "gpu_sm_clock_mhz",
    "gpu_energy_j",
    "gpu_throttle_reasons",
    "sys_mem_used_mib",
)

# Each migration takes a store from version N-1 to N; readers accept every older version.
_MIGRATIONS: dict[int, list[str]] = {
    2: [f"ALTER TABLE samples ADD COLUMN {c} REAL" for c in _ADDED_IN_2]
    + ["ALTER TABLE samples ADD COLUMN cpu_cores TEXT"],
    3: [
        "ALTER TABLE sessions ADD COLUMN tags TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE sessions ADD COLUMN note TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE sessions ADD COLUMN repeats_json TEXT",
    ],
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


class StoreError(RuntimeError):
    """The store cannot be used (unwritable, disk full, not a FrameDuel store)."""


def open_writable(path: Path) -> sqlite3.Connection:
    """Open (creating it if needed) a store for writing: checked as ours, WAL, migrated."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, check_same_thread=False, timeout=10.0)
        try:
            check_ours(path, conn)
            _prepare(path, conn)
        except BaseException:
            conn.close()
            raise
    except sqlite3.DatabaseError as exc:
        raise StoreError(
            f"cannot use the store {path}: {exc}. Pick a writable location with --store "
            "or FRAMEDUEL_STORE"
        ) from None
    except OSError as exc:
        raise StoreError(
            f"cannot create the store {path}: {exc.strerror or exc}. Pick a writable "
            "location with --store or FRAMEDUEL_STORE"
        ) from None
    return conn


def _prepare(path: Path, conn: sqlite3.Connection) -> None:
    """WAL, the schema, migrations: only once the file is known to be ours (or new)."""
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    with conn:
        fresh = conn.execute("SELECT name FROM sqlite_master WHERE name='meta'").fetchone()
        conn.executescript(_SCHEMA)
        if fresh is None:
            conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        version = schema_version(path, conn)
        for target in range(version + 1, SCHEMA_VERSION + 1):
            for sql in _MIGRATIONS[target]:
                conn.execute(sql)
        conn.execute(
            "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )
        conn.execute(f"PRAGMA application_id={APPLICATION_ID}")


def check_ours(path: Path, conn: sqlite3.Connection) -> None:
    """Raise StoreError, having changed nothing, unless the file is new or a FrameDuel store."""
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if app_id == APPLICATION_ID or (app_id == 0 and not tables):
        return
    if app_id == 0 and tables >= _OWN_TABLES:
        row = conn.execute("SELECT 1 FROM meta WHERE key='schema_version'").fetchone()
        if row is not None:
            return  # a store from before the application id
    shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
    raise StoreError(
        f"{path} is not a FrameDuel store (another application's SQLite database"
        f"{f' with tables {shown}' if tables else ''}); it was left untouched. Pick another "
        "file with --store or FRAMEDUEL_STORE"
    )


def schema_version(path: Path, conn: sqlite3.Connection) -> int:
    """The store's schema version; StoreError when it is damaged or newer than ours."""
    row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    try:
        version = 1 if row is None else int(row[0])
    except (TypeError, ValueError):
        raise StoreError(
            f"{path}: the schema version {row[0]!r} is not a number: the store is "
            "damaged; pick another with --store"
        ) from None
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path}: written by a newer FrameDuel (schema {version}); "
            "upgrade FrameDuel or pick another store with --store"
        )
    return version


def open_read_only(path: Path) -> tuple[sqlite3.Connection, str]:
    """Open without writing anything (no WAL switch, no schema, no healing); returns the
    connection and the URI that opened it, for further readers."""
    if not path.is_file():
        raise StoreError(f"there is no store at {path}; see --store or FRAMEDUEL_STORE")
    base = f"file:{urllib.parse.quote(str(path.absolute()))}?mode=ro"
    conn: sqlite3.Connection | None = None
    last: sqlite3.Error | None = None
    # A WAL store on a read-only mount cannot get its -shm file: read it as immutable then.
    for uri in (base, base + "&immutable=1"):
        try:
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False, timeout=10.0)
            check_ours(path, conn)
            schema_version(path, conn)
            conn.execute("SELECT count(*) FROM sessions").fetchone()
        except sqlite3.OperationalError as exc:
            last = exc
            if conn is not None:
                conn.close()
                conn = None
            continue
        except sqlite3.DatabaseError as exc:
            if conn is not None:
                conn.close()
            raise StoreError(f"cannot read the store {path}: {exc}") from None
        except BaseException:
            if conn is not None:
                conn.close()
            raise
        return conn, uri
    raise StoreError(f"cannot read the store {path}: {last}") from None
