"""The distribution page: step-time histograms and box plots, and where the startup time goes.

Step times are those of the measure windows used for statistics (the steady state), pooled over
each framework's repeats in the histogram and per run in the box plots. Drawn in framework colours
on an Agg figure (see ``plotting``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from profiler.colors import color_of
from profiler.report.derived import STARTUP_SEGMENTS
from profiler.report.formatting import fmt, run_header
from profiler.report.model import FloatArray, Report
from profiler.report.plotting import (
    AXIS_LABELS_IN,
    Slot,
    add_legend,
    fixed_height_in,
    hide_narrow_labels,
    legend_height_in,
    new_figure,
    plain_log_axis,
    stack_axes,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.text import Text

# Segment shades: the framework's colour, deeper for later parts of the startup.
_SEGMENT_ALPHA = {
    "interpreter": 0.2,
    "import": 0.35,
    "setup": 0.5,
    "build": 0.65,
    "compile": 0.8,
    "first_step": 1.0,
    "other": 0.1,
}
_SEGMENT_LABEL = {"first_step": "first step (incl. tracing/JIT)"}
_LOG_RATIO = 4.0  # a log axis once the slowest step time is this many times the fastest
_BINS = 40


def _used_step_times(report: Report, framework: str | None = None) -> list[FloatArray]:
    ok = {r.run_id for r in report.runs if r.status == "ok"}
    return [
        s.step_time_ms[s.window_used & np.isfinite(s.step_time_ms)]
        for s in report.series
        if s.run_id in ok and (framework is None or s.framework == framework)
    ]


def _histograms(ax: Axes, report: Report) -> bool:
    """Overlaid step-time histograms (share of windows) per framework; False without data."""
    every = [v for v in _used_step_times(report) if v.size]
    if not every:
        return False
    pooled = np.concatenate(every)
    low, high = float(pooled.min()), float(pooled.max())
    log = low > 0 and high / low > _LOG_RATIO
    if high <= low:
        low, high = low * 0.95, high * 1.05 + 1e-9
    edges = np.geomspace(low, high, _BINS + 1) if log else np.linspace(low, high, _BINS + 1)
    for fw in report.frameworks:
        parts = [v for v in _used_step_times(report, fw) if v.size]
        if not parts:
            continue
        values = np.concatenate(parts)
        counts, _ = np.histogram(values, edges)
        share = counts / values.size
        color = color_of(fw)
        ax.stairs(share, edges, fill=True, color=color, alpha=0.25)
        ax.stairs(share, edges, color=color, lw=1.0)
        median = float(np.median(values))
        ax.axvline(median, color=color, ls="--", lw=1.0)
        ax.annotate(
            f"median {fmt(median, 'ms')}",
            (median, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(3, -2 - 10 * report.frameworks.index(fw)),
            textcoords="offset points",
            fontsize=6.5,
            color=color,
            va="top",
        )
    if log:
        plain_log_axis(ax)
    ax.set_ylabel("share of windows")
    ax.set_title("Step time distribution (measure windows used for statistics)")
    return True


def _boxes(ax: Axes, report: Report) -> None:
    """One horizontal box per run: quartiles, median, whiskers at p5 and p95."""
    ok = {r.run_id for r in report.runs if r.status == "ok"}
    by_id = {r.run_id: r for r in report.runs}
    rows = [
        (run_header(report, by_id[s.run_id]), s.framework, v)
        for s in report.series
        if s.run_id in ok
        and (v := s.step_time_ms[s.window_used & np.isfinite(s.step_time_ms)]).size
    ]
    if not rows:
        ax.set_visible(False)
        return
    # drawn by hand: Axes.boxplot reads every rcParam, and reading "backend" imports pyplot
    for row, (_, fw, values) in enumerate(rows, start=1):
        p5, q1, median, q3, p95 = np.percentile(values, [5, 25, 50, 75, 95])
        color = color_of(fw)
        ax.barh(row, q3 - q1, left=q1, height=0.6, color=color, alpha=0.55, edgecolor=color)
        ax.vlines(median, row - 0.3, row + 0.3, color="0.1", lw=1.2)
        ax.hlines([row, row], [p5, q3], [q1, p95], color="0.2", lw=0.9)
        ax.vlines([p5, p95], row - 0.15, row + 0.15, color="0.2", lw=0.9)
    ax.set_yticks(range(1, len(rows) + 1), [label for label, _, _ in rows])
    ax.set_ylim(len(rows) + 0.5, 0.5)
    ax.set_xlabel("step time (ms); boxes: quartiles, whiskers: p5–p95")
    ax.grid(False, axis="y")


def _below(ax: Axes, inches: float) -> Any:
    """A transform whose (0.5, 0) is ``inches`` under the axes' bottom centre."""
    from matplotlib.transforms import ScaledTranslation

    return ax.transAxes + ScaledTranslation(0.0, -inches, ax.figure.dpi_scale_trans)


