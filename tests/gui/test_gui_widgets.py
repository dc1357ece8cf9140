"""The dashboard, summary, runs table and editor parts, fed by hand-made batches."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from gui.arrange import ArrangePlotsDialog
from gui.highlighter import ConfigHighlighter
from gui.models.catalog import SERIES, SERIES_BY_KEY
from gui.models.live import Batch, PhaseChange, SamplePoint, WindowPoint
from gui.models.rundata import Columns, SessionData
from gui.models.summary import load_summary
from gui.plots import LiveDashboard
from gui.runs_table import COL_DETAILS, COL_ETA, COL_PROGRESS, COL_STATUS, RunsTable
from gui.side_panel import describe_config
from gui.summary import SummaryTable
from profiler.config import Config
from profiler.protocol import Event
from profiler.session import RunInfo, RunOutcome
from tests.gui.recorded import record_session

NAN = float("nan")
RUNS = [RunInfo(1, "torch", 0, 0, 100), RunInfo(2, "tensorflow", 0, 1, 100)]
GPU_KEYS = [s.key for s in SERIES if s.gpu]

# a complete hello, as the decoder lets through
HELLO = {"pid": 1, "framework": "torch", "framework_version": "2.1", "device": "cpu"}


def sample(t: float, threads: int = 4, gpu: float = NAN) -> SamplePoint:
    return SamplePoint(t, 90.0, 300.0, threads, gpu, gpu, gpu)


def window(t: float, step: int, ms: float = 8.0, phase: str = "measure") -> WindowPoint:
    return WindowPoint(t, step, 8 * 1000.0 / ms, ms, 0.5, phase)


def run_batch(run_id: int, t0: float, ms: float, gpu: float = NAN) -> Batch:
    """A run's phases, 5 measured windows of 10 steps and samples every 0.1 s."""
    batch = Batch()
    batch.phases += [
        PhaseChange(run_id, t0, "import", "start"),
        PhaseChange(run_id, t0 + 0.5, "import", "end"),
        PhaseChange(run_id, t0 + 0.5, "measure", "start"),
    ]
    for i in range(1, 6):
        batch.windows[run_id].append(window(t0 + 0.5 + i * 0.1, 10 * i, ms))
    batch.samples[run_id].extend(sample(t0 + i / 10, gpu=gpu) for i in range(12))
    return batch


@pytest.fixture
def dash(qtbot: QtBot) -> LiveDashboard:
    widget = LiveDashboard()
    widget.resize(1200, 700)
    qtbot.addWidget(widget)
    widget.show()
    widget.add_runs(RUNS)
    return widget


def test_columns_double_and_keep_their_rows() -> None:
    columns = Columns(("t", "y"), capacity=4)
    columns.append_rows(np.array([[0.0, 5.0], [1.0, 6.0], [2.0, 7.0]]))
    columns.append_columns({"t": np.arange(3.0, 9.0)})
    assert columns.count == 9
    np.testing.assert_array_equal(columns.col("t"), np.arange(9.0))
    assert columns.col("y")[:3].tolist() == [5.0, 6.0, 7.0]
    assert np.isnan(columns.col("y")[3:]).all()


def test_session_data_keeps_measured_samples_phases_and_steps() -> None:
    data = SessionData(RUNS)
    batch = run_batch(1, 0.0, 8.0)
    batch.samples[1].append(sample(1.5, threads=0))  # a tree with no thread: not measured
    assert data.add_batch(batch) == {1}
    run = data.runs[1]
    assert run.samples.count == 12
    assert run.windows.count == 5
    first = run.phases[0]
    assert (first.name, first.start, first.end) == ("import", 0.0, 0.5)
    assert math.isnan(run.phases[1].end)  # measure still open
    assert not data.has_gpu()
    # Step 0 when measuring began (0.5 s), step 10 per 0.1 s after it; nothing before.
    steps = run.steps_at(np.array([0.2, 0.5, 0.75, 2.0]))
    assert math.isnan(steps[0]) and math.isnan(steps[3])
    assert steps[1:3].tolist() == pytest.approx([0.0, 25.0])


def test_the_compile_step_stays_out_of_the_speed_plots(dash: LiveDashboard) -> None:
    batch = Batch()
    batch.phases += [
        PhaseChange(1, 0.0, "compile", "start"),
        PhaseChange(1, 12.0, "compile", "end"),
        PhaseChange(1, 12.0, "measure", "start"),
    ]
    batch.windows[1] += [window(12.0, 1, ms=12_000.0, phase="compile")]
    batch.windows[1] += [window(12.0 + i * 0.1, 1 + 10 * i) for i in range(1, 4)]
    dash.add_points(batch)
    dash.redraw()
    _x, y = dash.curve(1, "step_time_ms").getData()
    assert np.isnan(y[0]) and y[1:].tolist() == [8.0, 8.0, 8.0]  # not a 12 s "step"
    _x, loss = dash.curve(1, "loss").getData()
    assert np.isfinite(loss).all()  # the loss after compiling is a real value


