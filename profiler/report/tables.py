"""The tables a human-readable report shows, shared by the PDF and HTML renderers.

Everything here turns a Report into plain strings: the side-by-side summary (one column per
framework), the per-run table, statistics, comparisons, the fairness audit, the environment and
the config. Missing values show as an em dash.
"""

from __future__ import annotations

from dataclasses import dataclass

from profiler.colors import color_of, label_of
from profiler.report.context import config_text, environment_rows
from profiler.report.derived import STARTUP_SEGMENTS
from profiler.report.formatting import (
    MISSING,
    fmt,
    fmt_ci,
    fmt_p,
    fmt_setting,
    report_date,
    run_header,
)
from profiler.report.model import Report, RunSummary
from profiler.report.verdicts import (
    TOPIC,
    UNIT,
    Verdict,
    parity_sentence,
    run_quality,
    verdict,
    verdicts,
    winner,
)

__all__ = [
    "COMPARISON_CAPTION",
    "MISSING",
    "Column",
    "RunColumn",
    "Table",
    "Verdict",
    "audit_table",
    "comparison_table",
    "config_text",
    "environment_rows",
    "fmt",
    "fmt_p",
    "framework_columns",
    "parity_sentence",
    "report_date",
    "run_columns",
    "run_header",
    "run_quality",
    "runs_rows",
    "statistics_table",
    "summary_rows",
    "verdict",
    "verdicts",
]


@dataclass(frozen=True)
class Column:
    """A table column header; ``color`` fills it (a framework's colour), ``failed`` marks runs
    that did not finish."""

    header: str
    color: str | None = None
    failed: bool = False


RunColumn = Column  # the name the first renderers used


@dataclass(frozen=True)
class Table:
    """A header row and body rows of cells (first cell: the row's label).

    ``flagged`` holds the indexes of rows to highlight (fairness mismatches); ``cell_colors`` maps
    (row, column) to a text colour.
    """

    columns: tuple[Column, ...]
    rows: tuple[tuple[str, ...], ...]
    flagged: frozenset[int] = frozenset()
    cell_colors: tuple[tuple[int, int, str], ...] = ()


def run_columns(report: Report) -> list[Column]:
    """One column per run, in run order."""
    return [
        Column(run_header(report, r), color_of(r.framework), r.status != "ok") for r in report.runs
    ]


def framework_columns(report: Report) -> list[Column]:
    """One column per framework, in config order."""
    return [Column(label_of(fw), color_of(fw)) for fw in report.frameworks]


def _loss(value: float | None) -> str:
    return MISSING if value is None else f"{value:.6g}"


def _steady(run: RunSummary) -> str:
    if run.steady_state is None:
        return MISSING
    if run.drift.large_cut:
        return f"no: settled only after {run.drift.windows_excluded} windows"
    if not run.steady_state:
        return "no: drifting"
    excluded = run.drift.windows_excluded
    return f"yes (first {excluded} windows left out)" if excluded else "yes"


def _windows_used(run: RunSummary) -> str:
    """'180 of 200 (12 settling, 8 disturbed)': the windows the figures use, and why not others."""
    d = run.drift
    why = [f"{d.windows_excluded} settling"] if d.windows_excluded else []
    if d.disturbed_left_out:
        why.append(f"{d.windows_disturbed} disturbed")
    cell = f"{run.step_time_ms.n} of {d.windows_total}"
    return f"{cell} ({', '.join(why)} left out)" if why else cell


def _seconds(value: float | None) -> str:
    return MISSING if value is None else f"{value:.3f}"


def _pct(value: float | None) -> str:
    return MISSING if value is None else f"{value:.1%}"


def _params(report: Report, framework: str) -> int | None:
    return next(
        (r.params for r in report.runs if r.framework == framework and r.params is not None), None
    )


