"""A data-parallel scaling run in the app: run from the window (one session per worker count,
in turn) and reopened from the store, with every rank plotted on the Ranks tab and the verdict;
while it runs, the Ranks tab plots the ranks as their windows arrive."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pytestqt.qtbot import QtBot

from gui.adapter import SessionController
from gui.main_window import MainWindow
from gui.ranks_tab import NOT_SCALING, RanksState
from profiler.config import Config
from profiler.store import Store
from tests.gui.recorded import record_session
from tests.gui.test_gui_window import drop_and_wait

TASK_TIMEOUT_MS = 60_000
SESSION_TIMEOUT_MS = 540_000  # two worker counts of torchrun on a busy 2-core machine

SCALING_YAML = """\
name: scaling
frameworks: [torch]
device: cpu
threads: 2
model: {family: mlp, input_dim: 8, hidden: [16], num_classes: 3}
data: {samples: 64}
train: {batch_size: 8, steps: 12, warmup_steps: 2, window_steps: 2}
run: {repeats: 1, timeout_s: 240, trace: false, distributed: {workers: [1, 2], scaling: weak}}
"""


def record_scaling(store_path: Path, group: str = "g1") -> list[int]:
    """Two sessions of one weak scaling run (1 and 2 workers, a torch run each), written through
    the real Store as a scaling run writes them: each rank's windows, the merged windows (the
    slowest rank's time), the launch record. Rank 1 of the 2-worker run is the slower."""
    ids = []
    with Store(store_path) as store:
        for workers, ms in ((1, 10.0), (2, 11.0)):
            env = {"distributed": {"group": group, "workers": workers, "scaling": "weak"}}
            config = {"name": "scaling", "frameworks": ["torch"], "train": {"batch_size": 8}}
            sid = store.create_session("scaling", config, None, env)
            run_id = store.create_run(sid, 0, "torch", 0)
            store.update_run(run_id, status="running", started_t=0.0)
            t = 0.0
            store.add_event(run_id, t, "phase", {"name": "measure", "state": "start"})
            for i, step in enumerate(range(10, 110, 10)):
                factor = 1.0 + 0.03 * (i % 3)  # windows differ a little, as real ones do
                slowest = 0.0
                for rank in range(workers):
                    seconds = 10 * ms * factor * (1.0 + 0.1 * rank) / 1000.0
                    slowest = max(slowest, seconds)
                    window = {"phase": "measure", "step": step, "steps": 10, "seconds": seconds}
                    store.add_event(run_id, t + seconds, "rank_window", {**window, "rank": rank})
                t += slowest
                store.add_event(
                    run_id,
                    t,
                    "window",
                    {"phase": "measure", "step": step, "steps": 10, "seconds": slowest},
                )
            store.add_event(run_id, t, "phase", {"name": "measure", "state": "end"})
            store.add_event(run_id, t, "done", {"steps": 100})
            launch = {"world_size": workers, "global_batch": 8 * workers, "scaling": "weak"}
            store.update_run(
                run_id, status="ok", exit_code=0, ended_t=t, info={"distributed": launch}
            )
            store.finish_session(sid, "ok")
            ids.append(sid)
    return ids


def _ranks_enabled(window: MainWindow) -> bool:
    index = window.tabs.indexOf(window.ranks)
    return window.tabs.isTabEnabled(index) and window.commands.tab_actions[index].isEnabled()


