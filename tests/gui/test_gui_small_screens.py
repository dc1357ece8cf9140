"""Small screens: at 1366×768 the Runs table shows every column a live run needs without a
horizontal scroll bar; at 1024×768 the Breakdown chart's names, totals and legend lie clear of
each other and its bars are bars. Real widgets, a session written through the real Store; the
window laid out as a first launch on that screen lays it out. Geometry, not pixels."""

from __future__ import annotations

import itertools
from pathlib import Path

from PySide6.QtCore import QPoint, QRect, QRectF, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication, QStyleOptionViewItem, QWidget
from pytestqt.qtbot import QtBot

from gui.breakdown_tab import ROW_PX
from gui.dock_sizes import arrange_first_launch, initial_geometry
from gui.main_window import MainWindow
from gui.models.live import Batch, PhaseChange, WindowPoint
from gui.runs_table import (
    COL_DETAILS,
    COL_ETA,
    COL_NOW,
    COL_PHASE,
    COL_PROGRESS,
    COL_QUALITY,
    COL_REPEAT,
    COL_SPEED,
    COL_STATUS,
    COLUMNS,
    RunsTable,
)
from tests.gui.recorded import record_session
from tests.gui.test_gui_breakdown import traced_session

TIMEOUT_MS = 60_000
LAPTOP = (1366, 768 - 28)  # less a 28-px panel
PROJECTOR = (1024, 768 - 96)  # less a taller panel (the 1024×700 the window must fit)
LIVE = (COL_STATUS, COL_PROGRESS, COL_NOW, COL_SPEED, COL_ETA, COL_QUALITY)


def settle(qtbot: QtBot) -> None:
    for _ in range(4):
        QApplication.processEvents()
        qtbot.wait(20)


def first_launch_on(window: MainWindow, qtbot: QtBot, screen: tuple[int, int]) -> None:
    """Size and arrange the window as a first launch on a screen this big does."""
    available = QRectF(0, 0, *screen).toRect()
    window.setGeometry(initial_geometry(available, window.minimumSizeHint()))
    settle(qtbot)
    arrange_first_launch(
        window,
        window.docks,
        window.width(),
        window.summary.preferred_width,
        window.runs_table.live_width(),
        follow_px=window.runs_table.follow_width(),
    )
    settle(qtbot)


def in_sight(widget: QWidget, top: QWidget) -> QRectF:
    """The part of ``widget`` its ancestors up to ``top`` leave in sight, in its own pixels."""
    origin = widget.mapTo(top, QPoint(0, 0))
    rect = QRect(origin, widget.size())
    parent = widget.parentWidget()
    while parent is not None and parent is not top:
        rect &= QRect(parent.mapTo(top, QPoint(0, 0)), parent.size())
        parent = parent.parentWidget()
    return QRectF(rect.translated(-origin))


