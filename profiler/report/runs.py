"""What one run reported, summarised: headline numbers (RunSummary) and time series (RunSeries).

Pure functions of a StoredRun. Event times in the store are seconds since the session started;
series are re-based to seconds since the run's child was launched so runs overlay in plots.
Speed figures come from the measure windows of the steady state (see ``events.measured``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from profiler.events import (
    PHASES,
    SAMPLE_SERIES,
    EnvInfo,
    FirstStep,
    Hello,
    MemoryInfo,
    ModelInfo,
)
from profiler.report.derived import (
    efficiency,
    model_flops_utilization,
    startup_breakdown,
)
from profiler.report.events import (
    FloatArray,
    Measured,
    first_view,
    launch_time,
    measured,
    other_cpu_percent,
    phase_bounds,
    run_warnings,
    text,
    window_step_times_ms,
    windows,
)
from profiler.report.events import (
    column as event_column,
)
from profiler.stats import describe, finite, finite_or_none
from profiler.store import StoredEvent, StoredRun

__all__ = [
    "PHASES",
    "Drift",
    "FloatArray",
    "PhaseInterval",
    "RunSeries",
    "RunSummary",
    "StepTime",
    "launch_time",
    "phase_bounds",
    "run_series",
    "summarize_run",
    "window_step_times_ms",
]

_MIB = 2.0**20


@dataclass(frozen=True)
class StepTime:
    """Per-step time over the used measure windows (each window's seconds / steps), in ms."""

    median: float | None
    p5: float | None
    p95: float | None
    mean: float | None
    std: float | None
    n: int


@dataclass(frozen=True)
class Drift:
    """The steady-state check of a run's measure windows (see ``profiler.stats.steady_state``),
    and how many windows the run's figures use.

    Of ``windows_total`` measure windows, ``windows_disturbed`` ran while other processes took
    CPU (see ``events.DISTURBED_CPU_PERCENT``); they are left out when ``disturbed_left_out``
    (a minority). Of the rest, ``windows_excluded`` leading windows were left out as still
    settling; ``windows_used`` remain. ``large_cut``: the settling cut left out more than
    ``events.MAX_QUIET_SHARE`` of the windows (the run is then not called steady).
    ``other_cpu_percent_median``: other processes' CPU (percent of one core) in the median
    measure window, None when the samples do not tell. ``tau``, ``p_value`` and ``change``
    (median of the last third over the first, minus one) describe the trend of the windows
    kept; None when there were too few windows to test.
    """

    windows_total: int
    windows_excluded: int
    tau: float | None
    p_value: float | None
    change: float | None
    windows_used: int = 0
    windows_disturbed: int = 0
    disturbed_left_out: bool = False
    large_cut: bool = False
    other_cpu_percent_median: float | None = None


@dataclass(frozen=True)
class RunSummary:
    """One run's headline numbers; None where the run did not report a value.

    ``steady_state`` is True when the measured step times do not drift (after leaving out
    ``drift.windows_excluded`` settling windows, at most ``events.MAX_QUIET_SHARE`` of them),
    False when they drift throughout or only settled after a larger cut, None when there were
    too few windows to tell.
    """

    run_id: int
    seq: int
    repeat: int
    framework: str
    framework_version: str | None
    status: str
    error: str | None
    device: str | None
    params: int | None
    parity_loss: float | None
    flops_per_step: float | None
    steps_per_s: float | None
    samples_per_s: float | None
    step_time_ms: StepTime
    first_step_s: float | None
    phases_s: dict[str, float | None]
    startup_s: dict[str, float | None]
    rss_peak_mib: float | None
    cpu_percent_mean: float | None
    gpu_util_percent_mean: float | None
    gpu_mem_peak_mib: float | None
    gpu_power_w_mean: float | None
    gpu_temp_c_max: float | None
    allocator_peak_mib: float | None
    energy_j: float | None
    energy_source: str | None
    energy_per_1k_samples_j: float | None
    samples_per_s_per_w: float | None
    achieved_tflops: float | None
    peak_tflops: float | None
    mfu: float | None
    loss_first: float | None
    loss_last: float | None
    steady_state: bool | None
    drift: Drift
    warnings: tuple[str, ...]
    settings: dict[str, Any] | None
    # page faults the child took per step over the used windows (getrusage, all its threads)
    minor_faults_per_step: float | None = None
    major_faults_per_step: float | None = None


@dataclass(frozen=True)
class PhaseInterval:
    """A phase of a run, in seconds since the run's child was launched."""

    name: str
    start_s: float
    end_s: float


@dataclass(frozen=True, eq=False)
class RunSeries:
    """Time series of one run for plots and CSV; times in seconds since the run's launch.

    Window series are indexed by ``window_t_s`` (each window's end), sample series by
    ``sample_t_s``. ``window_used`` marks the measure windows statistics are computed over (not
    those still settling, nor disturbed ones left out); ``window_other_cpu_percent`` is other
    processes' CPU during each window. Missing values are NaN.
    """

    run_id: int
    framework: str
    repeat: int
    launch_t: float
    window_t_s: FloatArray
    window_phase: tuple[str, ...]
    window_used: npt.NDArray[np.bool_]
    samples_per_s: FloatArray
    step_time_ms: FloatArray
    loss: FloatArray
    sample_t_s: FloatArray
    samples: dict[str, FloatArray]
    phases: tuple[PhaseInterval, ...]
    # The training step each window ended at (NaN where a window did not say).
    window_step: FloatArray = field(default_factory=lambda: np.empty(0))
    # other processes' CPU (percent of one core) during each window; NaN where unknown
    window_other_cpu_percent: FloatArray = field(default_factory=lambda: np.empty(0))

    def window_series(self) -> dict[str, FloatArray]:
        """The per-window series by name (``window_used`` as 1/0, the windows statistics use)."""
        return {
            "samples_per_s": self.samples_per_s,
            "step_time_ms": self.step_time_ms,
            "loss": self.loss,
            "other_cpu_percent": self.window_other_cpu_percent,
            "window_used": self.window_used.astype(float),
        }

    def sample_series(self) -> dict[str, FloatArray]:
        """The sampled series by name (SAMPLE_SERIES order)."""
        return dict(self.samples)


# -- one run ------------------------------------------------------------------------------------


def _measure_mask(run: StoredRun) -> npt.NDArray[np.bool_]:
    """Samples inside the measure phase; every sample when there is no (sampled) measure phase."""
    t = run.samples.get("t", np.empty(0))
    start, end = phase_bounds(run).get("measure", (math.nan, None))
    if end is None:
        end = run.ended_t if run.ended_t is not None else math.inf
    inside = (t >= start) & (t <= end)
    return inside if inside.any() else np.ones(t.shape, dtype=bool)


def _sample_stat(
    run: StoredRun, column: str, how: str, mask: npt.NDArray[np.bool_]
) -> float | None:
    values = run.samples.get(column, np.empty(0))
    if how == "mean":
        values = values[mask]
    arr = finite(values)
    if arr.size == 0:
        return None
    return float(arr.max()) if how == "max" else float(arr.mean())


def _drift(windows_: Measured) -> Drift:
    whole = windows_.steady.whole
    other = finite(windows_.other_cpu_percent)
    return Drift(
        windows_total=len(windows_.windows),
        windows_excluded=windows_.excluded,
        tau=finite_or_none(whole.tau),
        p_value=finite_or_none(whole.p_value),
        change=finite_or_none(whole.change),
        windows_used=len(windows_.used),
        windows_disturbed=windows_.n_disturbed,
        disturbed_left_out=windows_.disturbed_left_out,
        large_cut=windows_.large_cut,
        other_cpu_percent_median=float(np.median(other)) if other.size else None,
    )


def summarize_run(run: StoredRun, windows_: Measured | None = None) -> RunSummary:
    """The headline numbers of one run (``windows_``: its measured windows, when known)."""
    hello = first_view(run, Hello)
    model = first_view(run, ModelInfo) or ModelInfo()
    env_events = run.views(EnvInfo)
    used = windows_ if windows_ is not None else measured(run)
    samples = [e.window.samples for e in used.used]
    step_times = describe(used.step_times_ms())
    launch = launch_time(run)
    first_steps = run.views(FirstStep)
    bounds = phase_bounds(run)
    peaks = [m.allocator_peak_bytes for _, m in run.views(MemoryInfo)]
    peak_values = [p for p in peaks if p is not None]
    all_windows = list(used.every) if windows_ is not None else windows(run)
    parity = model.parity_loss
    first_loss = parity
    if first_loss is None and first_steps:
        first_loss = first_steps[0][1].loss
    if first_loss is None and all_windows:
        first_loss = all_windows[0].window.loss
    settings = dict(env_events[-1][1].settings) if env_events else None
    # steps/s and samples/s are the median window, as every surface shows them (the pooled
    # rate, total steps over total seconds, weighs slow windows more and differs from it)
    steps_per_s = (
        finite_or_none(float(np.median(1000.0 / step_ms)))
        if (step_ms := used.step_times_ms()).size
        else None
    )
    flops = model.flops_per_step
    peak = model.peak_flops_per_s
    energy = efficiency(run, used)
    mask = _measure_mask(run)
    return RunSummary(
        run_id=run.id,
        seq=run.seq,
        repeat=run.repeat,
        framework=run.framework,
        framework_version=text(hello.framework_version) if hello else None,
        status=run.status,
        error=run.error,
        device=text(hello.device) if hello else None,
        params=model.params,
        parity_loss=parity,
        flops_per_step=flops,
        steps_per_s=steps_per_s,
        samples_per_s=(
            finite_or_none(
                float(
                    np.median(
                        [
                            s / e.window.seconds
                            for s, e in zip(samples, used.used, strict=True)
                            if s is not None
                        ]
                    )
                )
            )
            if used.used and all(s is not None for s in samples)
            else None
        ),
        step_time_ms=StepTime(
            finite_or_none(step_times.median),
            finite_or_none(step_times.p5),
            finite_or_none(step_times.p95),
            finite_or_none(step_times.mean),
            finite_or_none(step_times.std),
            step_times.n,
        ),
        first_step_s=(first_steps[0][0] - launch if first_steps and launch is not None else None),
        phases_s={name: _duration(bounds.get(name)) for name in PHASES},
        startup_s=startup_breakdown(run),
        rss_peak_mib=_sample_stat(run, "rss_mib", "max", mask),
        cpu_percent_mean=_sample_stat(run, "cpu_percent", "mean", mask),
        gpu_util_percent_mean=_sample_stat(run, "gpu_util_percent", "mean", mask),
        gpu_mem_peak_mib=_sample_stat(run, "gpu_mem_mib", "max", mask),
        gpu_power_w_mean=_sample_stat(run, "gpu_power_w", "mean", mask),
        gpu_temp_c_max=_sample_stat(run, "gpu_temp_c", "max", mask),
        allocator_peak_mib=max(peak_values) / _MIB if peak_values else None,
        energy_j=energy.energy_j,
        energy_source=energy.energy_source,
        energy_per_1k_samples_j=energy.energy_per_1k_samples_j,
        samples_per_s_per_w=energy.samples_per_s_per_w,
        peak_tflops=peak / 1e12 if peak else None,
        achieved_tflops=(
            flops * steps_per_s / 1e12 if flops is not None and steps_per_s is not None else None
        ),
        mfu=model_flops_utilization(flops, steps_per_s, peak),
        loss_first=first_loss,
        loss_last=all_windows[-1].window.loss if all_windows else None,
        steady_state=used.steady_state,
        drift=_drift(used),
        warnings=run_warnings(run),
        settings=settings,
        minor_faults_per_step=_per_step(used.used, "minor_faults"),
        major_faults_per_step=_per_step(used.used, "major_faults"),
    )


def _per_step(used: Sequence[StoredEvent], key: str) -> float | None:
    """A per-window count summed over the used windows, per step; None when not reported."""
    counts: list[int | None] = [getattr(e.window, key) for e in used]
    if not used or any(c is None for c in counts):
        return None
    steps = float(sum(e.window.steps for e in used))
    return float(sum(c for c in counts if c is not None)) / steps


def _duration(bounds: tuple[float, float | None] | None) -> float | None:
    return None if bounds is None or bounds[1] is None else bounds[1] - bounds[0]


def _nan_if_none(value: float | None) -> float:
    return math.nan if value is None else value


def run_series(run: StoredRun, windows_: Measured | None = None) -> RunSeries:
    """The run's window and sample series, in seconds since its launch."""
    launch = launch_time(run)
    origin = launch if launch is not None else 0.0
    measured_ = windows_ if windows_ is not None else measured(run)
    every = list(measured_.every)
    used_ids = {id(e) for e in measured_.used}

    def window_values(key: str) -> FloatArray:
        return event_column(every, key)

    w_t = np.array([e.t for e in every], dtype=float) - origin
    w_steps, w_seconds = window_values("steps"), window_values("seconds")
    end_default = run.ended_t
    if end_default is None:
        times = [e.t for e in run.events] + list(run.samples.get("t", np.empty(0)))
        end_default = max(times) if times else None
    phases = tuple(
        PhaseInterval(name, start - origin, end - origin)
        for name, (start, stop) in sorted(phase_bounds(run).items(), key=lambda kv: kv[1][0])
        if (end := stop if stop is not None else end_default) is not None
    )

    def column(name: str) -> FloatArray:
        values = run.samples.get(name)
        if values is None:  # a store written before the column existed
            return np.full(run.samples.get("t", np.empty(0)).shape, math.nan)
        return np.asarray(values, dtype=float)

    return RunSeries(
        run_id=run.id,
        framework=run.framework,
        repeat=run.repeat,
        launch_t=origin,
        window_t_s=w_t,
        window_phase=tuple(e.window.phase for e in every),
        window_used=np.array([id(e) in used_ids for e in every], dtype=bool),
        samples_per_s=window_values("samples") / w_seconds,
        step_time_ms=w_seconds / w_steps * 1000.0,
        loss=window_values("loss"),
        sample_t_s=column("t") - origin,
        samples={name: column(name) for name in SAMPLE_SERIES},
        phases=phases,
        window_step=window_values("step"),
        window_other_cpu_percent=other_cpu_percent(run, every),
    )
