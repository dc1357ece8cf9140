"""The main window without running anything: configs, drops, the editor, settings, layout."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QKeySequence, QPalette
from PySide6.QtWidgets import QApplication, QMenu, QWidget
from pytestqt.qtbot import QtBot

from gui.main_window import MainWindow
from gui.settings import AppSettings
from profiler.config import ConfigError, load_config

ConfigMaker = Callable[..., Path]
WindowMaker = Callable[..., MainWindow]
TIMEOUT_MS = 20_000


def drop_files(widget: QWidget, paths: list[Path]) -> QDropEvent:
    """Send a real drag-enter and drop with file URLs to ``widget``."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    enter = QDragEnterEvent(
        pos.toPoint(),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, enter)
    drop = QDropEvent(
        pos,
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(widget, drop)
    return drop


def drop_and_wait(qtbot: QtBot, window: MainWindow, paths: list[Path]) -> QDropEvent:
    with qtbot.waitSignal(window.configs.configsLoaded, timeout=TIMEOUT_MS):
        drop = drop_files(window, paths)
        assert drop.isAccepted()
    return drop


def test_title_and_idle_controls(window: MainWindow) -> None:
    assert window.windowTitle() == "FrameDuel"
    assert not window.run_button.isEnabled()
    assert not window.stop_button.isEnabled()
    assert not window.commands.exports[".pdf"].isEnabled()  # nothing to export yet
    assert window.configs.checked_frameworks() == ["torch", "tensorflow"]  # the default frameworks


def test_dropping_a_valid_config_loads_it_and_enables_run(
    window: MainWindow, qtbot: QtBot, tiny_config: Path, settings: AppSettings
) -> None:
    drop_and_wait(qtbot, window, [tiny_config])

    assert window.config_list.count() == 1
    assert window.config_list.currentItem().text() == "tiny"
    assert window.run_button.isEnabled()
    assert window.banner.isHidden()
    assert window.configs.checked_frameworks() == ["torch", "tensorflow"]
    assert "16 → 8 → 3" in window.side.summary.text()
    assert settings.recent_files == [str(tiny_config)]


def test_dropping_a_folder_queues_every_config_in_it(
    window: MainWindow, qtbot: QtBot, make_config: ConfigMaker, tmp_path: Path
) -> None:
    folder = tmp_path / "configs"
    (folder / "more").mkdir(parents=True)
    make_config("configs/b.yaml", **{"name: tiny": "name: bee"})
    make_config("configs/more/a.toml.yaml", **{"name: tiny": "name: ant"})
    (folder / "notes.txt").write_text("not a config", encoding="utf-8")
    single = make_config("single.yaml", **{"name: tiny": "name: single"})

    drop_and_wait(qtbot, window, [folder, single])

    names = [window.config_list.item(i).text() for i in range(window.config_list.count())]
    assert names == ["bee", "ant", "single"]
    assert window.side.run_all_button.isEnabled()
    assert [c.name for c in window.configs.runnable_configs()] == ["bee", "ant", "single"]


def test_dropping_an_invalid_config_shows_the_error_and_keeps_run_disabled(
    window: MainWindow, qtbot: QtBot, make_config: ConfigMaker
) -> None:
    bad = make_config("bad.yaml", **{"hidden: [8]": "hiden: [8]"})

    drop_and_wait(qtbot, window, [bad])

    assert window.banner.isVisible()
    text = window.banner.text()
    assert "bad.yaml" in text
    assert "model.hiden" in text
    assert "line 5" in text
    assert not window.run_button.isEnabled()
    assert window.config_list.count() == 1


def test_selecting_a_valid_config_again_hides_the_error(
    window: MainWindow, make_config: ConfigMaker
) -> None:
    good = make_config("good.yaml")
    bad = make_config("bad.yaml", **{"hidden: [8]": "hiden: [8]"})
    window.configs.load_config_file(good)
    window.configs.load_config_file(bad)
    assert window.banner.isVisible()

    window.config_list.setCurrentRow(0)

    assert window.banner.isHidden()
    assert window.run_button.isEnabled()


def test_files_that_are_not_configs_are_not_accepted(window: MainWindow, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("hello", encoding="utf-8")

    drop = drop_files(window, [notes])

    assert not drop.isAccepted()
    assert window.config_list.count() == 0


def test_frameworks_are_preset_from_the_config_and_none_ticked_disables_run(
    window: MainWindow, make_config: ConfigMaker
) -> None:
    window.configs.load_config_file(make_config(**{"[torch, tensorflow]": "[tensorflow]"}))
    assert window.configs.checked_frameworks() == ["tensorflow"]
    assert window.run_button.isEnabled()

    window.framework_boxes["tensorflow"].setChecked(False)

    assert not window.run_button.isEnabled()
    assert not window.runs.start_run()


def test_reloading_the_same_file_replaces_its_entry(window: MainWindow, tiny_config: Path) -> None:
    window.configs.load_config_file(tiny_config)
    window.configs.load_config_file(tiny_config)
    assert window.config_list.count() == 1
    window.configs.remove_current_config()
    assert window.config_list.count() == 0


def test_the_editor_validates_live_and_shows_the_error_at_its_line(
    window: MainWindow, qtbot: QtBot, tiny_config: Path
) -> None:
    window.configs.load_config_file(tiny_config)
    editor = window.editor
    with qtbot.waitSignal(editor.validated, timeout=TIMEOUT_MS):
        window.side.edit_button.click()
    assert window.tabs.currentWidget() is editor
    assert editor.message.text().startswith("✓ Valid: tiny")
    assert editor.highlighter.token_at("name: tiny", 0) == "key"

    text = editor.text.toPlainText().replace("hidden: [8]", "hiden: [8]")
    with qtbot.waitSignal(editor.validated, timeout=TIMEOUT_MS) as got:
        editor.text.setPlainText(text)  # typing: validated after a short pause, in a worker

    assert got.args[0].error is not None
    assert editor.message.text().startswith("✗ Line 5, field model.hiden: unknown field")
    assert editor.text.error_line == 5
    assert len(editor.text.extraSelections()) == 1
    assert editor.save_button.isEnabled()

    fixed = text.replace("hiden: [8]", "hidden: [8]").replace("steps: 40", "steps: 60")
    with qtbot.waitSignal(editor.validated, timeout=TIMEOUT_MS):
        editor.text.setPlainText(fixed)
    assert editor.text.error_line is None
    with qtbot.waitSignal(window.configs.configsLoaded, timeout=TIMEOUT_MS):
        window.commands.save_config.trigger()

    assert "steps: 60" in tiny_config.read_text(encoding="utf-8")
    assert window.configs.current_config().config.train.steps == 60
    assert not editor.is_modified()


def test_frameworks_show_what_each_interpreter_has(
    make_window: WindowMaker, qtbot: QtBot, settings: AppSettings
) -> None:
    settings.pythons = {"jax": "/opt/jax-env/bin/python"}
    asked: list[str | None] = []

    def probe(python: str | None, _cancel: threading.Event) -> dict[str, Any]:
        asked.append(python)
        if python is None:
            return {
                "torch": {"available": True, "version": "2.13.0", "devices": ["cpu", "cuda:0"]},
                "tensorflow": {"available": True, "version": "2.21.0", "devices": ["cpu"]},
            }
        return {"jax": {"available": False, "error": "No module named 'jax'"}}

    window = make_window(probe=probe)
    qtbot.waitUntil(lambda: len(window.probe.frameworks_info) == 2, timeout=TIMEOUT_MS)

    assert sorted(asked, key=str) == ["/opt/jax-env/bin/python", None]
    info = window.side.framework_info
    assert info["torch"].text() == "2.13.0 · cpu, cuda:0"
    assert info["tensorflow"].text() == "2.21.0 · cpu"
    assert info["jax"].text() == "not available"
    assert "/opt/jax-env/bin/python" in info["jax"].toolTip()
    assert "No module named 'jax'" in window.framework_boxes["jax"].toolTip()
    assert not window.framework_boxes["jax"].isEnabled()
    assert window.framework_boxes["torch"].isEnabled()


def test_settings_are_saved_and_used(
    window: MainWindow, settings: AppSettings, tmp_path: Path
) -> None:
    dialog = window.open_settings()
    dialog.sample_hz.setValue(25)
    dialog.default_boxes["jax"].setChecked(True)
    dialog.baseline.setCurrentIndex(dialog.baseline.findData("tensorflow"))
    dialog.python_edits["tensorflow"].setText("/opt/tf/bin/python")
    dialog.store_edit.setText(str(tmp_path / "elsewhere.sqlite3"))
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    dialog.accept()

    assert settings.sample_hz == 25.0
    assert settings.default_frameworks == ["torch", "tensorflow", "jax"]
    assert settings.baseline == "tensorflow"
    assert settings.pythons == {"tensorflow": "/opt/tf/bin/python"}
    assert settings.store_path == str(tmp_path / "elsewhere.sqlite3")
    assert window.store_path() == str(tmp_path / "store.sqlite3")  # --store still wins
    demo = load_config("resources/configs/demo-mlp.yaml")
    # the interpreters go through the config's override path, checked as run.python is
    with pytest.raises(ConfigError, match=r"run\.python\.tensorflow: /opt/tf/bin/python is not"):
        settings.apply_overrides(demo)
    settings.pythons = {"tensorflow": sys.executable}
    config = settings.apply_overrides(demo)
    assert config.run.sample_hz == 25.0
    assert config.run.python == {"tensorflow": sys.executable}
    reread = AppSettings(settings.q.__class__(settings.q.fileName(), settings.q.format()))
    assert reread.theme == "dark"
    # no config selected: the new default frameworks are ticked at once
    assert window.side.checked_frameworks() == ["torch", "tensorflow", "jax"]


def test_new_default_frameworks_leave_a_selected_configs_own_alone(
    window: MainWindow, tiny_config: Path
) -> None:
    window.configs.load_config_file(tiny_config)
    assert window.side.checked_frameworks() == ["torch", "tensorflow"]
    dialog = window.open_settings()
    dialog.default_boxes["tensorflow"].setChecked(False)
    dialog.accept()
    assert window.side.checked_frameworks() == ["torch", "tensorflow"]


def test_the_dark_theme_recolours_widgets_and_plots(
    window: MainWindow, settings: AppSettings, qtbot: QtBot
) -> None:
    assert window.theme.name == "light"
    settings.theme = "dark"
    with qtbot.waitSignal(window.themeApplied) as applied:
        window.apply_settings()

    assert applied.args == ["dark"]
    window_color = QApplication.palette().color(QPalette.ColorRole.Window)
    assert window_color.lightness() < 60
    plot = window.dashboard.plots["loss"]
    assert plot.backgroundBrush().color().lightness() < 60
    settings.theme = "light"
    window.apply_settings()
    assert QApplication.palette().color(QPalette.ColorRole.Window).lightness() > 200
    assert QColor(window.theme.plot_background).lightness() > 200


def test_the_window_layout_is_remembered(make_window: WindowMaker, qtbot: QtBot) -> None:
    first = make_window()
    first.dashboard.plot_actions["threads"].setChecked(False)
    first.dashboard.step_axis_action.trigger()
    first.docks["summary"].hide()
    first.close()

    second = make_window()

    assert second.dashboard.hidden == {"threads"}
    assert second.dashboard.axis_mode == "step"
    assert second.docks["summary"].isHidden()


def test_shortcuts_reach_the_common_actions(window: MainWindow, tiny_config: Path) -> None:
    c = window.commands
    expected = {
        c.open: QKeySequence.StandardKey.Open,
        c.run: "Ctrl+R",
        c.run_all: "Ctrl+Shift+R",
        c.stop: "Ctrl+.",
        c.exports[".pdf"]: "Ctrl+E",
        c.preview: "Ctrl+P",
        c.settings: "Ctrl+,",
        c.history: "Ctrl+3",
        window.dashboard.toggle_axis_action: "Ctrl+T",
        window.dashboard.reset_zoom_action: "Ctrl+0",
    }
    for action, key in expected.items():
        assert action.shortcut() == QKeySequence(key), action.text()
        assert action in window.actions()  # active whatever has the focus
    lines = "\n".join(c.shortcut_lines())
    assert "Ctrl+R, F5 — Run\n" in lines
    assert "F1 — Keyboard shortcuts" in lines

    c.history.trigger()
    assert window.tabs.currentWidget() is window.history
    window.dashboard.toggle_axis_action.trigger()
    assert window.dashboard.axis_mode == "launch"  # Ctrl+T cycles: time, since launch, step


def test_recent_files_reopen_from_the_menu(
    window: MainWindow, qtbot: QtBot, settings: AppSettings, tiny_config: Path
) -> None:
    settings.add_recent(str(tiny_config))
    menu = QMenu()
    window.configs.fill_recent_menu(menu)
    first = menu.actions()[0]
    assert first.text() == "tiny.yaml"

    with qtbot.waitSignal(window.configs.configsLoaded, timeout=TIMEOUT_MS):
        first.trigger()

    assert window.configs.current_config().path == str(tiny_config)


def test_closing_when_idle_asks_nothing(window: MainWindow, answers: Any) -> None:
    window.close()
    assert not window.isVisible()
    assert answers.asked == []
