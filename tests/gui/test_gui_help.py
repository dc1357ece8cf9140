"""First-time help and warnings before a run that cannot work (issue 12)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from gui.help_actions import examples_dir
from gui.main_window import MainWindow
from tests.gui.conftest import Answers, Choices

ConfigMaker = Callable[..., Path]
TASK_MS = 30_000


def help_texts(window: MainWindow) -> list[str]:
    (help_menu,) = [a.menu() for a in window.menuBar().actions() if a.text() == "&Help"]
    return [a.text().replace("&", "") for a in help_menu.actions()]


def test_help_offers_about_the_manual_and_the_examples(window: MainWindow, qtbot: QtBot) -> None:
    texts = help_texts(window)
    assert {"About FrameDuel", "FrameDuel manual (README)", "Open example configs"} <= set(texts)
    qtbot.waitUntil(window.commands.help.manual.isEnabled, timeout=TASK_MS)  # README found
    box = window.commands.help.show_about()
    qtbot.addWidget(box)
    assert "FrameDuel 0." in box.text()
    assert window.store_path() in box.informativeText()
    assert isinstance(box, QMessageBox) and box.isVisible()


def test_open_example_configs_lists_one_per_family(window: MainWindow, qtbot: QtBot) -> None:
    with qtbot.waitSignal(window.configs.configsLoaded, timeout=TASK_MS) as loaded:
        window.commands.help.examples.trigger()
    names = sorted(Path(c.path).name for c in loaded.args[0])
    assert names == sorted(p.name for p in examples_dir().glob("*.yaml"))
    assert all(c.config is not None for c in loaded.args[0])
    assert window.run_button.isEnabled()


def test_a_new_config_from_a_template_is_edited_unsaved_and_saved_where_asked(
    window: MainWindow, qtbot: QtBot
) -> None:
    menu = window.commands.help.templates_menu
    qtbot.waitUntil(lambda: "demo-mlp" in [a.text() for a in menu.actions()], timeout=TASK_MS)
    (demo,) = [a for a in menu.actions() if a.text() == "demo-mlp"]
    with qtbot.waitSignal(window.editor.validated, timeout=TASK_MS) as checked:
        demo.trigger()
    assert checked.args[0].config is not None  # the template is valid as it is
    editor = window.editor
    assert editor.path is None and editor.is_modified()
    assert window.tabs.currentWidget() is editor
    assert "New config" in editor.title.text() and "my-demo-mlp.yaml" in editor.title.text()
    assert editor.save_button.isEnabled()
    assert editor.message.text().startswith("✓ Valid")


def test_starting_a_template_over_unsaved_edits_asks_first(
    window: MainWindow, qtbot: QtBot, tiny_config: Path, choices: Choices
) -> None:
    window.configs.load_config_file(tiny_config)
    with qtbot.waitSignal(window.editor.validated, timeout=TASK_MS):
        window.configs.edit_current_config()
    with qtbot.waitSignal(window.editor.validated, timeout=TASK_MS):
        window.editor.text.setPlainText(window.editor.text.toPlainText() + "\n# mine\n")
    window.commands.help.new_from_template(examples_dir() / "demo-mlp.yaml")
    assert choices.asked and choices.asked[0][0] == "Save changes?"
    assert window.editor.path == str(tiny_config)  # Cancel: the edit stays


def test_fp16_on_a_cpu_only_probe_asks_before_running(
    make_window: Callable[..., MainWindow],
    qtbot: QtBot,
    make_config: ConfigMaker,
    answers: Answers,
) -> None:
    def cpu_only(_python: str | None, _cancel: object) -> dict[str, object]:
        info = {"available": True, "version": "1", "devices": ["cpu"]}
        return {"torch": info, "tensorflow": info, "jax": info}

    window = make_window(probe=cpu_only)
    qtbot.waitUntil(lambda: "cpu" in window.side.framework_info["torch"].text(), timeout=TASK_MS)
    config = make_config(
        **{"device: cpu": "device: auto", "warmup_steps: 5}": "warmup_steps: 5, precision: fp16}"}
    )
    window.configs.load_config_file(config)
    answers.answer = False

    assert not window.runs.start_run()

    assert not window.controller.is_running()
    title, text = answers.asked[-1]
    assert title == "fp16 without a GPU"
    assert "PyTorch, TensorFlow found only the CPU" in text
    assert "Not run" in window.status_text()
