"""What the Breakdown tab shows, without Qt: read in a worker, rows ready for the tables.

``load_breakdown_state`` reads a session's breakdowns (the file beside the store) and compares
them (``profiler.report.breakdown_compare``), or says in words why there is nothing to show:
tracing was off, the trace phase left nothing, the file is damaged. ``op_rows`` and
``difference_rows`` are the tables' cells with the numbers they sort by.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from profiler.breakdown import BreakdownFileError, load_breakdowns
from profiler.colors import label_of
from profiler.report.breakdown_compare import BreakdownComparison, Difference, compare_breakdowns
from profiler.report.breakdown_page import why_no_breakdown
from profiler.report.formatting import MISSING, fmt
from profiler.session import store_for

NO_SESSION = (
    "Run a session, or open one from History, to see where each framework's step time goes: "
    "time per step by category, the top operators side by side, and what explains the gap."
)
RUNNING = "The breakdown appears when the session ends (the trace phase runs after measuring)."
NO_COUNTERPART = "no counterpart"


@dataclass(frozen=True)
class BreakdownState:
    """A session's breakdown side by side, or the sentence to show instead."""

    session_id: int | None
    comparison: BreakdownComparison | None
    placeholder: str = ""

    @property
    def shown(self) -> bool:
        """Whether there is a breakdown to show."""
        return self.comparison is not None and not self.comparison.empty


def load_breakdown_state(store_path: str | None, session_id: int) -> BreakdownState:
    """A stored session's breakdown state (a worker's job: reads files and the store)."""
    store = store_for(store_path)
    try:
        try:
            breakdowns = load_breakdowns(store, session_id)
        except BreakdownFileError as exc:
            return BreakdownState(session_id, None, f"Cannot read this session's breakdown: {exc}")
        row = next((r for r in store.sessions() if r.id == session_id), None)
        # run order is the config's order; the session's list adds frameworks with no trace
        order = [*dict.fromkeys(b.framework for b in breakdowns), *(row.frameworks if row else ())]
        order = list(dict.fromkeys(order))
        if breakdowns:
            return BreakdownState(session_id, compare_breakdowns(breakdowns, order))
        config = store.load(session_id).config  # only to tell "off" from "failed"
    finally:
        store.close()
    return BreakdownState(session_id, None, why_no_breakdown(config))


# -- table rows --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """A table cell: its text, and the value it sorts by (text sorts as text)."""

    text: str
    key: float | str
    tooltip: str = ""  # more than the cell shows (every name of a merged op); "" = the text


def _ms_cell(value: float | None, share: float | None = None) -> Cell:
    if value is None:
        return Cell(NO_COUNTERPART, -1.0)
    text = fmt(value)
    if share is not None and math.isfinite(share):
        text += f" ({share:.0%})"
    return Cell(text, value)


def _share_text(share: float | None) -> str:
    if share is None or not math.isfinite(share):
        return MISSING
    return "0%" if abs(share) < 0.005 else f"{share:.0%}"


def _count_cell(value: float | None) -> Cell:
    if value is None or not math.isfinite(value):
        return Cell(MISSING, -1.0)
    text = f"{value:.0f}" if abs(value - round(value)) < 0.05 else f"{value:.1f}"
    return Cell(text, value)


def op_headers(cmp: BreakdownComparison) -> list[tuple[str, str | None]]:
    """The top-ops table's headers, each with the framework colour it names (or None)."""
    headers: list[tuple[str, str | None]] = [("Operator", None), ("Category", None)]
    for fw in cmp.frameworks:
        headers.append((f"{label_of(fw)} ms/step", fw))
        headers.append((f"{label_of(fw)} launches", fw))
    return headers


def op_rows(cmp: BreakdownComparison) -> list[list[Cell]]:
    """One row per matched op: its names, category, and per framework ms/step (share of the
    step) and launches per step, or "no counterpart"."""
    rows = []
    for op in cmp.ops:
        title = op.title(cmp.frameworks)
        full = "\n".join(f"{label_of(fw)}: {', '.join(n)}" for fw, n in op.names.items())
        row = [Cell(title, title.lower(), tooltip=full), Cell(op.category.label, op.category.label)]
        for fw in cmp.frameworks:
            if op.has(fw):
                row.append(_ms_cell(op.ms_per_step[fw], op.share[fw]))
                row.append(_count_cell(op.launches_per_step[fw]))
            else:
                row += [Cell(NO_COUNTERPART, -1.0), Cell(MISSING, -1.0)]
        rows.append(row)
    return rows


def difference_headers(faster: str, slower: str) -> list[str]:
    """The differences table's headers for one pair."""
    return ["#", "What", f"{label_of(faster)} ms", f"{label_of(slower)} ms", "Δ ms/step",
            "share of gap", "launches/step"]  # fmt: skip


def difference_rows(diffs: Sequence[Difference]) -> list[list[Cell]]:
    """Ranked differences (largest first): what each adds to the slower framework's step."""
    rows = []
    for rank, d in enumerate(diffs, start=1):
        share = d.share_of_gap
        launches = (
            f"{_count_cell(d.faster_launches).text} vs {_count_cell(d.slower_launches).text}"
            if d.faster_launches is not None or d.slower_launches is not None
            else MISSING
        )
        rows.append(
            [
                Cell(str(rank), rank),
                Cell(d.label, d.label.lower()),
                _ms_cell(d.faster_ms),
                _ms_cell(d.slower_ms),
                Cell("0" if abs(d.delta_ms) < 5e-4 else f"{d.delta_ms:+.3g}", d.delta_ms),
                Cell(_share_text(share), -1e9 if share is None else share),
                Cell(launches, launches),
            ]
        )
    return rows
