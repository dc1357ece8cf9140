"""The summary model: the figures every surface shows, from a stored session finished or live."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from profiler.report import build_report
from profiler.report.summary import format_figure, ratio_text, summarize, summary_of
from profiler.store import Store

WINDOW = 10  # steps per window


def record(
    path: Path,
    *,
    seconds: list[float],
    other_cpu: float = 0.0,
    throttle: float = math.nan,
    ended: bool = True,
) -> int:
    """A one-run session (torch) through the real Store: measure windows of ``seconds``, samples
    at 10 Hz whose machine CPU shows ``other_cpu`` % for other processes and GPU throttle mask
    ``throttle``; ``ended`` False leaves the run running (a live session read mid-run)."""
    store = Store(path)
    try:
        sid = store.create_session("s", {"frameworks": ["torch"]}, None, {})
        run_id = store.create_run(sid, 0, "torch", 0)
        store.update_run(run_id, status="running", started_t=1.0)
        t = 1.5
        store.add_event(run_id, t, "phase", {"name": "measure", "state": "start"})
        step = 0
        for s in seconds:
            t += s
            step += WINDOW
            payload = {"phase": "measure", "step": step, "steps": WINDOW, "seconds": s}
            store.add_event(run_id, t, "window", {**payload, "samples": WINDOW * 4})
        for i in range(round((t - 1.0) * 10) + 1):
            tree = 90.0
            values = {
                "t": 1.0 + i / 10,
                "cpu_percent": tree,
                "rss_mib": 300.0,
                "threads": 4,
                "gpu_throttle_reasons": throttle,
            }
            store.add_sample(run_id, values, [(tree + other_cpu) / 2] * 2)
        if ended:
            store.add_event(run_id, t, "phase", {"name": "measure", "state": "end"})
            store.update_run(run_id, status="ok", ended_t=t, info={"warnings": []})
    finally:
        store.close()
    return sid


def load(path: Path, sid: int) -> object:
    store = Store(path)
    try:
        return store.load(sid)
    finally:
        store.close()


def test_steps_per_s_is_the_median_window_everywhere(tmp_path: Path) -> None:
    """Uneven windows: the median window's speed differs from total steps over total seconds;
    the run, the framework and the JSON-bound RunSummary all give the median."""
    seconds = [0.05, 0.05, 0.05, 0.2, 0.3, 0.05, 0.06, 0.05, 0.05, 0.05, 0.05, 0.05]
    path = tmp_path / "s.sqlite3"
    stored = load(path, record(path, seconds=seconds))
    report = build_report(stored)  # type: ignore[arg-type]
    summary = summary_of(report)
    median = float(np.median(WINDOW / np.array(seconds)))
    pooled = WINDOW * len(seconds) / sum(seconds)
    assert format_figure(median) != format_figure(pooled)
    run = summary.runs[0]
    assert report.runs[0].steps_per_s == pytest.approx(median)
    assert run.value("steps_per_s") == pytest.approx(median)
    assert summary.value("torch", "steps_per_s") == pytest.approx(median)
    assert run.value("samples_per_s") == pytest.approx(4 * median)


def test_a_live_run_shows_the_busy_machine_and_throttling_as_they_happen(tmp_path: Path) -> None:
    """Mid-run, before the session words its end-of-run warnings, the summary already says the
    machine is busy and the GPU throttled, in the words the report will use."""
    path = tmp_path / "s.sqlite3"
    sid = record(path, seconds=[0.05] * 12, other_cpu=140.0, throttle=0x40 | 0x1, ended=False)
    summary = summarize(load(path, sid))  # type: ignore[arg-type]
    run = summary.runs[0]
    assert run.status == "running"
    assert any(w.startswith("other processes used 140% CPU") for w in run.warnings)
    assert "the GPU was throttled: hardware thermal slowdown" in run.warnings
    assert {"busy machine", "GPU throttled"} <= set(run.tags)
    assert run.busy

    quiet = summarize(load(path, record(path, seconds=[0.05] * 12, ended=False)))  # type: ignore[arg-type]
    assert quiet.runs[0].warnings == () and quiet.runs[0].tags == ()


def test_ratio_text_keeps_about_three_digits() -> None:
    assert ratio_text(1.3149, (1.271, 1.352)) == "1.31× [1.27–1.35]"
    assert ratio_text(12.85, (12.29, 13.44)) == "12.8× [12.3–13.4]"
    assert ratio_text(160.0, None) == "160×"


def _three_runs_a_side(path: Path, repeats: str | int) -> int:
    """Three runs of torch and three of tensorflow (TensorFlow ~1.2x slower, each run shifted
    by a few percent), through the real Store, with ``run.repeats`` as the config had it."""
    rng = np.random.default_rng(3)
    store = Store(path)
    try:
        config = {"frameworks": ["torch", "tensorflow"], "run": {"repeats": repeats}}
        sid = store.create_session("s", config, None, {})
        seq = 0
        for repeat in range(3):
            for framework, base in (("torch", 0.010), ("tensorflow", 0.012)):
                run_id = store.create_run(sid, seq, framework, repeat)
                seq += 1
                store.update_run(run_id, status="running", started_t=1.0)
                shift = math.exp(rng.normal(0.0, 0.03))
                t, step = 1.5, 0
                store.add_event(run_id, t, "phase", {"name": "measure", "state": "start"})
                for s in base * shift * np.exp(rng.normal(0.0, 0.05, 100)):
                    t += float(s)
                    step += WINDOW
                    payload = {"phase": "measure", "step": step, "steps": WINDOW}
                    store.add_event(run_id, t, "window", {**payload, "seconds": float(s)})
                store.add_event(run_id, t, "phase", {"name": "measure", "state": "end"})
                store.update_run(run_id, status="ok", ended_t=t, info={"warnings": []})
    finally:
        store.close()
    return sid


@pytest.mark.parametrize(("repeats", "level"), [("auto", 0.97), (3, 0.95)])
def test_an_auto_session_computes_every_interval_at_the_auto_level(
    tmp_path: Path, repeats: str | int, level: float
) -> None:
    from profiler.repeats import verdict_confidence
    from profiler.report.events import measured
    from profiler.stats import compare_runs

    path = tmp_path / "s.sqlite3"
    sid = _three_runs_a_side(path, repeats)
    with Store(path) as store:
        stored = store.load(sid)
    report = build_report(stored)
    assert report.confidence == level == verdict_confidence("auto" if repeats == "auto" else None)
    times = {
        fw: [measured(r).step_times_ms() for r in stored.runs if r.framework == fw]
        for fw in ("torch", "tensorflow")
    }
    expected = compare_runs(times["torch"], times["tensorflow"], confidence=level)
    step = next(c for c in report.comparisons if c.metric == "step_time_ms")
    assert step.ci95 == pytest.approx((expected.low, expected.high), rel=1e-12)
    assert ("97% level" in step.method) is (repeats == "auto")
    # the summary every surface reads shows the same interval as the report
    cell = summary_of(report).ratio("step_time_ms", "torch", "tensorflow")
    assert cell.text == ratio_text(step.ratio, step.ci95)
