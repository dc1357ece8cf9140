"""The live plots and the runs table, fed by hand-made batches."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from gui.adapter import Batch, PhaseChange, SamplePoint, WindowPoint
from gui.plots import GrowingSeries, LiveDashboard
from gui.runs_table import COL_DETAILS, COL_PROGRESS, COL_STATUS, RunsTable
from gui.side_panel import describe_config
from profiler.config import Config
from profiler.protocol import Event
from profiler.session import RunInfo, RunOutcome

NAN = float("nan")
RUNS = [RunInfo(1, "torch", 0, 0, 100), RunInfo(2, "tensorflow", 0, 1, 100)]


def sample(t: float, threads: int = 4) -> SamplePoint:
    return SamplePoint(t, 90.0, 300.0, threads, NAN, NAN, NAN)


def window(t: float, step: int) -> WindowPoint:
    return WindowPoint(t, step, 1000.0, 8.0, 0.5, "measure")


def test_growing_series_doubles_and_keeps_points() -> None:
    series = GrowingSeries(capacity=4)
    series.extend([0.0, 1.0, 2.0], [5.0, 6.0, 7.0])
    series.extend([3.0, 4.0, 5.0, 6.0, 7.0, 8.0], [1.0] * 6)
    assert series.count == 9
    np.testing.assert_array_equal(series.x(), np.arange(9.0))
    assert series.y()[:3].tolist() == [5.0, 6.0, 7.0]


def test_dashboard_plots_each_run_in_its_framework_colour(qtbot: QtBot) -> None:
    dash = LiveDashboard()
    qtbot.addWidget(dash)
    dash.add_runs(RUNS)
    batch = Batch()
    batch.samples[1].extend([sample(0.1), sample(0.2), sample(0.3, threads=0)])
    batch.windows[1].append(window(0.3, 10))
    batch.phases.append(PhaseChange(1, 0.25, "measure", "start"))

    dash.add_points(batch)

    assert dash.point_count(1, "cpu_percent") == 2  # the tree with no thread was not measured
    assert dash.point_count(1, "samples_per_s") == 1
    assert dash.point_count(2, "samples_per_s") == 0
    qtbot.waitUntil(lambda: (1, "cpu_percent") in dash._curves)  # redrawn by its timer
    curve = dash._curves[(1, "cpu_percent")]
    assert len(curve.getData()[0]) == 2
    assert curve.opts["pen"].color().name().upper() == "#E4572E"
    assert "PyTorch" in dash.legend.text()
    assert "TensorFlow" in dash.legend.text()

    dash.clear()

    assert dash.point_count(1, "cpu_percent") == 0
    assert not dash._curves


def test_runs_table_follows_a_run_from_pending_to_ok(qtbot: QtBot) -> None:
    table = RunsTable()
    qtbot.addWidget(table)
    model = table.runs
    model.set_runs(RUNS)
    model.run_started(RUNS[0])
    batch = Batch()
    batch.phases.append(PhaseChange(1, 0.1, "measure", "start"))
    batch.windows[1].append(window(0.5, 50))
    batch.events.append(
        (1, 0.1, Event("hello", 0.0, {"framework_version": "2.1", "device": "cpu"}))
    )
    model.add_batch(batch)

    assert model.index(0, COL_STATUS).data() == "running"
    assert model.index(0, COL_PROGRESS).data() == "50%"
    assert model.rows[0].phase == "measuring"
    assert model.rows[0].steps_per_s == 125.0
    assert model.index(0, COL_DETAILS).data() == "2.1 on cpu"
    assert model.index(1, COL_STATUS).data() == "pending"

    done = Batch()
    done.events.append((1, 1.0, Event("done", 0.0, {"steps": 100})))
    model.add_batch(done)
    model.run_finished(RunOutcome(1, "torch", "ok", None, 0))

    assert model.index(0, COL_STATUS).data() == "ok"
    assert model.index(0, COL_PROGRESS).data() == "100%"


def test_runs_table_shows_errors_in_words_with_the_full_text_as_tooltip(qtbot: QtBot) -> None:
    table = RunsTable()
    qtbot.addWidget(table)
    model = table.runs
    model.set_runs(RUNS)
    model.run_started(RUNS[1])
    error = "out of memory: could not allocate 4 GiB\nTraceback (most recent call last): ..."
    model.run_finished(RunOutcome(2, "tensorflow", "failed", error, 1))

    assert model.index(1, COL_STATUS).data() == "failed"
    assert model.index(1, COL_DETAILS).data() == "out of memory: could not allocate 4 GiB"
    assert model.index(1, COL_DETAILS).data(Qt.ItemDataRole.ToolTipRole) == error
    table.select_run(2)
    assert table.selected_run_id() == 2


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ({"family": "mlp", "input_dim": 4, "hidden": [8], "num_classes": 3}, "MLP 4 → 8 → 3"),
        (
            {
                "family": "cnn",
                "input_shape": [3, 8, 8],
                "conv": [{"filters": 4, "kernel": 3}],
                "num_classes": 2,
            },
            "CNN 3×8×8, 1 conv + 0 dense → 2",
        ),
        (
            {
                "family": "rnn",
                "vocab_size": 50,
                "seq_len": 16,
                "embed_dim": 8,
                "hidden": 32,
                "num_classes": 2,
            },
            "LSTM 1×32, seq 16 → 2",
        ),
    ],
)
def test_the_config_summary_names_the_model(model: dict[str, object], expected: str) -> None:
    config = Config.model_validate({"name": "x", "model": model})
    summary = describe_config(config)
    assert summary.startswith(expected)
    assert "batch 64 · 200 steps (20 warm-up)" in summary
