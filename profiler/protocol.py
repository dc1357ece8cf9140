"""The child-to-parent event protocol: one JSON object per line on a dedicated pipe.

Every event carries ``v`` (protocol version), ``kind`` and ``t``: ``time.monotonic()`` seconds in
the child, which on Linux is the same system-wide clock the parent samples with, so events and
samples line up without any handshake.

Kinds (version 1):

``hello``   pid, framework, framework_version, device, python
``phase``   name (import|build|compile|warmup|measure), state (start|end)
``model``   params, parity_loss (first-batch loss before any update), flops_per_step (or null)
``env``     settings: dict of framework settings that affect fairness (threads, tf32, ...)
``first_step``  step 1 has finished (synchronised): step, seconds, loss
``window``  phase, step (steps done so far), steps, seconds, loss, samples
``memory``  allocator_bytes, allocator_peak_bytes (framework's own view; null when unknown)
``log``     level, message
``error``   type, message, traceback, oom (bool)
``done``    steps

The parent adds kinds of its own to a run's stored events: ``garbage`` (reason: a bad line on
the pipe) and ``warning`` (message: a measurement-quality problem seen by the sampler).

Unknown kinds are kept but otherwise skipped; lines that are not JSON objects are reported as
garbage and never stop a run. History: 1 = first version.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

PROTOCOL_VERSION = 1

KNOWN_KINDS = frozenset(
    {"hello", "phase", "model", "env", "first_step", "window", "memory", "log", "error", "done"}
)


@dataclass(frozen=True)
class Event:
    """One decoded event from a child; ``payload`` holds every field but v/kind/t."""

    kind: str
    t: float
    payload: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        """Return a payload field, or ``default`` when the child did not send it."""
        return self.payload.get(key, default)


class GarbageLine(ValueError):
    """A line on the event pipe that is not a valid event; the run goes on."""


def decode_event(line: str | bytes) -> Event:
    """Decode one line from the event pipe.

    Raises GarbageLine (with the reason) for anything that is not a JSON object with a string
    ``kind`` and a numeric ``t``.
    """
    if isinstance(line, bytes):
        line = line.decode("utf-8", errors="replace")
    text = line.strip()
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GarbageLine(f"not JSON ({exc.msg}): {text[:200]!r}") from None
    if not isinstance(obj, dict):
        raise GarbageLine(f"not a JSON object: {text[:200]!r}")
    kind = obj.pop("kind", None)
    t = obj.pop("t", None)
    obj.pop("v", None)
    if not isinstance(kind, str) or not isinstance(t, int | float) or isinstance(t, bool):
        raise GarbageLine(f"event without a string 'kind' and a numeric 't': {text[:200]!r}")
    return Event(kind=kind, t=float(t), payload=obj)


def encode_event(event: Event) -> str:
    """Encode an event as one line (no newline); the inverse of decode_event."""
    obj = {"v": PROTOCOL_VERSION, "kind": event.kind, "t": event.t, **event.payload}
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)
