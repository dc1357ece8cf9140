"""One vocabulary: event kinds, phases and sample columns are defined once (profiler.events),
every known kind has a typed view the checks agree with, and no module of the engine or the app
reads raw event payloads or sample rows by position."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from profiler.events import (
    CHILD_KINDS,
    LIVE_SAMPLE_COLUMNS,
    PARENT_KINDS,
    SAMPLE_COLUMNS,
    SAMPLE_SERIES,
    VIEWS,
    Window,
    view_of,
)
from profiler.protocol import _FIELDS, check_payload
from profiler.sampler import Sample

ROOT = Path(__file__).resolve().parents[2]
# Where raw payloads may be read: where they are checked, stored and turned into views.
ALLOWED = {"profiler/protocol.py", "profiler/events.py", "profiler/store.py"}
RAW = re.compile(
    r"\.payload\s*\[|\.payload\.get\(|\bevent\.get\(|\be\.get\(\"|first_payload|\bsample\.row\(\)"
)


def test_every_kind_has_a_view_and_the_checks_know_its_fields() -> None:
    assert set(VIEWS) == CHILD_KINDS | PARENT_KINDS
    assert set(_FIELDS) == CHILD_KINDS
    for kind, fields in _FIELDS.items():
        view_fields = {f.name for f in dataclasses.fields(VIEWS[kind])}
        assert set(fields) == view_fields, kind


def test_a_checked_window_becomes_a_typed_view_with_floats() -> None:
    payload = {"phase": "measure", "step": 3, "steps": 2, "seconds": 1, "loss": 2, "mfu": None}
    assert check_payload("window", payload) is None
    window = view_of("window", payload)
    assert window == Window(phase="measure", step=3, steps=2, seconds=1.0, loss=2.0)
    assert isinstance(window, Window) and type(window.seconds) is float
    assert window.step_time_ms == 500.0


def test_sample_columns_are_one_list() -> None:
    fields = {f.name for f in dataclasses.fields(Sample)}
    assert set(SAMPLE_COLUMNS) <= fields
    assert set(SAMPLE_SERIES) < set(SAMPLE_COLUMNS)
    assert set(LIVE_SAMPLE_COLUMNS) <= set(SAMPLE_COLUMNS)
    from gui.models.live import SamplePoint  # the live point keeps the vocabulary's columns

    assert SamplePoint._fields == LIVE_SAMPLE_COLUMNS


def test_no_module_reads_raw_payloads_or_rows_by_position() -> None:
    found = []
    for package in ("profiler", "gui"):
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if rel in ALLOWED:
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if RAW.search(line):
                    found.append(f"{rel}:{n}: {line.strip()}")
    assert not found, "\n".join(found)


def test_phases_are_defined_once() -> None:
    defined = []
    for package in ("profiler", "gui"):
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text(encoding="utf-8")
            if re.search(r"^PHASES\s*(:[^=]*)?=", text, re.M):
                defined.append(path.relative_to(ROOT).as_posix())
    assert defined == ["profiler/events.py"]
