"""The child-to-parent event protocol: one JSON object per line on a dedicated pipe.

Every event carries ``v`` (protocol version), ``kind`` and ``t``: ``time.monotonic()`` seconds in
the child, which on Linux is the same system-wide clock the parent samples with, so events and
samples line up without any handshake.

Kinds (version 1):

``hello``   pid, framework, framework_version, device, python
``phase``   name (import|build|compile|warmup|measure|trace), state (start|end)
``model``   params, parity_loss (first-batch loss before any update), flops_per_step (or null)
``env``     settings: dict of framework settings that affect fairness (threads, tf32, ...)
``first_step``  step 1 has finished (synchronised): step, seconds, loss
``window``  phase, step (steps done so far), steps, seconds, loss, samples
``memory``  allocator_bytes, allocator_peak_bytes (framework's own view; null when unknown)
``log``     level, message
``error``   type, message, traceback, oom (bool)
``trace``   the trace phase's profiler wrote its files: format (kineto|xplane|perfetto), steps,
            seconds, files (paths relative to the run's trace folder)
``done``    steps
``rank``    a data-parallel rank's record: rank, pid, weights_digest, comm, local_rank,
            world_size, strategy, backend, global_batch, local_batch (windows of a rank may
            carry comm_s, its all-reduce seconds)

The parent adds kinds of its own to a run's stored events: ``garbage`` (reason: a bad line on
the pipe) and ``warning`` (message: a measurement-quality problem seen by the sampler).

Every line is checked here, the one place events enter the parent: a known kind's fields must
have their types (numbers finite and within sane bounds, counts non-negative integers), and ``v``
must be this version. A line that does not fit is garbage, reported with its reason, and never
reaches the store or a listener as a typed event. Unknown kinds are kept (their fields need only
be finite JSON) but otherwise skipped; ``garbage`` and ``warning`` are the parent's own and are
refused from a child. Nothing a child sends stops a run. History: 1 = first version.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from profiler.events import PARENT_KINDS, EventData, view_of

PROTOCOL_VERSION = 1

# Beyond these a number is nonsense, and exports that divide or plot it could overflow.
MAX_INT = 2**53
MAX_ABS_FLOAT = 1e100
# A window lasts from a nanosecond (the clock's resolution) to 115 days.
MIN_SECONDS, MAX_SECONDS = 1e-9, 1e7
MAX_CLOCK_S = 1e12  # time.monotonic(): seconds since boot
MAX_DEPTH = 16  # nesting of a payload's lists and objects
REASON_CHARS = 200


@dataclass(frozen=True)
class Event:
    """One decoded event from a child: its kind, clock reading, protocol version, and
    ``payload`` (every field but v/kind/t, as checked). Read it through ``data``, its typed
    view (profiler.events)."""

    kind: str
    t: float
    payload: dict[str, Any] = field(default_factory=dict)
    v: int = PROTOCOL_VERSION

    @cached_property
    def data(self) -> EventData:
        """The event's typed view (Window, Phase, ModelInfo, ErrorInfo, ...)."""
        return view_of(self.kind, self.payload)

    def get(self, key: str, default: Any = None) -> Any:
        """A field as sent on the wire, for tests of what a child sends; the engine and the
        app read ``data`` (a test keeps them to it)."""
        return self.payload.get(key, default)


class GarbageLine(ValueError):
    """A line on the event pipe that is not a valid event; the run goes on."""


def _is_int(value: Any, low: int, high: int = MAX_INT) -> bool:
    return type(value) is int and low <= value <= high


def _is_num(value: Any, low: float = -MAX_ABS_FLOAT, high: float = MAX_ABS_FLOAT) -> bool:
    if type(value) is int:
        return low <= value <= high
    return type(value) is float and math.isfinite(value) and low <= value <= high


