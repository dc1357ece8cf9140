"""Real sessions from the window: real children, real frameworks on a tiny model, real store."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from gui.main_window import MainWindow
from gui.runs_table import COL_PROGRESS, COL_STATUS
from profiler.paths import project_root
from profiler.store import Store

pytestmark = pytest.mark.slow
ConfigMaker = Callable[..., Path]

SESSION_TIMEOUT_MS = 180_000  # two framework imports on a busy 2-core machine


def test_a_real_run_finishes_with_both_frameworks_ok(
    window: MainWindow, qtbot: QtBot, tiny_config: Path, tmp_path: Path
) -> None:
    window.load_config_file(tiny_config)
    batches: list[object] = []
    window.controller.batch.connect(batches.append)

    with qtbot.waitSignal(window.controller.sessionFinished, timeout=SESSION_TIMEOUT_MS) as done:
        assert window.start_run()
        assert window.stop_button.isEnabled()
        assert not window.run_button.isEnabled()

    session_id, status = done.args
    assert status == "ok"
    model = window.runs_table.runs
    assert [row.info.framework for row in model.rows] == ["torch", "tensorflow"]
    for i, row in enumerate(model.rows):
        assert model.index(i, COL_STATUS).data() == "ok"
        assert model.index(i, COL_PROGRESS).data() == "100%"
        run_id = row.info.run_id
        assert window.dashboard.point_count(run_id, "samples_per_s") > 0
        assert window.dashboard.point_count(run_id, "cpu_percent") > 0
    # Batched: far fewer signals than the samples and windows they carried.
    assert len(batches) < 200
    assert window.run_button.isEnabled()
    assert not window.stop_button.isEnabled()
    assert "finished" in window.status_text()
    stored = Store(tmp_path / "store.sqlite3")
    try:
        assert stored.load(session_id).status == "ok"
    finally:
        stored.close()


def test_stop_ends_the_session_and_leaves_no_child(
    window: MainWindow, qtbot: QtBot, make_config: ConfigMaker
) -> None:
    window.load_config_file(make_config(steps=100_000))
    assert window.start_run()
    model = window.runs_table.runs
    qtbot.waitUntil(
        lambda: bool(model.rows) and model.rows[0].phase == "measuring",
        timeout=SESSION_TIMEOUT_MS,
    )
    child_pids = [p.pid for p in psutil.Process().children(recursive=True)]
    assert child_pids

    with qtbot.waitSignal(window.controller.sessionFinished, timeout=60_000) as done:
        qtbot.mouseClick(window.stop_button, Qt.MouseButton.LeftButton)

    assert done.args[1] == "stopped"
    assert [row.status for row in model.rows] == ["stopped", "stopped"]
    assert "stopped" in window.status_text()
    assert not [pid for pid in child_pids if psutil.pid_exists(pid) and _not_zombie(pid)]
    assert not psutil.Process().children(recursive=True)


def test_closing_the_window_during_a_run_stops_it_first(
    window: MainWindow, qtbot: QtBot, make_config: ConfigMaker
) -> None:
    window.load_config_file(make_config(steps=100_000, **{"[torch, tensorflow]": "[torch]"}))
    with qtbot.waitSignal(window.controller.runStarted, timeout=SESSION_TIMEOUT_MS):
        assert window.start_run()

    with qtbot.waitSignal(window.controller.sessionFinished, timeout=60_000) as done:
        window.close()
        assert window.isVisible()  # it waits for the children to go

    assert done.args[1] == "stopped"
    qtbot.waitUntil(lambda: not window.isVisible())


def test_the_gui_process_never_imports_a_framework(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import sys
        from PySide6.QtWidgets import QApplication
        app = QApplication([])
        from gui.main_window import MainWindow
        window = MainWindow(store_path=sys.argv[1])
        window.show()
        window.load_config_file("resources/configs/demo-mlp.yaml")
        app.processEvents()
        assert window.run_button.isEnabled()
        heavy = [m for m in ("torch", "tensorflow", "jax", "workloads") if m in sys.modules]
        print("heavy:", heavy)
        sys.exit(1 if heavy else 0)
        """
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "store.sqlite3")],
        cwd=project_root(),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "heavy: []" in result.stdout


def _not_zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
