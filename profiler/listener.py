"""What a comparison session tells its observers: planned runs, their outcomes, and the
listener protocol the CLI's progress bars and the GUI's Qt adapter implement.

Listeners are called from the session's own threads; they must be quick and thread-safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from profiler.protocol import Event
from profiler.repeats import Certainty
from profiler.sampler import Sample


@dataclass(frozen=True)
class RunInfo:
    """A planned run: its store id, framework, repeat number and position in the session."""

    run_id: int
    framework: str
    repeat: int
    seq: int
    total_steps: int


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended: status is ok, failed, timeout, stopped, or lost (a run on another
    host whose SSH link died; what arrived before is kept)."""

    run_id: int
    framework: str
    status: str
    error: str | None
    exit_code: int | None


class SessionListener(Protocol):
    """What a session tells its observers; ``t`` is seconds since the session started."""

    def run_started(self, run: RunInfo) -> None: ...
    def run_event(self, run_id: int, t: float, event: Event) -> None: ...
    def run_sample(self, run_id: int, t: float, sample: Sample) -> None: ...
    def run_log(self, run_id: int, t: float, line: str) -> None: ...
    def run_finished(self, outcome: RunOutcome) -> None: ...
    def runs_added(self, runs: list[RunInfo]) -> None: ...
    def certainty_changed(self, certainty: Certainty) -> None: ...


class NullListener:
    """A listener that ignores everything."""

    def run_started(self, run: RunInfo) -> None:
        """Ignore."""

    def run_event(self, run_id: int, t: float, event: Event) -> None:
        """Ignore."""

    def run_sample(self, run_id: int, t: float, sample: Sample) -> None:
        """Ignore."""

    def run_log(self, run_id: int, t: float, line: str) -> None:
        """Ignore."""

    def run_finished(self, outcome: RunOutcome) -> None:
        """Ignore."""

    def runs_added(self, runs: list[RunInfo]) -> None:
        """Ignore."""

    def certainty_changed(self, certainty: Certainty) -> None:
        """Ignore."""
