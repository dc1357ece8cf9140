"""A listener wrapper that keeps a failing observer from breaking a session.

The CLI's progress bars write to a terminal that may be gone (``frameduel run cfg.yaml 2>&1 |
head -1`` closes the pipe after one line); a GUI may raise while a window closes. Either must
cost the observer its updates, never the runs or their bookkeeping: the first exception cuts the
observer off, is kept in ``error``, and the session goes on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from profiler.listener import RunInfo, RunOutcome, SessionListener
from profiler.protocol import Event
from profiler.repeats import Certainty
from profiler.sampler import Sample


class GuardedListener:
    """Forwards to ``inner`` until it raises once; then drops everything."""

    def __init__(self, inner: SessionListener) -> None:
        self.inner = inner
        self.error: BaseException | None = None
        self._lock = threading.Lock()

    def _call(self, method: Callable[..., None], *args: Any) -> None:
        if self.error is not None:
            return
        try:
            method(*args)
        except Exception as exc:
            with self._lock:
                if self.error is None:
                    self.error = exc

    def run_started(self, run: RunInfo) -> None:
        """Forward."""
        self._call(self.inner.run_started, run)

    def run_event(self, run_id: int, t: float, event: Event) -> None:
        """Forward."""
        self._call(self.inner.run_event, run_id, t, event)

    def run_sample(self, run_id: int, t: float, sample: Sample) -> None:
        """Forward."""
        self._call(self.inner.run_sample, run_id, t, sample)

    def run_log(self, run_id: int, t: float, line: str) -> None:
        """Forward."""
        self._call(self.inner.run_log, run_id, t, line)

    def run_finished(self, outcome: RunOutcome) -> None:
        """Forward."""
        self._call(self.inner.run_finished, outcome)

    def runs_added(self, runs: list[RunInfo]) -> None:
        """Forward."""
        self._call(self.inner.runs_added, runs)

    def certainty_changed(self, certainty: Certainty) -> None:
        """Forward."""
        self._call(self.inner.certainty_changed, certainty)
