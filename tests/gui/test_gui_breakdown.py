"""The Breakdown tab, with real widgets, on sessions written through the real Store and their
breakdowns saved beside it (hand-built records; the real capture is tested on real runs)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from gui.breakdown_model import NO_SESSION
from gui.main_window import MainWindow
from gui.theme import DARK
from profiler.breakdown import (
    BREAKDOWNS_FILE,
    Category,
    OpStat,
    save_breakdowns,
    session_trace_dir,
)
from profiler.report.breakdown_page import NO_TRACE_LEFT, TRACING_OFF
from profiler.store import Store
from tests.gui.recorded import record_session
from tests.gui.test_gui_window import drop_and_wait
from tests.profiler.test_breakdown_compare import TF, TORCH, run

TIMEOUT_MS = 60_000
SESSION_TIMEOUT_MS = 240_000  # two framework imports and a trace phase on a busy 2-core machine
ConfigMaker = Callable[..., Path]


def traced_session(store: Path, frameworks: tuple[str, ...] = ("torch", "tensorflow")) -> int:
    """A recorded session with the hand-built breakdowns saved for its runs."""
    sid = record_session(store, "traced", frameworks)
    s = Store(store)
    try:
        ids = {r.framework: r.id for r in s.load(sid).runs}
    finally:
        s.close()
    jax = run("jax", 1.5, {Category.MATMUL: 0.9, Category.OPTIMIZER: 0.1, Category.IDLE: 0.5})
    records = {"torch": TORCH, "tensorflow": TF, "jax": jax}
    save_breakdowns(
        store, sid, [dataclasses.replace(records[fw], run_id=ids[fw]) for fw in frameworks]
    )
    return sid


def show(window: MainWindow, qtbot: QtBot, session_id: int) -> None:
    with qtbot.waitSignal(window.breakdown.shown, timeout=TIMEOUT_MS):
        window.sessions.open_session(session_id)
    window.tabs.setCurrentWidget(window.breakdown)


def column(model: object, title: str) -> int:
    headers = [h for h, _fw in model.headers]  # type: ignore[attr-defined]
    return headers.index(title)


def test_a_stored_traced_session_fills_the_tab(
    window: MainWindow, qtbot: QtBot, store_path: Path
) -> None:
    tab = window.breakdown
    assert tab.showing_placeholder() and tab.placeholder.text() == NO_SESSION
    sid = traced_session(store_path)

    show(window, qtbot, sid)

    assert not tab.showing_placeholder()
    assert tab.sentence.text().startswith(
        "TensorFlow's traced step takes 0.52 ms less than PyTorch's (2.10 vs 2.62 ms). "
        "TensorFlow spends 0.31 ms/step less in optimizer updates (60% of the gap): one fused "
        "op vs 12 separate ops in PyTorch"
    )
    assert tab.notes.isHidden()
    # one bar item per category, stacked: each framework's segments add up to its traced step
    assert list(tab.bars) == ["matmul", "elementwise", "optimizer", "host_overhead", "idle"]
    ends = np.zeros(2)  # horizontal bars: each segment starts where the last one ended
    for bars in tab.bars.values():
        opts = bars.opts
        assert np.allclose(opts["x0"], ends)
        ends = ends + np.asarray(opts["width"])
    assert ends == pytest.approx([2.62, 2.10])
    assert list(tab.bars["matmul"].opts["y"]) == [1, 0]  # PyTorch on top: the config's order
    assert tab.bars["optimizer"].opts["brush"] == "#B6992D"
    assert tab.legend_labels()[0] == "idle / waiting"  # the last segment first
    assert "optimizer" in tab.legend.text()
    totals = [label.textItem.toPlainText() for label in tab.labels]
    assert totals == ["2.62 ms", "2.10 ms"]
    assert [tab.labels[i].pos().x() for i in range(2)] == pytest.approx([2.62, 2.10])
    axis = tab.names_axis  # each framework named on the left, in its colour
    assert tab.framework_names() == ["PyTorch", "TensorFlow"]
    assert axis.colors["PyTorch"].upper() == "#E4572E"

    diffs = tab.differences
    assert diffs.cell_text(0, 1) == "optimizer update"
    assert diffs.cell_text(0, 4) == "+0.31" and diffs.cell_text(0, 5) == "60%"
    assert diffs.cell_text(0, 6) == "1 vs 12"
    tab.level_box.setCurrentIndex(1)  # by operator
    assert diffs.cell_text(0, 1) == (
        "aten::_foreach_add_, aten::_foreach_mul_ / ResourceApplyKerasMomentum"
    )
    assert not tab.pair_box.isEnabled() and tab.pair_box.count() == 1

    window.settings.theme = "dark"
    window.apply_settings()
    assert tab.graphics.backgroundBrush().color().name() == DARK.plot_background.lower()
    assert DARK.plot_foreground.lower() in tab.labels[0].textItem.toHtml().lower()
    assert axis.colors["PyTorch"].upper() == "#E4572E"  # the framework's colour in any theme
    assert len(tab.bars) == 5  # redrawn in the theme's colours, not lost


def test_the_top_ops_table_sorts_and_says_no_counterpart(
    window: MainWindow, qtbot: QtBot, store_path: Path
) -> None:
    show(window, qtbot, traced_session(store_path))
    tab = window.breakdown
    model, proxy = tab.ops, tab.ops_proxy

    names = [proxy.index(r, 0).data() for r in range(proxy.rowCount())]
    assert names[0] == "aten::addmm, aten::mm / sequential/dense/MatMul"  # largest first
    bias = names.index("BiasAdd")
    torch_ms = column(model, "PyTorch ms/step")
    assert proxy.index(bias, torch_ms).data() == "no counterpart"
    assert proxy.index(0, torch_ms).data() == "1.00 (38%)"
    header = model.headerData(torch_ms, Qt.Orientation.Horizontal, Qt.ItemDataRole.ForegroundRole)
    assert header.color().name().upper() == "#E4572E"

    launches = column(model, "PyTorch launches")
    tab.ops_view.sortByColumn(launches, Qt.SortOrder.DescendingOrder)
    assert proxy.index(0, 0).data().startswith("aten::_foreach_add_")  # 12 launches a step
    assert proxy.index(proxy.rowCount() - 1, launches).data() == "—"  # TensorFlow-only op
    tab.ops_view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    assert proxy.index(0, 0).data() == "aten::_foreach_add_, aten::_foreach_mul_ / " + (
        "ResourceApplyKerasMomentum"
    )


def test_compute_ops_only_hides_host_spans(
    window: MainWindow, qtbot: QtBot, store_path: Path
) -> None:
    sid = record_session(store_path, "traced")
    with Store(store_path) as s:
        ids = {r.framework: r.id for r in s.load(sid).runs}
    python = OpStat("(Python in the training step)", Category.HOST_OVERHEAD, 5.0, 10, 10)
    torch = dataclasses.replace(TORCH, run_id=ids["torch"], top_ops=(*TORCH.top_ops, python))
    save_breakdowns(store_path, sid, [torch, dataclasses.replace(TF, run_id=ids["tensorflow"])])
    show(window, qtbot, sid)
    tab = window.breakdown
    names = lambda: [tab.ops_proxy.index(r, 0).data() for r in range(tab.ops_proxy.rowCount())]  # noqa: E731
    assert "(Python in the training step)" in names()

    tab.compute_only.setChecked(True)

    assert "(Python in the training step)" not in names()
    assert len(names()) == tab.ops.rowCount() - 1 and names()[0].startswith("aten::addmm")
    tab.compute_only.setChecked(False)
    assert len(names()) == tab.ops.rowCount()


def test_three_frameworks_pick_a_pair(window: MainWindow, qtbot: QtBot, store_path: Path) -> None:
    show(window, qtbot, traced_session(store_path, ("torch", "tensorflow", "jax")))
    tab = window.breakdown

    assert tab.pair_box.isEnabled()
    assert [tab.pair_box.itemText(i) for i in range(2)] == ["PyTorch vs JAX", "TensorFlow vs JAX"]
    first = tab.differences.cell_text(0, 4)
    tab.pair_box.setCurrentIndex(1)
    assert [h for h, _ in tab.differences.headers][2:4] == ["JAX ms", "TensorFlow ms"]
    assert tab.differences.cell_text(0, 4) != first
    assert len(tab.labels) == 3


def test_an_untraced_session_says_tracing_was_off(
    window: MainWindow, qtbot: QtBot, store_path: Path
) -> None:
    untraced = record_session(store_path, "untraced", overrides={"run": {"trace": "off"}})
    failed = record_session(store_path, "traced")  # run.trace is on by default

    show(window, qtbot, untraced)

    tab = window.breakdown
    assert tab.showing_placeholder()
    assert tab.placeholder.text() == TRACING_OFF
    assert "run.trace" in tab.placeholder.text()

    show(window, qtbot, failed)

    assert tab.showing_placeholder()
    assert tab.placeholder.text() == NO_TRACE_LEFT


def test_a_truncated_trace_is_shown_with_a_warning(
    window: MainWindow, qtbot: QtBot, store_path: Path
) -> None:
    sid = traced_session(store_path)
    folder = session_trace_dir(store_path, sid)
    s = Store(store_path)
    try:
        ids = {r.framework: r.id for r in s.load(sid).runs}
    finally:
        s.close()
    cut = dataclasses.replace(TORCH, run_id=ids["torch"], truncated=True)
    save_breakdowns(store_path, sid, [cut, dataclasses.replace(TF, run_id=ids["tensorflow"])])
    assert (folder / BREAKDOWNS_FILE).exists()

    show(window, qtbot, sid)

    tab = window.breakdown
    assert not tab.showing_placeholder()
    assert tab.notes.isVisible()
    assert "PyTorch's trace was truncated at the size cap" in tab.notes.text()


def test_a_damaged_breakdowns_file_is_named_and_a_new_run_empties_the_tab(
    window: MainWindow, qtbot: QtBot, store_path: Path
) -> None:
    sid = traced_session(store_path)
    show(window, qtbot, sid)
    assert not window.breakdown.showing_placeholder()
    bad = session_trace_dir(store_path, sid) / BREAKDOWNS_FILE
    bad.write_text('{"schema_version": 99, "runs": []}')

    show(window, qtbot, sid)

    text = window.breakdown.placeholder.text()
    assert window.breakdown.showing_placeholder()
    assert str(bad) in text and "newer than this FrameDuel reads" in text

    window.breakdown.show_running()
    assert "appears when the session ends" in window.breakdown.placeholder.text()


@pytest.mark.slow
def test_a_real_traced_session_fills_the_tab_when_it_ends_and_when_reopened(
    window: MainWindow, qtbot: QtBot, make_config: ConfigMaker, tmp_path: Path
) -> None:
    config = make_config(
        steps=30,
        **{
            "run: {repeats: 1}": "run: {repeats: 1, trace: {steps: 5}}",
            "hidden: [8]": "hidden: [64]",
        },
    )
    drop_and_wait(qtbot, window, [config])
    tab = window.breakdown

    with qtbot.waitSignal(window.controller.runsPlanned, timeout=TIMEOUT_MS):
        assert window.runs.start_run()
    assert "appears when the session ends" in tab.placeholder.text()
    with qtbot.waitSignal(tab.shown, timeout=SESSION_TIMEOUT_MS) as shown:
        pass  # the session runs; the tab reads its breakdown when it ends
    session_id = shown.args[0]

    assert not tab.showing_placeholder(), tab.placeholder.text()
    cmp = tab.state.comparison
    assert cmp is not None and cmp.frameworks == ("torch", "tensorflow")
    for i, b in enumerate(cmp.per_framework):
        total = sum(float(bars.opts["width"][i]) for bars in tab.bars.values())
        assert total == pytest.approx(b.step_ms)  # the bars stack to the traced step
    assert "PyTorch" in tab.sentence.text() and "TensorFlow" in tab.sentence.text()
    matmul = next(r for r in cmp.ops if r.key == "matmul")
    assert matmul.has("torch") and matmul.has("tensorflow")  # aten::addmm ~ MatMul
    assert tab.differences.rowCount() >= 3
    window.tabs.setCurrentWidget(tab)
    tab.grab().save(str(tmp_path / "breakdown-real.png"))

    tab.show_running()
    with qtbot.waitSignal(tab.shown, timeout=TIMEOUT_MS):
        window.sessions.open_session(session_id)
    assert not tab.showing_placeholder()
    assert tab.state.comparison is not None
    assert tab.state.comparison.frameworks == ("torch", "tensorflow")
