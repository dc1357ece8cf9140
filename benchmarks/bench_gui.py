"""The desktop app against its three targets, each reported as a ratio (value / target).

1. Cold start to a shown window, under 1.5 s: a fresh interpreter per try (``-X importtime`` off,
   nothing warm but the OS file cache) imports the GUI, builds the window and runs the event loop
   until the window has been shown and painted once; measured from spawning the process to the
   line it prints then. The same process checks that no deep-learning framework was imported.
2. One dashboard redraw with 3 runs x 8 series x 72,000 points (an hour at 20 Hz), under 16 ms
   median: every curve gets new data (a live tick's worth appended to each) and the dashboard is
   repainted (``grab()`` renders every plot); median over the tries.
3. CPU of the GUI process while a live run streams, under 15% of one core: a real tiny PyTorch
   run sampled at 20 Hz in a shown window; the process's own CPU time (children excluded) over
   the measure phase. The session's reader, sampler and store threads live in this process and
   count too; the GUI thread's share is printed beside.

Qt runs offscreen (no display needed). Run: ``.venv/bin/python -m benchmarks.bench_gui
[--starts N] [--redraws N] [--stream-s S]``. Exits 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np
import psutil

from gui.models.rundata import SessionData, phase_code

ROOT = Path(__file__).resolve().parent.parent
START_TARGET_S = 1.5
REDRAW_TARGET_MS = 16.0
CPU_TARGET_PERCENT = 15.0
POINTS = 72_000  # an hour at 20 Hz
HEAVY = ("torch", "tensorflow", "jax", "workloads")

_START_CODE = textwrap.dedent(
    """
    import sys
    from PySide6.QtCore import QTimer
    from gui.app import create_application
    from gui.main_window import MainWindow
    from gui.settings import isolated_settings
    app = create_application()
    settings = isolated_settings(sys.argv[2])
    # probe=None: the frameworks' probe starts after the window is shown, in children of its
    # own; left running, they would load the machine for the next measurements.
    window = MainWindow(store_path=sys.argv[1], settings=settings, probe=None)
    window.show()
    def shown():
        heavy = [m for m in HEAVY if m in sys.modules]
        print("shown", ",".join(heavy), flush=True)
        import os
        os._exit(0)
    QTimer.singleShot(0, shown)
    app.exec()
    """
).replace("HEAVY", repr(HEAVY))


def cold_start(tries: int) -> tuple[float, list[str]]:
    """Median seconds from spawning a fresh GUI process to its window shown; heavy modules."""
    times, heavy = [], []
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    with tempfile.TemporaryDirectory(prefix="frameduel-bench-") as tmp:
        for i in range(tries):
            args = [sys.executable, "-c", _START_CODE, f"{tmp}/s{i}.sqlite3", f"{tmp}/s{i}.ini"]
            t0 = time.perf_counter()
            proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
            assert proc.stdout is not None
            line = proc.stdout.readline()
            elapsed = time.perf_counter() - t0
            proc.wait(timeout=60)
            if not line.startswith("shown"):
                raise RuntimeError(f"the window did not start: {line!r}")
            heavy += [m for m in line.split()[1:] for m in m.split(",") if m]
            times.append(elapsed)
            print(f"  start {i + 1}: {elapsed * 1000:6.0f} ms", flush=True)
    return statistics.median(times), sorted(set(heavy))


def _session(runs: int, points: int) -> SessionData:
    """``runs`` runs of ``points`` windows and samples each, one after another, GPU included."""
    from gui.models.rundata import SAMPLE_FIELDS, SessionData
    from profiler.session import RunInfo

    infos = [
        RunInfo(i + 1, fw, 0, i, points) for i, fw in enumerate(("torch", "tensorflow", "jax"))
    ]
    data = SessionData(infos[:runs])
    rng = np.random.default_rng(0)
    for seq, run in enumerate(data.runs.values()):
        t = seq * 3600.0 + np.arange(points) / 20.0
        steps = np.arange(1, points + 1, dtype=float) * 10
        noise = rng.normal(1.0, 0.05, points)
        run.add_windows(
            np.column_stack(
                [
                    t,
                    steps,
                    3200 * noise,
                    20 / noise,
                    np.exp(-steps / 1e5),
                    np.full(points, phase_code("measure")),
                ]
            )
        )
        columns = {
            "t": t,
            "cpu_percent": 180 * noise,
            "rss_mib": 600 + np.cumsum(np.abs(noise - 1)),
            "threads": np.full(points, 12.0),
            "gpu_util_percent": 85 * noise,
            "gpu_mem_mib": 4000 + 10 * noise,
            "gpu_power_w": 250 * noise,
        }
        run.add_samples(np.column_stack([columns[name] for name in SAMPLE_FIELDS]))
        run.phase_changed("import", "start", t[0] - 3)
        run.phase_changed("warmup", "start", t[0] - 1)
        run.phase_changed("measure", "start", t[0])
        run.close_phases(t[-1])
    return data


def redraw(tries: int, streaming_only: bool) -> tuple[float, float, float]:
    """Median ms of one redraw (set data + paint), and its two parts' medians.

    ``streaming_only``: only the last run gets new points (live: the others have finished);
    else all 24 curves do (what a zoom or an axis change asks).
    """
    from gui.app import create_application
    from gui.plots import LiveDashboard

    app = create_application()
    dash = LiveDashboard()
    dash.resize(1120, 640)  # the dashboard's share of a 1400 x 900 window
    dash.set_layout(dash.order, {"threads"})  # the 8 series of the target
    dash.show()
    data = _session(3, POINTS)
    dash.set_session(data)
    dash.set_live(True)  # as during a run: the x range keeps room for what comes
    app.processEvents()
    assert len(dash.visible_keys()) == 8, dash.visible_keys()
    runs = list(data.runs.values())
    fed = runs[-1:] if streaming_only else runs
    totals, sets, paints = [], [], []
    for i in range(tries + 3):
        for run in fed:  # a live tick (50 ms at 20 Hz): a new window and a new sample
            t = run.windows.col("t")[-1] + 0.05
            step = run.windows.col("step")[-1] + 10
            run.add_windows(np.array([[t, step, 3200.0, 20.0, 0.1, phase_code("measure")]]))
            run.add_samples(np.array([[t, 180.0, 700.0, 12.0, 85.0, 4000.0, 250.0]]))
        t0 = time.perf_counter()
        dash.data_changed({r.info.run_id for r in fed})
        dash.redraw()
        t1 = time.perf_counter()
        dash.grab()  # paints every plot, changed or not
        t2 = time.perf_counter()
        if i >= 3:  # the first ones build caches
            totals.append((t2 - t0) * 1000)
            sets.append((t1 - t0) * 1000)
            paints.append((t2 - t1) * 1000)
    dash.close()
    return statistics.median(totals), statistics.median(sets), statistics.median(paints)


def live_cpu(stream_s: float) -> tuple[float, float, float]:
    """(% of a core for the whole GUI process, % for its GUI thread, seconds measured)."""
    from gui.app import create_application
    from gui.main_window import MainWindow
    from gui.settings import isolated_settings
    from profiler.config import Config

    app = create_application()
    with tempfile.TemporaryDirectory(prefix="frameduel-bench-") as tmp:
        settings = isolated_settings(f"{tmp}/settings.ini")
        settings.sample_hz = 20.0
        window = MainWindow(store_path=f"{tmp}/store.sqlite3", settings=settings, probe=None)
        window.show()
        config = Config.model_validate(
            {
                "name": "bench-live",
                "frameworks": ["torch"],
                "device": "cpu",
                "threads": 1,
                "model": {"family": "mlp", "input_dim": 64, "hidden": [64], "num_classes": 10},
                "data": {"samples": 1024},
                "train": {
                    "batch_size": 32,
                    "steps": 10_000_000,
                    "warmup_steps": 10,
                    "window_steps": 20,
                },
            }
        )
        me = psutil.Process()
        main_tid = threading.main_thread().native_id
        state: dict[str, float] = {}

        def gui_thread_cpu() -> float:
            return next(
                (t.user_time + t.system_time for t in me.threads() if t.id == main_tid), 0.0
            )

        def poll() -> None:
            rows = window.runs_table.runs.rows
            measuring = bool(rows) and rows[0].phase == "measuring"
            if measuring and "t0" not in state:
                cpu = me.cpu_times()
                state.update(
                    t0=time.perf_counter(), cpu0=cpu.user + cpu.system, gui0=gui_thread_cpu()
                )
            elif "t0" in state and time.perf_counter() - state["t0"] >= stream_s:
                cpu = me.cpu_times()
                state.update(
                    t1=time.perf_counter(), cpu1=cpu.user + cpu.system, gui1=gui_thread_cpu()
                )
                timer.stop()
                window.runs.stop_run()

        from PySide6.QtCore import QTimer

        timer = QTimer()
        timer.timeout.connect(poll)
        timer.start(100)
        window.controller.sessionFinished.connect(lambda *_: app.quit())
        window.runs.run_config(config, None)
        app.exec()
        window.controller.shutdown()
        window.close()
    if "t1" not in state:
        raise RuntimeError("the run never reached its measure phase")
    wall = state["t1"] - state["t0"]
    return (
        100 * (state["cpu1"] - state["cpu0"]) / wall,
        100 * (state["gui1"] - state["gui0"]) / wall,
        wall,
    )


def main(argv: list[str] | None = None) -> int:
    """Measure the three targets and print each with its ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=5, help="cold starts (median)")
    parser.add_argument("--redraws", type=int, default=30, help="redraws (median)")
    parser.add_argument("--stream-s", type=float, default=20.0, help="seconds of live run")
    args = parser.parse_args(argv)
    print(f"machine: {psutil.cpu_count()} CPUs, Qt offscreen, Python {sys.version.split()[0]}")

    start_s, heavy = cold_start(args.starts)
    total_ms, set_ms, paint_ms = redraw(args.redraws, streaming_only=True)
    print(f"  redraw while one run streams: set data {set_ms:.1f} ms, paint {paint_ms:.1f} ms")
    all_ms, set_all, paint_all = redraw(args.redraws, streaming_only=False)
    print(f"  redraw of all 24 curves: {all_ms:.1f} ms (set {set_all:.1f}, paint {paint_all:.1f})")
    cpu, gui_cpu, wall = live_cpu(args.stream_s)
    print(f"  live: {wall:.1f} s measured; GUI thread {gui_cpu:.1f}% of a core", flush=True)

    rows = [
        ("cold start to shown window", start_s * 1000, START_TARGET_S * 1000, "ms"),
        ("dashboard redraw, 3x8x72k points", total_ms, REDRAW_TARGET_MS, "ms"),
        ("  same, all 24 curves new", all_ms, REDRAW_TARGET_MS, "ms"),
        ("GUI process CPU while streaming", cpu, CPU_TARGET_PERCENT, "% core"),
    ]
    print(f"{'target':<36} {'value':>10} {'target':>10} {'ratio':>7}")
    ok = not heavy
    for name, value, target, unit in rows:
        print(f"{name:<36} {value:8.1f} {unit:<2}{target:8.1f} {unit:<2}{value / target:6.2f}")
        ok = ok and value <= target
    print(f"deep-learning modules imported by the GUI process: {', '.join(heavy) or 'none'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
