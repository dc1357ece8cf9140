"""Sessions written through the real Store API, as a run would have written them: phases,
timing windows, samples (with GPU values when asked), logs and outcomes. No framework runs."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from profiler.config import Config
from profiler.protocol import check_payload
from profiler.store import Store

WINDOW_STEPS = 10
# step-time factors of successive windows with ``uneven``: a spread and a slow tail
UNEVEN = (1.0, 0.7, 1.2, 0.9, 1.6, 1.1, 0.8, 1.3, 1.0, 2.2)


def add_event(store: Store, run_id: int, t: float, kind: str, payload: dict[str, Any]) -> None:
    """Store one event the protocol accepts: the store reads an event that it rejects (a
    required field missing) back as garbage, invisible to the summary and warned about, so a
    fixture that wrote one would test the garbage path instead of the one it means to."""
    problem = check_payload(kind, payload)
    assert problem is None, f"recorded.py writes an invalid event: {problem}"
    store.add_event(run_id, t, kind, payload)


def recorded_config(
    name: str, frameworks: list[str], steps: int, overrides: dict[str, dict[str, Any]] | None = None
) -> Config:
    """A valid config as the session would have stored it; ``overrides`` update its sections
    (``{"train": {"batch_size": 16}}``)."""
    raw: dict[str, Any] = {
        "name": name,
        "frameworks": frameworks,
        "device": "cpu",
        "model": {"family": "mlp", "input_dim": 16, "hidden": [8], "num_classes": 3},
        "data": {"samples": 64},
        "train": {"batch_size": 8, "steps": steps, "warmup_steps": 20},
        "run": {"sample_hz": 10},
    }
    for section, values in (overrides or {}).items():
        raw[section] = {**raw[section], **values}
    return Config.model_validate(raw)


def record_session(
    store_path: Path,
    name: str = "recorded",
    frameworks: tuple[str, ...] = ("torch", "tensorflow"),
    *,
    gpu: bool = False,
    steps: int = 200,
    step_ms: dict[str, float] | None = None,
    fail: str | None = None,
    overrides: dict[str, dict[str, Any]] | None = None,
    uneven: bool = False,
    busy_percent: float = 0.0,
    repeats: int = 1,
) -> int:
    """Write one session with a run per framework and return its id.

    Each run: import 0.5 s, build 0.3 s, warm-up then measure in windows of 10 steps at
    ``step_ms[fw]`` ms a step (default 5 ms for torch, 8 ms otherwise), samples at 10 Hz with
    GPU utilisation, memory and power when ``gpu``. ``fail`` names a framework whose run
    failed halfway with an error event and a traceback. ``overrides`` update config sections
    (the stored config only: the recorded timing stays as described). ``uneven``: each measure
    window's step time varies by a fixed pattern (-30% .. +60%, a slow tail), so a median, a p95
    and a p90 all differ. ``busy_percent``: the machine's per-core CPU shows other processes
    using that much CPU (percent of one core) besides the run. Each run reports its first step
    (``first_step``) at the end of its first warm-up window. ``repeats``: runs per framework
    (each repeat 2% slower than the one before, so runs differ a little, as real ones do).
    """
    config = recorded_config(name, list(frameworks), steps, overrides)
    speeds = {"torch": 5.0, **(step_ms or {})}
    store = Store(store_path)
    try:
        sid = store.create_session(name, config.model_dump(mode="json"), None, {"gpu": gpu})
        t = 0.0
        statuses = []
        plan = [(r, fw) for r in range(repeats) for fw in frameworks]
        for seq, (repeat, fw) in enumerate(plan):
            run_id = store.create_run(sid, seq, fw, repeat)
            start = t
            ms = speeds.get(fw, 8.0) * (1.0 + 0.02 * repeat)
            store.update_run(run_id, status="running", started_t=start)
            # every field the protocol requires: the store reads an incomplete event back as garbage
            hello = {
                "pid": 1000 + seq,
                "framework": fw,
                "framework_version": "9.9",
                "device": "cpu",
            }
            add_event(store, run_id, t, "hello", hello)
            for phase, seconds in (("import", 0.5), ("build", 0.3)):
                add_event(store, run_id, t, "phase", {"name": phase, "state": "start"})
                t += seconds
                add_event(store, run_id, t, "phase", {"name": phase, "state": "end"})
            failed = fail == fw
            last = steps // 2 if failed else steps
            for phase, first, stop in (("warmup", 0, 20), ("measure", 20, last)):
                add_event(store, run_id, t, "phase", {"name": phase, "state": "start"})
                for step in range(first + WINDOW_STEPS, stop + 1, WINDOW_STEPS):
                    factor = UNEVEN[(step // WINDOW_STEPS) % len(UNEVEN)] if uneven else 1.0
                    seconds = WINDOW_STEPS * ms * factor / 1000.0
                    t += seconds
                    loss = 1.1 * math.exp(-step / 60.0)
                    if step == WINDOW_STEPS:
                        add_event(
                            store,
                            run_id,
                            t,
                            "first_step",
                            {"step": 1, "seconds": seconds / WINDOW_STEPS, "loss": 1.1},
                        )
                    add_event(
                        store,
                        run_id,
                        t,
                        "window",
                        {
                            "phase": phase,
                            "step": step,
                            "steps": WINDOW_STEPS,
                            "samples": WINDOW_STEPS * 8,
                            "seconds": seconds,
                            "loss": loss,
                        },
                    )
                if not (failed and phase == "measure"):
                    add_event(store, run_id, t, "phase", {"name": phase, "state": "end"})
            n = round((t - start) * 10)
            for i in range(n):
                ts = start + i / 10
                row = {"t": ts, "cpu_percent": 95.0, "rss_mib": 300.0 + i, "threads": 6}
                if gpu:
                    row |= {
                        "gpu_util_percent": 80.0 + (i % 5),
                        "gpu_mem_mib": 1500.0 + i,
                        "gpu_power_w": 120.0 + (i % 7),
                    }
                # the machine's cores: the run's 95% plus what other processes took, on 2 cores
                machine = 95.0 + busy_percent
                store.add_sample(run_id, row, [machine / 2, machine / 2])
            store.add_log(run_id, start, f"{fw} says hello")
            if failed:
                error = "RuntimeError: the model fell over"
                add_event(
                    store,
                    run_id,
                    t,
                    "error",
                    {
                        "type": "RuntimeError",
                        "message": "the model fell over",
                        "traceback": "Traceback (most recent call last):\n  boom",
                    },
                )
                store.update_run(run_id, status="failed", error=error, exit_code=1, ended_t=t)
                statuses.append("failed")
            else:
                add_event(store, run_id, t, "done", {"steps": steps})
                store.update_run(run_id, status="ok", exit_code=0, ended_t=t)
                statuses.append("ok")
            t += 0.5
        store.finish_session(sid, "ok" if all(s == "ok" for s in statuses) else "failed")
    finally:
        store.close()
    return sid
