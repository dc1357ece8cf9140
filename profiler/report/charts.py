"""Charts of a Report: series over time (throughput, step time, loss, CPU, memory, GPU) with the
phases, and a page of distributions (step time, startup breakdown; see ``charts_stats``).

Every run is drawn in its framework's colour (repeats differ by line style); time is seconds since
each run's launch, so runs that ran one after another overlay. A phase timeline sits on top of the
first page and each run's measure phase is lightly shaded in its colour behind every plot. Long
series are decimated (min/max per bucket) for drawing only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from profiler.colors import color_of
from profiler.report.charts_stats import distribution_figure
from profiler.report.formatting import run_header
from profiler.report.model import FloatArray, Report, RunSeries
from profiler.report.plotting import (
    AXIS_LABELS_IN,
    GAP_IN,
    LINE_STYLES,
    LINE_WIDTH,
    Slot,
    add_legend,
    chart_style,
    decimate_minmax,
    figure_svg,
    fixed_height_in,
    hide_narrow_labels,
    legend_height_in,
    new_figure,
    stack_axes,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.text import Text

__all__ = [
    "PANELS",
    "ChartPage",
    "chart_figure",
    "chart_figures",
    "chart_pages",
    "chart_style",
    "figure_svg",
    "new_figure",
]

_PHASE_ALPHA = {
    "import": 0.18,
    "build": 0.32,
    "compile": 0.5,
    "warmup": 0.65,
    "measure": 0.95,
    "trace": 0.4,
}
_MEASURE_SHADE_ALPHA = 0.07
_TIME_LABEL = "seconds since the run's launch"
_MAX_MARKERS = 150  # windows get markers only while they stay readable


@dataclass(frozen=True)
class Panel:
    """One plot: its title, y label, and whether it plots window or sampled series."""

    title: str
    ylabel: str
    windows: bool
    zero_based: bool = True


PANELS: dict[str, Panel] = {
    "samples_per_s": Panel("Throughput", "samples/s", windows=True),
    "step_time_ms": Panel("Step time (mean per step in each window)", "ms", windows=True),
    "loss": Panel("Training loss (end of each window)", "loss", windows=True, zero_based=False),
    "cpu_percent": Panel("CPU, whole process tree (100% = one core)", "%", windows=False),
    "rss_mib": Panel("Resident memory, whole process tree", "MiB", windows=False),
    "sys_mem_used_mib": Panel("Memory used by the whole machine", "MiB", windows=False),
    "gpu_util_percent": Panel("GPU utilisation", "%", windows=False),
    "gpu_mem_mib": Panel("GPU memory", "MiB", windows=False),
    "gpu_power_w": Panel("GPU power", "W", windows=False),
    "gpu_temp_c": Panel("GPU temperature", "°C", windows=False, zero_based=False),
    "gpu_sm_clock_mhz": Panel("GPU SM clock", "MHz", windows=False),
}


@dataclass(frozen=True)
class ChartPage:
    """One page of charts: ``time`` panels on a shared time axis, or the ``distribution`` page."""

    kind: str
    keys: tuple[str, ...] = ()
    timeline: bool = False


def _has(report: Report, key: str) -> bool:
    return any(np.isfinite(s.samples[key]).any() for s in report.series)


def chart_pages(report: Report) -> list[ChartPage]:
    """The chart pages of a report; GPU pages only with GPU data."""
    pages = [
        ChartPage("time", ("samples_per_s", "step_time_ms", "loss"), timeline=True),
        ChartPage("distribution"),
        ChartPage("time", ("cpu_percent", "rss_mib", "sys_mem_used_mib")),
    ]
    if report.has_gpu:
        pages.append(ChartPage("time", ("gpu_util_percent", "gpu_mem_mib", "gpu_power_w")))
        extra = tuple(k for k in ("gpu_temp_c", "gpu_sm_clock_mhz") if _has(report, k))
        if extra:
            pages.append(ChartPage("time", extra))
    return pages


def _data(series: RunSeries, key: str) -> tuple[FloatArray, FloatArray]:
    if PANELS[key].windows:
        return series.window_t_s, series.window_series()[key]
    return series.sample_t_s, series.samples[key]


def _shade_measure(ax: Axes, report: Report) -> None:
    """Shade each framework's measure phase once (its first run's): repeats would stack up."""
    shaded: set[str] = set()
    for series in report.series:
        for phase in series.phases:
            if phase.name == "measure" and series.framework not in shaded:
                shaded.add(series.framework)
                ax.axvspan(
                    phase.start_s,
                    phase.end_s,
                    color=color_of(series.framework),
                    alpha=_MEASURE_SHADE_ALPHA,
                    lw=0,
                )


def _fit_to_measure(ax: Axes, report: Report, key: str) -> None:
    """Fit a speed plot's y axis to the measure windows, so a slow first window can't flatten it."""
    measured = [
        values[np.array([p == "measure" for p in s.window_phase], dtype=bool)]
        for s in report.series
        for values in (s.window_series()[key],)
    ]
    finite = np.concatenate([m[np.isfinite(m)] for m in measured]) if measured else np.empty(0)
    if finite.size == 0:
        return
    top = float(finite.max()) * 1.15
    if not 0.0 < top < math.inf:  # all zero (0 samples per window), or too large to scale
        return
    ax.set_ylim(0.0, top)
    clipped = any(np.nanmax(s.window_series()[key], initial=-math.inf) > top for s in report.series)
    if clipped:
        ax.text(
            1.0,
            1.0,
            "y axis fitted to the measure phase",
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=6.5,
            color="0.35",
        )


def _mark_left_out(ax: Axes, series: RunSeries, key: str) -> None:
    """Hollow markers on measure windows left out of the statistics (settling or disturbed)."""
    measure = np.array([p == "measure" for p in series.window_phase], dtype=bool)
    left_out = measure & ~series.window_used
    if key in ("samples_per_s", "step_time_ms") and left_out.any():
        ax.plot(
            series.window_t_s[left_out],
            series.window_series()[key][left_out],
            ls="none",
            marker="o",
            markersize=4,
            markerfacecolor="white",
            color=color_of(series.framework),
        )


def _plot_panel(ax: Axes, report: Report, key: str) -> None:
    panel = PANELS[key]
    _shade_measure(ax, report)
    drawn = False
    for series in report.series:
        t, values = _data(series, key)
        if not np.isfinite(values).any():
            continue
        drawn = True
        t, values = decimate_minmax(t, values)
        ax.plot(
            t,
            values,
            color=color_of(series.framework),
            lw=LINE_WIDTH,
            ls=LINE_STYLES[series.repeat % len(LINE_STYLES)],
            marker="o" if panel.windows and t.size <= _MAX_MARKERS else None,
            markersize=2.2,
        )
        _mark_left_out(ax, series, key)
    ax.set_title(panel.title)
    ax.set_ylabel(panel.ylabel)
    if not drawn:
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color="0.5")
        return
    if key in ("samples_per_s", "step_time_ms"):
        _fit_to_measure(ax, report, key)
    elif panel.zero_based:
        ax.set_ylim(bottom=0.0)


def _plot_timeline(ax: Axes, report: Report) -> list[tuple[Text, float]]:
    """One row per run; each phase a bar in the run's colour, darker for later phases.

    Returns each phase name with its bar's width in seconds, to hide names that do not fit.
    """
    labels, names = [], []
    by_id = {r.run_id: r for r in report.runs}
    for row, series in enumerate(report.series):
        labels.append(run_header(report, by_id[series.run_id]))
        for phase in series.phases:
            width = max(phase.end_s - phase.start_s, 0.0)
            alpha = _PHASE_ALPHA.get(phase.name, 0.4)
            ax.broken_barh(
                [(phase.start_s, width)],
                (row - 0.38, 0.76),
                facecolors=color_of(series.framework),
                alpha=alpha,
                edgecolor="white",
                linewidth=0.6,
            )
            text = ax.text(
                phase.start_s + width / 2,
                row,
                phase.name,
                ha="center",
                va="center",
                fontsize=6.5,
                color="white" if alpha > 0.6 else "0.15",
                clip_on=True,
            )
            names.append((text, width))
    ax.set_yticks(range(len(labels)), labels)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.grid(False, axis="y")
    ax.set_title("Phases (the measure phase is shaded in the plots below)")
    return names


def _timeline_ratio(report: Report) -> float:
    """The phase timeline's height, in units of one plot's height."""
    return 0.2 + 0.16 * len(report.series)


def time_slots(report: Report, page: ChartPage) -> list[Slot]:
    """The axes of a time page: the timeline (first page), then one per panel, sharing x."""
    ratios = ([_timeline_ratio(report)] if page.timeline else []) + [1.0] * len(page.keys)
    last = len(ratios) - 1
    return [
        Slot(r, below_in=AXIS_LABELS_IN if i == last else GAP_IN, sharex=None if i == 0 else 0)
        for i, r in enumerate(ratios)
    ]


def chart_figure(
    report: Report,
    keys: Sequence[str],
    *,
    size_in: tuple[float, float],
    rect: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0),
    timeline: bool = False,
    unit_in: float | None = None,
) -> Figure:
    """One figure with ``keys`` panels stacked on a shared time axis (phase timeline on top).

    ``rect`` (left, bottom, width, height, in figure fractions) holds the legend on top and the
    plots below it; each plot is ``unit_in`` high, or they fill the rectangle.
    """
    page = ChartPage("time", tuple(keys), timeline)
    fig = new_figure(size_in)
    slots = time_slots(report, page)
    axes = stack_axes(fig, rect, slots, legend_in=legend_height_in(report), unit_in=unit_in)
    names = _plot_timeline(axes[0], report) if timeline else []
    for ax, key in zip(axes[1:] if timeline else axes, keys, strict=True):
        _plot_panel(ax, report, key)
    for ax in axes[:-1]:
        ax.tick_params(labelbottom=False)
    axes[-1].set_xlabel(_TIME_LABEL)
    axes[-1].set_xlim(left=0.0)
    add_legend(fig, report, rect)
    if names:
        hide_narrow_labels(fig, axes[0], names)
    return fig


def time_page_height_in(report: Report, page: ChartPage, unit_in: float) -> float:
    """The height a time page needs with plots ``unit_in`` high."""
    slots = time_slots(report, page)
    return fixed_height_in(slots, legend_height_in(report)) + unit_in * sum(s.ratio for s in slots)


def chart_figures(
    report: Report,
    *,
    size_in: tuple[float, float],
    rect: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0),
) -> list[Figure]:
    """Every chart figure of the report (pages of one size); call inside ``chart_style()``.

    Plots are as high on every time page as on the fullest, which fills the rectangle; the rest
    of a page with fewer plots stays blank.
    """
    pages = chart_pages(report)
    height_in = rect[3] * size_in[1]
    legend_in = legend_height_in(report)
    unit_in = min(
        (height_in - fixed_height_in(slots, legend_in)) / sum(s.ratio for s in slots)
        for p in pages
        if p.kind == "time"
        for slots in (time_slots(report, p),)
    )
    figures = []
    for page in pages:
        if page.kind == "distribution":
            figures.append(distribution_figure(report, size_in=size_in, rect=rect))
        else:
            figures.append(
                chart_figure(
                    report,
                    page.keys,
                    size_in=size_in,
                    rect=rect,
                    timeline=page.timeline,
                    unit_in=unit_in,
                )
            )
    return figures
