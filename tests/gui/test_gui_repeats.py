"""Auto repeats in the app: the verdict's certainty live in the status bar, rounds joining the
runs table, and why the repeats stopped. A real session: PyTorch and JAX on a tiny model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from gui.main_window import MainWindow
from profiler.repeats import BUDGET, Certainty, StopRecord
from profiler.store import Store

pytestmark = pytest.mark.slow
ConfigMaker = Callable[..., Path]

SESSION_TIMEOUT_MS = 240_000


def test_certainty_is_shown_live_and_the_stop_reason_at_the_end(
    window: MainWindow, qtbot: QtBot, make_config: ConfigMaker, store_path: Path
) -> None:
    config = make_config(
        steps=40,
        **{
            "[torch, tensorflow]": "[torch, jax]",
            "run: {repeats: 1}": "run: {repeats: auto, max_repeats: 2, target_ci: 0.000001}",
        },
    )
    window.configs.load_config_file(config)
    assert "repeats until ±0.0001%" in window.side.summary.text()
    controller = window.controller
    seen: list[Certainty] = []
    labels: list[str] = []

    def on_certainty(certainty: Certainty) -> None:
        seen.append(certainty)
        labels.append(window.certainty_label.text())  # the window's slot ran first

    controller.certaintyChanged.connect(on_certainty)
    planned: list[int] = []
    controller.runsPlanned.connect(lambda runs: planned.append(len(runs)))
    model = window.runs_table.runs

    with qtbot.waitSignal(controller.certaintyChanged, timeout=SESSION_TIMEOUT_MS) as first:
        assert window.runs.start_run()
    certainty = first.args[0]
    assert certainty.runs_per_side == 1 and len(certainty.ratios) == 1
    # the next round joins the table while the session goes on
    qtbot.waitUntil(lambda: len(model.rows) == 4, timeout=10_000)
    assert [row.info.framework for row in model.rows] == ["torch", "jax", "jax", "torch"]
    assert controller.is_running()

    with qtbot.waitSignal(controller.sessionFinished, timeout=SESSION_TIMEOUT_MS) as done:
        pass
    assert done.args[1] == "ok"
    assert planned == [2]  # one round at the start, the second added after it
    assert [c.runs_per_side for c in seen] == [1, 2]
    assert labels[0].startswith("Verdict certainty ")
    assert "target ±0.0001%, 1 run per side, needs 3" in labels[0]
    assert "2 runs per side" in labels[1]
    final = window.certainty_label.text()
    assert final.startswith("Repeats stopped at the limit of 2 repeats"), final
    with Store(store_path) as store:
        repeats = store.load(done.args[0]).repeats
    assert repeats is not None and StopRecord.from_json(repeats).reason == BUDGET
    # reopened from History, the session says again why its repeats stopped
    window.certainty_label.setText("")
    with qtbot.waitSignal(window.sessions.sessionShown, timeout=60_000):
        window.sessions.open_session(done.args[0])
    assert window.certainty_label.text() == final
