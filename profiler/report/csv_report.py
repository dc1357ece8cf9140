"""The raw series as CSV in long format: one row per (run, series, time) for any plotting tool.

Columns: run_id, framework, series, t, value. ``t`` is seconds since the run's child was launched
(so runs overlay); window series (samples_per_s, step_time_ms, loss, other_cpu_percent: other
processes' CPU during the window, window_used: 1 for the windows statistics use, 0 for those left
out) are stamped at each window's end, sampled series (cpu_percent, rss_mib, gpu_*) at each
sample. A missing value is an empty
cell; a series with no value at all in a run (GPU metrics without a GPU) is left out.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from profiler.report.model import FloatArray, Report

CSV_COLUMNS: tuple[str, ...] = ("run_id", "framework", "series", "t", "value")


def _cell(value: float) -> str:
    return repr(float(value)) if math.isfinite(value) else ""


def csv_rows(report: Report) -> Iterator[tuple[int, str, str, str, str]]:
    """The CSV's data rows, in run order, then series order, then time."""
    for series in report.series:
        groups: list[tuple[FloatArray, dict[str, FloatArray]]] = [
            (series.window_t_s, series.window_series()),
            (series.sample_t_s, series.sample_series()),
        ]
        for times, named in groups:
            for name, values in named.items():
                if not np.isfinite(values).any():
                    continue
                for t, value in zip(times, values, strict=True):
                    yield series.run_id, series.framework, name, _cell(t), _cell(value)


def write_csv(report: Report, path: str | Path) -> Path:
    """Write the long-format CSV (UTF-8, header row first); returns the path."""
    target = Path(path)
    with target.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(csv_rows(report))
    return target
