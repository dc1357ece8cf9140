"""Figures derived from what a run reported: the startup breakdown, energy and efficiency, MFU.

Pure functions of a StoredRun (and its measured windows). A figure that cannot be derived is None:
energy needs sampled GPU power, MFU needs the model's FLOPs per step and the device's peak FLOP/s
(both from the child's ``model`` event: only the child knows its device and precision).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from profiler.events import FirstStep
from profiler.report.events import Measured, launch_time, phase_bounds
from profiler.stats import ArrayLike, FloatArray
from profiler.store import StoredRun

# The parts of the time to the first step, in order: the interpreter starting (launch to the
# import phase), importing the framework, setting up threads and the device, building model and
# optimizer, an explicit compile phase, the first step itself (where tracing and JIT compilation
# happen in frameworks that compile lazily), and whatever else lay between.
STARTUP_SEGMENTS: tuple[str, ...] = (
    "interpreter",
    "import",
    "setup",
    "build",
    "compile",
    "first_step",
    "other",
)


def _inside(
    t: FloatArray, y: FloatArray, start: float, end: float
) -> tuple[FloatArray, FloatArray]:
    keep = np.isfinite(t) & np.isfinite(y) & (t >= start) & (t <= end)
    return t[keep], y[keep]


def integrate_power_j(t_s: ArrayLike, power_w: ArrayLike, start_s: float, end_s: float) -> float:
    """Energy (J) from power samples between ``start_s`` and ``end_s`` by the trapezoid rule.

    Samples with a missing time or power are skipped (the gap is bridged); NaN with fewer than
    two usable samples. The interval is the samples' span, not [start, end].
    """
    t, p = _inside(np.asarray(t_s, float), np.asarray(power_w, float), start_s, end_s)
    if t.size < 2:
        return math.nan
    return float(np.sum((p[1:] + p[:-1]) * np.diff(t)) / 2.0)


def counter_energy_j(t_s: ArrayLike, energy_j: ArrayLike, start_s: float, end_s: float) -> float:
    """Energy (J) used between ``start_s`` and ``end_s`` from a cumulative energy counter.

    The difference of the last and first counter readings inside the interval; NaN with fewer
    than two readings or when the counter went backwards (reset, wrapped).
    """
    t, e = _inside(np.asarray(t_s, float), np.asarray(energy_j, float), start_s, end_s)
    if t.size < 2:
        return math.nan
    used = float(e[-1] - e[0])
    return used if used >= 0 and bool(np.all(np.diff(e) >= 0)) else math.nan


def startup_breakdown(run: StoredRun) -> dict[str, float | None]:
    """Seconds of each STARTUP_SEGMENTS part of the time to the first step (None when unknown).

    ``other`` is the time to the first step less every known part (never below 0).
    """
    out: dict[str, float | None] = dict.fromkeys(STARTUP_SEGMENTS)
    launch = launch_time(run)
    bounds = phase_bounds(run)
    first = run.views(FirstStep)

    def span(name: str) -> float | None:
        start, end = bounds.get(name, (math.nan, None))
        return None if end is None else max(0.0, end - start)

    imp, build = bounds.get("import"), bounds.get("build")
    if launch is not None and imp is not None:
        out["interpreter"] = max(0.0, imp[0] - launch)
    out["import"], out["build"], out["compile"] = span("import"), span("build"), span("compile")
    if imp is not None and imp[1] is not None and build is not None:
        out["setup"] = max(0.0, build[0] - imp[1])
    compile_bounds = bounds.get("compile")
    in_compile = (
        first
        and compile_bounds is not None
        and compile_bounds[0] <= first[0][0]
        and (compile_bounds[1] is None or first[0][0] <= compile_bounds[1])
    )
    if first and not in_compile:  # a first step inside an explicit compile phase is its part
        out["first_step"] = first[0][1].seconds
    if first and launch is not None:
        known = sum(v for k, v in out.items() if v is not None and k != "other")
        out["other"] = max(0.0, first[0][0] - launch - known)
    return out


@dataclass(frozen=True)
class Efficiency:
    """GPU energy over the measured (steady) windows and what it bought.

    ``energy_source`` says how energy was found: ``counter`` (the GPU's energy counter) or
    ``integrated`` (sampled power, trapezoid rule). GPU board power only: the CPU's is not in it.
    """

    energy_j: float | None
    energy_source: str | None
    mean_power_w: float | None
    energy_per_1k_samples_j: float | None
    samples_per_s_per_w: float | None


NO_EFFICIENCY = Efficiency(None, None, None, None, None)


def efficiency(run: StoredRun, windows: Measured) -> Efficiency:
    """Energy, mean power, energy per 1,000 samples and samples/s per watt of the used windows."""
    span = windows.span()
    # energy is measured over time: count the samples of every window in that time
    samples = [e.window.samples for e in windows.span_windows()]
    if span is None or any(s is None for s in samples) or not samples:
        return NO_EFFICIENCY
    t = run.samples.get("t", np.empty(0))
    start, end = span
    energy, source = (
        counter_energy_j(t, run.samples.get("gpu_energy_j", np.full(t.shape, np.nan)), start, end),
        "counter",
    )
    if not math.isfinite(energy):
        power = run.samples.get("gpu_power_w", np.full(t.shape, np.nan))
        energy, source = integrate_power_j(t, power, start, end), "integrated"
    if not math.isfinite(energy) or energy <= 0 or end <= start:
        return NO_EFFICIENCY
    total = sum(s for s in samples if s is not None)
    watts = energy / (end - start)
    return Efficiency(
        energy_j=energy,
        energy_source=source,
        mean_power_w=watts,
        energy_per_1k_samples_j=energy / total * 1000.0 if total else None,
        samples_per_s_per_w=total / energy if total else None,
    )


def model_flops_utilization(
    flops_per_step: float | None, steps_per_s: float | None, peak_flops: float | None
) -> float | None:
    """Achieved FLOP/s over the device's peak (0..1); None when any input is unknown."""
    if flops_per_step is None or steps_per_s is None or not peak_flops:
        return None
    return flops_per_step * steps_per_s / peak_flops
