"""Sessions renamed, tagged and annotated in the store (schema 3), and what History lists:
durations and measured step times, from stores old and new."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest

from profiler.store import SCHEMA_VERSION, Store
from tests.profiler.test_store import V1_SCHEMA

V2_UPGRADE = """
ALTER TABLE samples ADD COLUMN gpu_temp_c REAL;
ALTER TABLE samples ADD COLUMN gpu_sm_clock_mhz REAL;
ALTER TABLE samples ADD COLUMN gpu_energy_j REAL;
ALTER TABLE samples ADD COLUMN gpu_throttle_reasons REAL;
ALTER TABLE samples ADD COLUMN sys_mem_used_mib REAL;
ALTER TABLE samples ADD COLUMN cpu_cores TEXT;
UPDATE meta SET value = '2' WHERE key = 'schema_version';
INSERT INTO events VALUES (1, 0.5, 'window',
    '{"phase": "measure", "step": 10, "steps": 10, "seconds": 0.05}');
INSERT INTO events VALUES (1, 0.6, 'window',
    '{"phase": "warmup", "step": 20, "steps": 10, "seconds": 9.0}');
"""


def test_a_version_2_store_gains_tags_and_notes_and_keeps_its_sessions(tmp_path: Path) -> None:
    path = tmp_path / "v2.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.executescript(V1_SCHEMA + V2_UPGRADE)
    with Store(path) as store:
        (row,) = store.sessions()
        assert (row.name, row.tags, row.note) == ("old", (), "")
        assert row.duration_s == 1.0  # the last run ended 1 s after the session began
        assert store.step_times_ms() == {1: {"torch": [pytest.approx(5.0)]}}  # measured only
        store.annotate_session(1, name=" renamed ", tags=["baseline", " cpu", "baseline", ""])
        store.annotate_session(1, note="before the driver update")
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta").fetchone() == (str(SCHEMA_VERSION),)
    with Store(path) as store:
        (row,) = store.sessions()
        assert (row.name, row.tags, row.note) == (
            "renamed",
            ("baseline", "cpu"),
            "before the driver update",
        )
        assert store.load(1).name == "renamed"


def test_annotating_says_what_is_wrong(tmp_path: Path) -> None:
    with Store(tmp_path / "s.sqlite3") as store:
        sid = store.create_session("s", {}, None, {})
        assert math.isnan(store.sessions()[0].duration_s)  # no run ended yet
        with pytest.raises(ValueError, match="name cannot be empty"):
            store.annotate_session(sid, name="  ")
        with pytest.raises(KeyError):
            store.annotate_session(sid + 1, note="x")
        store.annotate_session(sid)  # nothing to change: nothing happens
        assert store.sessions()[0].name == "s"
