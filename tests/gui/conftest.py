"""Fixtures for the GUI tests: a tiny config, a window with its own store, no thread left.

The root conftest sets Qt offscreen and fails tests that leave child processes behind.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from gui.main_window import MainWindow

TINY_YAML = """\
name: tiny
frameworks: [torch, tensorflow]
device: cpu
threads: 1
model: {family: mlp, input_dim: 16, hidden: [8], num_classes: 3}
data: {samples: 64}
train: {batch_size: 8, steps: STEPS, warmup_steps: 5}
"""


def write_config(folder: Path, name: str = "tiny.yaml", steps: int = 40, **replace: str) -> Path:
    """Write the tiny config (with ``steps`` and textual replacements) and return its path."""
    text = TINY_YAML.replace("STEPS", str(steps))
    for old, new in replace.items():
        text = text.replace(old, new)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def no_session_threads_left() -> Iterator[None]:
    """Fail a test that leaves any new thread running, daemon ones included.

    The root conftest catches child processes and non-daemon threads; the engine's and the
    adapter's threads are daemons, so a session left running would slip through it.
    """
    before = set(threading.enumerate())
    yield
    threads = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    for t in threads:
        t.join(timeout=10.0)
    alive = [t.name for t in threads if t.is_alive()]
    assert not alive, f"threads left running: {alive}"


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
def window(qtbot: QtBot, tmp_path: Path) -> Iterator[MainWindow]:
    """A shown MainWindow whose store lives in tmp_path; any session is stopped afterwards."""
    win = MainWindow(store_path=str(tmp_path / "store.sqlite3"))
    qtbot.addWidget(win)
    win.show()
    yield win
    if win.controller.is_running():
        win.controller.stop()
        qtbot.waitUntil(lambda: not win.controller.is_running(), timeout=60_000)