def test_dashboard_plots_each_run_in_its_framework_colour(
    dash: LiveDashboard, qtbot: QtBot
) -> None:
    dash.add_points(run_batch(1, 0.0, 8.0))
    assert dash.point_count(1, "cpu_percent") == 12
    assert dash.point_count(1, "samples_per_s") == 5
    assert dash.point_count(2, "samples_per_s") == 0
    qtbot.waitUntil(lambda: dash.curve(1, "cpu_percent") is not None)  # redrawn by its timer
    curve = dash.curve(1, "cpu_percent")
    assert curve is not None
    assert len(curve.getData()[0]) == 12
    assert curve.opts["pen"].color().name().upper() == "#E4572E"
    assert "PyTorch" in dash.legend.text()
    assert "TensorFlow" in dash.legend.text()

    dash.clear()

    assert dash.point_count(1, "cpu_percent") == 0
    assert dash.curve(1, "cpu_percent") is None


def test_gpu_plots_appear_only_with_gpu_samples(dash: LiveDashboard) -> None:
    dash.add_points(run_batch(1, 0.0, 8.0))
    dash.redraw()
    assert not set(GPU_KEYS) & set(dash.visible_keys())
    assert all(not dash.plots[k].isVisible() for k in GPU_KEYS)

    dash.add_points(run_batch(2, 2.0, 5.0, gpu=50.0))
    dash.redraw()

    assert set(GPU_KEYS) <= set(dash.visible_keys())
    assert all(dash.plots[k].isVisible() for k in GPU_KEYS)
    assert dash.point_count(2, "gpu_power_w") == 12


def test_phases_are_shaded_and_the_shading_can_be_turned_off(dash: LiveDashboard) -> None:
    dash.add_points(run_batch(1, 0.0, 8.0))
    dash.redraw()
    assert dash.shading.count() == 2  # import and measure
    assert "measure" in dash.phase_legend.text()

    dash.shade_action.setChecked(False)

    assert dash.shading.count() == 0
    assert dash.phase_legend.text() == ""


def test_the_step_axis_puts_runs_on_top_of_each_other(dash: LiveDashboard) -> None:
    dash.add_points(run_batch(1, 0.0, 8.0))
    dash.add_points(run_batch(2, 5.0, 5.0))
    dash.redraw()
    x_time = dash.curve(2, "samples_per_s").getData()[0]
    assert x_time[0] == pytest.approx(5.6)

    dash.step_axis_action.trigger()

    assert dash.axis_mode == "step"
    for run_id in (1, 2):
        xs = dash.curve(run_id, "samples_per_s").getData()[0]
        assert xs.tolist() == [10, 20, 30, 40, 50]
    cpu_x = dash.curve(2, "cpu_percent").getData()[0]
    assert np.nanmax(cpu_x) <= 50  # samples placed by step, outside the steps left out
    label = dash.plots[dash.visible_keys()[-1]].getPlotItem().getAxis("bottom").labelText
    assert label == "training step"
    dash.toggle_axis_action.trigger()
    assert dash.axis_mode == "time"


def test_the_crosshair_reads_each_runs_value(dash: LiveDashboard) -> None:
    dash.add_points(run_batch(1, 0.0, 8.0))
    dash.add_points(run_batch(2, 0.0, 5.0))
    dash.redraw()

    dash.crosshair.show_at("step_time_ms", 0.8)

    text = dash.readout.text()
    assert "Step time" in text
    assert "PyTorch</span> <span style='color:#3A3F44'>8.00 ms" in text
    assert "TensorFlow</span> <span style='color:#3A3F44'>5.00 ms" in text
    dash.crosshair.hide()
    assert dash.readout.text() == ""


def test_plots_can_be_hidden_rearranged_and_maximised(dash: LiveDashboard, qtbot: QtBot) -> None:
    changes: list[None] = []
    dash.layoutChanged.connect(lambda: changes.append(None))
    dash.plot_actions["threads"].setChecked(False)
    assert "threads" not in dash.visible_keys()
    assert not dash.plots["threads"].isVisible()

    dialog = ArrangePlotsDialog(dash)
    qtbot.addWidget(dialog)
    dialog.move_plot("rss_mib", 0)
    dialog.list.item(1).setCheckState(Qt.CheckState.Unchecked)  # throughput
    dialog.accept()

    assert dash.visible_keys()[:2] == ["rss_mib", "step_time_ms"]
    assert dash.hidden == {"threads", "samples_per_s"}
    assert len(changes) == 2
    dash.toggle_maximized("loss")
    assert dash.visible_keys() == ["loss"]
    dash.toggle_maximized("loss")
    assert "rss_mib" in dash.visible_keys()


