"""The window's view of the one summary model (``profiler.report.summary``), without Qt.

The Summary, the Runs table, the Compare dialog and History show the figures the report shows:
these functions read them from the store (in a worker thread, never on the GUI thread), for a
stored session and for a live one (the store is written as data arrives).
"""

from __future__ import annotations

import threading

from profiler.colors import label_of
from profiler.report.summary import SessionSummary, format_figure, summarize
from profiler.session import store_for
from profiler.store import SessionRow

__all__ = ["SessionSummary", "headline", "history_listing", "load_summary"]


def load_summary(store_path: str | None, session_id: int) -> SessionSummary:
    """The summary of session ``session_id`` as stored now (raises KeyError if absent)."""
    store = store_for(store_path)
    try:
        stored = store.load(session_id)
    finally:
        store.close()
    return summarize(stored)


# Headlines of sessions that can no longer change, by (store, session id, creation time; ids
# can be reused after a delete): History lists every
# session on each refresh, and a finished session's figures are fixed.
_HEADLINES: dict[tuple[str, int, str], str] = {}
_HEADLINES_LOCK = threading.Lock()
# What a headline's ratio adds, as the Summary's ratio cells say it.
_HEADLINE_SUFFIX = {
    "same": " (no significant difference)",
    "unknown": " (one run each: not judged)",
    "busy": " (busy machine: not judged)",
}


def headline(summary: SessionSummary) -> str:
    """A session's result in a few words from the summary model: ``PyTorch 1.60× faster than
    TensorFlow`` (the fastest framework against the slowest, by steps/s, the ratio the report
    gives, and whether it is judged), or ``PyTorch 200 steps/s`` for one framework."""
    speeds = {
        fw: v for fw in summary.frameworks if (v := summary.value(fw, "steps_per_s")) is not None
    }
    if not speeds:
        return ""
    order = sorted(speeds, key=speeds.__getitem__, reverse=True)
    fast, slow = order[0], order[-1]
    if len(order) == 1:
        return f"{label_of(fast)} {format_figure(speeds[fast])} steps/s"
    cell = summary.ratio("steps_per_s", slow, fast)
    if cell.ratio is None:
        return ""
    text = f"{label_of(fast)} {cell.ratio:.2f}× faster than {label_of(slow)}"
    return text + _HEADLINE_SUFFIX.get(cell.state, "")


def history_listing(store_path: str | None) -> tuple[list[SessionRow], dict[int, str]]:
    """Every stored session, newest first, and each one's headline (a worker's job)."""
    store = store_for(store_path)
    try:
        sessions = store.sessions()
        out: dict[int, str] = {}
        for row in sessions:
            key = (str(store.path), row.id, row.created_at)
            with _HEADLINES_LOCK:
                known = _HEADLINES.get(key)
            if known is None:
                known = headline(summarize(store.load(row.id)))
                if row.status not in ("running", "pending"):
                    with _HEADLINES_LOCK:
                        _HEADLINES[key] = known
            out[row.id] = known
    finally:
        store.close()
    return sessions, out
