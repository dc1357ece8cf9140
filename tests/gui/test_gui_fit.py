"""A window that fits and says the truth: drops never moved, notifications that move nothing,
a size that stays put, docks that grow back, dialogs sized to their titles (issue 12)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, QRect, QSize, Qt, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QCheckBox, QMenu, QMessageBox, QTextEdit
from pytestqt.qtbot import QtBot

from gui.dock_sizes import arrange_first_launch, initial_geometry
from gui.main_window import MainWindow
from gui.models.live import Batch, PhaseChange
from gui.models.summary import SessionSummary, load_summary
from gui.runs_table import COL_ETA, COL_STATUS, RunsTable
from gui.settings import AppSettings
from gui.summary import SummaryTable
from gui.theme import DARK
from profiler.protocol import Event
from profiler.session import RunInfo, RunOutcome
from tests.gui.recorded import record_session
from tests.gui.test_gui_history import open_session, show_history

ConfigMaker = Callable[..., Path]
WindowMaker = Callable[..., MainWindow]
TASK_MS = 30_000

MOVE = Qt.DropAction.MoveAction
COPY = Qt.DropAction.CopyAction


def settle(qtbot: QtBot) -> None:
    for _ in range(3):
        QApplication.processEvents()
        qtbot.wait(20)


def _drag_events(
    path: Path, offered: Qt.DropAction
) -> tuple[QDragEnterEvent, QDropEvent, QMimeData]:
    """A drag-enter and a drop of ``path``, and their data (keep it: the events do not)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    pos = QPointF(200, 200)
    # Shift held: the drag proposes Move, as a file manager does for a move
    buttons, keys = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier
    enter = QDragEnterEvent(pos.toPoint(), offered, mime, buttons, keys)
    drop = QDropEvent(pos, offered, mime, buttons, keys)
    return enter, drop, mime


# -- 4: drops ---------------------------------------------------------------------------------


def test_a_drop_offered_as_move_is_taken_as_a_copy(
    window: MainWindow, qtbot: QtBot, tiny_config: Path
) -> None:
    enter, drop, _mime = _drag_events(tiny_config, MOVE | COPY)
    assert bool(drop.proposedAction() == MOVE)  # what the file manager would like
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    assert bool(enter.dropAction() == COPY)
    with qtbot.waitSignal(window.configs.configsLoaded, timeout=TASK_MS):
        QApplication.sendEvent(window, drop)
    assert drop.isAccepted()
    assert bool(drop.dropAction() == COPY)
    assert tiny_config.is_file()


def test_a_drop_that_can_only_move_is_refused(window: MainWindow, tiny_config: Path) -> None:
    enter, drop, _mime = _drag_events(tiny_config, MOVE)
    QApplication.sendEvent(window, enter)
    assert not enter.isAccepted()
    QApplication.sendEvent(window, drop)
    assert not drop.isAccepted()


# -- 5: notifications move nothing ------------------------------------------------------------


def test_a_notification_moves_nothing_the_user_may_click(window: MainWindow, qtbot: QtBot) -> None:
    window.resize(1200, 800)
    settle(qtbot)
    tabs_before = QRect(window.tabs.mapTo(window, QPoint(0, 0)), window.tabs.size())
    row_before = window.history.table.mapTo(window, QPoint(0, 0))

    window.banner.show_message("Exported session 3 to /tmp/a-rather-long/path.pdf", "info")
    settle(qtbot)

    assert QRect(window.tabs.mapTo(window, QPoint(0, 0)), window.tabs.size()) == tabs_before
    assert window.history.table.mapTo(window, QPoint(0, 0)) == row_before
    assert window.banner.isVisible()
    centre = window.centralWidget()
    banner = window.banner.geometry()
    assert centre.rect().contains(banner)  # floats inside the centre, at its bottom
    assert banner.bottom() > centre.height() * 0.75
    tab_bar = window.tabs.tabBar().geometry().translated(window.tabs.pos())
    assert not banner.intersects(tab_bar)

    window.resize(1000, 700)
    settle(qtbot)
    assert window.banner.geometry().bottom() < centre.height()  # follows the window


# -- 6, 7, 9: a window that fits --------------------------------------------------------------


