"""The window's worker threads: results come back on the GUI thread; after shutdown nothing
touches Qt any more, and a framework probe in progress is killed."""

from __future__ import annotations

import threading
import time

import psutil
from pytestqt.qtbot import QtBot

from gui.tasks import TaskRunner
from profiler.doctor import probe_frameworks


def test_results_come_back_on_the_gui_thread(qtbot: QtBot) -> None:
    runner = TaskRunner()
    got: list[tuple[int, bool]] = []
    with qtbot.waitSignal(runner.taskFinished, timeout=10_000):
        runner.submit(
            "add",
            lambda: 2 + 3,
            lambda result: got.append(
                (result, threading.current_thread() is threading.main_thread())
            ),
        )
    assert got == [(5, True)]


def test_after_shutdown_no_callback_comes_and_nothing_new_runs(qtbot: QtBot) -> None:
    runner = TaskRunner()
    release = threading.Event()
    called: list[str] = []
    thread = runner.submit("slow", release.wait, lambda _r: called.append("done"))
    assert thread is not None and thread.is_alive()
    release.set()
    runner.shutdown(timeout_s=5.0)  # closes first, so the finishing task cannot emit
    assert not thread.is_alive()
    assert runner.submit("late", lambda: 1, lambda _r: called.append("late")) is None
    qtbot.wait(100)  # let queued events (there must be none) arrive
    assert called == []


def test_a_cancelled_probe_kills_its_child() -> None:
    cancel = threading.Event()
    result: dict[str, object] = {}
    me = psutil.Process()
    worker = threading.Thread(target=lambda: result.update(probe_frameworks(cancel=cancel)))
    worker.start()
    deadline = time.monotonic() + 30
    while not me.children() and time.monotonic() < deadline:
        time.sleep(0.01)
    (child,) = me.children()
    cancel.set()
    worker.join(5.0)
    assert not worker.is_alive()
    assert result == {"error": "the framework probe was cancelled"}
    assert not child.is_running()
