"""The dashboard's plots as a user reads them: empty plots, ranges of a new session, log scale,
smoothing, the x axes, the readout after a run ended, and saving a plot."""

from __future__ import annotations

import gc
import math
import weakref

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from pytestqt.qtbot import QtBot

from gui.models.live import Batch, PhaseChange, SamplePoint, SystemSnapshot, WindowPoint
from gui.models.ranges import log_y_range
from gui.models.rundata import SessionData
from gui.models.smoothing import rolling
from gui.plots import LiveDashboard
from profiler.session import RunInfo

NAN = math.nan
RUNS = [RunInfo(1, "torch", 0, 0, 200), RunInfo(2, "tensorflow", 0, 1, 200)]


def noisy_batch(run_id: int, t0: float, ms: float, n: int = 60) -> Batch:
    """A run launched at ``t0``: import 0.5 s, then measured windows of 10 steps every 0.1 s
    (the first, a compile-like 2000 ms step, makes step time span decades) and samples at
    20 Hz whose CPU alternates between 20 and 180 %."""
    batch = Batch()
    batch.phases += [
        PhaseChange(run_id, t0, "import", "start"),
        PhaseChange(run_id, t0 + 0.5, "import", "end"),
        PhaseChange(run_id, t0 + 0.5, "measure", "start"),
    ]
    for i in range(1, 11):
        step_ms = 2000.0 if i == 1 else ms
        batch.windows[run_id].append(
            WindowPoint(t0 + 0.5 + i * 0.1, 10 * i, 8000.0 / step_ms, step_ms, 1.0 / i, "measure")
        )
    for i in range(n):
        cpu = 20.0 if i % 2 else 180.0
        batch.samples[run_id].append(SamplePoint(t0 + i / 20, cpu, 300.0 + i, 4, NAN, NAN, NAN))
    return batch


@pytest.fixture
def dash(qtbot: QtBot) -> LiveDashboard:
    widget = LiveDashboard()
    widget.resize(1200, 700)
    qtbot.addWidget(widget)
    widget.show()
    widget.add_runs(RUNS)
    return widget


def y_range(dash: LiveDashboard, key: str) -> list[float]:
    return list(dash.plots[key].getPlotItem().getViewBox().viewRange()[1])


def test_empty_plots_say_what_will_appear_and_hide_their_meaningless_axis(
    dash: LiveDashboard,
) -> None:
    dash.redraw()
    note = dash.notes["step_time_ms"]
    assert note.shown and note.item.isVisible()
    assert "Step time" in note.text() and "timing window" in note.text()
    assert "sampled" in dash.notes["cpu_percent"].text()
    assert not dash.plots["step_time_ms"].getPlotItem().getAxis("left").style["showValues"]

    dash.add_points(noisy_batch(1, 0.0, 8.0))
    dash.redraw()
    assert not dash.notes["step_time_ms"].shown
    assert dash.plots["step_time_ms"].getPlotItem().getAxis("left").style["showValues"]


def test_a_new_or_failed_session_keeps_no_range_of_the_previous_one(dash: LiveDashboard) -> None:
    dash.add_points(noisy_batch(1, 0.0, 8.0))
    dash.redraw()
    assert y_range(dash, "rss_mib")[1] > 300

    failed = SessionData(RUNS)  # a session whose runs failed before any sample
    dash.set_session(failed)
    assert y_range(dash, "rss_mib") == [0.0, 1.0]
    assert dash.plots["rss_mib"].getPlotItem().getViewBox().viewRange()[0] == [0.0, 1.0]
    assert dash.notes["rss_mib"].shown and dash.notes["loss"].shown


