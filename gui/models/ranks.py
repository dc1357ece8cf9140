"""Every rank's step time while a scaling run goes on, fed by the adapter's batches (no Qt).

The Ranks tab shows the same ``RankSeries`` live as it reads from the store when the run ends
(``profiler.report.scaling.rank_series``): each ``rank_window`` event's typed view
(``RankWindow``) becomes one point of its (run, rank) series, every phase, ordered by step, so
the live curves are the stored ones, drawn as they arrive. Runs keep the order they were
planned in (worker count by worker count), ranks their number, so the curves stay grouped per
run. ``status()`` is the tab's one-line live summary: ranks seen and the slowest rank now.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field

from gui.models.live import Batch
from profiler.colors import label_of
from profiler.events import RankWindow
from profiler.report.scaling import RankSeries
from profiler.session import RunInfo

WAITING = "Scaling run started: the ranks appear here as their first step windows arrive."


@dataclass
class _RunRanks:
    """One run's ranks so far: per rank, (step, ms per step) points ordered by step."""

    framework: str
    workers: int
    points: dict[int, list[tuple[int, float]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Slowest:
    """The slowest rank of the run reporting last, at the latest step every rank reported
    (each rank's latest window while some have not reported one yet)."""

    run_id: int
    framework: str
    workers: int
    rank: int
    step_ms: float
    fastest_ms: float
    reported: int  # how many of the run's ranks have reported a window


class LiveRanks:
    """The ranks of every run of one scaling run so far (see the module docstring).

    ``start_part(workers)`` precedes each worker count's ``plan(runs)``; ``add_batch`` takes
    what one drain tick brought and says whether any rank window was in it.
    """

    def __init__(self) -> None:
        self._workers = 1
        self._runs: dict[int, _RunRanks] = {}  # in planning order
        self._latest: int | None = None  # the run a rank window came from last

    def reset(self) -> None:
        """Forget everything: a new scaling run starts."""
        self._workers = 1
        self._runs.clear()
        self._latest = None

    def start_part(self, workers: int) -> None:
        """The next worker count's session starts; its runs are planned next."""
        self._workers = workers

    def plan(self, runs: Iterable[RunInfo]) -> None:
        """Runs of the current worker count (planned at its start, or a later repeats round)."""
        for run in runs:
            self._runs.setdefault(run.run_id, _RunRanks(run.framework, self._workers))

    def add(self, run_id: int, window: RankWindow) -> bool:
        """One rank's window of run ``run_id``; False for a run that was never planned."""
        run = self._runs.get(run_id)
        if run is None:
            return False
        bisect.insort(run.points.setdefault(window.rank, []), (window.step, window.step_time_ms))
        self._latest = run_id
        return True

    def add_batch(self, batch: Batch) -> bool:
        """The rank windows of one drain tick; True when there was any."""
        changed = False
        for run_id, _t, event in batch.events:
            if isinstance(event.data, RankWindow):
                changed = self.add(run_id, event.data) or changed
        return changed

    def series(self) -> list[RankSeries]:
        """Every rank's series so far: runs in planning order, ranks in order."""
        return [
            RankSeries(
                run_id,
                run.framework,
                run.workers,
                rank,
                tuple(step for step, _ in run.points[rank]),
                tuple(ms for _, ms in run.points[rank]),
            )
            for run_id, run in self._runs.items()
            for rank in sorted(run.points)
        ]

    def rank_count(self) -> int:
        """How many (run, rank) series have reported a window."""
        return sum(len(run.points) for run in self._runs.values())

    def slowest(self) -> Slowest | None:
        """The straggler now (see ``Slowest``), or None before any rank window."""
        if self._latest is None:
            return None
        run = self._runs[self._latest]
        steps = [{step for step, _ in points} for points in run.points.values()]
        common = set.intersection(*steps)
        if common:
            at = max(common)
            now = {r: next(ms for s, ms in p if s == at) for r, p in run.points.items()}
        else:
            now = {r: p[-1][1] for r, p in run.points.items()}
        rank = max(now, key=lambda r: (now[r], -r))
        return Slowest(
            self._latest, run.framework, run.workers, rank, now[rank], min(now.values()), len(now)
        )

    def status(self) -> str:
        """One line: ranks seen, over how many runs, and the slowest rank now."""
        slowest = self.slowest()
        if slowest is None:
            return WAITING
        count = self.rank_count()
        runs = sum(1 for run in self._runs.values() if run.points)
        seen = f"Live: {count} rank{'s' if count != 1 else ''} seen in {runs} run"
        seen += "s" if runs != 1 else ""
        where = f"run {slowest.run_id} · {label_of(slowest.framework)} ×{slowest.workers}"
        if slowest.reported == 1:
            of = f" (1 of {slowest.workers} ranks so far)" if slowest.workers > 1 else ""
            return f"{seen}; now {where}: rank {slowest.rank} at {slowest.step_ms:.2f} ms/step{of}."
        return (
            f"{seen}; slowest now: rank {slowest.rank} of {where} at {slowest.step_ms:.2f} "
            f"ms/step (fastest {slowest.fastest_ms:.2f})."
        )
