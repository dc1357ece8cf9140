"""The Ranks tab while a scaling run goes on: rank windows fed through the adapter's own queue
and drain into the live model and the plot, then replaced by the stored run and its verdict.

The events are written to a real store and given to the real adapter's listener, as a scaling
run's session does (store first, then the listener), so the live curves can be checked against
what the store reads back. The slow end-to-end check with a real torchrun job is in
``test_gui_scaling``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from gui.adapter import SessionController
from gui.models.live import Batch, add_item
from gui.models.ranks import WAITING, LiveRanks
from gui.ranks_tab import NOT_SCALING, RanksTab
from gui.tasks import TaskRunner
from profiler.events import RankWindow
from profiler.protocol import Event
from profiler.report.scaling import load_scaling, rank_series
from profiler.session import RunInfo
from profiler.store import Store

TASK_TIMEOUT_MS = 60_000


class ScalingFeed:
    """Writes a weak scaling run's sessions to a real store and hands each event to a listener
    (the adapter's), as the engine does: one session per worker count, one torch run each."""

    def __init__(self, store: Store, controller: SessionController | None = None) -> None:
        self.store = store
        self.controller = controller
        self.t = 0.0

    def start_part(self, workers: int, group: str = "g1") -> tuple[int, int]:
        env = {"distributed": {"group": group, "workers": workers, "scaling": "weak"}}
        config = {"name": "scaling", "frameworks": ["torch"], "train": {"batch_size": 8}}
        session_id = self.store.create_session("scaling", config, None, env)
        run_id = self.store.create_run(session_id, 0, "torch", 0)
        self.store.update_run(run_id, status="running", started_t=self.t)
        self.event(run_id, "phase", {"name": "measure", "state": "start"})
        return session_id, run_id

    def event(self, run_id: int, kind: str, payload: dict[str, object]) -> Event:
        event = Event(kind, self.t, payload)
        self.store.add_event(run_id, self.t, kind, payload)
        if self.controller is not None:
            self.controller.listener.run_event(run_id, self.t, event)
        return event

    def window(self, run_id: int, step: int, rank_ms: list[float]) -> list[Event]:
        """Every rank's window ending at ``step`` (10 steps), then the job's merged one."""
        events = []
        for rank, ms in enumerate(rank_ms):
            window = {"phase": "measure", "step": step, "steps": 10, "seconds": ms / 100}
            events.append(self.event(run_id, "rank_window", {**window, "rank": rank}))
        self.t += max(rank_ms) / 100
        slowest = {"phase": "measure", "step": step, "steps": 10, "seconds": max(rank_ms) / 100}
        self.event(run_id, "window", slowest)
        return events

    def end_part(self, session_id: int, run_id: int, workers: int) -> None:
        self.event(run_id, "phase", {"name": "measure", "state": "end"})
        self.event(run_id, "done", {"steps": 100})
        launch = {"world_size": workers, "global_batch": 8 * workers, "scaling": "weak"}
        self.store.update_run(
            run_id, status="ok", exit_code=0, ended_t=self.t, info={"distributed": launch}
        )
        self.store.finish_session(session_id, "ok")


def _ms(i: int, rank: int) -> float:
    """Window ``i``'s ms per step at ``rank``: rank 1 is 20% slower than rank 0; windows
    differ a little, as real ones do."""
    return 10.0 * (1.0 + 0.03 * (i % 3)) * (1.0 + 0.2 * rank)


def test_the_live_model_builds_the_stored_rank_series_and_names_the_straggler(
    tmp_path: Path,
) -> None:
    live = LiveRanks()
    assert live.status() == WAITING and live.slowest() is None
    with Store(tmp_path / "store.sqlite") as store:
        feed = ScalingFeed(store)
        ids = []
        for workers in (1, 2):
            live.start_part(workers)
            session_id, run_id = feed.start_part(workers)
            live.plan([RunInfo(run_id, "torch", 0, 0, 100)])
            for i, step in enumerate(range(10, 110, 10)):
                batch = Batch()
                for event in feed.window(run_id, step, [_ms(i, r) for r in range(workers)]):
                    add_item(batch, ("event", run_id, feed.t, event), 8)
                assert live.add_batch(batch)
                if workers == 1 and i == 0:
                    assert live.status() == (
                        f"Live: 1 rank seen in 1 run; now run {run_id} · PyTorch ×1: "
                        "rank 0 at 10.00 ms/step."
                    )
            feed.end_part(session_id, run_id, workers)
            ids.append((session_id, run_id))
        stored = load_scaling(store, ids[-1][0])
    # the live series are exactly the stored ones, grouped per run, ranks in order
    assert live.series() == [s for session in stored for s in rank_series(session)]
    assert [(s.workers, s.rank) for s in live.series()] == [(1, 0), (2, 0), (2, 1)]
    slowest = live.slowest()
    assert slowest is not None
    assert (slowest.run_id, slowest.rank, slowest.reported) == (ids[1][1], 1, 2)
    assert slowest.step_ms == pytest.approx(_ms(9, 1))  # the last window: i = 9
    assert slowest.fastest_ms == pytest.approx(_ms(9, 0))
    assert live.status() == (
        f"Live: 3 ranks seen in 2 runs; slowest now: rank 1 of run {ids[1][1]} · PyTorch ×2 "
        "at 12.00 ms/step (fastest 10.00)."
    )
    # only rank 0's window of a new step has arrived: the straggler is judged where all reported
    batch = Batch()
    late = {"phase": "measure", "step": 110, "steps": 10, "seconds": 1, "rank": 0}
    event = Event("rank_window", 0.0, late)
    add_item(batch, ("event", ids[1][1], 0.0, event), 8)
    assert live.add_batch(batch)
    assert live.slowest() == slowest
    # a run never planned is not plotted; a batch without rank windows changes nothing
    assert isinstance(event.data, RankWindow)
    assert not live.add(ids[1][1] + 99, event.data)
    assert not live.add_batch(Batch())
    live.reset()
    assert live.series() == [] and live.status() == WAITING


def test_the_tab_plots_each_rank_as_its_windows_arrive_then_shows_the_stored_run(
    qtbot: QtBot, tmp_path: Path
) -> None:
    path = tmp_path / "store.sqlite"
    controller = SessionController()
    runner = TaskRunner()
    tab = RanksTab(runner, lambda: str(path))
    qtbot.addWidget(tab)
    tab.resize(720, 420)
    tab.follow(controller)
    available: list[bool] = []
    tab.availabilityChanged.connect(available.append)
    controller.scaling = True  # as start() sets it for a config with run.distributed

    with Store(path) as store:
        feed = ScalingFeed(store, controller)
        runs = []
        for index, workers in enumerate((1, 2)):
            controller.scalingPart.emit(index, 2, workers)
            session_id, run_id = feed.start_part(workers)
            runs.append(run_id)
            controller.runsPlanned.emit([RunInfo(run_id, "torch", 0, 0, 100)])
            assert tab.state.scaling and available[-1]
            assert not tab.verdict.isVisibleTo(tab)
            if index == 0:
                assert tab.note.text() == WAITING and tab.plot.curves == {}
                assert not tab.live_status.isVisibleTo(tab)
            for i, step in enumerate(range(10, 110, 10)):
                feed.window(run_id, step, [_ms(i, r) for r in range(workers)])
                controller.drain()  # the adapter's timer tick
                if index == 1 and i == 4:
                    layout = tab.layout()
                    assert layout is not None
                    layout.activate()  # as the next event-loop pass would, before painting
                    tab.grab().save(str(tmp_path / "ranks-live.png"))
                    mid = dict(tab.plot.curves)
            feed.end_part(session_id, run_id, workers)
        assert list(tab.plot.curves) == [(runs[0], 0), (runs[1], 0), (runs[1], 1)]
        # curves grew in place: the ones drawn mid-run are the same items, now longer
        assert all(tab.plot.curves[key] is curve for key, curve in mid.items())
        x, y = tab.plot.curves[(runs[1], 1)].getData()
        assert list(x) == list(range(10, 110, 10))
        assert list(y) == pytest.approx([_ms(i, 1) for i in range(10)])
        assert tab.live_status.full_text() == (
            f"Live: 3 ranks seen in 2 runs; slowest now: rank 1 of run {runs[1]} · PyTorch ×2 "
            "at 12.00 ms/step (fastest 10.00)."
        )
        assert tab.live_status.isVisibleTo(tab) and not tab.note.isVisibleTo(tab)
        assert tab.state.session_id is None and not tab.verdict.text()
        live = tab.state.series

    # the run ends: its sessions are read back in a worker, the verdict replaces the status
    with qtbot.waitSignal(tab.shown, timeout=TASK_TIMEOUT_MS) as shown:
        controller.sessionFinished.emit(session_id, "ok")
    runner.join()
    assert shown.args[0].session_id == session_id
    assert tab.state.series == live  # the stored curves are the live ones
    assert tab.verdict.text().startswith("At 2 workers (weak scaling), PyTorch keeps")
    assert not tab.note.isVisibleTo(tab) and not tab.live_status.isVisibleTo(tab)
    assert available[-1]

    # an ordinary session next: the tab is no longer live and says why it is empty
    controller.scaling = False
    controller.runsPlanned.emit([RunInfo(runs[-1] + 1, "torch", 0, 0, 100)])
    assert tab.plot.curves == {} and tab.note.text() == NOT_SCALING and not available[-1]