def test_every_plot_explains_its_metric_and_unit(dash: LiveDashboard) -> None:
    for spec in SERIES:
        item = dash.plots[spec.key].getPlotItem()
        assert item.titleLabel.toolTip() == spec.tip
        assert dash.plot_actions[spec.key].toolTip() == spec.tip
    assert "milliseconds" in SERIES_BY_KEY["step_time_ms"].tip
    assert "MiB" in SERIES_BY_KEY["rss_mib"].tip


def test_the_summary_gives_ratios_to_the_chosen_baseline(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    sid = record_session(path, step_ms={"torch": 8.0, "tensorflow": 5.0})
    table = SummaryTable()
    qtbot.addWidget(table)
    table.set_summary(load_summary(str(path), sid))
    picked: list[str] = []
    table.baselineChanged.connect(picked.append)

    assert table.baseline == "torch"
    assert table.cell_text("step_time_ms", "PyTorch") == "8.00"
    assert table.cell_text("step_time_ms", "TensorFlow") == "5.00"
    assert table.cell_text("step_time_ms", "TensorFlow / PyTorch") == "0.62× ?"
    assert table.cell_text("samples_per_s", "TensorFlow / PyTorch") == "1.60× ?"
    assert table.summary is not None
    assert "gpu_util_percent_mean" not in [f.key for f in table.summary.figures()]

    table.baseline_box.setCurrentIndex(table.baseline_box.findData("tensorflow"))

    assert picked == ["tensorflow"]
    assert table.cell_text("samples_per_s", "PyTorch / TensorFlow") == "0.62× ?"


def test_runs_table_follows_a_run_from_pending_to_ok(qtbot: QtBot) -> None:
    table = RunsTable()
    qtbot.addWidget(table)
    model = table.runs
    model.set_runs(RUNS)
    model.run_started(RUNS[0])
    batch = Batch()
    batch.phases.append(PhaseChange(1, 0.1, "measure", "start"))
    batch.windows[1].append(window(0.5, 50))
    batch.events.append((1, 0.1, Event("hello", 0.0, HELLO)))
    model.add_batch(batch)

    assert model.index(0, COL_STATUS).data() == "measuring"  # what the running run does
    assert model.rows[0].status == "running"
    assert model.index(0, COL_PROGRESS).data() == "50%"
    assert model.rows[0].phase == "measuring"
    assert model.rows[0].steps_per_s == 125.0
    assert model.index(0, COL_ETA).data() == "0:00"  # 50 steps left at 125 steps/s
    assert model.index(0, COL_ETA).data(Qt.ItemDataRole.ToolTipRole).startswith("0 s left")
    assert model.index(0, COL_DETAILS).data() == "2.1 on cpu"
    assert model.index(1, COL_STATUS).data() == "pending"
    assert model.index(1, COL_ETA).data() == ""

    done = Batch()
    done.events.append((1, 1.0, Event("done", 0.0, {"steps": 100})))
    model.add_batch(done)
    model.run_finished(RunOutcome(1, "torch", "ok", None, 0))

    assert model.index(0, COL_STATUS).data() == "ok"
    assert model.index(0, COL_PROGRESS).data() == "100%"
    assert model.index(0, COL_ETA).data() == ""


def test_runs_table_shows_errors_in_words_with_the_details_one_click_away(qtbot: QtBot) -> None:
    table = RunsTable()
    qtbot.addWidget(table)
    model = table.runs
    model.set_runs(RUNS)
    model.run_started(RUNS[1])
    error = "out of memory: could not allocate 4 GiB\nTraceback (most recent call last): ..."
    model.run_finished(RunOutcome(2, "tensorflow", "failed", error, 1))

    assert model.index(1, COL_STATUS).data() == "failed"
    # where it ended, now that the Phase column is hidden by default
    assert (
        model.index(1, COL_STATUS)
        .data(Qt.ItemDataRole.ToolTipRole)
        .startswith("failed, ended in start-up\n\nout of memory")
    )
    assert model.index(1, COL_DETAILS).data() == "out of memory: could not allocate 4 GiB"
    assert error in model.index(1, COL_DETAILS).data(Qt.ItemDataRole.ToolTipRole)
    asked: list[int] = []
    table.detailsRequested.connect(asked.append)
    table.doubleClicked.emit(model.index(1, COL_DETAILS))
    assert asked == [2]
    table.select_run(2)
    assert table.selected_run_id() == 2


def test_the_highlighter_colours_keys_strings_numbers_and_comments() -> None:
    from PySide6.QtGui import QTextDocument

    yaml_lines = ConfigHighlighter(QTextDocument(), "yaml")
    line = "name: 'demo'  # a comment"
    assert yaml_lines.token_at(line, 0) == "key"
    assert yaml_lines.token_at(line, 7) == "string"
    assert yaml_lines.token_at(line, 16) == "comment"
    assert yaml_lines.token_at("model: {family: mlp, input_dim: 784}", 21) == "key"
    assert yaml_lines.token_at("  lr: 0.01", 7) == "number"
    toml = ConfigHighlighter(QTextDocument(), "toml")
    assert toml.token_at("[train]", 1) == "table"
    assert toml.token_at("steps = 200", 0) == "key"


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
        (
            {"preset": "resnet50", "num_classes": 10},
            "resnet50: ResNet 224×224×3, 16 bottleneck blocks → 10",
        ),
    ],
)
def test_the_config_summary_names_the_model(model: dict[str, object], expected: str) -> None:
    config = Config.model_validate({"name": "x", "model": model})
    summary = describe_config(config)
    assert summary.startswith(expected)
    assert "batch 64 · 200 steps (20 warm-up)" in summary


