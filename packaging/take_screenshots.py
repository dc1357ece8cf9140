"""Take the README screenshots from a real FrameDuel window (run under Xvfb, DISPLAY set).

Runs the built-in demo config (PyTorch vs TensorFlow) twice in the window: a short session first,
so History has more than one entry, then the real one. Saves, in ``docs/screenshots/``:

- ``window-running.png`` while the second framework is measuring (both colours show);
- ``window-done.png`` when the session has ended;
- ``breakdown.png``: that session's Breakdown tab (each framework's own profiler, side by side);
- ``history.png``: the History tab with both sessions;
- ``compare.png``: the two sessions compared, step time against time since each run's launch;
- ``export-preview.png``: the in-app preview of the session's PDF report;
- ``window-dark.png``: the finished session in the dark theme;
- ``window-1366x768.png``: the finished session in a window of a 1366×768 laptop screen, its
  docks arranged as a first launch on that screen arranges them (the Runs table's live columns
  in sight), x axis since each run's launch, throughput and step time on log scales.

The CPU plot is smoothed (a rolling median over faint raw points), as a user would set it.

``packaging/screenshots.sh`` starts Xvfb and calls this; by hand::

    Xvfb :99 -screen 0 1600x1000x24 &
    DISPLAY=:99 .venv/bin/python packaging/take_screenshots.py

The demo's 200 steps end in a fraction of a second after the frameworks' imports, which would
leave the throughput plot a sliver; ``--steps`` (default 6000, about ten seconds of training per
framework on a laptop CPU) gives the plots a measure phase worth looking at. The store and the
settings go to a temporary folder (the user's own settings are never read or written).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QTimer  # noqa: E402

from gui.app import create_application  # noqa: E402
from gui.dock_sizes import arrange_first_launch  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402
from gui.models.live import Batch  # noqa: E402
from gui.settings import isolated_settings  # noqa: E402
from profiler.config import load_config  # noqa: E402
from profiler.session import RunInfo  # noqa: E402

DEMO = ROOT / "resources" / "configs" / "demo-mlp.yaml"
RUNNING_AT = 0.5  # the second run's progress when the "running" shot is taken
SETTLE_MS = 600  # let the last redraw and the layout settle before grabbing
FIRST_STEPS = 1500  # the short session that gives History a second entry
SMALL_SIZE = (1366, 768)  # a common laptop screen


class ScreenshotTaker:
    """Drives the two demo sessions in ``window`` and grabs it at the right moments."""

    def __init__(self, window: MainWindow, out: Path, steps: int, timeout_s: float) -> None:
        self.window = window
        self.out = out
        self.steps = steps
        self.exit_code = 1
        self.session = 0
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

    def start(self, steps: int) -> None:
        """Run the demo (both frameworks) for ``steps`` steps."""
        self.session += 1
        config = load_config(DEMO).with_overrides(steps=steps, repeats=1)
        self.window.runs.run_config(config, str(DEMO))

    def _on_started(self, run: RunInfo) -> None:
        if run.seq == 1 and self.session == 2:
            self._second = run

    def _on_batch(self, _batch: Batch) -> None:
        if self._running_saved or self._second is None:
            return
        model = self.window.runs_table.runs
        row = model.row_of(self._second.run_id)
        if row is not None and model.rows[row].progress >= RUNNING_AT:
            self._running_saved = True
            QTimer.singleShot(0, lambda: self._save(self.window, "window-running.png"))

    def _on_finished(self, session_id: int, status: str) -> None:
        print(f"session {session_id} ended: {status}")
        if status != "ok":
            print("not saving more: the session did not run as planned")
            self._quit(1)
        elif self.session == 1:
            QTimer.singleShot(SETTLE_MS, lambda: self.start(self.steps))
        elif not self._running_saved:
            print("not saving window-done.png: no 'running' shot was taken")
            self._quit(1)
        else:
            QTimer.singleShot(SETTLE_MS, self._done)

    def _done(self) -> None:
        w = self.window
        self._save(w, "window-done.png")
        w.tabs.setCurrentWidget(w.breakdown)  # read when the session ended
        QTimer.singleShot(SETTLE_MS, self._breakdown_shot)

    def _breakdown_shot(self) -> None:
        w = self.window
        self._save(w, "breakdown.png")
        w.history.loaded.connect(self._history_loaded)
        w.commands.history.trigger()

    def _history_loaded(self) -> None:
        w = self.window
        w.history.loaded.disconnect(self._history_loaded)
        ids = w.history.visible_ids()
        if ids:
            w.history.select_ids(ids[:1])
        QTimer.singleShot(SETTLE_MS, self._history_shot)

    def _history_shot(self) -> None:
        w = self.window
        self._save(w, "history.png")
        ids = w.history.visible_ids()
        if len(ids) < 2:
            self._compared(None)
            return
        w.sessions.compared.connect(self._compared)
        w.history.select_ids(ids[:2])
        w.history.compare_button.click()

    def _compared(self, dialog: Any) -> None:
        if dialog is None:
            self._after_compare()
            return
        self.window.sessions.compared.disconnect(self._compared)
        dialog.resize(1000, 720)
        dialog.show_series("step_time_ms", "time")
        QTimer.singleShot(SETTLE_MS, lambda: self._compare_shot(dialog))

    def _compare_shot(self, dialog: Any) -> None:
        self._save(dialog, "compare.png")
        dialog.close()
        self._after_compare()

    def _after_compare(self) -> None:
        w = self.window
        w.sessions.previewShown.connect(self._preview_shown)
        w.history.select_ids(w.history.visible_ids()[:1])
        w.sessions.preview_pdf()

    def _preview_shown(self, dialog: Any) -> None:
        dialog.resize(820, 940)
        QTimer.singleShot(SETTLE_MS, lambda: self._preview_shot(dialog))

    def _preview_shot(self, dialog: Any) -> None:
        self._save(dialog, "export-preview.png")
        dialog.close()
        w = self.window
        w.commands.tab_actions[0].trigger()
        w.settings.theme = "dark"
        w.apply_settings()
        QTimer.singleShot(SETTLE_MS, self._dark_shot)

    def _dark_shot(self) -> None:
        w = self.window
        self._save(w, "window-dark.png")
        w.settings.theme = "light"
        w.apply_settings()
        # As a user comparing a slow run with a fast one would look at it: each run from its
        # own launch, speeds on log scales.
        w.dashboard.set_axis_mode("launch")
        for key in ("samples_per_s", "step_time_ms"):
            w.dashboard.set_log(key, True)
        w.resize(*SMALL_SIZE)
        QTimer.singleShot(SETTLE_MS, self._small_layout)

    def _small_layout(self) -> None:
        w = self.window
        # as a first launch on that screen lays the docks out, not the 1400-px window squeezed
        arrange_first_launch(
            w,
            w.docks,
            w.width(),
            w.summary.preferred_width,
            w.runs_table.live_width(),
            follow_px=w.runs_table.follow_width(),
        )
        QTimer.singleShot(SETTLE_MS, self._small_shot)

    def _small_shot(self) -> None:
        self._save(self.window, "window-1366x768.png")
        self._quit(0)

    def _save(self, widget: Any, name: str) -> None:
        self.window.dashboard.redraw()
        path = self.out / name
        if not widget.grab().save(str(path)):
            print(f"could not write {path}")
            self._quit(1)
            return
        print(f"saved {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")

    def _give_up(self) -> None:
        print("timed out waiting for the demo session; stopping it")
        self.window.runs.stop_run()
        self._quit(1, wait_for_session=True)

    def _quit(self, code: int, wait_for_session: bool = False) -> None:
        self.exit_code = code
        self._watchdog.stop()
        if wait_for_session and self.window.controller.is_running():
            self.window.controller.sessionFinished.connect(lambda *_: self.window.close())
        else:
            self.window.close()


def main(argv: list[str] | None = None) -> int:
    """Run the demo in a window and save the screenshots; 0 on success."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--steps", type=int, default=6000, help="training steps per framework")
    parser.add_argument(
        "--first-steps", type=int, default=FIRST_STEPS, help="steps of the first, short session"
    )
    parser.add_argument("--timeout", type=float, default=400.0, help="give up after (seconds)")
    args = parser.parse_args(argv)
    if not os.environ.get("DISPLAY") and os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        parser.error("no DISPLAY: run under Xvfb (see packaging/screenshots.sh)")
    args.out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="frameduel-shots-") as tmp:
        app = create_application()
        settings = isolated_settings(str(Path(tmp) / "settings.ini"))
        settings.theme = "light"
        window = MainWindow(store_path=str(Path(tmp) / "store.sqlite3"), settings=settings)
        window.resize(1400, 900)
        window.show()
        window.configs.load_config_file(DEMO)
        window.dashboard.set_smoothing("cpu_percent", "median")
        taker = ScreenshotTaker(window, args.out, args.steps, args.timeout)
        QTimer.singleShot(1500, lambda: taker.start(args.first_steps))
        app.exec()
        window.controller.shutdown()
        window.runner.join(30)
    return taker.exit_code


if __name__ == "__main__":
    sys.exit(main())