def test_a_long_readout_does_not_widen_the_window(window: MainWindow, qtbot: QtBot) -> None:
    window.resize(1100, 760)
    settle(qtbot)
    least = window.minimumSizeHint().width()
    long_text = " · ".join(f"<b>PyTorch #{i}</b> 1,234.56 MiB" for i in range(12))
    window.dashboard.readout.setText(long_text)
    settle(qtbot)
    assert window.width() == 1100
    assert window.minimumSizeHint().width() == least


def test_first_launch_fits_the_screen(window: MainWindow) -> None:
    available = window.screen().availableGeometry()
    frame = window.frameGeometry()
    assert frame.height() <= available.height()  # 1400×900 was taller than this screen
    assert frame.top() >= available.top()


@pytest.mark.parametrize(
    ("available", "expected"),
    [
        (QRect(0, 0, 1920, 1050), QSize(1400, 900)),
        (QRect(0, 0, 1366, 740), QSize(1350, 700)),  # 1366×768 less a 28 px panel
        (QRect(0, 0, 1024, 672), QSize(1008, 632)),
    ],
)
def test_the_first_size_is_the_default_or_what_the_screen_allows(
    available: QRect, expected: QSize
) -> None:
    rect = initial_geometry(available, QSize(960, 520))
    assert rect.size() == expected
    assert available.contains(rect)
    assert rect.top() >= available.top() + 30  # the title bar stays on the screen


def test_docks_squeezed_by_a_small_window_grow_back(window: MainWindow, qtbot: QtBot) -> None:
    runs = window.docks["runs"]
    window.resize(1400, 900)
    settle(qtbot)
    tall = runs.height()
    window.resize(window.minimumSizeHint().width(), window.minimumSizeHint().height())
    settle(qtbot)
    assert runs.height() < tall - 40  # the small window squeezed it
    window.resize(1400, 900)
    settle(qtbot)
    assert runs.height() >= tall - 2


def test_the_window_fits_1024_by_700(window: MainWindow) -> None:
    least = window.minimumSizeHint()
    assert least.width() <= 1024 - 16 and least.height() <= 700 - 40


# -- 10: dialogs ------------------------------------------------------------------------------


def test_a_users_stop_is_not_shown_as_an_error(window: MainWindow, qtbot: QtBot) -> None:
    box = window.log_pane.show_details(7, "stopped", "stopped by the user")
    qtbot.addWidget(box)
    assert box.icon() == QMessageBox.Icon.Information
    assert "FrameDuel" not in box.windowTitle()  # Qt adds " — FrameDuel" itself
    failed = window.log_pane.show_details(8, "failed", "RuntimeError: boom\n" + "x\n" * 40)
    qtbot.addWidget(failed)
    assert failed.icon() == QMessageBox.Icon.Critical
    (details,) = failed.findChildren(QTextEdit)
    assert details.minimumHeight() >= details.fontMetrics().lineSpacing() * 15


def test_the_error_details_box_is_tall_and_titled_once(window: MainWindow, qtbot: QtBot) -> None:
    window.banner.show_message("PyTorch failed: boom", "error", "Traceback\n" + "line\n" * 50)
    window.banner.show_details()
    box = window.banner.details_box
    assert box is not None
    assert box.windowTitle() == "Error"
    (details,) = box.findChildren(QTextEdit)
    assert details.minimumHeight() >= details.fontMetrics().lineSpacing() * 15
    title = f"{box.windowTitle()} — FrameDuel"
    assert box.sizeHint().width() >= box.fontMetrics().horizontalAdvance(title)
    box.close()


# -- 16: the real store -----------------------------------------------------------------------


