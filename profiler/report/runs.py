"""What one run reported, summarised: headline numbers (RunSummary) and time series (RunSeries).

Pure functions of a StoredRun. Event times in the store are seconds since the session started;
series are re-based to seconds since the run's child was launched so runs overlay in plots.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from profiler.stats import describe, finite
from profiler.store import StoredEvent, StoredRun

PHASES: tuple[str, ...] = ("import", "build", "compile", "warmup", "measure")
_MIB = 2.0**20

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class StepTime:
    """Per-step time over the measure windows (each window's seconds / steps), in ms."""

    median: float | None
    p95: float | None
    mean: float | None
    std: float | None
    n: int


@dataclass(frozen=True)
class RunSummary:
    """One run's headline numbers; None where the run did not report a value."""

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
    rss_peak_mib: float | None
    cpu_percent_mean: float | None
    gpu_util_percent_mean: float | None
    gpu_mem_peak_mib: float | None
    gpu_power_w_mean: float | None
    allocator_peak_mib: float | None
    loss_first: float | None
    loss_last: float | None
    settings: dict[str, Any] | None


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
    ``sample_t_s``. Missing values are NaN.
    """

    run_id: int
    framework: str
    repeat: int
    launch_t: float
    window_t_s: FloatArray
    window_phase: tuple[str, ...]
    samples_per_s: FloatArray
    step_time_ms: FloatArray
    loss: FloatArray
    sample_t_s: FloatArray
    cpu_percent: FloatArray
    rss_mib: FloatArray
    gpu_util_percent: FloatArray
    gpu_mem_mib: FloatArray
    gpu_power_w: FloatArray
    phases: tuple[PhaseInterval, ...]

    def window_series(self) -> dict[str, FloatArray]:
        """The per-window series by name."""
        return {
            "samples_per_s": self.samples_per_s,
            "step_time_ms": self.step_time_ms,
            "loss": self.loss,
        }

    def sample_series(self) -> dict[str, FloatArray]:
        """The sampled series by name."""
        return {
            "cpu_percent": self.cpu_percent,
            "rss_mib": self.rss_mib,
            "gpu_util_percent": self.gpu_util_percent,
            "gpu_mem_mib": self.gpu_mem_mib,
            "gpu_power_w": self.gpu_power_w,
        }


# -- one run ------------------------------------------------------------------------------------


def _num(value: Any) -> float | None:
    """A finite float, or None for anything else (missing, null, NaN, text)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _opt(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _first_payload(run: StoredRun, kind: str) -> dict[str, Any]:
    events = run.events_of(kind)
    return events[0].payload if events else {}


def launch_time(run: StoredRun) -> float | None:
    """When the run's child was spawned (seconds since session start), None when unknown."""
    launch = _num(run.info.get("launch_t"))
    return launch if launch is not None else run.started_t


def phase_bounds(run: StoredRun) -> dict[str, tuple[float, float | None]]:
    """Each phase's first start and the end after it, in session seconds (end None if open)."""
    bounds: dict[str, tuple[float, float | None]] = {}
    for event in run.events_of("phase"):
        name, state = event.payload.get("name"), event.payload.get("state")
        if not isinstance(name, str):
            continue
        if state == "start" and name not in bounds:
            bounds[name] = (event.t, None)
        elif state == "end" and name in bounds and bounds[name][1] is None:
            bounds[name] = (bounds[name][0], event.t)
    return bounds


def _windows(run: StoredRun, phase: str | None = None) -> list[StoredEvent]:
    """Window events with positive steps and seconds (of one phase, or all)."""
    out = []
    for e in run.events_of("window"):
        steps, seconds = _num(e.payload.get("steps")), _num(e.payload.get("seconds"))
        if steps is None or seconds is None or steps <= 0 or seconds <= 0:
            continue
        if phase is None or e.payload.get("phase") == phase:
            out.append(e)
    return out


def window_step_times_ms(run: StoredRun) -> FloatArray:
    """Per-step time of each measure window (seconds / steps * 1000)."""
    return np.array(
        [e.payload["seconds"] / e.payload["steps"] * 1000.0 for e in _windows(run, "measure")],
        dtype=float,
    )


def _measure_mask(run: StoredRun) -> npt.NDArray[np.bool_]:
    """Samples inside the measure phase; every sample when there is no (sampled) measure phase."""
    t = run.samples.get("t", np.empty(0))
    start, end = phase_bounds(run).get("measure", (math.nan, None))
    if end is None:
        end = run.ended_t if run.ended_t is not None else math.inf
    inside = (t >= start) & (t <= end)
    return inside if inside.any() else np.ones(t.shape, dtype=bool)


def _sample_stat(run: StoredRun, column: str, how: str) -> float | None:
    values = run.samples.get(column, np.empty(0))
    if how == "mean":
        values = values[_measure_mask(run)]
    arr = finite(values)
    if arr.size == 0:
        return None
    return float(arr.max()) if how == "max" else float(arr.mean())


def summarize_run(run: StoredRun) -> RunSummary:
    """The headline numbers of one run."""
    hello, model = _first_payload(run, "hello"), _first_payload(run, "model")
    env_events = run.events_of("env")
    measure = _windows(run, "measure")
    steps = sum(e.payload["steps"] for e in measure)
    seconds = sum(e.payload["seconds"] for e in measure)
    samples = [_num(e.payload.get("samples")) for e in measure]
    step_times = describe(window_step_times_ms(run))
    launch = launch_time(run)
    first_steps = run.events_of("first_step")
    bounds = phase_bounds(run)
    peaks = [_num(e.payload.get("allocator_peak_bytes")) for e in run.events_of("memory")]
    peak_values = [p for p in peaks if p is not None]
    all_windows = _windows(run)
    parity = _num(model.get("parity_loss"))
    first_loss = parity
    if first_loss is None and first_steps:
        first_loss = _num(first_steps[0].payload.get("loss"))
    if first_loss is None and all_windows:
        first_loss = _num(all_windows[0].payload.get("loss"))
    params = model.get("params")
    return RunSummary(
        run_id=run.id,
        seq=run.seq,
        repeat=run.repeat,
        framework=run.framework,
        framework_version=_str(hello.get("framework_version")),
        status=run.status,
        error=run.error,
        device=_str(hello.get("device")),
        params=params if isinstance(params, int) and not isinstance(params, bool) else None,
        parity_loss=parity,
        flops_per_step=_num(model.get("flops_per_step")),
        steps_per_s=steps / seconds if measure else None,
        samples_per_s=(
            sum(s for s in samples if s is not None) / seconds
            if measure and all(s is not None for s in samples)
            else None
        ),
        step_time_ms=StepTime(
            _opt(step_times.median),
            _opt(step_times.p95),
            _opt(step_times.mean),
            _opt(step_times.std),
            step_times.n,
        ),
        first_step_s=(first_steps[0].t - launch if first_steps and launch is not None else None),
        phases_s={name: _duration(bounds.get(name)) for name in PHASES},
        rss_peak_mib=_sample_stat(run, "rss_mib", "max"),
        cpu_percent_mean=_sample_stat(run, "cpu_percent", "mean"),
        gpu_util_percent_mean=_sample_stat(run, "gpu_util_percent", "mean"),
        gpu_mem_peak_mib=_sample_stat(run, "gpu_mem_mib", "max"),
        gpu_power_w_mean=_sample_stat(run, "gpu_power_w", "mean"),
        allocator_peak_mib=max(peak_values) / _MIB if peak_values else None,
        loss_first=first_loss,
        loss_last=_num(all_windows[-1].payload.get("loss")) if all_windows else None,
        settings=dict(env_events[-1].payload.get("settings") or {}) if env_events else None,
    )


def _duration(bounds: tuple[float, float | None] | None) -> float | None:
    return None if bounds is None or bounds[1] is None else bounds[1] - bounds[0]


def _nan_if_none(value: float | None) -> float:
    return math.nan if value is None else value


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def run_series(run: StoredRun) -> RunSeries:
    """The run's window and sample series, in seconds since its launch."""
    launch = launch_time(run)
    origin = launch if launch is not None else 0.0
    windows = _windows(run)

    def window_values(key: str) -> FloatArray:
        return np.array([_nan_if_none(_num(e.payload.get(key))) for e in windows], dtype=float)

    w_t = np.array([e.t for e in windows], dtype=float) - origin
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
        return np.asarray(run.samples.get(name, np.empty(0)), dtype=float)

    return RunSeries(
        run_id=run.id,
        framework=run.framework,
        repeat=run.repeat,
        launch_t=origin,
        window_t_s=w_t,
        window_phase=tuple(str(e.payload.get("phase", "")) for e in windows),
        samples_per_s=window_values("samples") / w_seconds,
        step_time_ms=w_seconds / w_steps * 1000.0,
        loss=window_values("loss"),
        sample_t_s=column("t") - origin,
        cpu_percent=column("cpu_percent"),
        rss_mib=column("rss_mib"),
        gpu_util_percent=column("gpu_util_percent"),
        gpu_mem_mib=column("gpu_mem_mib"),
        gpu_power_w=column("gpu_power_w"),
        phases=phases,
    )