def summary_rows(report: Report) -> list[tuple[str, list[str]]]:
    """(label, one cell per framework): medians over windows and repeats, side by side."""
    fws = report.frameworks

    def med(metric: str, unit: str = "", spread: bool = False) -> list[str]:
        cells = []
        for fw in fws:
            s = report.stats_of(metric, fw)
            cell = fmt(s.median if s else None, unit)
            if spread and s and s.p5 is not None and s.p95 is not None:
                cell += f" ({fmt(s.p5)}–{fmt(s.p95)})"
            cells.append(cell)
        return cells

    def first(attr: str) -> list[str]:
        out = []
        for fw in fws:
            runs = [r for r in report.runs if r.framework == fw]
            ok = [r for r in runs if r.status == "ok"] or runs
            value = getattr(ok[0], attr) if ok else None
            out.append(str(value) if value is not None else MISSING)
        return out

    def runs_cell(fw: str) -> str:
        runs = [r for r in report.runs if r.framework == fw]
        ok = sum(r.status == "ok" for r in runs)
        return "ok" if ok == len(runs) == 1 else f"{ok} of {len(runs)} ok"

    def steady(fw: str) -> str:
        states = [r.steady_state for r in report.runs if r.framework == fw and r.status == "ok"]
        if not states or all(s is None for s in states):
            return MISSING
        drifting = sum(s is False for s in states)
        return f"no: {drifting} of {len(states)} runs drift" if drifting else "yes"

    rows: list[tuple[str, list[str]]] = [
        ("runs", [runs_cell(fw) for fw in fws]),
        ("version", first("framework_version")),
        ("device", first("device")),
        ("params", [fmt(_params(report, fw)) for fw in fws]),
        ("samples/s (median window)", med("samples_per_s")),
        ("steps/s (median window)", med("steps_per_s")),
        ("step time, median (p5–p95)", med("step_time_ms", "ms", spread=True)),
        ("time to first step", med("first_step_s", "s")),
        ("peak RSS", med("rss_peak_mib", "MiB")),
        ("mean CPU (100% = 1 core)", med("cpu_percent_mean", "%")),
    ]
    optional = [
        ("mean GPU utilisation", "gpu_util_percent_mean", "%"),
        ("peak GPU memory", "gpu_mem_peak_mib", "MiB"),
        ("mean GPU power", "gpu_power_w_mean", "W"),
        ("GPU energy / 1,000 samples", "energy_per_1k_samples_j", "J"),
        ("samples/s per watt", "samples_per_s_per_w", ""),
    ]
    rows += [
        (label, med(metric, unit))
        for label, metric, unit in optional
        if any(report.stats_of(metric, fw) for fw in fws)
    ]
    if any(report.stats_of("mfu", fw) for fw in fws):
        rows.append(
            ("MFU", [_pct(s.median if (s := report.stats_of("mfu", fw)) else None) for fw in fws])
        )
    rows += [
        ("steady state", [steady(fw) for fw in fws]),
        ("parity (first-batch loss)", [_loss(report.parity.losses.get(fw)) for fw in fws]),
    ]
    return rows


