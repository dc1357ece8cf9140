"""Matplotlib charts of a Report: throughput, step time, loss, CPU, memory (and GPU) over time.

Figures are built with matplotlib's object API on an Agg canvas: pyplot and its GUI backends are
never touched, and matplotlib is imported only when a chart is drawn. Every run is drawn in its
framework's colour (repeats differ by line style); time is seconds since each run's launch, so
runs that ran one after another overlay. A phase timeline sits on top of the first page and each
run's measure phase is lightly shaded in its colour behind every plot.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from profiler.colors import color_of, label_of
from profiler.report.model import FloatArray, Report, RunSeries
from profiler.report.tables import run_header

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.text import Text

LINE_WIDTH = 1.2
STYLE: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 8,
    "legend.fontsize": 8,
    "lines.linewidth": LINE_WIDTH,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "pdf.fonttype": 42,
    "ps.fonttype": 42,
    "svg.fonttype": "none",
    "svg.hashsalt": "frameduel",
}
_LINE_STYLES = ("-", "--", ":", "-.")
_PHASE_ALPHA = {"import": 0.18, "build": 0.32, "compile": 0.5, "warmup": 0.65, "measure": 0.95}
_MEASURE_SHADE_ALPHA = 0.07
_TIME_LABEL = "seconds since the run's launch"
_LEGEND_COLUMNS = 8
_AXIS_LABELS_IN = 0.45  # the time axis' tick labels and label under the last plot
_TITLE_IN = 0.4  # a plot's title and the gap above it


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
    "gpu_util_percent": Panel("GPU utilisation", "%", windows=False),
    "gpu_mem_mib": Panel("GPU memory", "MiB", windows=False),
    "gpu_power_w": Panel("GPU power", "W", windows=False),
}


def chart_pages(report: Report) -> list[tuple[str, ...]]:
    """The panels of each chart figure (one PDF page each); GPU panels only with a GPU."""
    pages = [("samples_per_s", "step_time_ms", "loss"), ("cpu_percent", "rss_mib")]
    if report.has_gpu:
        pages.append(("gpu_util_percent", "gpu_mem_mib", "gpu_power_w"))
    return pages


@contextlib.contextmanager
def chart_style() -> Iterator[None]:
    """Apply the report style (fonts embedded as TrueType in PDF) for building and saving."""
    import matplotlib

    with matplotlib.rc_context(cast("Any", STYLE)):
        yield


def new_figure(
    size_in: tuple[float, float], *, rect: tuple[float, float, float, float] | None = None
) -> Figure:
    """A figure on an Agg canvas, never a pyplot (GUI) one.

    With ``rect`` (left, bottom, width, height in figure fractions) its axes are laid out by
    constrained layout inside that rectangle; without, everything is placed by hand.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    layout = None if rect is None else ConstrainedLayoutEngine(rect=rect, h_pad=0.06)
    fig = Figure(figsize=size_in, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _data(series: RunSeries, key: str) -> tuple[FloatArray, FloatArray]:
    if PANELS[key].windows:
        return series.window_t_s, series.window_series()[key]
    return series.sample_t_s, series.sample_series()[key]


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


def _plot_panel(ax: Axes, report: Report, key: str) -> None:
    panel = PANELS[key]
    _shade_measure(ax, report)
    drawn = False
    for series in report.series:
        t, values = _data(series, key)
        if not np.isfinite(values).any():
            continue
        drawn = True
        ax.plot(
            t,
            values,
            color=color_of(series.framework),
            lw=LINE_WIDTH,
            ls=_LINE_STYLES[series.repeat % len(_LINE_STYLES)],
            marker="o" if panel.windows else None,
            markersize=2.2,
        )
    ax.set_title(panel.title)
    ax.set_ylabel(panel.ylabel)
    if not drawn:
        ax.text(0.5, 0.5, "no data", transform=ax.transAxes, ha="center", va="center", color="0.5")
        return
    if key in ("samples_per_s", "step_time_ms"):
        _fit_to_measure(ax, report, key)
    elif panel.zero_based:
        ax.set_ylim(bottom=0.0)


def _summary(report: Report, run_id: int) -> Any:
    return next(r for r in report.runs if r.run_id == run_id)


def _plot_timeline(ax: Axes, report: Report) -> list[tuple[Text, float]]:
    """One row per run; each phase a bar in the run's colour, darker for later phases.

    Returns each phase name with its bar's width in seconds, to hide names that do not fit.
    """
    labels, names = [], []
    for row, series in enumerate(report.series):
        labels.append(run_header(report, _summary(report, series.run_id)))
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


def _hide_narrow_labels(fig: Figure, ax: Axes, names: list[tuple[Text, float]]) -> None:
    """Hide phase names wider than their bar (known only once the layout is done)."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    px_per_s = ax.transData.transform((1.0, 0.0))[0] - ax.transData.transform((0.0, 0.0))[0]
    for text, width_s in names:
        if text.get_window_extent(renderer).width + 2.0 > width_s * px_per_s:
            text.set_visible(False)


def _legend_entries(report: Report) -> tuple[list[Artist], list[str]]:
    """One entry per framework (its colour), then one per repeat (its line style) if repeated."""
    from matplotlib.lines import Line2D

    handles: list[Artist] = []
    labels: list[str] = []
    for framework in dict.fromkeys(s.framework for s in report.series):
        handles.append(Line2D([], [], color=color_of(framework), lw=LINE_WIDTH * 2))
        labels.append(label_of(framework))
    repeats = sorted({s.repeat for s in report.series})
    if len(repeats) > 1:
        for repeat in repeats:
            style = _LINE_STYLES[repeat % len(_LINE_STYLES)]
            handles.append(Line2D([], [], color="0.3", lw=LINE_WIDTH, ls=style))
            labels.append(f"run #{repeat + 1}")
    return handles, labels


def _legend_height_in(report: Report) -> float:
    entries = len({s.framework for s in report.series})
    repeats = len({s.repeat for s in report.series})
    entries += repeats if repeats > 1 else 0
    rows = math.ceil(entries / _LEGEND_COLUMNS)
    return 0.12 + 0.2 * rows if rows else 0.0


def _timeline_ratio(report: Report) -> float:
    """The phase timeline's height, in units of one plot's height."""
    return 0.25 + 0.18 * len(report.series)


def chart_figure(
    report: Report,
    keys: Sequence[str],
    *,
    size_in: tuple[float, float],
    rect: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0),
    timeline: bool = False,
) -> Figure:
    """One figure with ``keys`` panels stacked on a shared time axis (phase timeline on top).

    ``rect`` (left, bottom, width, height, in figure fractions) holds the legend on top and the
    plots below it.
    """
    legend_h = _legend_height_in(report) / size_in[1]
    left, bottom, width, height = rect
    fig = new_figure(size_in, rect=(left, bottom, width, height - legend_h))
    ratios = ([_timeline_ratio(report)] if timeline else []) + [1.0] * len(keys)
    axes = fig.subplots(len(ratios), 1, sharex=True, height_ratios=ratios, squeeze=False)[:, 0]
    names = _plot_timeline(axes[0], report) if timeline else []
    for ax, key in zip(axes[1:] if timeline else axes, keys, strict=True):
        _plot_panel(ax, report, key)
    axes[-1].set_xlabel(_TIME_LABEL)
    axes[-1].set_xlim(left=0.0)
    handles, labels = _legend_entries(report)
    if handles:
        fig.legend(
            handles,
            labels,
            loc="upper center",
            bbox_to_anchor=(left + width / 2, bottom + height),
            ncols=min(len(labels), _LEGEND_COLUMNS),
            frameon=False,
        )
    if names:
        _hide_narrow_labels(fig, axes[0], names)
    return fig


def chart_figures(
    report: Report,
    *,
    size_in: tuple[float, float],
    rect: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0),
) -> list[Figure]:
    """Every chart figure of the report (pages of one size); call inside ``chart_style()``.

    Pages with fewer plots keep the plots' height of the fullest page and leave the rest blank.
    """
    pages = chart_pages(report)
    left, bottom, width, height = rect
    height_in = height * size_in[1]
    fixed_in = _legend_height_in(report) + _AXIS_LABELS_IN
    units = [
        len(keys) + (_timeline_ratio(report) if i == 0 else 0.0) for i, keys in enumerate(pages)
    ]
    n_axes = [len(keys) + (i == 0) for i, keys in enumerate(pages)]
    # One plot's height, in inches, such that the fullest page fills the rectangle.
    unit_in = min(
        (height_in - fixed_in - _TITLE_IN * a) / u for a, u in zip(n_axes, units, strict=True)
    )
    figures = []
    for index, keys in enumerate(pages):
        need_in = fixed_in + _TITLE_IN * n_axes[index] + unit_in * units[index]
        page_h = height * min(1.0, need_in / height_in)
        page_rect = (left, bottom + height - page_h, width, page_h)
        figures.append(
            chart_figure(report, keys, size_in=size_in, rect=page_rect, timeline=index == 0)
        )
    return figures


def figure_svg(fig: Figure, id_prefix: str = "chart") -> str:
    """The figure as an inline SVG element (text kept as text, no XML prolog, no date).

    Element ids are renumbered ``<id_prefix>-<n>`` in document order: matplotlib derives some
    from object addresses (not reproducible), and several SVGs inlined in one HTML page must
    not share an id.
    """
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    ids: dict[str, str] = {}
    for old in re.findall(r'\bid="([^"]+)"', text):
        ids.setdefault(old, f"{id_prefix}-{len(ids) + 1}")

    def renumber(match: re.Match[str]) -> str:
        old = match.group(2)
        return match.group(1) + ids[old] if old in ids else match.group(0)

    return re.sub(r'(\bid="|#)([A-Za-z_][\w.:-]*)', renumber, text)
