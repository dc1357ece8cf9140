"""The window's views beyond the plots themselves: saving a plot, the export folder it remembers,
opening what was written, and the notice at the end of a long session."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from PySide6.QtCore import QUrl
from pytestqt.qtbot import QtBot

from gui import session_control
from gui.history import HEADERS
from gui.main_window import MainWindow
from profiler.store import Store
from tests.gui.conftest import WindowMaker
from tests.gui.recorded import record_session

TIMEOUT_MS = 60_000


def open_recorded(window: MainWindow, qtbot: QtBot, store_path: Path) -> int:
    sid = record_session(store_path, "views")
    with qtbot.waitSignal(window.sessions.sessionShown, timeout=TIMEOUT_MS):
        window.sessions.open_session(sid)
    return sid


class SaveDialogs:
    """Stands in for the native file dialog: records where it opened, answers ``answer``."""

    def __init__(self) -> None:
        self.started_in: list[str] = []
        self.answer = ""

    def __call__(self, _parent: object, _title: str, start: str, _filter: str) -> tuple[str, str]:
        self.started_in.append(start)
        return self.answer, ""


@pytest.fixture
def dialogs(monkeypatch: pytest.MonkeyPatch) -> SaveDialogs:
    answers = SaveDialogs()
    monkeypatch.setattr(session_control.QFileDialog, "getSaveFileName", answers)
    return answers


def test_export_remembers_the_folder_and_offers_to_open_the_file(
    make_window: WindowMaker,
    qtbot: QtBot,
    store_path: Path,
    tmp_path: Path,
    dialogs: SaveDialogs,
) -> None:
    window = make_window()
    sid = open_recorded(window, qtbot, store_path)
    folder = tmp_path / "reports"
    folder.mkdir()
    dialogs.answer = str(folder / "first.json")
    with qtbot.waitSignal(window.sessions.exported, timeout=TIMEOUT_MS):
        window.sessions.export_dialog(".json")
    assert dialogs.started_in[0] == f"views-{sid}.json"  # nothing remembered yet

    note = window.sessions.written_note()
    assert note.isVisible() and "first.json" in note.label.text()
    opened: list[QUrl] = []
    note.opener = lambda url: opened.append(url) or True
    note.open_button.click()
    note.folder_button.click()
    assert [u.toLocalFile() for u in opened] == [str(folder / "first.json"), str(folder)]

    dialogs.answer = ""  # cancelled: nothing written
    window.sessions.export_dialog(".csv")
    assert dialogs.started_in[1] == str(folder / f"views-{sid}.csv")

    again = make_window()  # the folder is remembered in the settings, across restarts
    other = open_recorded(again, qtbot, store_path)
    again.sessions.export_dialog(".html")
    assert dialogs.started_in[2] == str(folder / f"views-{other}.html")


def test_a_plot_is_saved_as_png_and_svg_from_its_menu(
    window: MainWindow, qtbot: QtBot, store_path: Path, tmp_path: Path, dialogs: SaveDialogs
) -> None:
    open_recorded(window, qtbot, store_path)
    menu = window.dashboard.plot_menu("step_time_ms")
    for fmt, magic in (("png", b"\x89PNG"), ("svg", b"<?xml")):
        dialogs.answer = str(tmp_path / f"step.{fmt}")
        with qtbot.waitSignal(window.sessions.exported, timeout=TIMEOUT_MS) as saved:
            next(a for a in menu.actions() if a.data() == fmt).trigger()
        written = Path(saved.args[0])
        assert written.read_bytes().startswith(magic)
        assert f"step.{fmt}" in window.sessions.written_note().label.text()
    assert dialogs.started_in[1] == str(tmp_path / "views-step_time_ms.svg")


def test_a_long_session_ends_with_a_notice_that_does_not_fail_offscreen(
    window: MainWindow,
) -> None:
    notifier = window.runs.notifier()
    window.runs._session_name = "short"
    window.runs._started_at = time.monotonic() - 5.0
    window.runs._on_session_finished(7, "ok")
    assert notifier.sent == []  # a short session: the user is still watching

    window.runs._session_name = "long"
    window.runs._started_at = time.monotonic() - 2 * notifier.long_s
    window.runs._on_session_finished(8, "ok")
    assert len(notifier.sent) == 1
    channel, _title, text = notifier.sent[0]
    assert channel in ("tray", "status")  # offscreen there is no tray: the status bar says it
    assert "long finished" in text and "session 8" in text
    assert "long finished" in window.status_text()


@pytest.mark.slow
def test_a_real_run_fills_the_system_view_from_the_engines_sampler(
    window: MainWindow, qtbot: QtBot, make_config: Callable[..., Path]
) -> None:
    window.configs.load_config_file(
        make_config(steps=100_000, **{"[torch, tensorflow]": "[torch]"})
    )
    with qtbot.waitSignal(window.controller.runStarted, timeout=180_000):
        assert window.runs.start_run()
    system = window.dashboard.system
    qtbot.waitUntil(lambda: system.snapshot is not None, timeout=60_000)
    assert len(system.bars.cores) == psutil.cpu_count()
    assert f"· {psutil.cpu_count()} cores" in system.text()
    total_gib = psutil.virtual_memory().total / 2**30
    assert f"/ {total_gib:.1f} GiB" in system.text()

    with qtbot.waitSignal(window.controller.sessionFinished, timeout=60_000):
        window.runs.stop_run()
    assert system.snapshot is None and "while a session runs" in system.text()


def test_compare_takes_n_sessions_keeps_every_framework_and_shows_config_differences(
    window: MainWindow, qtbot: QtBot, store_path: Path
) -> None:
    a = record_session(store_path, "base")
    b = record_session(
        store_path,
        "bigger-batch",
        ("torch", "jax"),
        step_ms={"torch": 4.0},
        overrides={"train": {"batch_size": 16}, "run": {"sample_hz": 20}},
    )
    c = record_session(store_path, "tf-only", ("tensorflow",), step_ms={"tensorflow": 4.0})
    with qtbot.waitSignal(window.history.loaded, timeout=TIMEOUT_MS):
        window.commands.history.trigger()
    window.history.select_ids([a, b, c])
    assert window.history.compare_button.isEnabled()

    with qtbot.waitSignal(window.sessions.compared, timeout=TIMEOUT_MS) as shown:
        window.history.compare_button.click()
    dialog = shown.args[0]

    groups = {g[0].framework: [s.title for s in g] for g in dialog.groups}
    assert groups == {
        "torch": [f"#{a}", f"#{b}"],
        "tensorflow": [f"#{a}", f"#{c}"],
        "jax": [f"#{b}"],  # only one session ran it: kept, alone
    }
    headers = [dialog.header(i) for i in range(1, dialog.table.columnCount())]
    assert headers[:3] == [f"PyTorch #{a}", f"PyTorch #{b}", f"#{b} / #{a}"]
    assert f"JAX #{b}" in headers
    assert not any("PyTorch PyTorch" in h for h in headers)
    assert dialog.cell("step_time_ms", 3) == "0.80× ?"
    assert dialog.cell("step_time_ms", 6) == "0.50× ?"  # TensorFlow: 4 ms in #c vs 8 ms in #a

    rows = {
        dialog.config_table.item(r, 0).text(): [
            dialog.config_table.item(r, k).text() for k in range(1, 4)
        ]
        for r in range(dialog.config_table.rowCount())
    }
    assert rows["train.batch_size"] == ["8", "16", "8"]
    assert rows["run.sample_hz"] == ["10.0", "20.0", "10.0"]
    assert "name" not in rows
    assert dialog.tabs.tabText(1).startswith("Config differences (")

    dialog.show_series("step_time_ms", "step")
    assert len(dialog.curves) == 5  # 2 torch + 2 tensorflow + 1 jax
    # The legend sits above the plot, in words, not over the curves.
    assert dialog.plot.getPlotItem().legend is None
    legend = dialog.legend.text()
    assert f"#{a} solid" in legend and f"#{b} dashed" in legend and f"#{c} dotted" in legend
    assert "JAX" in legend
    dialog.close()

    # Two runs of one session: the framework is named once.
    with qtbot.waitSignal(window.sessions.sessionShown, timeout=TIMEOUT_MS):
        window.sessions.open_session(a)
    with qtbot.waitSignal(window.sessions.compared, timeout=TIMEOUT_MS) as shown:
        window.runs_table.compareRequested.emit(list(window.dashboard.data.runs))
    runs = shown.args[0]
    assert [runs.header(i) for i in range(1, 4)] == [
        "PyTorch #1",
        "TensorFlow #1",
        "TensorFlow #1 / PyTorch #1",
    ]
    runs.close()


def show_history(window: MainWindow, qtbot: QtBot) -> None:
    with qtbot.waitSignal(window.history.loaded, timeout=TIMEOUT_MS):
        window.commands.history.trigger()


def history_row(window: MainWindow, sid: int) -> dict[str, str]:
    model = window.history.model
    r = next(i for i, s in enumerate(model.sessions) if s.id == sid)
    return {h: model.index(r, c).data() for c, h in enumerate(HEADERS)}


def test_history_shows_duration_and_result_and_keeps_names_tags_and_notes(
    window: MainWindow, qtbot: QtBot, store_path: Path
) -> None:
    two = record_session(store_path, "duel")  # torch 5 ms, tensorflow 8 ms a step
    one = record_session(store_path, "solo", ("jax",), step_ms={"jax": 3.0})
    show_history(window, qtbot)
    row = history_row(window, two)
    # the report's ratio of the median windows, not judged with one run a side
    assert row["Result"] == "PyTorch 1.60× faster than TensorFlow (one run each: not judged)"
    assert row["Duration"] == "5 s"  # runs of 1.8 s and 2.4 s, 0.5 s apart: 4.7 s
    assert history_row(window, one)["Result"] == "JAX 333 steps/s"

    window.history.select_ids([two])
    assert window.history.edit_button.isEnabled() and window.history.rerun_button.isEnabled()
    dialog = window.history.edit_selected()
    assert dialog is not None and dialog.name.text() == "duel"
    dialog.name.setText("")
    assert not dialog.buttons.button(dialog.buttons.StandardButton.Ok).isEnabled()
    dialog.name.setText("duel after upgrade")
    dialog.tags.setText("baseline, cuda-12")
    dialog.note.setPlainText("driver 550 → 560")
    with qtbot.waitSignal(window.history.loaded, timeout=TIMEOUT_MS):
        dialog.accept()
    row = history_row(window, two)
    assert row["Name"] == "duel after upgrade" and row["Tags"] == "baseline, cuda-12"

    window.history.search.setText("560")  # the note is searched too
    assert window.history.visible_ids() == [two]
    window.history.search.setText("cuda-12")
    assert window.history.visible_ids() == [two]


def test_rerunning_a_session_whose_stored_config_is_invalid_says_why(
    window: MainWindow, qtbot: QtBot, store_path: Path
) -> None:
    sid = record_session(store_path, "broken")
    with sqlite3.connect(store_path) as conn:
        conn.execute('UPDATE sessions SET config_json = \'{"name": "broken"}\' WHERE id=?', (sid,))
    show_history(window, qtbot)
    window.history.select_ids([sid])
    window.history.rerun_button.click()
    qtbot.waitUntil(lambda: "Cannot re-run" in window.banner.text(), timeout=TIMEOUT_MS)
    assert "no longer valid" in window.banner.text()
    assert not window.controller.is_running()


@pytest.mark.slow
def test_a_stored_session_runs_again_from_history(
    window: MainWindow, qtbot: QtBot, store_path: Path
) -> None:
    sid = record_session(store_path, "again", ("torch",), steps=40)
    show_history(window, qtbot)
    window.history.select_ids([sid])
    with qtbot.waitSignal(window.controller.sessionFinished, timeout=180_000) as done:
        window.history.rerun_button.click()
    new_id, status = done.args
    assert status == "ok" and new_id != sid
    with Store(store_path) as store:
        assert store.load(new_id).config == store.load(sid).config


def test_each_plots_log_scale_and_smoothing_are_kept_across_restarts(
    make_window: WindowMaker,
) -> None:
    first = make_window()
    first.dashboard.set_log("step_time_ms", True)
    first.dashboard.set_smoothing("cpu_percent", "mean", 5)
    again = make_window()
    assert again.dashboard.options["step_time_ms"].log
    assert again.dashboard.log_step_action.isChecked()
    cpu = again.dashboard.options["cpu_percent"]
    assert (cpu.smoothing, cpu.window) == ("mean", 5)
    assert again.dashboard.options["loss"].smoothing == "off"
