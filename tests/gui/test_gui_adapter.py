"""The adapter: batching the engine's reports into one signal per tick, and failures in words."""

from __future__ import annotations

import math
import sys
import threading
from pathlib import Path

from pytestqt.qtbot import QtBot

from gui.adapter import SessionController
from gui.models.live import Batch, window_point
from profiler.config import load_config
from profiler.events import Window
from profiler.protocol import Event
from profiler.sampler import Sample
from profiler.session import RunInfo, RunOutcome


def test_window_point_turns_a_window_into_rates() -> None:
    event = Event("window", 1.0, {"phase": "measure", "step": 30, "steps": 10, "seconds": 0.5})

    point = window_point(2.5, event.data, batch_size=8)  # type: ignore[arg-type]

    assert point.t == 2.5
    assert point.step == 30
    assert point.samples_per_s == 10 * 8 / 0.5
    assert point.step_time_ms == 50.0
    assert math.isnan(point.loss)
    assert point.phase == "measure"


def test_window_point_prefers_the_childs_sample_count() -> None:
    window = Window(phase="measure", step=4, steps=4, seconds=2.0, samples=10, loss=1.0)
    point = window_point(0.0, window, batch_size=8)
    assert point.samples_per_s == 5.0
    assert point.loss == 1.0


def test_many_reports_become_one_batch_in_order(qtbot: QtBot) -> None:
    controller = SessionController()
    run = RunInfo(run_id=7, framework="torch", repeat=0, seq=0, total_steps=100)
    received: list[tuple[str, object]] = []
    controller.runStarted.connect(lambda r: received.append(("started", r)))
    controller.batch.connect(lambda b: received.append(("batch", b)))
    controller.runFinished.connect(lambda o: received.append(("finished", o)))
    listener = controller.listener

    def report() -> None:  # from another thread, as the engine does
        listener.run_started(run)
        for i in range(200):
            listener.run_sample(
                7, i * 0.1, Sample(t=0.0, cpu_percent=50.0, rss_mib=10.0, threads=3)
            )
        listener.run_event(7, 1.0, Event("phase", 0.0, {"name": "measure", "state": "start"}))
        window = {"phase": "measure", "step": 50, "steps": 5, "seconds": 0.1}
        listener.run_event(7, 1.5, Event("window", 0.0, window))
        hello = {"pid": 1, "framework": "torch", "framework_version": "2.x", "device": "cpu"}
        listener.run_event(7, 1.6, Event("hello", 0.0, hello))
        listener.run_log(7, 1.7, "a line")
        listener.run_finished(RunOutcome(7, "torch", "ok", None, 0))

    worker = threading.Thread(target=report)
    worker.start()
    worker.join()
    controller.drain()

    assert [kind for kind, _ in received] == ["started", "batch", "finished"]
    batch = received[1][1]
    assert isinstance(batch, Batch)
    assert len(batch.samples[7]) == 200
    assert batch.samples[7][-1].cpu_percent == 50.0
    assert [w.step for w in batch.windows[7]] == [50]
    assert [(p.name, p.state) for p in batch.phases] == [("measure", "start")]
    assert batch.logs[7] == ["a line"]
    assert [e.kind for _, _, e in batch.events] == ["hello"]


def test_an_unusable_store_is_reported_in_words(
    qtbot: QtBot, tiny_config: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x", encoding="utf-8")
    controller = SessionController()
    messages: list[str] = []
    controller.failed.connect(messages.append)

    with qtbot.waitSignal(controller.sessionFinished, timeout=20_000) as finished:
        controller.start(load_config(tiny_config), str(tiny_config), str(blocker / "s.sqlite3"))

    assert finished.args == [-1, "failed"]
    assert len(messages) == 1
    assert "store" in messages[0]
    assert not controller.is_running()


def test_qt_bindings_do_not_leak_references_to_none() -> None:
    """PySide6 6.12.0 lost a reference to None per call and aborted CPython 3.11 (pyproject pins
    the bindings below it); this fails if an installed version brings the leak back."""
    from PySide6.QtCore import QObject

    orphan = QObject()
    before = sys.getrefcount(None)
    for _ in range(20_000):
        assert orphan.parent() is None
        assert orphan.property("unset") is None
    assert abs(sys.getrefcount(None) - before) < 100
