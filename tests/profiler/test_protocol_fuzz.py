"""Fuzzing the event decoder: whatever a child writes, garbage is named and the run goes on.

Property-based (Hypothesis): arbitrary text, arbitrary JSON objects, and good events with one
field poisoned (wrong type, NaN/inf, huge or negative numbers, deep nesting). Fast by default;
``HYPOTHESIS_PROFILE=long`` runs many more examples.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from profiler.events import CHILD_KINDS, VIEWS, Unknown, Window
from profiler.protocol import (
    MAX_ABS_FLOAT,
    PROTOCOL_VERSION,
    Event,
    GarbageLine,
    check_payload,
    decode_event,
)
from profiler.report import REPORT_SUFFIXES, write_report
from profiler.report.model import build_report
from profiler.session import ComparisonSession, RunOptions, RunOutcome
from profiler.store import Store, StoredSession
from tests.profiler.conftest import tiny_config

MISBEHAVING = "tests.profiler.misbehaving_worker"

# A good event of every kind, as the emitter writes it.
GOOD: dict[str, dict[str, Any]] = {
    "hello": {"pid": 12, "framework": "torch", "framework_version": "2", "device": "cpu"},
    "phase": {"name": "build", "state": "start"},
    "model": {"params": 10, "parity_loss": 0.69, "flops_per_step": 100, "peak_flops_per_s": None},
    "env": {"settings": {"threads": 2, "tf32": False}},
    "first_step": {"step": 1, "seconds": 0.2, "loss": 0.7},
    "window": {"phase": "measure", "step": 5, "steps": 5, "seconds": 0.1, "loss": 0.6},
    "memory": {"allocator_bytes": 1024, "allocator_peak_bytes": None},
    "log": {"level": "warning", "message": "hi"},
    "error": {"type": "ValueError", "message": "no", "traceback": "Traceback ...", "oom": False},
    "done": {"steps": 5},
}

hostile_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
    st.sampled_from([10**400, -(10**30), 2**63, 1e308, -1e308, 5e-324, 0, -1]),
)
json_leaf = st.one_of(st.none(), st.booleans(), hostile_numbers, st.text(max_size=20))
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=30,
)


def _nest(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


deeply_nested = st.integers(min_value=10, max_value=60).map(_nest)


def _dumps(obj: Any) -> str:
    # allow_nan: a child can write NaN and Infinity, which Python's json reads back.
    return json.dumps(obj, allow_nan=True, separators=(",", ":"))


@st.composite
def poisoned_events(draw: st.DrawFn) -> str:
    """A good event with one field (or v, kind, t) replaced by something hostile."""
    kind = draw(st.sampled_from(sorted(GOOD)))
    obj: dict[str, Any] = {"v": 1, "kind": kind, "t": 100.0, **GOOD[kind]}
    key = draw(st.sampled_from([*sorted(obj), "extra"]))
    obj[key] = draw(st.one_of(json_value, deeply_nested))
    if draw(st.booleans()):
        obj.pop(draw(st.sampled_from(sorted(obj))), None)
    return _dumps(obj)


@st.composite
def arbitrary_objects(draw: st.DrawFn) -> str:
    """An object with a plausible head (v, kind, t) and arbitrary fields."""
    obj = draw(st.dictionaries(st.text(max_size=10), json_value, max_size=6))
    obj.update(
        v=draw(st.one_of(st.just(1), json_leaf)),
        kind=draw(
            st.one_of(st.sampled_from(sorted(CHILD_KINDS | {"warning", "garbage"})), json_leaf)
        ),
        t=draw(st.one_of(st.just(5.0), hostile_numbers)),
    )
    return _dumps(obj)


any_line = st.one_of(
    poisoned_events(),
    arbitrary_objects(),
    json_value.map(_dumps),
    st.text(max_size=80),
).filter(lambda line: "\n" not in line)


def _check_decoded(event: Event) -> None:
    """What a decoded event promises everything downstream."""
    assert math.isfinite(event.t)
    assert check_payload(event.kind, event.payload) is None
    json.dumps(event.payload, allow_nan=False)  # storable and exportable as plain JSON
    assert event.v == PROTOCOL_VERSION  # kept on decode
    data = event.data  # the typed view builds for every event the decoder lets through
    if event.kind in CHILD_KINDS:
        assert type(data) is VIEWS[event.kind]
    else:
        assert data == Unknown(event.kind)
    if isinstance(data, Window):
        assert type(data.steps) is int and data.steps >= 1
        assert type(data.seconds) is float and 1e-9 <= data.seconds <= 1e7
        assert data.loss is None or (type(data.loss) is float and abs(data.loss) <= MAX_ABS_FLOAT)
        assert math.isfinite(data.step_time_ms)


@given(any_line)
def test_any_line_decodes_to_a_checked_event_or_garbage(line: str) -> None:
    try:
        event = decode_event(line.encode("utf-8", errors="surrogatepass"))
    except GarbageLine as exc:
        assert str(exc)
        return
    _check_decoded(event)


@given(st.binary(max_size=200))
def test_any_bytes_decode_to_a_checked_event_or_garbage(raw: bytes) -> None:
    try:
        event = decode_event(raw)
    except GarbageLine:
        return
    _check_decoded(event)


def _replay(lines: list[str], suffixes: tuple[str, ...]) -> tuple[StoredSession, RunOutcome]:
    """Run the misbehaving worker that writes ``lines`` (each followed by a good window), then
    export the stored session in each of ``suffixes``."""
    with tempfile.TemporaryDirectory() as folder:
        replay = Path(folder) / "lines"
        replay.write_bytes(
            b"".join(line.encode("utf-8", "surrogatepass") + b"\n" for line in lines)
        )
        os.environ["FRAMEDUEL_TEST_REPLAY"] = str(replay)
        try:
            with Store(Path(folder) / "store.sqlite3") as store:
                session = ComparisonSession(
                    tiny_config(["replay"]), store, options=RunOptions(worker_module=MISBEHAVING)
                )
                (outcome,) = session.run()
                stored = store.load(session.session_id or -1)
                report = build_report(stored)
                for suffix in suffixes:
                    out = write_report(report, Path(folder) / f"report{suffix}")
                    assert out.stat().st_size > 0
        finally:
            del os.environ["FRAMEDUEL_TEST_REPLAY"]
    return stored, outcome


def _check_replayed(lines: list[str], stored: StoredSession, outcome: RunOutcome) -> None:
    decoded: list[Event] = []
    for line in lines:
        with contextlib.suppress(GarbageLine):
            decoded.append(decode_event(line))
    run = stored.runs[0]
    garbage = run.events_of("garbage")
    assert len(garbage) == len(lines) - len(decoded)
    assert all(e.payload["reason"] for e in garbage)
    good_windows = [e for e in run.events_of("window") if e.payload.get("loss") == 1.0]
    # the worker's own window after each hostile line: the reader never stopped
    assert len(good_windows) >= len(lines)
    errors = [e for e in decoded if e.kind == "error"]
    assert outcome.status == ("failed" if errors else "ok"), outcome.error


# A session per example costs a child; the charts of HTML and PDF cost seconds more, so they are
# drawn once, for the corpus below, rather than per example.
@settings(max_examples=max(8, settings.default.max_examples // 12), deadline=None)
@given(st.lists(any_line, min_size=1, max_size=12))
def test_hostile_lines_are_recorded_as_garbage_the_run_goes_on_and_exports(
    lines: list[str],
) -> None:
    stored, outcome = _replay(lines, (".json", ".csv"))
    _check_replayed(lines, stored, outcome)


# What the audit found, and cases of each kind of hostility.
CORPUS = [
    '{"v":1,"kind":"window","t":1,"phase":"measure","step":1,"steps":"y","seconds":0.1}',
    '{"v":1,"kind":"window","t":1,"phase":"measure","step":1,"steps":1,"seconds":0.1,"loss":"abc"}',
    '{"v":1,"kind":"window","t":1,"phase":"measure","step":1,"steps":1,"seconds":NaN}',
    '{"v":1,"kind":"window","t":1,"phase":"measure","step":1,"steps":1,"seconds":1,"loss":Infinity}',
    '{"v":1,"kind":"window","t":1,"phase":"measure","step":1,"steps":1,"seconds":1e308}',
    '{"v":1,"kind":"window","t":1,"phase":"measure","step":1,"steps":1,"seconds":5e-324}',
    '{"v":1,"kind":"window","t":1,"phase":"measure","step":1,"steps":'
    + "9" * 400
    + ',"seconds":1}',
    '{"v":1,"kind":"window","t":1e300,"phase":"measure","step":1,"steps":1,"seconds":1}',
    '{"v":2,"kind":"window","t":1,"phase":"measure","step":1,"steps":1,"seconds":1}',
    '{"v":1,"kind":"first_step","t":1,"step":1,"seconds":-1,"loss":0.5}',
    '{"v":1,"kind":"model","t":1,"params":"many","parity_loss":0.7}',
    '{"v":1,"kind":"env","t":1,"settings":{"threads":NaN}}',
    '{"v":1,"kind":"hello","t":1,"pid":1,"framework":["x"],"framework_version":"1","device":"cpu"}',
    '{"v":1,"kind":"phase","t":1,"name":{"a":1},"state":"start"}',
    '{"v":1,"kind":"memory","t":1,"allocator_bytes":-5}',
    '{"v":1,"kind":"warning","t":1,"message":7}',
    '{"v":1,"kind":"log","t":1,"level":"info","message":' + "[" * 3000 + "]" * 3000 + "}",
    '{"v":1,"kind":"future","t":1,"x":' + "1" * 5000 + "}",
    "not json at all",
    "",
]
# Odd but valid: the extremes the decoder lets through must still export.
EXTREMES = [
    '{"v":1,"kind":"window","t":999999999999,"phase":"measure","step":9007199254740992,'
    '"steps":9007199254740992,"seconds":1e-9,"loss":-1e100,"samples":0,"mfu":1e100}',
    '{"v":1,"kind":"window","t":0,"phase":"measure","step":1,"steps":1,"seconds":1e7,"loss":1e100}',
    '{"v":1,"kind":"first_step","t":0,"step":0,"seconds":1e-9,"loss":1e-300}',
    '{"v":1,"kind":"model","t":1,"params":9007199254740992,"parity_loss":-1e100,'
    '"flops_per_step":1e100,"peak_flops_per_s":1e-100}',
    '{"v":1,"kind":"memory","t":1,"allocator_bytes":9007199254740992,"allocator_peak_bytes":0}',
    '{"v":1,"kind":"phase","t":1,"name":"measure","state":"end"}',
]


def test_a_session_fed_the_garbage_corpus_exports_in_every_format() -> None:
    stored, outcome = _replay(CORPUS + EXTREMES, REPORT_SUFFIXES)
    _check_replayed(CORPUS + EXTREMES, stored, outcome)
    assert len(stored.runs[0].events_of("garbage")) == len(CORPUS)