def test_log_scale_of_the_apps_own_gives_sane_ranges_on_and_off(dash: LiveDashboard) -> None:
    dash.add_points(noisy_batch(1, 0.0, 8.0))
    dash.redraw()
    linear = y_range(dash, "step_time_ms")
    assert linear[0] >= 0 and 2000 <= linear[1] <= 2500

    dash.log_step_action.trigger()  # View ▸ Log scale for step time
    assert dash.options["step_time_ms"].log
    low, high = y_range(dash, "step_time_ms")
    assert (low, high) == (0.5, 3.5)  # 10^0.5 ≈ 3 ms to 10^3.5 ≈ 3,000 ms: not 1e-200..1e200
    axis = dash.plots["step_time_ms"].getPlotItem().getAxis("left")
    assert axis.logMode
    # Only decades (several decades shown), else 1, 2, 5 x 10^n carry text: pyqtgraph labels
    # every 2..9 x 10^n, which overlapped on a small plot.
    levels = axis.tickValues(low, high, 150)
    labelled = [v for i, (_sp, vals) in enumerate(levels) if i <= axis.style["maxTextLevel"]
                for v in vals]  # fmt: skip
    assert labelled and all(float(v).is_integer() for v in labelled)
    within_a_decade = [math.log10(m) for m in range(1, 10)]
    texts = axis.tickStrings(within_a_decade, 1.0, 1.0)
    shown = [m for m, text in zip(range(1, 10), texts, strict=True) if text]
    assert shown == [1, 2, 5]
    ys = dash.curve(1, "step_time_ms").yData
    assert np.nanmax(ys) == pytest.approx(math.log10(2000.0))

    dash.set_log("step_time_ms", False)
    assert y_range(dash, "step_time_ms") == linear  # not pyqtgraph's leftover -200..250
    assert not axis.logMode and axis.style["maxTextLevel"] == 2
    assert not dash.log_step_action.isChecked()


def test_the_plot_menu_replaces_pyqtgraphs_raw_log_entries(dash: LiveDashboard) -> None:
    item = dash.plots["step_time_ms"].getPlotItem()
    assert not item.menuEnabled()  # pyqtgraph's "Plot Options" (raw log x/y) is gone
    menu = dash.plot_menu("step_time_ms")
    texts = [a.text() for a in menu.actions()]
    assert (
        "Log scale (y)" in texts and "Save plot as PNG…" in texts and "Save plot as SVG…" in texts
    )
    assert not any("Plot Options" in t or "View All" in t for t in texts)
    log = next(a for a in menu.actions() if a.text() == "Log scale (y)")
    log.trigger()
    assert dash.options["step_time_ms"].log
    assert "Log scale (y)" not in [a.text() for a in dash.plot_menu("cpu_percent").actions()]


def test_smoothing_draws_a_rolling_median_over_faint_raw_points(dash: LiveDashboard) -> None:
    dash.add_points(noisy_batch(1, 0.0, 8.0, n=200))
    dash.redraw()
    raw = dash.curve(1, "cpu_percent")
    assert raw.opts["pen"].color().alpha() == 255 and dash.smoothed_curve(1, "cpu_percent") is None

    menu = dash.plot_menu("cpu_percent")
    smoothing = next(a.menu() for a in menu.actions() if a.text() == "Smoothing")
    next(a for a in smoothing.actions() if a.data() == "mean").trigger()

    smooth = dash.smoothed_curve(1, "cpu_percent")
    assert smooth is not None and smooth.isVisible()
    inner = smooth.yData[10:-10]
    assert np.allclose(inner, 100.0, atol=100.0 / 9 + 1e-9)  # the band's middle, not 20/180
    assert raw.opts["pen"].color().alpha() < 255  # raw points kept, faint
    assert set(np.unique(raw.yData)) == {20.0, 180.0}

    menu = dash.plot_menu("cpu_percent")
    smoothing = next(a.menu() for a in menu.actions() if a.text() == "Smoothing")
    next(a for a in smoothing.actions() if a.data() == 21).trigger()  # a wider window
    assert (dash.options["cpu_percent"].smoothing, dash.options["cpu_percent"].window) == (
        "mean",
        21,
    )
    assert np.allclose(smooth.yData[20:-20], 100.0, atol=100.0 / 21 + 1e-9)

    dash.set_smoothing("cpu_percent", "off")
    assert len(smooth.yData) == 0 and raw.opts["pen"].color().alpha() == 255


