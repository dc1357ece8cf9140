"""The summary's numbers, computed from a run's data as it stands (live or stored).

Pure functions over ``RunData``: medians over the measured windows, means and peaks over the
samples taken while measuring (all samples when the run has not reached its measure phase yet).
The PDF report has its own, more careful statistics; these are what the window shows live.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from gui.models.catalog import METRICS, MetricSpec
from gui.models.rundata import MEASURE_CODE, RunData, SessionData


def _finite(values: np.ndarray) -> np.ndarray:
    finite: np.ndarray = values[np.isfinite(values)]
    return finite


def _median(values: np.ndarray) -> float:
    v = _finite(values)
    return float(np.median(v)) if len(v) else math.nan


def _mean(values: np.ndarray) -> float:
    v = _finite(values)
    return float(np.mean(v)) if len(v) else math.nan


def _peak(values: np.ndarray) -> float:
    v = _finite(values)
    return float(np.max(v)) if len(v) else math.nan


def run_metrics(run: RunData) -> dict[str, float]:
    """Every METRICS value of one run; NaN for what is not known (yet)."""
    w = run.windows
    measured = w.col("phase") == MEASURE_CODE
    step_ms = w.col("step_time_ms")[measured]
    losses = _finite(w.col("loss"))
    s = run.samples
    start = run.measure_start()
    in_measure = s.col("t") >= start if not math.isnan(start) else np.ones(s.count, dtype=bool)
    finite_ms = _finite(step_ms)
    import_start = run.phase_start("import")
    return {
        "samples_per_s": _median(w.col("samples_per_s")[measured]),
        "step_time_ms": _median(step_ms),
        "step_time_p95_ms": float(np.percentile(finite_ms, 95)) if len(finite_ms) else math.nan,
        "final_loss": float(losses[-1]) if len(losses) else math.nan,
        "startup_s": start - import_start,
        "cpu_percent": _mean(s.col("cpu_percent")[in_measure]),
        "rss_peak_mib": _peak(s.col("rss_mib")),
        "gpu_util_percent": _mean(s.col("gpu_util_percent")[in_measure]),
        "gpu_mem_peak_mib": _peak(s.col("gpu_mem_mib")),
        "gpu_power_w": _mean(s.col("gpu_power_w")[in_measure]),
    }


def framework_metrics(session: SessionData) -> dict[str, dict[str, float]]:
    """Per framework (in run order), the median over its runs of each metric."""
    per_fw: dict[str, list[dict[str, float]]] = {}
    for run in session.runs.values():
        per_fw.setdefault(run.framework, []).append(run_metrics(run))
    return {fw: _combine(values) for fw, values in per_fw.items()}


def _combine(values: Iterable[dict[str, float]]) -> dict[str, float]:
    rows = list(values)
    out: dict[str, float] = {}
    for spec in METRICS:
        column = np.array([r[spec.key] for r in rows], dtype=float)
        out[spec.key] = _median(column)
    return out


def ratio(value: float, baseline: float) -> float:
    """``value / baseline``; NaN when either is unknown or the baseline is zero."""
    if math.isnan(value) or math.isnan(baseline) or baseline == 0:
        return math.nan
    return value / baseline


def format_value(spec: MetricSpec, value: float, unit: bool = True) -> str:
    """A metric's value (with its unit unless ``unit`` is False), or an em dash when unknown."""
    if math.isnan(value):
        return "—"
    text = f"{value:,.{spec.digits}f}"
    return f"{text} {spec.unit}" if spec.unit and unit else text


def format_ratio(spec: MetricSpec, value: float) -> str:
    """A ratio to the baseline, e.g. ``1.42×`` (an em dash when unknown)."""
    if math.isnan(value):
        return "—"
    return f"{value:.2f}×"


def ratio_verdict(spec: MetricSpec, value: float) -> str:
    """``better``, ``worse`` or ``""`` for a ratio to the baseline (within 2% is neither)."""
    if math.isnan(value) or not spec.better or abs(value - 1.0) < 0.02:
        return ""
    higher = value > 1.0
    return "better" if higher == (spec.better == "higher") else "worse"


def format_duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``1 h 02 min``; empty when unknown."""
    if math.isnan(seconds):
        return ""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"
