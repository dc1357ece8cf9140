"""Reference cycles are freed on the GUI thread, never in a worker thread (``gui.collector``)."""

from __future__ import annotations

import gc
import threading

from pytestqt.qtbot import QtBot

from gui.collector import GuiThreadCollector


class Cyclic:
    """One half of a reference cycle that records the thread it was freed in."""

    freed_in: list[str] = []  # shared on purpose: the test reads it

    def __init__(self) -> None:
        self.other: Cyclic | None = None

    def __del__(self) -> None:
        Cyclic.freed_in.append(threading.current_thread().name)


def _drop_a_cycle_and_allocate() -> None:
    a, b = Cyclic(), Cyclic()
    a.other, b.other = b, a
    del a, b
    # enough new containers to pass every generation's threshold: with automatic collection
    # on, this thread would free the cycle right here
    keep = [[i] for i in range(50_000)]
    del keep


def test_a_cycle_dropped_in_a_worker_thread_is_freed_on_the_gui_thread(qtbot: QtBot) -> None:
    # the GUI tests' session fixture runs one collector already, as the app does
    assert not gc.isenabled()
    Cyclic.freed_in.clear()
    worker = threading.Thread(target=_drop_a_cycle_and_allocate, name="worker")
    worker.start()
    worker.join()
    assert Cyclic.freed_in == []
    qtbot.waitUntil(lambda: len(Cyclic.freed_in) == 2, timeout=5_000)
    assert Cyclic.freed_in == [threading.main_thread().name] * 2


def test_stopping_the_collector_gives_collection_back(qtbot: QtBot) -> None:
    gc.enable()
    collector = GuiThreadCollector()
    collector.start()
    assert not gc.isenabled()
    collector.stop()
    assert gc.isenabled()
    gc.disable()  # as the session's collector keeps it