# (what the value must be, the check)
_Check = tuple[str, Callable[[Any], bool]]
_STR: _Check = ("a string", lambda v: isinstance(v, str))
_BOOL: _Check = ("true or false", lambda v: isinstance(v, bool))
_DICT: _Check = ("an object", lambda v: isinstance(v, dict))
_COUNT: _Check = (f"an integer in [0, {MAX_INT}]", lambda v: _is_int(v, 0))
_POSITIVE: _Check = (f"an integer in [1, {MAX_INT}]", lambda v: _is_int(v, 1))
_NUMBER: _Check = (f"a finite number within ±{MAX_ABS_FLOAT:g}", _is_num)
_SECONDS: _Check = (
    f"a number of seconds in [{MIN_SECONDS:g}, {MAX_SECONDS:g}]",
    lambda v: _is_num(v, MIN_SECONDS, MAX_SECONDS),
)
_STATE: _Check = ("'start' or 'end'", lambda v: v in ("start", "end"))
_PATHS: _Check = (
    "a list of relative paths",
    lambda v: (
        isinstance(v, list)
        and all(isinstance(p, str) and p and not p.startswith("/") and ".." not in p for p in v)
    ),
)

_NUMBERS: _Check = (
    "a list of finite numbers (null where unknown)",
    lambda v: isinstance(v, list) and all(x is None or _is_num(x) for x in v),
)
_NON_NEGATIVE: _Check = (
    f"a finite number in [0, {MAX_ABS_FLOAT:g}]",
    lambda v: _is_num(v, 0.0),
)