def test_the_status_bar_and_history_name_the_real_store(
    make_window: WindowMaker,
    qtbot: QtBot,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = tmp_path / "elsewhere" / "team.sqlite3"
    monkeypatch.setenv("FRAMEDUEL_STORE", str(store))
    window = make_window(store_path=None)
    assert window.store_path() == str(store)
    assert "team.sqlite3" in window.store_label.text()
    assert "default" not in window.store_label.text()
    assert "FRAMEDUEL_STORE" in window.store_label.toolTip()
    with qtbot.waitSignal(window.history.loaded, timeout=TASK_MS):
        window.commands.history.trigger()
    assert str(store) in window.history.message.text()


# -- 19: promises kept ------------------------------------------------------------------------


def test_esc_stops_as_the_tooltip_says(window: MainWindow, qtbot: QtBot) -> None:
    assert "Esc" in window.stop_button.toolTip()
    assert QKeySequence("Esc") in window.commands.stop.shortcuts()
    stop = window.commands.stop
    stop.setEnabled(True)  # as while a session runs
    window.activateWindow()
    window.dashboard.setFocus()
    with qtbot.waitSignal(stop.triggered, timeout=TASK_MS):
        QTest.keyClick(window.dashboard, Qt.Key.Key_Escape)


def test_clear_recent_is_off_with_nothing_recent(window: MainWindow, settings: AppSettings) -> None:
    menu = QMenu()
    window.configs.fill_recent_menu(menu)
    (clear,) = [a for a in menu.actions() if a.text() == "Clear recent"]
    assert not clear.isEnabled()
    settings.add_recent("/tmp/x.yaml")
    window.configs.fill_recent_menu(menu)
    (clear,) = [a for a in menu.actions() if a.text() == "Clear recent"]
    assert clear.isEnabled()


def _contrast(box: QCheckBox, background: QColor) -> float:
    """The largest lightness difference to ``background`` in the box's indicator area."""
    image = box.grab().toImage()
    side = min(image.height(), 22)
    best = 0.0
    for x in range(side):
        for y in range(image.height()):
            color = QColor(image.pixel(x, y))
            best = max(best, abs(color.lightnessF() - background.lightnessF()))
    return best


def test_an_unticked_box_is_visible_in_the_dark_theme(
    window: MainWindow, settings: AppSettings, qtbot: QtBot
) -> None:
    settings.theme = "dark"
    window.apply_settings()
    box = window.framework_boxes["jax"]
    box.setChecked(False)
    settle(qtbot)
    assert _contrast(box, QColor(DARK.box)) > 0.35


# -- 8: the summary is never cut --------------------------------------------------------------


def _summary_of(frameworks: tuple[str, ...], folder: Path) -> SessionSummary:
    """A recorded session's summary, with a slow, a very slow and a very fast framework and
    three runs each (so ratios carry intervals, the widest cells)."""
    speeds = dict(zip(frameworks, (8.0, 1032.4, 0.05), strict=False))
    path = folder / "summary.sqlite3"
    sid = record_session(path, "wide", frameworks, step_ms=speeds, steps=60, repeats=3)
    return load_summary(str(path), sid)


def _cut_cells(summary: SummaryTable) -> list[str]:
    """Texts wider than their column (drawn with "…"), and columns out of the viewport."""
    table = summary.table
    fm = table.fontMetrics()
    cut = []
    for c in range(table.columnCount()):
        width = table.columnWidth(c)
        header = table.horizontalHeaderItem(c).text()
        texts = header.split("\n") + [table.item(r, c).text() for r in range(table.rowCount())]
        cut += [t for t in texts if fm.horizontalAdvance(t) + 6 > width]
        if table.columnViewportPosition(c) + width > table.viewport().width():
            cut.append(f"column {header!r} out of sight")
    return cut


@pytest.mark.parametrize(
    ("size", "frameworks"),
    [((1400, 900), ("torch", "tensorflow", "jax")), ((1024, 700), ("torch", "tensorflow"))],
)
def test_the_summary_shows_every_value_and_header_uncut(
    window: MainWindow,
    qtbot: QtBot,
    size: tuple[int, int],
    frameworks: tuple[str, ...],
    tmp_path: Path,
) -> None:
    window.resize(*size)
    settle(qtbot)
    arrange_first_launch(window, window.docks, window.width(), window.summary.preferred_width)
    settle(qtbot)
    window.summary.set_summary(_summary_of(frameworks, tmp_path))
    settle(qtbot)
    assert window.summary.cell_text("steps_per_s", "PyTorch") != "—"
    assert window.summary.table.textElideMode() == Qt.TextElideMode.ElideNone
    assert _cut_cells(window.summary) == []


def test_a_narrow_summary_scrolls_instead_of_cutting(qtbot: QtBot, tmp_path: Path) -> None:
    summary = SummaryTable()
    qtbot.addWidget(summary)
    summary.resize(260, 300)
    summary.show()
    summary.set_summary(_summary_of(("torch", "tensorflow", "jax"), tmp_path))
    settle(qtbot)
    table = summary.table
    fm = table.fontMetrics()
    for c in range(table.columnCount()):
        for r in range(table.rowCount()):
            assert fm.horizontalAdvance(table.item(r, c).text()) < table.columnWidth(c)
    assert table.horizontalScrollBar().maximum() > 0


# -- 17: truthful state -----------------------------------------------------------------------


def test_a_run_is_finishing_while_its_process_exits(qtbot: QtBot) -> None:
    table = RunsTable()
    qtbot.addWidget(table)
    model = table.runs
    runs = [RunInfo(1, "torch", 0, 0, 100), RunInfo(2, "tensorflow", 0, 1, 100)]
    model.set_runs(runs)
    model.run_started(runs[0])
    done = Batch()
    done.events.append((1, 1.0, Event("done", 0.0, {"steps": 100})))
    model.add_batch(done)
    assert model.index(0, COL_STATUS).data() == "finishing"
    assert model.index(0, COL_ETA).data() == ""  # not "0 s"
    model.run_finished(RunOutcome(1, "torch", "ok", None, 0))
    assert (model.index(0, COL_STATUS).data(), model.rows[0].phase) == ("ok", "finished")

    model.run_started(runs[1])
    importing = Batch()
    importing.phases.append(PhaseChange(2, 0.1, "import", "start"))
    model.add_batch(importing)
    assert model.rows[1].phase == "importing"
    model.run_finished(RunOutcome(2, "tensorflow", "failed", "ImportError: no module", 1))
    assert model.rows[1].phase == "ended in import"


def test_the_status_line_follows_the_config_list(
    window: MainWindow, make_config: ConfigMaker
) -> None:
    assert window.status_text().startswith("Ready. Drop a config")
    window.configs.load_config_file(make_config())
    assert not window.status_text().startswith("Ready")
    assert "1 config listed" in window.status_text()
    window.configs.clear_configs()
    assert window.status_text().startswith("Ready. Drop a config")


def test_the_editor_with_nothing_open_shows_no_error(window: MainWindow, qtbot: QtBot) -> None:
    editor = window.editor
    with qtbot.waitSignal(editor.text.textChanged):
        editor.text.setPlainText("x")
    editor.text.setPlainText("")
    editor.validate_now()
    qtbot.wait(200)
    assert editor.message.text() == ""
    assert editor.text.error_line is None


def test_the_saved_size_does_not_grow_and_saved_docks_stay_as_left(
    make_window: WindowMaker, qtbot: QtBot
) -> None:
    first = make_window()
    first.resize(1200, 800)
    settle(qtbot)
    before = first.saveGeometry()
    first.dashboard.readout.setText(" · ".join(f"<b>JAX #{i}</b> 12,345.6 ms" for i in range(15)))
    first.resizeDocks([first.docks["runs"]], [170], Qt.Orientation.Vertical)
    settle(qtbot)
    assert first.saveGeometry() == before  # what closing saves: the size the user gave
    first.close()

    second = make_window()
    settle(qtbot)
    runs_px = second.docks["runs"].height()
    assert runs_px < 200  # the saved layout, not the first-launch 250
    second.resize(1300, 900)  # a bigger window: the dock keeps the user's size
    settle(qtbot)
    assert abs(second.docks["runs"].height() - runs_px) <= 4


def test_closing_the_pdf_preview_leaves_no_stale_status(
    window: MainWindow, qtbot: QtBot, store_path: Path
) -> None:
    sid = record_session(store_path, "previewed")
    show_history(window, qtbot)
    open_session(window, qtbot, sid)
    with qtbot.waitSignal(window.sessions.previewShown, timeout=TASK_MS) as shown:
        window.commands.preview.trigger()
    assert window.status_text().startswith("Previewing the PDF")
    shown.args[0].close()
    assert window.status_text() == f"Showing session {sid}: previewed"


def test_a_long_path_in_the_editor_does_not_widen_the_window(
    window: MainWindow, qtbot: QtBot, tmp_path: Path
) -> None:
    window.resize(1100, 760)
    window.tabs.setCurrentWidget(window.editor)
    settle(qtbot)
    least = window.minimumSizeHint().width()
    deep = tmp_path.joinpath(*["a-rather-long-folder-name"] * 8)
    window.editor.set_text(str(deep / "config.yaml"), "name: x\n")
    window.editor.text.setPlainText("name: y\n")  # modified: the title gains " •"
    window._set_status(f"Exported session 3 to {deep / 'report.pdf'}")
    settle(qtbot)
    assert window.width() == 1100
    assert window.minimumSizeHint().width() == least
    assert window.editor.title.text().endswith("config.yaml •")