def test_a_stored_scaling_run_reopens_with_every_rank_and_its_verdict(
    window: MainWindow, qtbot: QtBot, store_path: Path, tmp_path: Path
) -> None:
    one, two = record_scaling(store_path)
    plain = record_session(store_path, "plain", ("torch",), steps=60)
    assert not _ranks_enabled(window)  # nothing shown yet

    with qtbot.waitSignal(window.ranks.shown, timeout=TASK_TIMEOUT_MS) as shown:
        window.sessions.open_session(two)
    state = shown.args[0]
    assert state.session_id == two and state.scaling
    assert _ranks_enabled(window)
    # both worker counts' runs, every rank of each: 1 + 2 curves, grouped per run
    with Store(store_path) as store:
        run_of = {sid: store.load(sid).runs[0].id for sid in (one, two)}
    assert list(window.ranks.plot.curves) == [(run_of[one], 0), (run_of[two], 0), (run_of[two], 1)]
    assert window.ranks.run_count() == 2
    names = [item.text for _, item in window.ranks.plot.legend.items]
    assert names[-1] == f"run {run_of[two]} · PyTorch ×2 · rank 1"
    # rank 1 of the 2-worker run is 10% slower than rank 0, window by window
    _, y0 = window.ranks.plot.curves[(run_of[two], 0)].getData()
    _, y1 = window.ranks.plot.curves[(run_of[two], 1)].getData()
    assert list(y1) == pytest.approx([1.1 * v for v in y0])
    # the report model's verdict: 2x the samples in 1.21x the (slowest rank's) step time
    verdict = window.ranks.verdict.text()
    assert verdict.startswith("At 2 workers (weak scaling), PyTorch keeps 83% efficiency")
    assert window.ranks.verdict.isVisibleTo(window.ranks)
    window.tabs.setCurrentWidget(window.ranks)
    window.ranks.grab().save(str(tmp_path / "ranks.png"))

    # an ordinary session: the tab is disabled again and says why
    with qtbot.waitSignal(window.ranks.shown, timeout=TASK_TIMEOUT_MS) as shown:
        window.sessions.open_session(plain)
    assert not shown.args[0].scaling
    assert not _ranks_enabled(window)
    assert window.ranks.plot.curves == {}
    assert window.ranks.note.text() == NOT_SCALING
    assert not window.ranks.verdict.isVisibleTo(window.ranks)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_app_runs_a_scaling_config_one_worker_count_after_another(
    window: MainWindow, qtbot: QtBot, store_path: Path, tmp_path: Path
) -> None:
    config = tmp_path / "scaling.yaml"
    config.write_text(SCALING_YAML, encoding="utf-8")
    drop_and_wait(qtbot, window, [config])
    assert window.run_button.isEnabled()
    parts: list[tuple[int, int, int]] = []
    window.controller.scalingPart.connect(lambda i, n, w: parts.append((i, n, w)))
    statuses: list[str] = []
    window.controller.scalingPart.connect(lambda *_: statuses.append(window.status_text()))
    planned: list[list[int]] = []
    window.controller.runsPlanned.connect(lambda runs: planned.append([r.run_id for r in runs]))
    running: list[str] = []
    window.controller.runStarted.connect(lambda _run: running.append(window.status_text()))
    finished: list[str] = []
    window.controller.runFinished.connect(lambda outcome: finished.append(outcome.status))
    # the Ranks tab while the 2-worker run goes on: its first state with 3 windows of each rank
    live: list[tuple[RanksState, list[tuple[int, int]], str, bool]] = []

    def on_ranks_shown(state: RanksState) -> None:
        if not live:
            window.tabs.setCurrentWidget(window.ranks)  # enabled: a scaling run is shown
        two = {s.rank for s in state.series if s.workers == 2 and len(s.steps) >= 3}
        if state.session_id is None and two == {0, 1} and len(live) < 1:
            assert window.controller.is_running()
            keys = list(window.ranks.plot.curves)
            status = window.ranks.live_status.full_text()
            live.append((state, keys, status, _ranks_enabled(window)))
            layout = window.ranks.layout()
            assert layout is not None
            layout.activate()  # as the next event-loop pass would, before painting
            window.ranks.grab().save(str(tmp_path / "ranks-live.png"))

    window.ranks.shown.connect(on_ranks_shown)
    at_end: list[RanksState] = []
    window.controller.sessionFinished.connect(lambda *_: at_end.append(window.ranks.state))

    with qtbot.waitSignal(window.controller.sessionFinished, timeout=SESSION_TIMEOUT_MS) as done:
        assert window.runs.start_run()
    session_id, status = done.args
    assert status == "ok", window.log_pane.lines(window.runs_table.runs.rows[0].info.run_id)
    assert parts == [(0, 2, 1), (1, 2, 2)]
    assert statuses == [
        "Starting scaling — 1 worker (1 of 2)…",
        "Starting scaling — 2 workers (2 of 2)…",
    ]
    assert len(running) == 2 and "— 2 workers (2 of 2): PyTorch" in running[1]
    assert finished == ["ok", "ok"]
    # the runs table and the dashboard follow the session being run: the 2-worker one at the end
    assert [row.info.run_id for row in window.runs_table.runs.rows] == planned[1]
    assert set(window.dashboard.data.runs) == set(planned[1])

    with Store(store_path) as store:
        sessions = [store.load(row.id) for row in store.sessions()]
    by_workers = {s.env["distributed"]["workers"]: s for s in sessions}
    assert sorted(by_workers) == [1, 2]
    assert by_workers[2].id == session_id
    assert all(s.status == "ok" for s in sessions)

    qtbot.waitUntil(
        lambda: window.ranks.state.session_id == session_id and bool(window.ranks.state.series),
        timeout=TASK_TIMEOUT_MS,
    )
    assert _ranks_enabled(window)
    assert window.ranks.run_count() == 2
    ranks = [(s.workers, s.rank) for s in window.ranks.state.series]
    assert ranks == [(1, 0), (2, 0), (2, 1)]
    assert len(window.ranks.plot.curves) == 3
    # before the session ended, every rank of both runs was on the tab, the straggler named
    assert live, "the Ranks tab never showed the 2-worker run's ranks while it ran"
    state, keys, note, enabled = live[0]
    assert enabled and not state.verdict
    assert keys == [(planned[0][0], 0), (planned[1][0], 0), (planned[1][0], 1)]
    assert note.startswith("Live: 3 ranks seen in 2 runs; slowest now: rank ")
    assert f"of run {planned[1][0]} · PyTorch ×2 at " in note
    # the live curves at the end were the stored ones, which then came with the verdict
    assert at_end[0].session_id is None and at_end[0].series == window.ranks.state.series
    assert "efficiency" in window.ranks.verdict.text()
    assert window.ranks.verdict.text().startswith("At 2 workers (weak scaling), PyTorch keeps")
    window.tabs.setCurrentWidget(window.ranks)
    window.grab().save(str(tmp_path / "window-ranks.png"))


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_stop_skips_the_worker_counts_not_started(qtbot: QtBot, store_path: Path) -> None:
    config = Config.model_validate(yaml.safe_load(SCALING_YAML))
    controller = SessionController()
    parts: list[int] = []
    controller.scalingPart.connect(lambda _i, _n, workers: parts.append(workers))
    # stopped as soon as the 1-worker run has ended
    controller.runFinished.connect(lambda _outcome: controller.stop())
    with qtbot.waitSignal(controller.sessionFinished, timeout=SESSION_TIMEOUT_MS) as done:
        controller.start(config, None, str(store_path))
    _session_id, status = done.args
    assert status == "stopped"
    with Store(store_path) as store:
        stored = {
            store.load(row.id).env["distributed"]["workers"]: row.status for row in store.sessions()
        }
    assert stored[1] == "ok"
    # the stop came between the worker counts or just after the 2-worker one started
    assert stored.get(2, "stopped") == "stopped"
    assert parts in ([1], [1, 2])
