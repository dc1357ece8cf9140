"""Hostile config files in the window: one bad file never stops the others, and none crashes
start-up (`frameduel gui folder/` opens through ``gui.app.open_window``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from gui.app import open_window
from gui.main_window import MainWindow
from gui.settings import AppSettings
from tests.gui.conftest import Answers, write_config
from tests.gui.test_gui_window import drop_and_wait


def hostile_folder(root: Path) -> Path:
    """Two valid configs, one non-UTF-8, one nested 5,000 deep, one alias bomb and a FIFO."""
    folder = root / "configs"
    folder.mkdir()
    write_config(folder, "a.yaml", **{"name: tiny": "name: ant"})
    write_config(folder, "b.yaml", **{"name: tiny": "name: bee"})
    (folder / "c-latin1.yaml").write_bytes("name: caf\xe9\n".encode("latin-1"))
    (folder / "d-deep.json").write_text('{"name": ' + "[" * 5000 + "]" * 5000 + "}")
    bomb = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
        f"{n}: &{n} [{','.join(['*' + p] * 9)}]\n"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
    (folder / "e-bomb.yaml").write_text(bomb)
    os.mkfifo(folder / "f-fifo.yaml")  # not a regular file: not listed, and never opened
    return folder


@pytest.fixture
def window_options(store_path: Path, settings: AppSettings, answers: Answers) -> dict[str, Any]:
    """``open_window`` options: the test's store and settings, no framework probe."""
    return {"store": str(store_path), "settings": settings, "probe": None, "confirm": answers}


@pytest.fixture
def opened(qtbot: QtBot) -> Iterator[list[MainWindow]]:
    windows: list[MainWindow] = []
    yield windows
    for window in windows:
        qtbot.waitUntil(lambda w=window: not w.runner.busy(), timeout=30_000)


def test_gui_with_a_folder_of_configs_starts(
    qtbot: QtBot, tmp_path: Path, opened: list[MainWindow], window_options: dict[str, Any]
) -> None:
    folder = hostile_folder(tmp_path)
    # `frameduel gui folder/` crashed with "too many values to unpack" on two configs
    window = open_window([str(folder)], **window_options)
    qtbot.addWidget(window)
    opened.append(window)

    listed = window.side.paths()
    assert [Path(p).name for p in listed] == [
        "a.yaml",
        "b.yaml",
        "c-latin1.yaml",
        "d-deep.json",
        "e-bomb.yaml",
    ]
    assert [c.name for c in window.configs.runnable_configs()] == ["ant", "bee"]
    errors = {Path(p).name: window.configs._configs[p].error for p in listed}
    assert "not UTF-8 text" in str(errors["c-latin1.yaml"])
    assert "nested more than 64 levels" in str(errors["d-deep.json"])
    assert "values (YAML aliases counted expanded)" in str(errors["e-bomb.yaml"])
    assert window.configs.current_config() is not None
    assert window.configs.current_config().name == "ant"  # the first valid one is selected


def test_one_bad_file_in_a_dropped_folder_does_not_stop_the_others(
    window: MainWindow, qtbot: QtBot, tmp_path: Path
) -> None:
    folder = hostile_folder(tmp_path)

    drop_and_wait(qtbot, window, [folder])

    assert window.config_list.count() == 5
    assert [c.name for c in window.configs.runnable_configs()] == ["ant", "bee"]


def test_the_editor_checks_hostile_text_without_crashing(window: MainWindow, qtbot: QtBot) -> None:
    editor = window.editor
    with qtbot.waitSignal(editor.validated, timeout=20_000) as blocker:
        editor.set_text(None, "name: &a [*a]\n")
    assert blocker.args[0].error is not None
    assert "refers to its own anchor" in editor.message.text()


@pytest.mark.parametrize("kind", ["fifo", "latin-1"])
def test_the_editor_opens_hostile_files_with_a_message(
    window: MainWindow, qtbot: QtBot, tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "x.yaml"
    if kind == "fifo":
        os.mkfifo(path)  # read with open(): the worker would wait for a writer forever
    else:
        path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    window.editor.open_file(str(path))
    words = "not a regular file" if kind == "fifo" else "not UTF-8 text"
    qtbot.waitUntil(lambda: words in window.editor.message.text(), timeout=20_000)
    assert window.editor.message.text().startswith(f"Cannot read {path}: ")
