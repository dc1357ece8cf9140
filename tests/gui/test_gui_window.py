"""The main window without running anything: configs, drops, errors and controls."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget

from gui.main_window import MainWindow

ConfigMaker = Callable[..., Path]


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


def test_title(window: MainWindow) -> None:
    assert window.windowTitle() == "FrameDuel"
    assert not window.run_button.isEnabled()
    assert not window.stop_button.isEnabled()


def test_dropping_a_valid_config_loads_it_and_enables_run(
    window: MainWindow, tiny_config: Path
) -> None:
    drop = drop_files(window, [tiny_config])

    assert drop.isAccepted()
    assert window.config_list.count() == 1
    assert window.config_list.currentItem().text() == "tiny"
    assert window.run_button.isEnabled()
    assert window.banner.isHidden()
    assert window.checked_frameworks() == ["torch", "tensorflow"]
    assert "16 → 8 → 3" in window.side.summary.text()


def test_dropping_an_invalid_config_shows_the_error_and_keeps_run_disabled(
    window: MainWindow,
    make_config: ConfigMaker,
) -> None:
    bad = make_config("bad.yaml", **{"hidden: [8]": "hiden: [8]"})

    drop_files(window, [bad])

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
    window.load_config_file(good)
    window.load_config_file(bad)
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
    window: MainWindow,
    make_config: ConfigMaker,
) -> None:
    path = make_config(**{"[torch, tensorflow]": "[tensorflow]"})
    window.load_config_file(path)
    assert window.checked_frameworks() == ["tensorflow"]
    assert window.run_button.isEnabled()

    window.framework_boxes["tensorflow"].setChecked(False)

    assert not window.run_button.isEnabled()
    assert not window.start_run()


def test_reloading_the_same_file_replaces_its_entry(window: MainWindow, tiny_config: Path) -> None:
    window.load_config_file(tiny_config)
    window.load_config_file(tiny_config)
    assert window.config_list.count() == 1
