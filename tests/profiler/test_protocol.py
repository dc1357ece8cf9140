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
        ('{"kind": "x", "t": NaN, "v": 1}', "numeric 't'"),
        ('{"kind": "x", "t": 1e999, "v": 1}', "numeric 't'"),
        ('{"kind": "x", "t": -5, "v": 1}', "not a monotonic clock reading"),
        ('{"kind": "x", "t": 1}', "protocol version None, expected 1"),
        ('{"kind": "x", "t": 1, "v": 2}', "protocol version 2, expected 1"),
        ('{"kind": "x", "t": 1, "v": true}', "protocol version True, expected 1"),
        ('{"kind": "x", "t": 1, "v": 1, "big": ' + "9" * 5000 + "}", "not usable JSON"),
        ('{"kind": "x", "t": 1, "v": 1, "deep": ' + "[" * 5000 + "]" * 5000 + "}", "JSON"),
        ('{"kind": "x", "t": 1, "v": 1, "a": [[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}', "deeper"),
        ('{"kind": "x", "t": 1, "v": 1, "a": {"b": Infinity}}', "x.a.b is inf"),
        ('{"kind": "warning", "t": 1, "v": 1, "message": "x"}', "the parent's own"),
        ('{"kind": "garbage", "t": 1, "v": 1, "reason": "x"}', "the parent's own"),
        (
            '{"v":1,"kind":"window","t":1,"phase":"measure","step":1,"steps":"y","seconds":1}',
            "window event: 'steps' must be an integer in \\[1, ",
        ),
        (
            '{"v":1,"kind":"window","t":1,"phase":"measure","step":1,"steps":1,"seconds":1,'
            '"loss":"abc"}',
            "'loss' must be a finite number",
        ),
        (
            '{"v":1,"kind":"window","t":1,"phase":"measure","step":1,"steps":1,"seconds":NaN}',
            "'seconds' must be a number of seconds",
        ),
        (
            '{"v":1,"kind":"window","t":1,"phase":"measure","step":1,"steps":1,"seconds":1,'
            '"loss":1e300}',
            "'loss' must be a finite number within",
        ),
        (
            '{"v":1,"kind":"window","t":1,"phase":"measure","step":1e3,"steps":1,"seconds":1}',
            "'step' must be an integer",
        ),
        ('{"v":1,"kind":"window","t":1,"phase":"measure","step":1,"steps":1}', "without 'seconds'"),
        ('{"v":1,"kind":"phase","t":1,"name":"build","state":"maybe"}', "'start' or 'end'"),
        ('{"v":1,"kind":"error","t":1,"type":"E","message":"m","oom":"yes"}', "true or false"),
        ('{"v":1,"kind":"env","t":1,"settings":[1]}', "'settings' must be an object"),
        ('{"v":1,"kind":"model","t":1,"params":-3}', "'params' must be an integer in \\[0"),
        ('{"v":1,"kind":"hello","t":1,"pid":1,"framework":"x","device":"cpu"}', "version'"),
    ],
)
def test_garbage_is_rejected_with_a_reason(line: str, reason: str) -> None:
    with pytest.raises(GarbageLine, match=reason):
        decode_event(line)


def test_unknown_kinds_are_kept() -> None:
    assert decode_event('{"v": 1, "kind": "future", "t": 1, "x": 2}').payload == {"x": 2}


def test_nullable_fields_may_be_null_and_extra_fields_pass() -> None:
    line = (
        '{"v":1,"kind":"window","t":1,"phase":"measure","step":2,"steps":2,"seconds":0.5,'
        '"loss":null,"samples":null,"mfu":null,"note":"extra"}'
    )
    assert decode_event(line).payload["note"] == "extra"
