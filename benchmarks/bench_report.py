"""Report generation for a 3-framework session of one hour per run at 20 Hz, against a 3 s budget.

A synthetic session goes into a real store through the Store API: three runs (PyTorch,
TensorFlow, JAX) of one hour each, 72,000 samples per run with every schema-2 column (GPU
included, so every chart page is drawn) and 3,600 one-second timing windows. The session is
loaded back, then ``build_report`` and the PDF, HTML and JSON renderers are timed; the budget
covers those four (loading is reported beside them).

Run: ``.venv/bin/python -m benchmarks.bench_report [--keep DIR]``. Prints one line per step,
then the total and its ratio to the budget; exits 1 when over budget.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from profiler.report import build_report
from profiler.report.html_report import write_html
from profiler.report.json_report import write_json
from profiler.report.pdf_report import write_pdf
from profiler.store import Store

BUDGET_S = 3.0
SAMPLE_HZ = 20.0
RUN_S = 3600.0
WINDOW_S = 1.0
FRAMEWORKS = (("torch", 0.020), ("tensorflow", 0.016), ("jax", 0.018))  # step time, s
CORES = 8
BATCH = 64


def _record_run(store: Store, session_id: int, seq: int, fw: str, step_s: float) -> None:
    rng = np.random.default_rng(seq)
    run_id = store.create_run(session_id, seq, fw, 0)
    launch = seq * (RUN_S + 30.0)
    store.update_run(run_id, status="running", started_t=launch)
    events: list[tuple[float, str, dict[str, object]]] = []
    t = launch + 0.1
    events.append((t, "phase", {"name": "import", "state": "start"}))
    t += 2.0
    events.append((t, "phase", {"name": "import", "state": "end"}))
    events.append((t, "hello", {"pid": 100 + seq, "framework": fw, "framework_version": "1.0",
                                "device": "cuda:0", "python": "3.11.7"}))  # fmt: skip
    events.append((t, "phase", {"name": "build", "state": "start"}))
    t += 1.0
    events.append((t, "model", {"params": 1_000_000, "parity_loss": 2.3026,
                                "flops_per_step": 4.0e11, "peak_flops_per_s": 67e12}))  # fmt: skip
    events.append((t, "env", {"settings": {"precision": "fp32", "tf32": False,
                                           "intra_op_threads": 8, "compile": False}}))  # fmt: skip
    events.append((t, "phase", {"name": "build", "state": "end"}))
    steps = int(WINDOW_S / step_s)
    step = 0
    for phase, seconds in (("warmup", 20.0), ("measure", RUN_S - 40.0)):
        events.append((t, "phase", {"name": phase, "state": "start"}))
        for _ in range(int(seconds / WINDOW_S)):
            window_s = steps * step_s * float(rng.normal(1.0, 0.03))
            if step == 0:
                events.append((t + step_s * 5, "first_step", {"step": 1, "seconds": step_s * 5}))
            t += window_s
            step += steps
            events.append((t, "window", {"phase": phase, "step": step, "steps": steps,
                                         "seconds": window_s, "loss": 2.3 / (1 + step * 1e-5),
                                         "samples": steps * BATCH}))  # fmt: skip
        events.append((t, "phase", {"name": phase, "state": "end"}))
    events.append((t, "memory", {"allocator_bytes": 2**30, "allocator_peak_bytes": 2**31}))
    events.append((t, "done", {"steps": step}))
    for when, kind, payload in events:
        store.add_event(run_id, when, kind, payload)
    n = int(RUN_S * SAMPLE_HZ)
    ts = launch + np.arange(n) / SAMPLE_HZ
    cpu = rng.normal(180.0, 20.0, n)
    rss = 2000.0 + np.cumsum(rng.normal(0.0, 0.5, n))
    power = rng.normal(250.0, 15.0, n)
    energy = 1.0e6 + np.cumsum(power) / SAMPLE_HZ
    cores = rng.uniform(0.0, 100.0, (n, CORES)).round(1).tolist()
    for i in range(n):
        store.add_sample(
            run_id,
            {"t": ts[i], "cpu_percent": cpu[i], "rss_mib": rss[i], "threads": 40,
             "gpu_util_percent": 95.0, "gpu_mem_mib": 30000.0, "gpu_power_w": power[i],
             "gpu_temp_c": 70.0, "gpu_sm_clock_mhz": 1980.0, "gpu_energy_j": energy[i],
             "gpu_throttle_reasons": 0, "sys_mem_used_mib": 60000.0},
            cores[i],
        )  # fmt: skip
    store.update_run(run_id, status="ok", exit_code=0, ended_t=t + 1.0,
                     info={"pid": 100 + seq, "launch_t": launch, "warnings": []})  # fmt: skip


def build_store(path: Path) -> int:
    """Record the synthetic session into a new store at ``path``; returns its id."""
    config = {"name": "bench-hour", "frameworks": [fw for fw, _ in FRAMEWORKS], "device": "cuda",
              "run": {"repeats": 1, "sample_hz": SAMPLE_HZ}}  # fmt: skip
    env = {"frameduel": "bench", "hostname": "bench", "cpu": "synthetic", "gpu": {
        "name": "NVIDIA H100 80GB HBM3", "memory_mib": 81559, "driver": "550.0"}}  # fmt: skip
    with Store(path) as store:
        session_id = store.create_session("bench-hour", config, None, env)
        for seq, (fw, step_s) in enumerate(FRAMEWORKS):
            _record_run(store, session_id, seq, fw, step_s)
        store.finish_session(session_id, "ok")
    return session_id


def _timed(label: str, fn: object, *args: object) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds of this process, result) of ``fn(*args)``, printed."""
    start, cpu = time.perf_counter(), time.process_time()
    result = fn(*args)  # type: ignore[operator]
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(f"{label:<20} {elapsed:6.2f} s wall {cpu:6.2f} s CPU", flush=True)
    return elapsed, cpu, result


def main(argv: list[str] | None = None) -> int:
    """Build the store, time the report, print the ratio to the budget."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="write the store and reports into this folder")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        store_path = folder / "bench.sqlite3"
        store_path.unlink(missing_ok=True)
        *_, session_id = _timed("record the store", build_store, store_path)
        with Store(store_path) as store:
            *_, session = _timed("load the session", store.load, session_id)
        samples = sum(len(r.samples["t"]) for r in session.runs)  # type: ignore[attr-defined]
        windows = sum(len(r.events_of("window")) for r in session.runs)  # type: ignore[attr-defined]
        print(f"{'':<20} {samples:,} samples, {windows:,} windows")
        steps = [_timed("build_report", build_report, session)]
        report = steps[0][2]
        steps.append(_timed("PDF", write_pdf, report, folder / "report.pdf"))
        steps.append(_timed("HTML", write_html, report, folder / "report.html"))
        steps.append(_timed("JSON", write_json, report, folder / "report.json"))
    total = math.fsum(s[0] for s in steps)
    cpu = math.fsum(s[1] for s in steps)
    print(
        f"{'report total':<20} {total:6.2f} s wall {cpu:6.2f} s CPU = "
        f"{total / BUDGET_S:.2f}x the {BUDGET_S:g} s budget (wall), {cpu / BUDGET_S:.2f}x (CPU)"
    )
    return 0 if total <= BUDGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
