"""Fixtures for the GUI tests: tiny configs, isolated settings, a window with its own store,
no thread left.

The root conftest sets Qt offscreen and fails tests that leave child processes behind.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from gui.collector import GuiThreadCollector
from gui.main_window import MainWindow
from gui.settings import AppSettings, isolated_settings

TINY_YAML = """\
name: tiny
frameworks: [torch, tensorflow]
device: cpu
threads: 1
model: {family: mlp, input_dim: 16, hidden: [8], num_classes: 3}
data: {samples: 64}
train: {batch_size: 8, steps: STEPS, warmup_steps: 5}
run: {repeats: 1}
"""


def write_config(folder: Path, name: str = "tiny.yaml", steps: int = 40, **replace: str) -> Path:
    """Write the tiny config (with ``steps`` and textual replacements) and return its path."""
    text = TINY_YAML.replace("STEPS", str(steps))
    for old, new in replace.items():
        text = text.replace(old, new)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="session", autouse=True)
def no_user_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Point every QSettings at a temporary folder: no test reads or writes the user's."""
    folder = str(tmp_path_factory.mktemp("qsettings"))
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
            QSettings.setPath(fmt, scope, folder)


@pytest.fixture(scope="session", autouse=True)
def cycles_collected_on_the_gui_thread(qapp: QApplication) -> Iterator[None]:
    """As in the app (``gui.app.create_application``): Python's automatic cyclic collection
    is off and a timer collects on the GUI thread, so no worker thread ever frees Qt objects."""
    collector = GuiThreadCollector(qapp)
    collector.start()
    yield
    collector.stop()


@pytest.fixture(autouse=True)
def no_session_threads_left() -> Iterator[None]:
    """Fail a test that leaves any new thread running, daemon ones included.

    The root conftest catches child processes and non-daemon threads; the engine's, the
    adapter's and the window's worker threads are daemons, so they would slip through it.
    """
    before = set(threading.enumerate())
    yield
    threads = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    for t in threads:
        t.join(timeout=10.0)
    alive = [t.name for t in threads if t.is_alive()]
    assert not alive, f"threads left running: {alive}"
    # The test's widgets are gone from Python's view now: collect their reference cycles here,
    # on the GUI thread and outside any Qt slot. Left to chance, a later test's worker thread
    # collected them, and freeing Qt objects there deadlocked against the GUI thread (Qt's
    # object mutex vs the GIL: a CI run hung in test_gui_history).
    gc.collect()


ConfigMaker = Callable[..., Path]


@pytest.fixture
def make_config(tmp_path: Path) -> ConfigMaker:
    """``make_config(name='tiny.yaml', steps=40, **{old: new})`` writes a variant of the tiny
    config into tmp_path and returns its path."""

    def make(name: str = "tiny.yaml", steps: int = 40, **replace: str) -> Path:
        return write_config(tmp_path, name, steps, **replace)

    return make


@pytest.fixture
def tiny_config(make_config: ConfigMaker) -> Path:
    """A valid tiny config file (torch + tensorflow, 40 steps)."""
    return make_config()


@pytest.fixture
def settings(tmp_path: Path) -> AppSettings:
    """Settings in an INI file of their own in tmp_path."""
    return isolated_settings(str(tmp_path / "settings.ini"))


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """The test's SQLite store (not created yet)."""
    return tmp_path / "store.sqlite3"


class Answers:
    """Stands in for the window's yes/no question box: records questions, gives ``answer``."""

    def __init__(self) -> None:
        self.answer = True
        self.asked: list[tuple[str, str]] = []

    def __call__(self, title: str, text: str) -> bool:
        self.asked.append((title, text))
        return self.answer


@pytest.fixture
def answers() -> Answers:
    """The answers the window's questions get (Yes unless a test says otherwise)."""
    return Answers()


class Choices:
    """Stands in for the window's Save / Discard / Cancel box: records the questions and the
    keys offered, gives ``answer``."""

    def __init__(self) -> None:
        self.answer = "cancel"
        self.asked: list[tuple[str, str, list[str]]] = []

    def __call__(self, title: str, text: str, choices: Sequence[tuple[str, str]]) -> str:
        self.asked.append((title, text, [key for key, _label in choices]))
        return self.answer


@pytest.fixture
def choices() -> Choices:
    """The answers the window's several-way questions get (Cancel unless a test says otherwise)."""
    return Choices()


WindowMaker = Callable[..., MainWindow]


@pytest.fixture
def make_window(
    qtbot: QtBot, store_path: Path, settings: AppSettings, answers: Answers, choices: Choices
) -> Iterator[WindowMaker]:
    """``make_window(**kwargs)``: shown MainWindows with the test's store, settings and answers
    (no framework probe unless ``probe=`` is given); sessions and workers end afterwards."""
    made: list[MainWindow] = []

    def make(**kwargs: object) -> MainWindow:
        options: dict[str, object] = {
            "store_path": str(store_path),
            "settings": settings,
            "probe": None,
            "confirm": answers,
            "choose": choices,
        }
        options.update(kwargs)
        win = MainWindow(**options)  # type: ignore[arg-type]
        qtbot.addWidget(win)
        win.show()
        made.append(win)
        return win

    yield make
    for win in made:
        if win.controller.is_running():
            win.controller.stop()
            qtbot.waitUntil(lambda w=win: not w.controller.is_running(), timeout=60_000)
        qtbot.waitUntil(lambda w=win: not w.runner.busy(), timeout=30_000)


@pytest.fixture
def window(make_window: WindowMaker) -> MainWindow:
    """A shown MainWindow whose store and settings live in tmp_path."""
    return make_window()
