"""Stored sessions, read back for the window: run in a worker thread, never on the GUI thread.

``load_stored`` turns a ``StoredSession`` into what the live path builds batch by batch: the
same ``SessionData`` (column arrays) for the plots and the summary, plus a small ``Batch`` that
brings the runs table to its final state, the outcomes and each run's log.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gui.models.live import Batch, PhaseChange, error_lines, window_point
from gui.models.rundata import SAMPLE_FIELDS, SessionData, window_rows
from profiler.events import Done, ErrorInfo, Hello, Phase, Window
from profiler.protocol import Event
from profiler.repeats import StopRecord
from profiler.report.summary import SessionSummary, summarize
from profiler.session import RunInfo, RunOutcome, store_for
from profiler.store import SessionRow, StoredRun, StoredSession


@dataclass
class StoredView:
    """A stored session ready to show: data, table state, outcomes and logs."""

    session_id: int
    name: str
    created_at: str
    status: str
    config: dict[str, Any]
    runs: list[RunInfo]
    data: SessionData
    table: Batch
    outcomes: list[RunOutcome]
    logs: dict[int, list[str]] = field(default_factory=dict)
    # why auto repeats stopped, in one sentence; "" for fixed repeats and older stores
    repeats: str = ""
    # the figures every surface shows (profiler.report.summary); None only for views made by hand
    summary: SessionSummary | None = None

    @property
    def frameworks(self) -> list[str]:
        """The frameworks of its runs, in run order, each once."""
        return list(dict.fromkeys(r.framework for r in self.runs))

    @property
    def title(self) -> str:
        """``name (#id, date)`` for titles and column headers."""
        return f"{self.name} (#{self.session_id}, {self.created_at[:16].replace('T', ' ')})"


def list_sessions(store_path: str | None) -> list[SessionRow]:
    """Every stored session, newest first (opens and closes the store)."""
    store = store_for(store_path)
    try:
        return store.sessions()
    finally:
        store.close()


def annotate_stored(
    store_path: str | None, session_id: int, name: str, tags: list[str], note: str
) -> None:
    """Rename, tag and annotate a stored session (a worker's job)."""
    store = store_for(store_path)
    try:
        store.annotate_session(session_id, name=name, tags=tags, note=note)
    finally:
        store.close()


def stored_config(store_path: str | None, session_id: int) -> tuple[dict[str, Any], str | None]:
    """A stored session's config and config file, to run it again (a worker's job)."""
    store = store_for(store_path)
    try:
        stored = store.load(session_id)
    finally:
        store.close()
    return stored.config, stored.config_path


def load_stored(store_path: str | None, session_id: int) -> StoredView:
    """Read a session from the store and prepare it for the window (raises KeyError if absent)."""
    store = store_for(store_path)
    try:
        stored = store.load(session_id)
    finally:
        store.close()
    return view_of(stored)


def delete_stored(store_path: str | None, session_id: int) -> bool:
    """Delete a session from the store; False when there was none."""
    store = store_for(store_path)
    try:
        return store.delete_session(session_id)
    finally:
        store.close()


def view_of(stored: StoredSession) -> StoredView:
    """Convert a loaded session (no I/O)."""
    train = stored.config.get("train") or {}
    batch_size = int(train.get("batch_size") or 1)
    total_steps = int(train.get("steps") or 0)
    runs = [RunInfo(r.id, r.framework, r.repeat, r.seq, total_steps) for r in stored.runs]
    data = SessionData(runs)
    table = Batch()
    outcomes: list[RunOutcome] = []
    logs: dict[int, list[str]] = {}
    for run in stored.runs:
        _fill_run(data, table, run, batch_size)
        logs[run.id] = _log_lines(run)
        outcomes.append(RunOutcome(run.id, run.framework, run.status, run.error, run.exit_code))
        data.runs[run.id].status = run.status
    return StoredView(
        session_id=stored.id,
        name=stored.name,
        created_at=stored.created_at,
        status=stored.status,
        config=stored.config,
        runs=runs,
        data=data,
        table=table,
        outcomes=outcomes,
        logs=logs,
        repeats=_repeats_text(stored.repeats),
        summary=summarize(stored),
    )


def _fill_run(data: SessionData, table: Batch, run: StoredRun, batch_size: int) -> None:
    target = data.runs[run.id]
    windows = []
    for e in run.events:
        view = e.data
        if isinstance(view, Window):
            windows.append(window_point(e.t, view, batch_size))
        elif isinstance(view, Phase):
            target.phase_changed(view.name, view.state, e.t)
            if view.state == "start":
                table.phases.append(PhaseChange(run.id, e.t, view.name, view.state))
        elif isinstance(view, Hello | Done | ErrorInfo):
            table.events.append((run.id, e.t, Event(e.kind, e.t, e.payload)))
    if windows:
        target.add_windows(window_rows(windows))
        table.windows[run.id].append(windows[-1])
    samples = run.samples
    if samples and len(samples.get("t", ())):
        columns = [
            samples.get(name, np.full(len(samples["t"]), math.nan)) for name in SAMPLE_FIELDS
        ]
        target.add_samples(np.column_stack(columns).astype(float))
    end = run.ended_t if run.ended_t is not None else target.last_t
    if end is not None and not math.isnan(end):
        target.close_phases(end)


def _log_lines(run: StoredRun) -> list[str]:
    lines = [line for _t, line in run.logs]
    for _t, error in run.views(ErrorInfo):
        lines.extend(error_lines(error))
    if run.error and run.status != "ok":
        lines.append(f"[frameduel] run {run.status}: {run.error}")
    return lines


def _repeats_text(repeats: dict[str, Any] | None) -> str:
    if not repeats:
        return ""
    record = StopRecord.from_json(repeats)
    return record.describe() if record.mode == "auto" else ""
