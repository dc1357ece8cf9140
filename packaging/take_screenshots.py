"""Take the README screenshots from a real FrameDuel window (run under Xvfb, DISPLAY set).

Runs the built-in demo config (PyTorch vs TensorFlow) in the window and saves
``docs/screenshots/window-running.png`` while the second framework is measuring, so both
colours show, and ``docs/screenshots/window-done.png`` when the session has ended.
``packaging/screenshots.sh`` starts Xvfb and calls this; by hand::

    Xvfb :99 -screen 0 1600x1000x24 &
    DISPLAY=:99 .venv/bin/python packaging/take_screenshots.py

The demo's 200 steps end in a fraction of a second after the frameworks' imports, which would
leave the throughput plot a sliver; ``--steps`` (default 6000, about ten seconds of training per
framework on a laptop CPU) gives the plots a measure phase worth looking at. The store goes to
a temporary folder unless ``--store`` names one.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QTimer  # noqa: E402

from gui.adapter import Batch  # noqa: E402
from gui.app import create_application  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402
from profiler.config import load_config  # noqa: E402
from profiler.session import RunInfo  # noqa: E402

DEMO = ROOT / "resources" / "configs" / "demo-mlp.yaml"
RUNNING_AT = 0.5  # the second run's progress when the "running" shot is taken
SETTLE_MS = 400  # let the last redraw and the layout settle before grabbing


class ScreenshotTaker:
    """Drives one demo session in ``window`` and grabs it at the two moments."""

    def __init__(self, window: MainWindow, out: Path, timeout_s: float) -> None:
        self.window = window
        self.out = out
        self.exit_code = 1
        self._second: RunInfo | None = None
        self._running_saved = False
        controller = window.controller
        controller.runStarted.connect(self._on_started)
        controller.batch.connect(self._on_batch)
        controller.failed.connect(lambda message: print(f"session failed: {message}"))
        controller.sessionFinished.connect(self._on_finished)
        self._watchdog = QTimer(window)
        self._watchdog.setSingleShot(True)
        self._watchdog.timeout.connect(self._give_up)
        self._watchdog.start(int(timeout_s * 1000))

    def _on_started(self, run: RunInfo) -> None:
        if run.seq == 1:
            self._second = run

    def _on_batch(self, _batch: Batch) -> None:
        if self._running_saved or self._second is None:
            return
        row = self.window.runs_table.runs.row_of(self._second.run_id)
        if row is not None and self.window.runs_table.runs.rows[row].progress >= RUNNING_AT:
            self._running_saved = True
            QTimer.singleShot(0, lambda: self._save("window-running.png"))

    def _on_finished(self, session_id: int, status: str) -> None:
        print(f"session {session_id} ended: {status}")
        if status != "ok" or not self._running_saved:
            print("not saving window-done.png: the session did not run as planned")
            self._quit(1)
            return
        QTimer.singleShot(SETTLE_MS, self._finish)

    def _finish(self) -> None:
        self._save("window-done.png")
        self._quit(0)

    def _save(self, name: str) -> None:
        self.window.dashboard.redraw()
        path = self.out / name
        if not self.window.grab().save(str(path)):
            print(f"could not write {path}")
            self._quit(1)
            return
        print(f"saved {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")

    def _give_up(self) -> None:
        print("timed out waiting for the demo session; stopping it")
        self.window.stop_run()
        self._quit(1, wait_for_session=True)

    def _quit(self, code: int, wait_for_session: bool = False) -> None:
        self.exit_code = code
        self._watchdog.stop()
        if wait_for_session and self.window.controller.is_running():
            self.window.controller.sessionFinished.connect(lambda *_: self.window.close())
        else:
            self.window.close()


def main(argv: list[str] | None = None) -> int:
    """Run the demo in a window and save the two screenshots; 0 on success."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--steps", type=int, default=6000, help="training steps per framework")
    parser.add_argument("--store", default=None, help="SQLite store (default: a temp folder)")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up after (seconds)")
    args = parser.parse_args(argv)
    if not os.environ.get("DISPLAY") and os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        parser.error("no DISPLAY: run under Xvfb (see packaging/screenshots.sh)")
    args.out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="frameduel-shots-") as tmp:
        store = args.store or str(Path(tmp) / "store.sqlite3")
        app = create_application()
        window = MainWindow(store_path=store)
        window.resize(1400, 900)
        window.show()
        window.load_config_file(DEMO)
        config = load_config(DEMO).with_overrides(steps=args.steps)
        taker = ScreenshotTaker(window, args.out, args.timeout)
        QTimer.singleShot(500, lambda: window.run_config(config, str(DEMO)))
        app.exec()
        window.controller.shutdown()
    return taker.exit_code


if __name__ == "__main__":
    sys.exit(main())
