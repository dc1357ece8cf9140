"""The event protocol: the parent decodes what the stdlib emitter writes; garbage is named."""

from __future__ import annotations

import os

import pytest

from profiler.protocol import Event, GarbageLine, decode_event, encode_event
from workloads.emitter import EventEmitter


def test_emitter_lines_decode_in_the_parent() -> None:
    read_fd, write_fd = os.pipe()
    em = EventEmitter(write_fd)
    em.emit("window", phase="measure", step=10, steps=5, seconds=0.5, loss=float("nan"))
    em.emit("done", steps=10)
    em.close()
    with os.fdopen(read_fd, "rb") as fh:
        events = [decode_event(line) for line in fh]
    assert [e.kind for e in events] == ["window", "done"]
    assert events[0].get("loss") is None  # NaN is not JSON: it travels as null
    assert events[0].get("step") == 10
    assert events[0].t <= events[1].t


def test_roundtrip() -> None:
    event = Event("phase", 12.5, {"name": "build", "state": "start"})
    assert decode_event(encode_event(event)) == event


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"t": 1}', "without a string 'kind'"),
        ('{"kind": "x", "t": "soon"}', "numeric 't'"),
        ('{"kind": "x", "t": true}', "numeric 't'"),
    ],
)
def test_garbage_is_rejected_with_a_reason(line: str, reason: str) -> None:
    with pytest.raises(GarbageLine, match=reason):
        decode_event(line)


def test_unknown_kinds_are_kept() -> None:
    assert decode_event('{"v": 9, "kind": "future", "t": 1, "x": 2}').payload == {"x": 2}