# Per kind: field -> (check, required, null allowed). Fields not listed need only be finite JSON.
_FIELDS: dict[str, dict[str, tuple[_Check, bool, bool]]] = {
    "hello": {
        "pid": (_COUNT, True, False),
        "framework": (_STR, True, False),
        "framework_version": (_STR, True, False),
        "device": (_STR, True, False),
        "python": (_STR, False, True),
    },
    "phase": {"name": (_STR, True, False), "state": (_STATE, True, False)},
    "model": {
        "params": (_COUNT, True, True),
        "parity_loss": (_NUMBER, False, True),
        "flops_per_step": (_NUMBER, False, True),
        "peak_flops_per_s": (_NUMBER, False, True),
    },
    "env": {"settings": (_DICT, True, False)},
    "first_step": {
        "step": (_COUNT, True, False),
        "seconds": (_SECONDS, True, False),
        "loss": (_NUMBER, False, True),
    },
    "window": {
        "phase": (_STR, True, False),
        "step": (_COUNT, True, False),
        "steps": (_POSITIVE, True, False),
        "seconds": (_SECONDS, True, False),
        "loss": (_NUMBER, False, True),
        "samples": (_COUNT, False, True),
        "mfu": (_NUMBER, False, True),
        "minor_faults": (_COUNT, False, True),
        "major_faults": (_COUNT, False, True),
        "comm_s": (_NON_NEGATIVE, False, True),
        "ranks": (_POSITIVE, False, True),
        "straggler": (_COUNT, False, True),
        "rank_seconds": (_NUMBERS, False, True),
        "rank_comm_s": (_NUMBERS, False, True),
        "rank_rss_mib": (_NUMBERS, False, True),
    },
    "memory": {
        "allocator_bytes": (_COUNT, False, True),
        "allocator_peak_bytes": (_COUNT, False, True),
    },
    "log": {"level": (_STR, False, True), "message": (_STR, True, False)},
    "error": {
        "type": (_STR, True, False),
        "message": (_STR, True, False),
        "traceback": (_STR, False, True),
        "oom": (_BOOL, False, True),
    },
    "trace": {
        "format": (_STR, True, False),
        "steps": (_POSITIVE, True, False),
        "seconds": (_SECONDS, True, False),
        "files": (_PATHS, True, False),
        "converter": (_STR, False, True),  # what made the Chrome trace from a native profile
        "fallback": (_STR, False, True),  # why a fallback converter made it
    },
    "done": {"steps": (_COUNT, False, True)},
    "rank": {
        "rank": (_COUNT, True, False),
        "pid": (_COUNT, False, True),
        "weights_digest": (_STR, False, True),
        "comm": (_STR, False, True),
        "local_rank": (_COUNT, False, True),
        "world_size": (_POSITIVE, False, True),
        "strategy": (_STR, False, True),
        "backend": (_STR, False, True),
        "global_batch": (_POSITIVE, False, True),
        "local_batch": (_POSITIVE, False, True),
    },
}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _plain_scalar(value: Any) -> bool:
    """Whether ``value`` is a JSON scalar with nothing to report (the common case, checked
    without building the path a report would name: every window event comes through here)."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is float:
        return math.isfinite(value)
    return kind is int and -MAX_INT <= value <= MAX_INT


def _plain_json_problem(value: Any, where: str, depth: int = 0) -> str | None:
    """Why ``value`` is not plain, finite, shallow JSON (None when it is)."""
    if depth > MAX_DEPTH:
        return f"{where} is nested deeper than {MAX_DEPTH} levels"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{where} is {value!r}, not a finite number"
    if type(value) is int and abs(value) > MAX_INT:
        return f"{where} is an integer beyond ±2**53"
    if isinstance(value, dict):
        for key, item in value.items():
            if _plain_scalar(item):
                continue
            if (problem := _plain_json_problem(item, f"{where}.{key}", depth + 1)) is not None:
                return problem
    elif isinstance(value, list):
        for i, item in enumerate(value):
            if _plain_scalar(item):
                continue
            if (problem := _plain_json_problem(item, f"{where}[{i}]", depth + 1)) is not None:
                return problem
    return None


def check_payload(kind: str, payload: Mapping[str, Any], *, complete: bool = True) -> str | None:
    """Why ``payload`` is not a valid ``kind`` event (None when it is). ``complete`` False
    checks only the fields present (readers cope with missing ones, not with wrong types)."""
    for name, ((what, ok), required, nullable) in _FIELDS.get(kind, {}).items():
        if name not in payload:
            if required and complete:
                return f"{kind} event without {name!r}"
            continue
        value = payload[name]
        if value is None and nullable:
            continue
        if not ok(value):
            return f"{kind} event: {name!r} must be {what}, not {_short(value)}"
    for name, value in payload.items():
        if _plain_scalar(value):
            continue
        if (problem := _plain_json_problem(value, f"{kind}.{name}")) is not None:
            return problem
    return None


def _quote(text: str) -> str:
    """The start of a bad line, as a reason quotes it."""
    return repr(text[:REASON_CHARS])


def decode_event(line: str | bytes) -> Event:
    """Decode and check one line from the event pipe.

    Raises GarbageLine with the reason for anything that is not a version-1 JSON object with a
    string ``kind``, a finite ``t`` and, for a known kind, fields of the right types.
    """
    if isinstance(line, bytes):
        line = line.decode("utf-8", errors="replace")
    text = line.strip()
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GarbageLine(f"not JSON ({exc.msg}): {_quote(text)}") from None
    except (ValueError, RecursionError) as exc:  # a 5,000-digit integer, 10,000-deep nesting
        raise GarbageLine(f"not usable JSON ({type(exc).__name__}): {_quote(text)}") from None
    if not isinstance(obj, dict):
        raise GarbageLine(f"not a JSON object: {_quote(text)}")
    kind = obj.pop("kind", None)
    t = obj.pop("t", None)
    version = obj.pop("v", None)
    if not isinstance(kind, str) or not _is_num(t):
        raise GarbageLine(f"event without a string 'kind' and a numeric 't': {_quote(text)}")
    if version != PROTOCOL_VERSION or type(version) is not int:
        raise GarbageLine(
            f"protocol version {_short(version)}, expected {PROTOCOL_VERSION}: {_quote(text)}"
        )
    if kind in PARENT_KINDS:
        raise GarbageLine(f"kind {kind!r} is the parent's own, not a child's: {_quote(text)}")
    if not 0.0 <= t <= MAX_CLOCK_S:
        raise GarbageLine(f"'t' {_short(t)} is not a monotonic clock reading: {_quote(text)}")
    problem = check_payload(kind, obj)
    if problem is not None:
        raise GarbageLine(f"{problem}: {_quote(text)}")
    return Event(kind=kind, t=float(t), payload=obj, v=version)


def encode_event(event: Event) -> str:
    """Encode an event as one line (no newline); the inverse of decode_event."""
    obj = {"v": event.v, "kind": event.kind, "t": event.t, **event.payload}
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)
