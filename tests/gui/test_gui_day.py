"""The app as used for a day: edits never lost, controls that mean what they say, lists that
come back (issue 12). Real widgets, real files; runs are real tiny sessions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from gui.main_window import MainWindow
from gui.models.batch import RunAllBatch
from gui.prompts import ask_choice, unsaved_choices
from gui.settings import AppSettings
from profiler.store import SessionRow, Store
from tests.gui.conftest import Choices

ConfigMaker = Callable[..., Path]
WindowMaker = Callable[..., MainWindow]
TASK_MS = 30_000
SESSION_MS = 180_000


def load(window: MainWindow, *paths: Path) -> None:
    for path in paths:
        window.configs.load_config_file(path)


def edit(qtbot: QtBot, window: MainWindow, path: Path) -> None:
    """Select ``path`` in the list and open it in the editor (waits for its validation)."""
    window.configs.select_config(str(path))
    with qtbot.waitSignal(window.editor.validated, timeout=TASK_MS):
        window.configs.edit_current_config()
    assert window.editor.path == str(path)


def type_into_editor(qtbot: QtBot, window: MainWindow, old: str, new: str) -> None:
    editor = window.editor
    with qtbot.waitSignal(editor.validated, timeout=TASK_MS):
        editor.text.setPlainText(editor.text.toPlainText().replace(old, new))
    assert editor.is_modified()


# -- 1: unsaved edits -------------------------------------------------------------------------


def test_editing_another_config_asks_save_discard_or_cancel(
    window: MainWindow, qtbot: QtBot, make_config: ConfigMaker, choices: Choices
) -> None:
    a, b = make_config("a.yaml"), make_config("b.yaml", **{"name: tiny": "name: other"})
    load(window, a, b)
    edit(qtbot, window, a)
    type_into_editor(qtbot, window, "samples: 64", "samples: 96")

    window.configs.select_config(str(b))
    choices.answer = "cancel"
    window.configs.edit_current_config()
    assert len(choices.asked) == 1 and "a.yaml" in choices.asked[0][1]
    assert choices.asked[0][2] == ["save", "discard", "cancel"]
    assert window.editor.path == str(a) and "samples: 96" in window.editor.text.toPlainText()

    choices.answer = "save"
    with qtbot.waitSignal(window.editor.validated, timeout=TASK_MS):
        window.configs.edit_current_config()
    qtbot.waitUntil(lambda: window.editor.path == str(b), timeout=TASK_MS)
    assert "samples: 96" in a.read_text(encoding="utf-8")  # saved before b was opened

    type_into_editor(qtbot, window, "samples: 64", "samples: 80")
    window.configs.select_config(str(a))
    choices.answer = "discard"
    with qtbot.waitSignal(window.editor.validated, timeout=TASK_MS):
        window.configs.edit_current_config()
    assert window.editor.path == str(a) and not window.editor.is_modified()
    assert "samples: 64" in b.read_text(encoding="utf-8")  # discarded, not written


def test_reopening_the_edited_file_keeps_its_edits_unasked(
    window: MainWindow, qtbot: QtBot, tiny_config: Path, choices: Choices
) -> None:
    load(window, tiny_config)
    edit(qtbot, window, tiny_config)
    type_into_editor(qtbot, window, "samples: 64", "samples: 96")
    window.configs.edit_current_config()
    assert not choices.asked
    assert "samples: 96" in window.editor.text.toPlainText()


def test_quitting_with_unsaved_edits_asks_and_saves_before_closing(
    window: MainWindow, qtbot: QtBot, tiny_config: Path, choices: Choices
) -> None:
    load(window, tiny_config)
    edit(qtbot, window, tiny_config)
    type_into_editor(qtbot, window, "samples: 64", "samples: 96")

    choices.answer = "cancel"
    assert not window.close()
    assert window.isVisible() and choices.asked[-1][0] == "Save changes before quitting?"

    choices.answer = "save"
    window.close()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=TASK_MS)
    assert "samples: 96" in tiny_config.read_text(encoding="utf-8")


def test_quitting_and_discarding_closes_at_once(
    window: MainWindow, qtbot: QtBot, tiny_config: Path, choices: Choices
) -> None:
    load(window, tiny_config)
    edit(qtbot, window, tiny_config)
    type_into_editor(qtbot, window, "samples: 64", "samples: 96")
    choices.answer = "discard"
    assert window.close()
    assert "samples: 64" in tiny_config.read_text(encoding="utf-8")


# -- 2: Ctrl+R with unsaved edits -------------------------------------------------------------


def test_run_with_an_invalid_unsaved_edit_is_refused(
    window: MainWindow, qtbot: QtBot, tiny_config: Path, choices: Choices
) -> None:
    load(window, tiny_config)
    edit(qtbot, window, tiny_config)
    type_into_editor(qtbot, window, "hidden: [8]", "hiden: [8]")
    window.tabs.setCurrentWidget(window.dashboard)

    window.commands.run.trigger()  # Ctrl+R

    assert not window.controller.is_running()
    assert "Not run" in window.banner.text() and "not valid (line 5)" in window.banner.text()
    assert window.tabs.currentWidget() is window.editor
    assert not choices.asked


def test_run_while_an_edit_is_still_being_checked_waits_for_the_check(
    window: MainWindow, qtbot: QtBot, tiny_config: Path, choices: Choices
) -> None:
    load(window, tiny_config)
    edit(qtbot, window, tiny_config)
    window.editor.text.setPlainText(window.editor.text.toPlainText().replace("hidden", "hiden"))
    with qtbot.waitSignal(window.editor.validated, timeout=TASK_MS):
        assert not window.runs.start_run()  # not run yet: the new text is checked first
    qtbot.waitUntil(lambda: "Not run" in window.banner.text(), timeout=TASK_MS)
    assert not window.controller.is_running()


@pytest.mark.slow
def test_run_with_a_valid_unsaved_edit_saves_it_and_runs_the_edit(
    window: MainWindow, qtbot: QtBot, make_config: ConfigMaker, choices: Choices, store_path: Path
) -> None:
    config = make_config(steps=12, **{"[torch, tensorflow]": "[torch]"})
    load(window, config)
    edit(qtbot, window, config)
    type_into_editor(qtbot, window, "name: tiny", "name: edited")
    choices.answer = "save"

    with qtbot.waitSignal(window.controller.sessionFinished, timeout=SESSION_MS) as done:
        window.commands.run.trigger()
    assert choices.asked[0][2] == ["save", "disk", "cancel"]
    assert "name: edited" in config.read_text(encoding="utf-8")
    store = Store(store_path)
    try:
        assert store.load(done.args[0]).name == "edited"
    finally:
        store.close()


# -- 3 and 20: the config list and its frameworks ---------------------------------------------


def test_framework_ticks_belong_to_the_selected_config_and_are_kept(
    window: MainWindow, make_config: ConfigMaker
) -> None:
    a = make_config("a.yaml")
    b = make_config("b.yaml", **{"name: tiny": "name: other"})
    load(window, a, b)
    window.configs.select_config(str(a))
    assert window.side.frameworks_group.title() == "Frameworks for tiny"
    window.framework_boxes["tensorflow"].click()  # as the user does: clicked, then toggled
    window.framework_boxes["jax"].click()
    assert window.configs.checked_frameworks() == ["torch", "jax"]

    window.configs.select_config(str(b))
    assert window.side.frameworks_group.title() == "Frameworks for other"
    assert window.configs.checked_frameworks() == ["torch", "tensorflow"]  # b's own, from its file
    window.configs.select_config(str(a))
    assert window.configs.checked_frameworks() == ["torch", "jax"]  # a's ticks were kept
    assert window.configs.frameworks_for(window.configs.current_config()) == ["torch", "jax"]  # type: ignore[arg-type]


def test_configs_with_one_name_show_where_they_are(
    window: MainWindow, tmp_path: Path, make_config: ConfigMaker
) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    one, two = make_config("x/demo.yaml"), make_config("y/demo.yaml")
    solo = make_config("solo.yaml", **{"name: tiny": "name: solo"})
    load(window, one, two, solo)
    texts = [window.config_list.item(i).text() for i in range(3)]
    assert texts == ["tiny — x/demo.yaml", "tiny — y/demo.yaml", "solo"]
    window.side.remove_config(str(two))
    assert window.config_list.item(0).text() == "tiny"  # unique again: just the name


def test_several_configs_can_be_selected_and_removed_with_delete(
    window: MainWindow, qtbot: QtBot, make_config: ConfigMaker
) -> None:
    paths = [make_config(f"c{i}.yaml", **{"name: tiny": f"name: c{i}"}) for i in range(3)]
    load(window, *paths)
    lst = window.config_list
    lst.clearSelection()
    lst.item(0).setSelected(True)
    lst.item(2).setSelected(True)
    lst.setFocus()
    qtbot.waitUntil(lst.hasFocus)
    QTest.keyClick(lst, Qt.Key.Key_Delete)
    assert window.side.paths() == [str(paths[1])]
    assert window.side.clear_button.isEnabled()
    window.side.clear_button.click()
    assert window.side.paths() == []
    assert not window.side.clear_button.isEnabled()
    assert not window.run_button.isEnabled()


def test_the_config_list_comes_back_after_a_restart(
    make_window: WindowMaker, qtbot: QtBot, make_config: ConfigMaker, settings: AppSettings
) -> None:
    first = make_window()
    paths = [make_config(f"c{i}.yaml", **{"name: tiny": f"name: c{i}"}) for i in range(3)]
    load(first, *paths)
    first.configs.select_config(str(paths[2]))
    first.configs.remove_current_config()
    paths[1].unlink()  # deleted between the two sessions
    first.close()

    assert settings.config_list == [str(paths[0]), str(paths[1])]
    second = make_window()
    qtbot.waitUntil(lambda: second.side.paths() == [str(paths[0])], timeout=TASK_MS)
    assert second.configs.current_config() is not None
    assert "as you left them" in second.status_text()


# -- 24: quick overrides, 21: Run all ---------------------------------------------------------


def test_quick_overrides_go_through_the_engines_override_path(
    window: MainWindow, tiny_config: Path
) -> None:
    load(window, tiny_config)
    side = window.side
    side.override_spins["steps"].setValue(30)
    side.override_spins["batch_size"].setValue(4)
    side.override_spins["repeats"].setValue(2)
    side.override_spins["threads"].setValue(2)
    side.device_box.setCurrentIndex(side.device_box.findData("cpu"))
    loaded = window.configs.current_config()
    assert loaded is not None and loaded.config is not None
    config = window.runs.run_overrides(loaded.config, ["torch"])
    assert (config.train.steps, config.train.warmup_steps) == (30, 3)
    assert (config.train.batch_size, config.run.repeats, config.threads) == (4, 2, 2)
    assert (config.device, config.frameworks) == ("cpu", ["torch"])
    side.reset_overrides()
    assert side.quick_overrides() == {}
    assert window.runs.run_overrides(loaded.config, ["torch"]).train.steps == 40


def test_the_run_all_summary_counts_each_ending() -> None:
    batch = RunAllBatch(total=3, started_at=100.0)
    batch.start("a")
    batch.finish("ok", 7)
    batch.skip("b", "no ticked framework can run here")
    batch.start("c")
    batch.finish("failed", 9)
    assert (
        batch.summary(now=172.0) == "Run all done in 1m 12s: 1 of 3 configs ok, 1 skipped, 1 failed"
    )
    assert batch.details().splitlines() == [
        "1. a: ok (session 7)",
        "2. b: skipped (no ticked framework can run here)",
        "3. c: failed (session 9)",
    ]
    assert not batch.all_ok() and batch.failed()
    stopped = RunAllBatch(total=2, started_at=0.0)
    stopped.start("a")
    stopped.finish("stopped", 3)
    stopped.skip("b", "stopped")
    assert not stopped.failed()  # the user's Stop is no failure


@pytest.mark.slow
def test_run_all_uses_each_configs_ticks_and_the_overrides_and_says_how_far_it_is(
    window: MainWindow, qtbot: QtBot, make_config: ConfigMaker, store_path: Path
) -> None:
    a = make_config("a.yaml", steps=400)
    b = make_config("b.yaml", steps=400, **{"name: tiny": "name: other"})
    load(window, a, b)
    for path in (a, b):
        window.configs.select_config(str(path))
        window.framework_boxes["tensorflow"].click()
    window.side.override_spins["steps"].setValue(12)
    seen: list[str] = []
    window.controller.runStarted.connect(lambda _run: seen.append(window.status_text()))

    with qtbot.waitSignal(window.controller.sessionFinished, timeout=SESSION_MS):
        assert window.runs.run_all()
    assert "config 1 of 2" in window.status_text() or any("config 1 of 2" in s for s in seen)
    qtbot.waitUntil(lambda: window.runs.batch is None, timeout=SESSION_MS)
    assert any("config 2 of 2" in s for s in seen)
    assert window.status_text().startswith("Run all done in ")
    assert "2 of 2 configs ok" in window.status_text()
    assert "2 of 2 configs ok" in window.banner.text()

    store = Store(store_path)
    try:
        stored = [store.load(row.id) for row in sorted(store.sessions(), key=_id)]
    finally:
        store.close()
    configs = [s.config for s in stored]
    assert [c["frameworks"] for c in configs] == [["torch"], ["torch"]]
    assert [c["train"]["steps"] for c in configs] == [12, 12]
    batches = [s.env["run_all"] for s in stored]  # one batch, each session knows its place
    assert batches[0]["id"] == batches[1]["id"] != ""
    assert [(b["index"], b["total"]) for b in batches] == [(1, 2), (2, 2)]


def _id(row: SessionRow) -> int:
    return row.id


def test_the_config_summary_shows_the_values_as_they_will_run(
    window: MainWindow, tiny_config: Path
) -> None:
    load(window, tiny_config)
    assert "40 steps" in window.side.summary.text()
    window.side.override_spins["steps"].setValue(300)
    window.side.device_box.setCurrentIndex(window.side.device_box.findData("cuda"))
    text = window.side.summary.text()
    assert "300 steps" in text and "device cuda" in text
    assert "Overridden here: steps 300, device cuda" in text
    window.side.reset_overrides()
    assert "40 steps" in window.side.summary.text()
    assert "Overridden" not in window.side.summary.text()


def test_the_real_save_discard_cancel_box_returns_the_key_pressed(qtbot: QtBot) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    seen: list[str] = []

    def press(label: str) -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        seen.append(box.windowTitle())
        (button,) = [b for b in box.buttons() if b.text() == label]
        button.click()

    QTimer.singleShot(100, lambda: press("Discard changes"))
    assert ask_choice(parent, "Save changes?", "Unsaved.", unsaved_choices()) == "discard"
    QTimer.singleShot(100, lambda: QApplication.activeModalWidget().reject())  # type: ignore[union-attr]
    assert ask_choice(parent, "Save changes?", "Unsaved.", unsaved_choices()) == "cancel"
    assert seen == ["Save changes?"]


def test_configs_given_at_start_join_the_restored_list(
    make_window: WindowMaker, qtbot: QtBot, make_config: ConfigMaker, settings: AppSettings
) -> None:
    kept = make_config("kept.yaml", **{"name: tiny": "name: kept"})
    given = make_config("given.yaml", **{"name: tiny": "name: given"})
    settings.config_list = [str(kept)]
    window = make_window()
    window.configs.load_config_file(
        given
    )  # as `frameduel gui given.yaml` does before the loop runs
    window.configs.select_config(str(given))
    qtbot.waitUntil(lambda: str(kept) in window.side.paths(), timeout=TASK_MS)
    assert set(window.side.paths()) == {str(kept), str(given)}
    assert window.side.current_path() == str(given)  # the command line's config stays selected


def test_run_all_with_an_unsaved_edit_asks_too(
    window: MainWindow, qtbot: QtBot, make_config: ConfigMaker, choices: Choices
) -> None:
    a, b = make_config("a.yaml"), make_config("b.yaml", **{"name: tiny": "name: other"})
    load(window, a, b)
    edit(qtbot, window, a)
    type_into_editor(qtbot, window, "hidden: [8]", "hiden: [8]")
    assert not window.runs.run_all()  # invalid: refused, not run from the file on disk
    assert "Not run" in window.banner.text() and not window.controller.is_running()

    fixed = window.editor.text.toPlainText().replace("hiden", "hidden").replace("64", "96")
    with qtbot.waitSignal(window.editor.validated, timeout=TASK_MS):
        window.editor.text.setPlainText(fixed)  # valid now, and still unsaved
    choices.answer = "cancel"
    assert not window.runs.run_all()
    assert choices.asked[-1][0] == "Save changes and run?"
    assert not window.controller.is_running()