def runs_rows(report: Report) -> list[tuple[str, list[str]]]:
    """(label, one cell per run) for the per-run table."""
    runs = report.runs
    rows: list[tuple[str, list[str]]] = [
        ("status", [r.status for r in runs]),
        ("version", [r.framework_version or MISSING for r in runs]),
        ("device", [r.device or MISSING for r in runs]),
        ("params", [fmt(r.params) for r in runs]),
        ("steps/s (median window)", [fmt(r.steps_per_s) for r in runs]),
        ("samples/s (median window)", [fmt(r.samples_per_s) for r in runs]),
        ("step time median (ms)", [fmt(r.step_time_ms.median) for r in runs]),
        ("step time p95 (ms)", [fmt(r.step_time_ms.p95) for r in runs]),
        ("windows used", [_windows_used(r) for r in runs]),
        ("steady state", [_steady(r) for r in runs]),
        ("time to first step (s)", [fmt(r.first_step_s) for r in runs]),
    ]
    rows += [
        (f"  {name.replace('_', ' ')} (s)", [_seconds(r.startup_s.get(name)) for r in runs])
        for name in STARTUP_SEGMENTS
        if any((r.startup_s.get(name) or 0.0) >= 0.0005 for r in runs)
    ]
    rows += [
        ("peak RSS (MiB)", [fmt(r.rss_peak_mib) for r in runs]),
        ("mean CPU %", [fmt(r.cpu_percent_mean) for r in runs]),
    ]
    if report.has_gpu:
        rows += [
            ("mean GPU util %", [fmt(r.gpu_util_percent_mean) for r in runs]),
            ("peak GPU memory (MiB)", [fmt(r.gpu_mem_peak_mib) for r in runs]),
            ("mean GPU power (W)", [fmt(r.gpu_power_w_mean) for r in runs]),
            ("max GPU temperature (°C)", [fmt(r.gpu_temp_c_max) for r in runs]),
        ]
    if any(r.energy_j is not None for r in runs):
        rows += [
            ("GPU energy (J)", [fmt(r.energy_j) for r in runs]),
            ("energy / 1,000 samples (J)", [fmt(r.energy_per_1k_samples_j) for r in runs]),
            ("samples/s per watt", [fmt(r.samples_per_s_per_w) for r in runs]),
        ]
    if any(r.achieved_tflops is not None for r in runs):
        rows.append(("achieved TFLOP/s", [fmt(r.achieved_tflops) for r in runs]))
    if any(r.mfu is not None for r in runs):
        rows.append(("MFU", [_pct(r.mfu) for r in runs]))
    if any(r.allocator_peak_mib is not None for r in runs):
        rows.append(("allocator peak (MiB)", [fmt(r.allocator_peak_mib) for r in runs]))
    rows += [
        ("first loss", [_loss(r.loss_first) for r in runs]),
        ("last loss", [_loss(r.loss_last) for r in runs]),
        ("parity (first-batch loss)", [_loss(r.parity_loss) for r in runs]),
    ]
    if any(r.error for r in runs):
        rows.append(("error", [r.error or "" for r in runs]))
    return rows


_STAT_LABELS = {
    **{k: f"{v} ({UNIT[k]})" for k, v in TOPIC.items()},
    "samples_per_s": "Throughput (samples/s)",
    "step_time_ms": "Step time (ms)",
    "steps_per_s": "Steps/s",
    "cpu_percent_mean": "Mean CPU (%)",
    "gpu_util_percent_mean": "Mean GPU utilisation (%)",
    "gpu_power_w_mean": "Mean GPU power (W)",
    "samples_per_s_per_w": "Samples/s per watt",
    "mfu": "MFU (fraction of peak)",
}


def statistics_table(report: Report) -> Table:
    """Per metric and framework: median, mean, sd, p5, p95, values, windows and runs.

    A metric with one value per framework (one run each, for per-run figures) has no spread to
    show: it is left out here (the summary has it; the JSON keeps it).
    """
    spread = {s.metric for s in report.statistics if s.n >= 2}
    columns = tuple(
        Column(h) for h in ("", "median", "mean", "sd", "p5", "p95", "n", "windows", "runs")
    )
    rows: list[tuple[str, ...]] = []
    colors: list[tuple[int, int, str]] = []
    for s in report.statistics:
        if s.metric not in spread:
            continue
        label = f"{_STAT_LABELS.get(s.metric, s.metric)} · {label_of(s.framework)}"
        colors.append((len(rows), 0, color_of(s.framework)))
        rows.append(
            (
                label,
                fmt(s.median),
                fmt(s.mean),
                fmt(s.std),
                fmt(s.p5),
                fmt(s.p95),
                str(s.n),
                str(s.n_windows),
                str(s.n_repeats),
            )
        )
    return Table(columns, tuple(rows), cell_colors=tuple(colors))