def _startup(ax: Axes, report: Report) -> list[tuple[Text, float]]:
    """Stacked bars per run: each part of the time to the first step, in seconds.

    Returns each part's name label with its width, to hide the names that do not fit.
    """
    from matplotlib.patches import Patch

    ax.set_title("Time to first step, by part")
    runs = report.runs
    used: set[str] = set()
    names: list[tuple[Text, float]] = []
    for row, run in enumerate(runs):
        start = 0.0
        for name in STARTUP_SEGMENTS:
            width = run.startup_s.get(name)
            if not width:
                continue
            used.add(name)
            ax.barh(
                row,
                width,
                left=start,
                height=0.6,
                color=color_of(run.framework),
                alpha=_SEGMENT_ALPHA[name],
                edgecolor="white",
                linewidth=0.6,
            )
            label = ax.text(
                start + width / 2,
                row,
                _SEGMENT_LABEL.get(name, name).split(" (")[0],
                ha="center",
                va="center",
                fontsize=6.5,
                color="white" if _SEGMENT_ALPHA[name] > 0.6 else "0.15",
            )
            names.append((label, width))
            start += width
        total = run.first_step_s
        if total is not None:
            ax.text(start, row, f"  {fmt(total, 's')}", va="center", fontsize=7, color="0.2")
    ax.set_yticks(range(len(runs)), [run_header(report, r) for r in runs])
    ax.set_ylim(len(runs) - 0.5, -0.5)
    ax.set_xlim(left=0.0)
    ax.margins(x=0.12)
    ax.set_xlabel("seconds since the run's launch")
    ax.grid(False, axis="y")
    handles = [
        Patch(facecolor="0.25", alpha=_SEGMENT_ALPHA[name], label=_SEGMENT_LABEL.get(name, name))
        for name in STARTUP_SEGMENTS
        if name in used
    ]
    if handles:
        ax.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, 0.0),
            bbox_transform=_below(ax, AXIS_LABELS_IN),
            ncols=min(len(handles), 4),
            frameon=False,
            fontsize=7,
        )
    return names


def distribution_slots(report: Report) -> list[Slot]:
    """Histogram, box plots (sharing its x axis), startup bars with their legend below."""
    n = len(report.runs)
    return [
        Slot(2.2, below_in=0.25),
        Slot(0.2 + 0.28 * n, above_in=0.05, below_in=AXIS_LABELS_IN, sharex=0),
        Slot(0.2 + 0.28 * n, below_in=AXIS_LABELS_IN + 0.35),
    ]


# Plot units (inches per unit of ratio) of the distribution page at most: no taller than useful.
_UNIT_IN = 1.15


def distribution_figure(
    report: Report,
    *,
    size_in: tuple[float, float],
    rect: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0),
) -> Figure:
    """Histograms, box plots and the startup breakdown on one figure, legend on top."""
    slots = distribution_slots(report)
    legend_in = legend_height_in(report)
    fill = (rect[3] * size_in[1] - fixed_height_in(slots, legend_in)) / sum(s.ratio for s in slots)
    fig = new_figure(size_in)
    hist, boxes, startup = stack_axes(
        fig, rect, slots, legend_in=legend_in, unit_in=min(fill, _UNIT_IN)
    )
    if _histograms(hist, report):
        _boxes(boxes, report)
    else:
        hist.text(0.5, 0.5, "no measure windows", transform=hist.transAxes, ha="center")
        hist.set_title("Step time distribution")
        boxes.set_visible(False)
    names = _startup(startup, report)
    add_legend(fig, report, rect)
    if names:
        hide_narrow_labels(fig, startup, names)
    return fig


def distribution_height_in(report: Report) -> float:
    """The height (inches) of the distribution figure on its own (HTML)."""
    slots = distribution_slots(report)
    return fixed_height_in(slots, legend_height_in(report)) + _UNIT_IN * sum(s.ratio for s in slots)
