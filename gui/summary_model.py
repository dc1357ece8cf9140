"""The window's view of the one summary model (``profiler.report.summary``), without Qt.

The Summary, the Runs table, the Compare dialog and History show the figures the report shows:
these functions read them from the store (in a worker thread, never on the GUI thread), for a
stored session and for a live one (the store is written as data arrives).
"""

from __future__ import annotations

from profiler.report.summary import SessionSummary, summarize
from profiler.session import store_for

__all__ = ["SessionSummary", "load_summary"]


def load_summary(store_path: str | None, session_id: int) -> SessionSummary:
    """The summary of session ``session_id`` as stored now (raises KeyError if absent)."""
    store = store_for(store_path)
    try:
        stored = store.load(session_id)
    finally:
        store.close()
    return summarize(stored)