# Marks an interval from the runs' windows alone (one run on a side), in tables.
WITHIN_MARK = "*"
COMPARISON_CAPTION = (
    "Ratio: the first framework's typical run over the second's (each side's geometric mean of "
    "its runs' medians). 95% CI and p: Welch's t on the runs' log medians, the run being the "
    "unit, so run-to-run differences count. With one run on a side there is no CI and no test, "
    "run-to-run variation being unknown; * marks the interval from those runs' windows alone "
    "(their autocorrelation allowed for): what these runs pin down, not what another run would "
    "show."
)


def comparison_table(report: Report) -> Table:
    """One row per metric and framework pair: medians, ratio, interval, p-value, outcome."""
    columns = tuple(Column(h) for h in ("", "medians", "ratio", "95% CI", "p", "outcome"))
    rows = []
    for c in report.comparisons:
        pair = f"{label_of(c.other)} / {label_of(c.baseline)}"
        label = f"{TOPIC.get(c.metric, c.metric)}: {pair}"
        unit = UNIT.get(c.metric, "")
        medians = f"{fmt(c.other_median)} / {fmt(c.baseline_median, unit)}"
        runs = f"{c.n_repeats_other} vs {c.n_repeats_baseline} runs"
        if c.ratio is None:
            outcome = "cannot compare"
        elif c.significant is False:
            outcome = f"no significant difference ({runs})"
        else:
            better, _, factor, _ = winner(c)
            outcome = f"{label_of(better)} better, {factor:.2f}x ({runs})"
            if c.significant is None:
                outcome = f"{label_of(better)} {factor:.2f}x in these runs; not judged ({runs})"
        ratio = MISSING if c.ratio is None else f"{c.ratio:.3f}"
        ci = fmt_ci(c.ci95) or (fmt_ci(c.within_ci95) + WITHIN_MARK if c.within_ci95 else MISSING)
        rows.append((label, medians, ratio, ci, fmt_p(c.p_value) or MISSING, outcome))
    return Table(columns, tuple(rows))


def audit_table(report: Report) -> Table:
    """The fairness audit: one row per setting, one column per framework, mismatches flagged."""
    audit = report.audit
    columns = (Column(""), *(Column(label_of(fw), color_of(fw)) for fw in audit.frameworks))
    rows: list[tuple[str, ...]] = []
    flagged: set[int] = set()
    for row in audit.rows:
        cells = []
        for fw in audit.frameworks:
            value = row.values.get(fw)
            if row.key in ("params", "parity_loss"):
                cell = fmt(value) if row.key == "params" else _loss(value)
            else:
                cell = fmt_setting(value)
            if fw in row.repeat_values:
                cell = " / ".join(fmt_setting(v) for v in row.repeat_values[fw])
            cells.append(cell)
        label = f"⚠ {row.key}" if row.mismatch else row.key
        if row.mismatch:
            flagged.add(len(rows))
        rows.append((label, *cells))
    return Table(columns, tuple(rows), frozenset(flagged))


_OK = "#1B7F3B"
_FAILED = "#B00020"


def _all_ok(cell: str) -> bool:
    """'ok', or 'N of N ok'."""
    words = cell.split()
    return cell == "ok" or (len(words) == 4 and words[0] == words[2] and words[3] == "ok")


def grid_table(rows: list[tuple[str, list[str]]], columns: list[Column]) -> Table:
    """A (label, cells) list as a Table under ``columns``; status and errors coloured."""
    colors = []
    for r, (label, cells) in enumerate(rows):
        for c, cell in enumerate(cells, start=1):
            if label in ("status", "runs"):
                colors.append((r, c, _OK if _all_ok(cell) else _FAILED))
            elif label == "error":
                colors.append((r, c, _FAILED))
    return Table(
        (Column(""), *columns),
        tuple((label, *cells) for label, cells in rows),
        cell_colors=tuple(colors),
    )
