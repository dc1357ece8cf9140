"""The report as JSON: every summary, statistic, comparison, audit row and parity figure, for
scripts and archives.

Missing values are ``null`` (never 0, never NaN, which is not JSON). Readers should check
``schema_version`` and accept older versions. The README's "Report and JSON schema" section
documents every field.

Schema history (``schema_version``):

1  first version: generated_from, config, environment, runs (RunSummary fields with units in
   their names), comparisons (metric, baseline, other, higher_is_better, baseline_median,
   other_median, ratio = other/baseline of medians, ci95 [low, high] or null, p_value,
   n_baseline, n_other), parity (losses, max_rel_diff, ok, tolerance); with
   ``include_series`` also series (per run: phases and the raw series, times in seconds since
   the run's launch).
2  runs gain steady_state, drift, warnings, startup_s, step_time_ms.p5, gpu_temp_c_max, energy
   (energy_j, energy_source, energy_per_1k_samples_j, samples_per_s_per_w), achieved_tflops,
   peak_tflops and mfu;
   speed figures cover the steady windows only. New ``statistics`` (per framework and metric) and
   ``fairness`` (the settings audit). Comparisons cover every framework pair and gain
   significant, n_repeats_baseline, n_repeats_other. generated_from gains config_path; series
   gain window_used and the schema-2 sample columns.
3  comparisons are run-level: baseline_median/other_median are each side's typical run (the
   geometric mean of its runs' medians), ratio their quotient; ci95 and p_value come from
   Welch's t on the runs' log medians and are null unless both sides have two or more runs;
   significant is null with one run on a side (run-to-run variation unknown). Comparisons gain
   method, within_ci95 (the runs' windows alone, autocorrelation allowed for), half_width,
   between_run_sd_baseline and between_run_sd_other. Runs' drift gains windows_used,
   windows_disturbed, disturbed_left_out, large_cut and other_cpu_percent_median; a run whose
   steady-state cut left out more than 20% of its windows has steady_state false. Series'
   window_used leaves out disturbed windows too; series gain other_cpu_percent per window.
   New ``repeats`` (null for sessions stored before schema 3): mode (auto or fixed), reason
   (certain, budget, stopped, failed, planned), rounds, runs_per_side, target_ci, max_repeats,
   budget_s, elapsed_s, half_width (the widest speed interval's relative half-width) and ratios
   (per framework pair: ratio, low, high, half_width, runs_baseline, runs_other, method). Runs
   gain minor_faults_per_step and major_faults_per_step; settings gain train_loop and allocator.
4  New ``breakdowns`` (one per traced run, the trace phase after measure; empty when nothing
   was traced): framework, run_id, repeat, device, timeline (host or device), traced_steps,
   step_ms (the traced window over its steps), category_ms (ms per step in each category of
   the taxonomy; they add up to step_ms), category_launches, top_ops (name, category,
   total_ms, count, steps, per_step_ms, calls_per_step), launches_per_step, idle_share,
   waiting_share (idle plus host overhead: on a GPU, the device waiting on the host),
   trace_step_ms, measure_step_ms, profiler_cost (their ratio), truncated, native_files
   (relative to the session's trace folder) and notes. The breakdowns file beside the traces
   (profiler.breakdown) carries its own schema_version.

A session of a data-parallel scaling run (``run.distributed``) also gains ``scaling``, versioned
on its own (``scaling_schema_version``, see ``profiler.report.scaling``); other readers ignore it.
5  runs' steps_per_s and samples_per_s are the median over the used windows, as every surface
   (CLI table, PDF, window) shows them; before, the used windows' totals (steps over seconds),
   which weigh slow windows more.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from profiler.report.model import Report, RunSeries


def _plain(value: Any) -> Any:
    """``value`` as plain JSON types: NaN/inf -> None, tuples -> lists, numpy -> Python."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _series_dict(series: RunSeries) -> dict[str, Any]:
    return {
        "run_id": series.run_id,
        "framework": series.framework,
        "repeat": series.repeat,
        "launch_t": series.launch_t,
        "phases": [dataclasses.asdict(p) for p in series.phases],
        "window_t_s": series.window_t_s,
        "window_phase": list(series.window_phase),
        **series.window_series(),
        "window_used": [bool(u) for u in series.window_used],
        "sample_t_s": series.sample_t_s,
        **series.sample_series(),
    }


def _fairness(report: Report) -> dict[str, Any]:
    audit = report.audit
    return {
        "frameworks": list(audit.frameworks),
        "settings": [
            {
                "key": row.key,
                "values": row.values,
                "relevant": row.relevant,
                "mismatch": row.mismatch,
                "repeat_values": {fw: list(v) for fw, v in row.repeat_values.items()},
            }
            for row in audit.rows
        ],
        "mismatches": [row.key for row in audit.mismatches],
    }


def to_dict(report: Report, *, include_series: bool = False) -> dict[str, Any]:
    """The report as a JSON-ready dict (series left out unless ``include_series``)."""
    out: dict[str, Any] = {
        "schema_version": report.schema_version,
        "generated_from": dataclasses.asdict(report.generated_from),
        "config": report.config,
        "environment": report.environment,
        "runs": [dataclasses.asdict(r) for r in report.runs],
        "statistics": [dataclasses.asdict(s) for s in report.statistics],
        "comparisons": [dataclasses.asdict(c) for c in report.comparisons],
        "parity": dataclasses.asdict(report.parity),
        "fairness": _fairness(report),
        "repeats": None if report.repeats is None else report.repeats.to_json(),
        "breakdowns": [b.to_json() for b in report.breakdowns],
    }
    if include_series:
        out["series"] = [_series_dict(s) for s in report.series]
    if report.scaling is not None:
        from profiler.report.scaling import scaling_to_dict

        out["scaling"] = scaling_to_dict(report.scaling)
    plain: dict[str, Any] = _plain(out)
    return plain


def write_json(report: Report, path: str | Path, *, include_series: bool = False) -> Path:
    """Write the report as indented JSON (UTF-8); returns the path."""
    target = Path(path)
    text = json.dumps(to_dict(report, include_series=include_series), indent=2, allow_nan=False)
    target.write_text(text + "\n", encoding="utf-8")
    return target
