"""The Runs table's columns: the user's choices (shown, order, widths) come back at the next
start from the same settings store, with a way back to the defaults; at 1024×640 and at
1400×900 the columns a run is followed by are in view without scrolling, and a dock made
narrower leaves out the least important columns, their values in each row's tooltip. Real
windows and widgets, settings in an INI file of the test's own. Geometry, not pixels."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from gui.main_window import MainWindow
from gui.models.columns import ColumnChoices, fit_to_room
from gui.runs_table import (
    COL_DETAILS,
    COL_ETA,
    COL_FRAMEWORK,
    COL_NOW,
    COL_PHASE,
    COL_PROGRESS,
    COL_QUALITY,
    COL_REPEAT,
    COL_SPEED,
    COL_STATUS,
    COLUMNS,
    FOLLOW_COLUMNS,
    KEY_COLUMNS,
    RunsTable,
)
from gui.settings import isolated_settings
from tests.gui.conftest import WindowMaker
from tests.gui.test_gui_small_screens import first_launch_on, make_live, settle

SMALL_LAPTOP = (1024, 640)
DEFAULT_WINDOW = (1400 + 16, 900 + 40)  # a screen that leaves the default 1400×900 window


def in_view(table: RunsTable, cols: tuple[int, ...] | list[int]) -> None:
    """Each of ``cols`` is shown and ends inside the viewport; nothing to scroll sideways."""
    viewport = table.viewport().width()
    assert table.horizontalScrollBar().maximum() == 0
    for col in cols:
        assert not table.isColumnHidden(col), f"{COLUMNS[col]} is hidden"
        right = table.columnViewportPosition(col) + table.columnWidth(col)
        assert table.columnViewportPosition(col) >= 0, COLUMNS[col]
        assert right <= viewport, f"{COLUMNS[col]} ends at {right} px of {viewport}"
        assert table.columnWidth(col) >= table.fit_width(col), f"{COLUMNS[col]} is cut"


def action(table: RunsTable, title: str) -> object:
    return next(a for a in table.columns_menu().actions() if a.text().startswith(title))


def test_column_choices_come_back_at_the_next_start_and_reset_to_the_defaults(
    make_window: WindowMaker, qtbot: QtBot, tmp_path: Path
) -> None:
    path = str(tmp_path / "settings.ini")
    first = make_window(settings=isolated_settings(path))
    table = first.runs_table
    header = table.horizontalHeader()
    assert not table.isColumnHidden(COL_ETA)
    view_menu = first.commands.runs_columns_menu  # View ▸ Runs columns, as the header's menu
    view_menu.aboutToShow.emit()
    eta = next(a for a in view_menu.actions() if a.text() == "ETA")
    assert eta.isChecked()
    eta.trigger()  # unticked
    assert table.isColumnHidden(COL_ETA)
    header.moveSection(header.visualIndex(COL_SPEED), 1)  # as a drag moves it: after Framework
    header.resizeSection(COL_QUALITY, 150)  # as dragging its edge does
    first.close()
    settle(qtbot)

    second = make_window(settings=isolated_settings(path))  # a new start, the same store
    table = second.runs_table
    header = table.horizontalHeader()
    settle(qtbot)
    assert table.isColumnHidden(COL_ETA)
    assert not action(table, "ETA").isChecked()
    assert header.visualIndex(COL_FRAMEWORK) == 0
    assert header.visualIndex(COL_SPEED) == 1
    assert table.columnWidth(COL_QUALITY) == 150
    assert table.isColumnHidden(COL_PHASE)  # the default stays where the user did not choose

    action(table, "Reset columns").trigger()
    assert not table.isColumnHidden(COL_ETA)
    assert [header.logicalIndex(v) for v in range(len(COLUMNS))] == list(range(len(COLUMNS)))
    assert table.columnWidth(COL_QUALITY) == table.fit_width(COL_QUALITY)
    second.close()
    settle(qtbot)

    third = make_window(settings=isolated_settings(path))
    assert not third.runs_table.isColumnHidden(COL_ETA)
    assert third.runs_table.horizontalHeader().visualIndex(COL_SPEED) == COL_SPEED


@pytest.mark.parametrize(
    "raw",
    ["not json", "[1, 2]", '{"version": 99, "hidden": ["Status"], "order": []}'],
)
def test_unreadable_or_newer_column_choices_read_as_the_defaults(
    make_window: WindowMaker, tmp_path: Path, raw: str
) -> None:
    settings = isolated_settings(str(tmp_path / "settings.ini"))
    settings.q.setValue("runs/columns", raw)
    table = make_window(settings=settings).runs_table
    assert not table.isColumnHidden(COL_STATUS)
    assert table.isColumnHidden(COL_PHASE)


def test_at_1024x640_the_runs_a_run_is_followed_by_are_in_view(
    window: MainWindow, qtbot: QtBot, store_path: Path
) -> None:
    first_launch_on(window, qtbot, SMALL_LAPTOP)
    assert window.width() <= 1024
    make_live(window, qtbot, store_path)
    table = window.runs_table
    assert table.isVisible()  # the Runs tab is the one raised
    in_view(table, FOLLOW_COLUMNS)  # Framework, Status, Steps/s, Progress, Now, #, ETA
    assert set(KEY_COLUMNS) == {COL_FRAMEWORK, COL_STATUS, COL_SPEED}
    # the Summary is a tab beside the Runs, at the same full width: its values uncut
    summary = window.docks["summary"]
    assert summary in window.tabifiedDockWidgets(window.docks["runs"])
    assert window.summary.width() >= window.summary.preferred_width(["torch", "tensorflow"])


def test_at_1400x900_every_live_column_and_the_summary_are_in_view(
    window: MainWindow, qtbot: QtBot, store_path: Path
) -> None:
    first_launch_on(window, qtbot, DEFAULT_WINDOW)
    assert window.width() == 1400
    make_live(window, qtbot, store_path)
    table = window.runs_table
    live = [c for c in range(len(COLUMNS)) if c not in (COL_PHASE, COL_DETAILS)]
    in_view(table, live)
    # beside it, the Summary of two frameworks whole, intervals included
    summary = window.docks["summary"]
    assert summary not in window.tabifiedDockWidgets(window.docks["runs"])
    assert window.summary.width() >= window.summary.preferred_width(["torch", "tensorflow"]) - 8


def test_a_narrow_table_leaves_out_the_least_important_columns(
    window: MainWindow, qtbot: QtBot, store_path: Path
) -> None:
    make_live(window, qtbot, store_path)
    table = window.runs_table
    window.docks["runs"].setFloating(True)  # as narrow as a user may drag it
    keys = sum(table.fit_width(c) for c in KEY_COLUMNS)
    window.docks["runs"].resize(keys + table.fit_width(COL_PROGRESS) + 40, 200)
    settle(qtbot)
    in_view(table, [*KEY_COLUMNS, COL_PROGRESS])
    dropped = table.dropped_columns()
    assert {COL_ETA, COL_QUALITY, COL_DETAILS} <= dropped
    assert all(table.isColumnHidden(c) for c in dropped)
    eta = next(a for a in table.columns_menu().actions() if a.text().startswith("ETA"))
    assert eta.text() == "ETA (no room)" and eta.isChecked()
    # what was left out is one hover away: the row's Framework tooltip says every value
    model = table.runs
    tip = model.index(0, COL_FRAMEWORK).data(Qt.ItemDataRole.ToolTipRole)
    for col in (COL_ETA, COL_QUALITY, COL_NOW):
        assert f"{COLUMNS[col]}: {model.index(0, col).data()}" in tip, (COLUMNS[col], tip)
    details = model.rows[0].details
    assert "steps)" in tip and details and f"Details: {details}" in tip

    window.docks["runs"].resize(table.live_width() + 200, 200)  # room again: all come back
    settle(qtbot)
    assert not table.dropped_columns()
    in_view(table, [c for c in range(len(COLUMNS)) if c != COL_PHASE])


def test_unticking_a_column_left_out_for_room_makes_hiding_it_the_users_choice(
    qtbot: QtBot,
) -> None:
    table = RunsTable()
    qtbot.addWidget(table)
    table.show()
    table.resize(sum(table.fit_width(c) for c in KEY_COLUMNS) + 10, 150)
    settle(qtbot)
    assert {COL_REPEAT, COL_NOW, COL_ETA} <= table.dropped_columns()
    assert all(not table.isColumnHidden(c) for c in KEY_COLUMNS)
    table.show_column(COL_ETA, False)  # unticked: now the user's choice, not for lack of room
    assert COL_ETA not in table.dropped_columns()
    assert "ETA" in table.column_choices()["hidden"]
    table.resize(table.live_width() + 100, 150)  # room again: all but ETA (and Phase) come back
    settle(qtbot)
    assert not table.dropped_columns()
    hidden = {c for c in range(len(COLUMNS)) if table.isColumnHidden(c)}
    assert hidden == {COL_ETA, COL_PHASE}
    QApplication.processEvents()


def test_saved_choices_survive_a_column_added_renamed_or_removed() -> None:
    names = ("Framework", "#", "Status", "Steps/s", "ETA", "New")
    raw = {
        "version": 1,
        "order": ["Status", "Framework", "Gone", "ETA", "#", "Steps/s"],
        "hidden": ["ETA", "Gone", "Framework"],
        "widths": {"Status": 120, "Gone": 50, "#": -3, "ETA": True},
    }
    choices = ColumnChoices.from_json(raw, names, ["Steps/s"])
    assert choices.order == ["Framework", "Status", "ETA", "#", "Steps/s", "New"]
    assert choices.hidden == {"ETA"}  # Framework never hides; unknown names go
    assert choices.widths == {"Status": 120}
    assert ColumnChoices.from_json(choices.to_json(), names).to_json() == choices.to_json()
    assert ColumnChoices.from_json(None, names, ["ETA"]).hidden == {"ETA"}


def test_fit_to_room_keeps_the_key_columns_and_fills_by_priority() -> None:
    widths = {0: 100, 1: 20, 2: 100, 3: 60, 4: 50}
    priority = (0, 2, 3, 4, 1)
    assert fit_to_room(widths, priority, {0, 2}, 10) == {0, 2}  # too narrow: a scroll bar
    assert fit_to_room(widths, priority, {0, 2}, 260) == {0, 2, 3}
    assert fit_to_room(widths, priority, {0, 2}, 285) == {0, 2, 3, 1}  # 4 skipped, 1 fits
    assert fit_to_room(widths, priority, {0}, 1000) == set(widths)