def test_rolling_median_and_mean_keep_gaps_and_ends() -> None:
    y = np.array([1.0, 100.0, 1.0, 1.0, NAN, NAN, NAN, 5.0, 5.0])
    med = rolling(y, "median", 3)
    assert med[1] == 1.0  # a lone spike is gone
    assert math.isnan(med[5])  # a window of NaNs only is a gap
    assert med[-1] == 5.0 and med[0] == pytest.approx(50.5)
    assert rolling(y, "mean", 3)[2] == pytest.approx(34.0)
    assert rolling(y, "off", 3) is y
    with pytest.raises(ValueError, match="unknown smoothing"):
        rolling(y, "ewm", 3)


def test_log_ranges_are_half_decades() -> None:
    assert log_y_range(0.9, 3.3) == (0.5, 3.5)
    assert log_y_range(1.0, 1.0) == (1.0, 1.5)
    assert log_y_range(NAN, 1.0) is None


def test_time_since_launch_puts_runs_at_the_same_zero_and_ctrl_t_cycles(
    dash: LiveDashboard,
) -> None:
    dash.add_points(noisy_batch(1, 0.0, 8.0))
    dash.add_points(noisy_batch(2, 10.0, 4.0))
    dash.redraw()
    assert dash.axis_mode == "time"
    assert dash.plots["loss"].getPlotItem().getViewBox().viewRange()[0][1] > 10.0

    dash.toggle_axis_action.trigger()
    assert dash.axis_mode == "launch" and dash.launch_axis_action.isChecked()
    x1, x2 = dash.curve(1, "loss").xData, dash.curve(2, "loss").xData
    assert x1[0] == pytest.approx(0.6) and x2[0] == pytest.approx(0.6)
    end = dash.plots["loss"].getPlotItem().getViewBox().viewRange()[0][1]
    assert 2.95 <= end < 3.1  # the runs' own 2.95 s, not the session's 12.95 s
    assert "since launch" in dash.readout_at("loss", 1.0)
    label = dash.plots["cpu_percent"].getPlotItem().getAxis("bottom").labelText
    assert "launch" in label

    dash.toggle_axis_action.trigger()
    assert dash.axis_mode == "step"
    dash.toggle_axis_action.trigger()
    assert dash.axis_mode == "time"


def test_the_step_axis_ends_at_the_planned_steps_while_live(dash: LiveDashboard) -> None:
    dash.set_axis_mode("step")
    dash.set_live(True)
    dash.add_points(noisy_batch(1, 0.0, 8.0))  # 100 of 200 steps so far
    dash.redraw()
    end = dash.plots["loss"].getPlotItem().getViewBox().viewRange()[0][1]
    assert 200 <= end <= 210  # not a round ~300 for a 200-step run


def test_the_readout_says_nothing_for_a_run_whose_process_ended(dash: LiveDashboard) -> None:
    batch = noisy_batch(1, 0.0, 8.0, n=40)  # sampled until 1.95 s
    # The last reading of a dying tree: a zombie counts a thread but has no memory.
    batch.samples[1].append(SamplePoint(2.0, NAN, 0.0, 1, NAN, NAN, NAN))
    dash.add_points(batch)
    dash.add_points(noisy_batch(2, 3.0, 4.0, n=40))
    dash.redraw()
    after_end = dash.readout_at("rss_mib", 3.5)
    assert "PyTorch" not in after_end and "TensorFlow" in after_end
    at_end = dash.readout_at("rss_mib", 2.0)
    assert "0.00" not in at_end and "PyTorch" in at_end  # its last real reading, 339 MiB
    assert "339" in at_end