def make_live(window: MainWindow, qtbot: QtBot, store_path: Path) -> None:
    """A stored session with quality warnings on every run, its first run then measuring live."""
    sid = record_session(store_path, "busy", repeats=2, busy_percent=140.0)
    model = window.runs_table.runs
    with qtbot.waitSignal(window.sessions.sessionShown, timeout=TIMEOUT_MS):
        window.sessions.open_session(sid)
    qtbot.waitUntil(lambda: bool(model.index(0, COL_QUALITY).data()), timeout=TIMEOUT_MS)
    first = model.rows[0].info
    model.run_started(first)
    batch = Batch()
    batch.phases.append(PhaseChange(first.run_id, 0.1, "warmup", "start"))
    batch.windows[first.run_id].append(
        WindowPoint(0.5, first.total_steps // 3, 800.0, 0.81, 0.5, "warmup")
    )
    model.add_batch(batch)
    settle(qtbot)


def test_at_1366_every_live_column_is_in_view_without_scrolling(
    window: MainWindow, qtbot: QtBot, store_path: Path
) -> None:
    first_launch_on(window, qtbot, LAPTOP)
    make_live(window, qtbot, store_path)
    table = window.runs_table
    model = table.runs
    assert model.index(0, COL_STATUS).data() == "warming up"  # the live phase, with its ⚠
    assert model.index(0, COL_STATUS).data(Qt.ItemDataRole.DecorationRole) is not None
    assert model.index(0, COL_NOW).data() and model.index(0, COL_ETA).data()

    assert table.horizontalScrollBar().maximum() == 0
    viewport = table.viewport().width()
    header = table.horizontalHeader()
    shown = [c for c in range(len(COLUMNS)) if not table.isColumnHidden(c)]
    assert set(LIVE) <= set(shown)
    for col in shown:
        right = table.columnViewportPosition(col) + table.columnWidth(col)
        assert right <= viewport, f"{COLUMNS[col]} ends at {right} px of {viewport}"
        if col == COL_DETAILS:
            continue
        # headers whole, and the live texts uncut (a second quality tag may elide)
        assert header.sectionSizeFromContents(col).width() <= table.columnWidth(col), COLUMNS[col]
        if col != COL_QUALITY:
            assert table.sizeHintForColumn(col) <= table.columnWidth(col), COLUMNS[col]
    assert model.index(0, COL_QUALITY).data().startswith("⚠ busy machine")
    delegate = table.itemDelegate()
    option = QStyleOptionViewItem()
    table.initViewItemOption(option)
    busy = delegate.sizeHint(option, model.index(0, COL_QUALITY)).width()
    if model.index(0, COL_QUALITY).data() == "⚠ busy machine":  # one tag: whole
        assert busy <= table.columnWidth(COL_QUALITY)
    assert table.columnWidth(COL_PROGRESS) >= 64
    # the Summary beside it still shows its values (an interval may scroll into view)
    summary = window.summary
    assert summary.width() >= summary.preferred_width(["torch", "tensorflow"], False) - 8


def test_the_runs_columns_follow_a_larger_font(qtbot: QtBot) -> None:
    table = RunsTable()
    qtbot.addWidget(table)
    small = {c: table.columnWidth(c) for c in LIVE}
    font = QFont(table.font())
    font.setPointSizeF(font.pointSizeF() * 1.6)
    table.setFont(font)
    qtbot.waitUntil(lambda: table.columnWidth(COL_STATUS) > small[COL_STATUS])
    header = table.horizontalHeader()
    for col in LIVE:  # the columns sized by their texts grow; none is narrower than its header
        if col in (COL_STATUS, COL_ETA, COL_QUALITY):
            assert table.columnWidth(col) > small[col] * 1.3, COLUMNS[col]
        assert header.sectionSizeFromContents(col).width() <= table.columnWidth(col), COLUMNS[col]


def test_abbreviated_headers_explain_themselves_and_columns_can_be_shown(qtbot: QtBot) -> None:
    table = RunsTable()
    qtbot.addWidget(table)
    model = table.runs
    tip = Qt.ItemDataRole.ToolTipRole
    horizontal = Qt.Orientation.Horizontal
    assert model.headerData(COL_REPEAT, horizontal) == "#"
    assert "repeat" in model.headerData(COL_REPEAT, horizontal, tip)
    for col in (COL_NOW, COL_SPEED, COL_ETA, COL_QUALITY):
        assert model.headerData(col, horizontal, tip), COLUMNS[col]

    assert table.isColumnHidden(COL_PHASE)  # Status says the live phase
    menu = table.columns_menu()
    phase = next(a for a in menu.actions() if a.text() == "Phase")
    assert not phase.isChecked()
    phase.trigger()
    assert not table.isColumnHidden(COL_PHASE)
    assert table.columnWidth(COL_PHASE) == table.fit_width(COL_PHASE) > 0
    model.set_runs([])  # a new session keeps the user's choice
    assert not table.isColumnHidden(COL_PHASE)


def test_at_1024_the_breakdown_chart_is_readable(
    window: MainWindow, qtbot: QtBot, store_path: Path
) -> None:
    first_launch_on(window, qtbot, PROJECTOR)
    assert window.width() <= 1024
    sid = traced_session(store_path, ("torch", "tensorflow", "jax"))
    tab = window.breakdown
    with qtbot.waitSignal(tab.shown, timeout=TIMEOUT_MS):
        window.sessions.open_session(sid)
    window.tabs.setCurrentWidget(tab)
    settle(qtbot)
    window.grab()  # paint: the names axis says where it drew each name
    rects = tab.chart_items_px()

    names = {k: r for k, r in rects.items() if k.startswith("name ")}
    totals = {k: r for k, r in rects.items() if k.startswith("total ")}
    assert sorted(names) == ["name JAX", "name PyTorch", "name TensorFlow"]
    assert len(totals) == 3
    texts = {**names, **totals}
    for (a, ra), (b, rb) in itertools.combinations(texts.items(), 2):
        assert not ra.intersects(rb), f"{a} {ra} covers {b} {rb}"
    box = in_sight(tab.chart, window)
    plot, legend = rects["plot"], rects["legend"]
    for key, rect in texts.items():
        assert box.contains(rect), f"{key} {rect} is cut off (chart {box})"
        assert not rect.intersects(legend), key
    for key, rect in totals.items():
        assert rect.right() <= plot.right() + 1, f"{key} runs past the plot"
    assert not plot.intersects(legend)
    assert box.contains(legend)
    assert tab.legend.height() >= tab.legend.heightForWidth(tab.legend.width())  # no line cut
    # bars, not slivers: the plot is wide, and each framework's row is tall enough
    assert plot.width() >= 150
    assert plot.height() / 3 >= ROW_PX * 0.75
    # the gap table beside it keeps a usable width
    assert tab.differences_view.width() >= 300
