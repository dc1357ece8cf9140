"""The words for how runs and sessions stand, and the one rule that derives a session's status
from its runs' (the engine applies it; the store, CLI, GUI and report only read the result).

A run is ``pending`` until it starts, ``running`` while its child lives, then final: ``ok``,
``failed``, ``timeout``, ``stopped`` (by the user or a signal), ``interrupted`` (FrameDuel itself
died during it: set when the store is next opened), ``lost`` (the SSH link to the run's host
died: what arrived is kept, the host's processes are killed) or ``not run`` (planned, never
started).
"""

from __future__ import annotations

from collections.abc import Iterable

PENDING = "pending"
RUNNING = "running"
OK = "ok"
FAILED = "failed"
TIMEOUT = "timeout"
STOPPED = "stopped"
INTERRUPTED = "interrupted"
NOT_RUN = "not run"
LOST = "lost"
# A session with no planned run at all.
EMPTY = "empty"

RUN_FINAL = frozenset({OK, FAILED, TIMEOUT, STOPPED, INTERRUPTED, NOT_RUN, LOST})
RUN_STATUSES = frozenset({PENDING, RUNNING, *RUN_FINAL})
SESSION_STATUSES = frozenset({RUNNING, OK, FAILED, STOPPED, INTERRUPTED, LOST, EMPTY})

__all__ = [
    "EMPTY",
    "FAILED",
    "INTERRUPTED",
    "LOST",
    "NOT_RUN",
    "OK",
    "PENDING",
    "RUNNING",
    "RUN_FINAL",
    "RUN_STATUSES",
    "SESSION_STATUSES",
    "STOPPED",
    "TIMEOUT",
    "session_status",
]


def session_status(run_statuses: Iterable[str], *, stopped: bool = False) -> str:
    """A finished session's status: ``ok`` only when every planned run finished ok and nothing
    stopped it; ``stopped`` when the user or a signal stopped it; ``interrupted`` when a run was;
    ``lost`` when a remote run's link died; ``failed`` for anything else not ok; ``empty`` with
    no run planned."""
    statuses = list(run_statuses)
    if not statuses:
        return EMPTY
    if stopped:
        return STOPPED
    if all(s == OK for s in statuses):
        return OK
    if INTERRUPTED in statuses:
        return INTERRUPTED
    if LOST in statuses:
        return LOST
    return FAILED
