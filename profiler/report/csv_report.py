"""The raw series as CSV in long format: one row per (run, series, time) for any plotting tool.

Columns: run_id, framework, repeat, series, t, value, phase, step, used. ``t`` is seconds since
the run's child was launched (so runs overlay); window series (samples_per_s, step_time_ms, loss,
other_cpu_percent: other processes' CPU during the window, window_used: 1 for the windows the
statistics use, 0 for those left out) are stamped at each window's end, sampled series
(cpu_percent, rss_mib, gpu_*) at each sample. ``phase`` is the window's phase (for a sample: the
phase running at its time); ``step`` is the training step a window ended at; ``used`` is 1 for a
window the report's statistics use, 0 for one they leave out (warmup, settling, disturbed), empty
for samples. So a pivot of the rows with ``used`` = 1 reproduces the report's figures. A missing
value is an empty cell; a series with no value at all in a run (GPU metrics without a GPU) is
left out. A traced session ends with each traced run's breakdown, phase ``trace`` and no time:
``trace_step_ms``, ``trace_ms_per_step:<category>`` and ``trace_launches_per_step:<category>``
(``used`` 1 for the run the report's breakdown shows).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from profiler.report.breakdown_page import csv_rows as breakdown_rows
from profiler.report.model import Report
from profiler.report.runs import RunSeries

CSV_COLUMNS: tuple[str, ...] = (
    "run_id",
    "framework",
    "repeat",
    "series",
    "t",
    "value",
    "phase",
    "step",
    "used",
)
Row = tuple[int, str, int, str, str, str, str, str, str]


def _cell(value: float) -> str:
    return repr(float(value)) if math.isfinite(value) else ""


def _phase_at(series: RunSeries, t: float) -> str:
    for phase in series.phases:
        if phase.start_s <= t <= phase.end_s:
            return phase.name
    return ""


def csv_rows(report: Report) -> Iterator[Row]:
    """The CSV's data rows, in run order, then series order, then time."""
    for series in report.series:
        head = (series.run_id, series.framework, series.repeat)
        steps = series.window_step
        for name, values in series.window_series().items():
            if not np.isfinite(values).any():
                continue
            for i, (t, value) in enumerate(zip(series.window_t_s, values, strict=True)):
                step = steps[i] if i < steps.size else math.nan
                yield (
                    *head,
                    name,
                    _cell(t),
                    _cell(value),
                    series.window_phase[i],
                    str(int(step)) if math.isfinite(step) else "",
                    "1" if series.window_used[i] else "0",
                )
        phases = [_phase_at(series, float(t)) for t in series.sample_t_s]
        for name, values in series.sample_series().items():
            if not np.isfinite(values).any():
                continue
            for t, value, phase in zip(series.sample_t_s, values, phases, strict=True):
                yield (*head, name, _cell(t), _cell(value), phase, "", "")
    yield from breakdown_rows(report)


def write_csv(report: Report, path: str | Path) -> Path:
    """Write the long-format CSV (UTF-8, header row first); returns the path."""
    target = Path(path)
    with target.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(csv_rows(report))
    return target
