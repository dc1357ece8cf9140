"""Measurement-quality warnings from a run's samples."""

from __future__ import annotations

from profiler.quality import QualityTracker
from profiler.sampler import Sample


def _sample(**kw: object) -> Sample:
    base: dict[str, object] = {"t": 0.0, "cpu_percent": 100.0, "rss_mib": 1.0, "threads": 1}
    return Sample(**{**base, **kw})  # type: ignore[arg-type]


def test_quiet_cpu_run_has_no_warnings() -> None:
    q = QualityTracker(10)
    for _ in range(5):
        q.add(_sample(cpu_per_core=(60.0, 45.0)))
    assert q.warnings() == []


def test_busy_machine_is_named() -> None:
    q = QualityTracker(10)
    q.add(_sample(cpu_per_core=(100.0, 80.0)))
    (w,) = q.warnings()
    assert w.startswith("other processes used 80% CPU")


def test_gpu_problems_are_named() -> None:
    q = QualityTracker(2)
    q.add(_sample(gpu_power_w=300.0, gpu_throttle_reasons=float(0x1 | 0x40), gpu_other_pids=(77,)))
    text = " | ".join(q.warnings())
    assert "pids 77" in text
    assert "hardware thermal slowdown" in text and "idle" not in text
    assert "no energy counter" in text
    assert "too coarse" in text