def test_a_plot_renders_as_png_and_svg(dash: LiveDashboard, qtbot: QtBot) -> None:
    from gui.plot_options import plot_image_bytes

    dash.add_points(noisy_batch(1, 0.0, 8.0))
    dash.redraw()
    png = plot_image_bytes(dash.plots["step_time_ms"], "png")
    assert png.startswith(b"\x89PNG") and len(png) > 2000
    svg = plot_image_bytes(dash.plots["step_time_ms"], "svg")
    assert b"<svg" in svg and (b"polyline" in svg or b"<path" in svg)
    with qtbot.waitSignal(dash.saveRequested) as blocker:
        next(a for a in dash.plot_menu("loss").actions() if a.data() == "svg").trigger()
    assert blocker.args == ["loss", "svg"]


def test_the_system_view_shows_cores_memory_and_the_gpu_while_live(
    dash: LiveDashboard, qtbot: QtBot
) -> None:
    assert "while a session runs" in dash.system.text()
    dash.set_live(True)
    batch = noisy_batch(1, 0.0, 8.0)
    batch.system = SystemSnapshot(
        2.0, (10.0, 95.0, 50.0, NAN), 12_595.2, 64_204.8, 85.0, 1536.0, 120.0, 65.0
    )
    dash.add_points(batch)
    text = dash.system.text()
    assert "CPU 39% · 4 cores" in text  # the NaN core counts as idle in the mean
    assert "Memory 12.3 / 62.7 GiB (20%)" in text
    assert "GPU 85% · 1.5 GiB · 120 W · 65 °C" in text
    assert len(dash.system.bars.cores) == 4
    assert "1: 95%" in dash.system.bars.toolTip()
    image = dash.system.bars.grab().toImage()  # the busy core's bar is painted red
    assert image.width() > 0

    dash.add_points(Batch(system=SystemSnapshot(2.1, (5.0,), 100.0, NAN)))
    assert "GPU" not in dash.system.text() and "100 MiB" not in dash.system.text()
    assert "Memory 0.1 GiB used" in dash.system.text()

    dash.set_live(False)  # the machine now is no longer the session's
    assert "while a session runs" in dash.system.text()
    dash.system_action.trigger()
    assert dash.system.isHidden()


def test_a_right_click_on_a_plot_opens_the_apps_menu(dash: LiveDashboard, qtbot: QtBot) -> None:
    plot = dash.plots["step_time_ms"]
    view = plot.getPlotItem().getViewBox()
    centre = plot.mapFromScene(view.sceneBoundingRect().center())
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.RightButton, pos=centre)
    menu = view.last_menu
    assert menu is not None
    assert "Log scale (y)" in [a.text() for a in menu.actions()]
    menu.close()


def test_turning_log_scale_on_keeps_the_users_zoom(dash: LiveDashboard) -> None:
    dash.add_points(noisy_batch(1, 0.0, 8.0))
    dash.redraw()
    view = dash.plots["step_time_ms"].getPlotItem().getViewBox()
    view.setXRange(1.0, 1.2, padding=0.0)
    view.sigRangeChangedManually.emit(view.state["mouseEnabled"])  # as a wheel zoom does
    dash.set_log("step_time_ms", True)
    assert view.viewRange()[0] == pytest.approx([1.0, 1.2])
    assert y_range(dash, "step_time_ms") == [0.5, 1.0]  # the 8 ms steps shown: 3 to 10 ms


def test_a_dashboard_is_freed_by_reference_counting_alone(qtbot: QtBot) -> None:
    """No reference cycle keeps a deleted dashboard's Python side (and its ~1,200 Qt wrappers,
    pyqtgraph's menus among them) for the cyclic collector: its views' menus and its crosshair
    call it through weak references."""
    widget = LiveDashboard()
    widget.show()
    key = next(iter(widget.plots))
    widget.plot_menu(key).close()  # deleted on close, by the event loop
    widget.crosshair.show_at(key, 1.0)
    widget.close()
    widget.deleteLater()  # as its window does: Qt deletes it, here, on the GUI thread
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    freed = weakref.ref(widget)
    assert not gc.isenabled()  # the GUI tests' collector: nothing is collected behind our back
    del widget
    assert freed() is None
