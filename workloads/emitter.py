"""Stdlib-only event emitter: one compact JSON object per line on the event pipe.

It mirrors ``profiler.protocol`` (version 1) without importing it, so the child needs nothing
from the parent's environment.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from typing import Any, TextIO

PROTOCOL_VERSION = 1


def _clean(value: Any) -> Any:
    """Replace NaN/inf (not valid JSON) by None, recursively."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


class EventEmitter:
    """Writes events to a file descriptor; thread-safe, flushed after every line."""

    def __init__(self, fd: int | None) -> None:
        self._stream: TextIO | None = (
            os.fdopen(fd, "w", buffering=1, encoding="utf-8") if fd is not None else None
        )
        self._lock = threading.Lock()

    def emit(self, kind: str, **payload: Any) -> None:
        """Send one event stamped with the shared monotonic clock."""
        obj = {"v": PROTOCOL_VERSION, "kind": kind, "t": time.monotonic(), **_clean(payload)}
        line = json.dumps(obj, separators=(",", ":"), allow_nan=False)
        if self._stream is None:
            return
        with self._lock:
            self._stream.write(line + "\n")
            self._stream.flush()

    def close(self) -> None:
        """Close the pipe so the parent sees EOF."""
        if self._stream is not None:
            with self._lock:
                self._stream.close()
                self._stream = None
