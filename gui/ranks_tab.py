"""The Ranks tab: every rank of a data-parallel scaling run, grouped per run, and its verdict.

For a session that is part of a scaling run (``run.distributed``), the tab plots the step time of
every rank of every run of every worker count (``gui.rank_plots.RankStepTimes``) under the scaling
verdict sentence of the report model. The sessions are read in a worker (``TaskRunner``) when a
session ends or a stored one is shown; the tab is enabled only while such a session is shown or
run.

While a scaling run goes on (``follow(controller)``), the tab is live: each drain tick's batch
feeds its ``rank_window`` views into ``gui.models.ranks.LiveRanks`` and the curves that grew are
redrawn, under a one-line status (ranks seen, the slowest rank now) where the verdict will be.
Fed from the batches rather than re-read from the store on a timer: the adapter has already
decoded the very events the store was given, so the live curves cost no store read, no worker
task and no second copy of the session per refresh, they move at the drain tick's pace (100 ms,
one redraw per tick at most, only of the curves that grew), and nothing touches the store on the
GUI thread. When the run ends its sessions are read back once, as for a stored session, which
replaces the live curves by the same stored ones and adds the verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from gui.adapter import SessionController
from gui.elided_label import ElidedLabel
from gui.models.live import Batch
from gui.models.ranks import WAITING, LiveRanks
from gui.rank_plots import RankStepTimes
from gui.tasks import TaskRunner
from profiler.report.scaling import RankSeries, build_scaling, group_of, load_scaling, rank_series
from profiler.session import RunInfo, store_for

NOT_SCALING = (
    "Ranks are shown for a data-parallel scaling run (run.distributed in the config): every "
    "rank's step time, grouped per run, and the scaling verdict."
)


@dataclass(frozen=True)
class RanksState:
    """What the tab shows for one session: its scaling run's rank series and verdict, or
    ``placeholder`` saying why there are none (``scaling`` is False for an ordinary session).
    While a scaling run goes on, ``session_id`` is None and ``status`` is the live line."""

    session_id: int | None
    scaling: bool
    series: tuple[RankSeries, ...] = ()
    verdict: str = ""
    placeholder: str = NOT_SCALING
    status: str = ""


def load_ranks_state(store_path: str | None, session_id: int) -> RanksState:
    """The rank series of every session of ``session_id``'s scaling run (a worker's job)."""
    store = store_for(store_path)
    try:
        first = store.load(session_id)
        if group_of(first) is None:
            return RanksState(session_id, False)
        sessions = load_scaling(store, session_id)
    finally:
        store.close()
    series = tuple(s for session in sessions for s in rank_series(session))
    verdict = build_scaling(sessions).verdict
    counts = ", ".join(str(s.env["distributed"]["workers"]) for s in sessions)
    empty = f"No rank reported a timing window in the sessions at {counts} worker(s)."
    return RanksState(session_id, True, series, verdict, "" if series else empty)


class RanksTab(QWidget):
    """The Ranks tab; ``load_session(id)`` fills it (read in a worker), ``follow(controller)``
    makes it live while the controller runs a scaling run.

    ``shown(state)`` follows each state shown (live ones have no ``session_id``);
    ``availabilityChanged(bool)`` says whether the session shown or run is part of a scaling run
    (the window enables the tab by it).
    """

    shown = Signal(object)  # RanksState
    availabilityChanged = Signal(bool)

    def __init__(
        self,
        runner: TaskRunner,
        store_path: Callable[[], str | None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("ranksTab")
        self.runner = runner
        self._store_path = store_path
        self._pending: int | None = None
        self.live = LiveRanks()
        self._following: SessionController | None = None
        self._live = False  # a scaling run is being run and shown as it goes
        self.state = RanksState(None, False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 0)
        self.verdict = QLabel(self)
        self.verdict.setObjectName("scalingVerdict")
        self.verdict.setWordWrap(True)
        self.verdict.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note = QLabel(self)
        self.note.setObjectName("muted")
        self.note.setWordWrap(True)
        # one line however narrow the tab: the plot must not jump as the status changes length
        self.live_status = ElidedLabel("", self, Qt.TextElideMode.ElideRight)
        self.live_status.setObjectName("liveRanks")
        self.plot = RankStepTimes(self)
        layout.addWidget(self.verdict)
        layout.addWidget(self.note)
        layout.addWidget(self.live_status)
        layout.addWidget(self.plot, 1)
        self.show_state(self.state)

    def follow(self, controller: SessionController) -> None:
        """Show ``controller``'s scaling runs live, and each start()'s last session at its end."""
        self._following = controller
        controller.scalingPart.connect(self._on_part)
        controller.runsPlanned.connect(self._on_planned)
        controller.runsAdded.connect(self._on_runs_added)
        controller.batch.connect(self._on_batch)
        controller.sessionFinished.connect(self._on_session_finished)

    def load_session(self, session_id: int) -> None:
        """Read stored session ``session_id``'s scaling run in a worker and show it."""
        self._live = False
        if session_id < 0:
            return
        self._pending = session_id
        path = self._store_path
        self.runner.submit(
            "ranks",
            lambda: load_ranks_state(path(), session_id),
            self._loaded,
            lambda message, _details: self._failed(session_id, message),
        )

    def _on_part(self, index: int, _total: int, workers: int) -> None:
        if index == 0:  # a new scaling run: the worker counts before it are another run's
            self.live.reset()
        self.live.start_part(workers)

    def _on_planned(self, runs: list[RunInfo]) -> None:
        self._pending = None
        self._live = self._following is not None and self._following.scaling
        if not self._live:
            self.show_state(RanksState(None, False))
            return
        self.live.plan(runs)
        self._show_live()

    def _on_runs_added(self, runs: list[RunInfo]) -> None:
        if self._live:
            self.live.plan(runs)

    def _on_batch(self, batch: Batch) -> None:
        if self._live and self.live.add_batch(batch):
            self._show_live()

    def _on_session_finished(self, session_id: int, _status: str) -> None:
        self.load_session(session_id)

    def _show_live(self) -> None:
        series = tuple(self.live.series())
        state = (
            RanksState(None, True, series, placeholder="", status=self.live.status())
            if series
            else RanksState(None, True, placeholder=WAITING)
        )
        self.show_state(state, incremental=True)

    def _loaded(self, state: RanksState) -> None:
        if state.session_id == self._pending:  # else a newer read was asked for since
            self.show_state(state)

    def _failed(self, session_id: int, message: str) -> None:
        if session_id == self._pending:
            text = f"Cannot read session {session_id}'s ranks: {message}"
            self.show_state(RanksState(session_id, False, placeholder=text))

    def show_state(self, state: RanksState, incremental: bool = False) -> None:
        """Show a scaling run's ranks (or why there are none); ``incremental``: ``state`` is a
        later live state of the run shown, so only the curves that grew are redrawn."""
        self.state = state
        self.verdict.setText(state.verdict)
        self.verdict.setVisible(bool(state.verdict))
        self.note.setText(state.placeholder)
        self.note.setVisible(bool(state.placeholder))
        self.live_status.setText(state.status)
        self.live_status.setVisible(bool(state.status))
        if incremental:
            self.plot.update_series(list(state.series))
        else:
            self.plot.set_series(list(state.series))
        self.availabilityChanged.emit(state.scaling)
        self.shown.emit(state)

    def run_count(self) -> int:
        """How many runs the plot shows ranks of."""
        return len({s.run_id for s in self.state.series})