def test_the_envelope_keeps_peaks_gaps_and_the_newest_points() -> None:
    from gui.models.decimate import envelope

    x = np.arange(10_000, dtype=float)
    y = np.zeros(10_000)
    y[5_000] = 9.0  # a spike
    y[7_000:7_200] = NAN  # a gap
    xs, ys = envelope(x, y, 0.0, 9_999.0, bins=100)

    assert len(xs) <= 2 * 100 + 200
    assert np.nanmax(ys) == 9.0
    assert np.isnan(ys).any()
    assert xs[-1] == 9_999.0  # the newest point itself, not a bin
    few_x, _ = envelope(x[:50], y[:50], 0.0, 49.0, bins=100)
    assert few_x.tolist() == x[:50].tolist()  # short series pass through untouched
    zoomed, _ = envelope(x, y, 100.0, 200.0, bins=100)
    assert zoomed[0] == 99.0 and zoomed[-1] == 201.0  # one point beyond each edge


def test_axis_ranges_move_in_round_steps_and_seldom() -> None:
    from gui.models.ranges import nice_above, nice_y_range

    assert [nice_above(v) for v in (0.7, 1.0, 1.2, 7.0, 9.5, 170.0)] == [
        0.8,
        1.0,
        1.5,
        8.0,
        10.0,
        200.0,
    ]
    first = nice_y_range(12.0, 97.0, None)
    assert first == (0.0, 120.0)  # padded by 6%, rounded to steps of 20
    assert nice_y_range(15.0, 90.0, first) is None  # still fits: keep it
    grown = nice_y_range(12.0, 140.0, first)
    assert grown is not None and grown[1] >= 140.0
    assert nice_y_range(0.5, 0.6, (0.0, 200.0)) is not None  # far too wide: shrink


def test_zooming_in_shows_the_detail_the_envelope_left_out(
    dash: LiveDashboard, qtbot: QtBot
) -> None:
    data = SessionData(RUNS)
    data.runs[1].add_samples(
        np.column_stack(
            [
                np.arange(20_000) / 20.0,
                np.sin(np.arange(20_000) / 3.0) * 50 + 100,
                np.full(20_000, 300.0),
                np.full(20_000, 4.0),
                *[np.full(20_000, NAN)] * 3,
            ]
        )
    )
    dash.set_session(data)
    whole = len(dash.curve(1, "cpu_percent").getData()[0])
    assert whole < 5_000  # an envelope, not 20,000 points
    assert dash.plots["cpu_percent"].getPlotItem().getViewBox().viewRange()[0][1] >= 999.9

    view = dash.plots["cpu_percent"].getPlotItem().getViewBox()
    view.sigRangeChangedManually.emit([True, False])  # what a wheel or a drag tells
    view.setXRange(100.0, 110.0, padding=0.0)
    qtbot.waitUntil(lambda: not dash._rezoom.isActive())
    xs = dash.curve(1, "cpu_percent").getData()[0]
    assert xs.min() >= 99.9 - 0.05 and xs.max() <= 110.1
    assert len(xs) == 203  # every raw point of those 10 s, plus one on each side

    dash.reset_zoom_action.trigger()
    assert view.viewRange()[0][1] >= 999.9


def test_a_live_session_keeps_room_on_the_right_and_a_finished_one_fits(
    dash: LiveDashboard,
) -> None:
    dash.set_live(True)
    dash.add_points(run_batch(1, 0.0, 8.0))
    dash.redraw()
    live_end = dash.plots["loss"].getPlotItem().getViewBox().viewRange()[0][1]
    assert live_end == 1.5  # a round number above the data's 1.1 s

    dash.set_live(False)

    fitted = dash.plots["loss"].getPlotItem().getViewBox().viewRange()[0][1]
    assert 1.1 <= fitted < 1.2
