"""Matplotlib plumbing shared by the charts: style, Agg figures, decimation, legends, inline SVG.

Figures are built with matplotlib's object API on an Agg canvas: pyplot and its GUI backends are
never touched, and matplotlib is imported only when a chart is drawn.
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
from profiler.report.model import FloatArray, Report

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
    # a fixed title position: placing it automatically measures every tick label of the axes
    "axes.titley": 1.0,
    "axes.titlepad": 5.0,
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
    "path.simplify": True,
}
LINE_STYLES = ("-", "--", ":", "-.")
# A line never carries more points than this into a chart: a page is about 1,000 points wide,
# and an hour sampled at 20 Hz would otherwise make every page slow to write and to open.
MAX_POINTS = 1000
LEGEND_COLUMNS = 8
TITLE_IN = 0.3  # an axes' title above it
GAP_IN = 0.1  # between stacked axes that share the time axis
AXIS_LABELS_IN = 0.5  # x tick labels and the x label under an axes
LEFT_IN = 0.95  # y tick labels and y label (and run names) left of the axes
RIGHT_IN = 0.15
XLABEL_IN = 0.24  # from the axes' bottom to the top of its x label
YLABEL_IN = 0.58  # from the axes' left to the y label's baseline side


@contextlib.contextmanager
def chart_style() -> Iterator[None]:
    """Apply the report style (fonts embedded as TrueType in PDF) for building and saving."""
    import matplotlib

    with matplotlib.rc_context(cast("Any", STYLE)):
        yield


def new_figure(size_in: tuple[float, float]) -> Figure:
    """A figure on an Agg canvas, never a pyplot (GUI) one; axes are placed by hand (see
    ``stack_axes``): a layout engine measures every tick label and doubles the drawing time."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size_in)
    FigureCanvasAgg(fig)
    return fig


@dataclass(frozen=True)
class Slot:
    """Room for one axes in a stack: its share of the flexible height, the fixed space above it
    (its title) and below it (tick labels, x label, a legend), in inches. ``sharex`` is the index
    of an earlier slot whose x axis it shares."""

    ratio: float
    above_in: float = TITLE_IN
    below_in: float = GAP_IN
    sharex: int | None = None


def fixed_height_in(slots: Sequence[Slot], legend_in: float) -> float:
    """The height a stack needs besides its axes: legend, titles, labels."""
    return legend_in + sum(s.above_in + s.below_in for s in slots)


def stack_axes(
    fig: Figure,
    rect: tuple[float, float, float, float],
    slots: Sequence[Slot],
    *,
    legend_in: float,
    unit_in: float | None = None,
) -> list[Axes]:
    """Axes stacked top to bottom in ``rect`` (figure fractions), below a legend band.

    Each axes is ``ratio * unit_in`` high; without ``unit_in`` the stack fills the rectangle. A
    fixed left gutter holds y tick labels and the y label.
    """
    fig_w, fig_h = fig.get_size_inches()
    left, bottom, width, height = rect
    flexible = height * fig_h - fixed_height_in(slots, legend_in)
    unit = flexible / sum(s.ratio for s in slots) if unit_in is None else unit_in
    x0, w = left * fig_w + LEFT_IN, width * fig_w - LEFT_IN - RIGHT_IN
    y = (bottom + height) * fig_h - legend_in
    axes: list[Axes] = []
    for slot in slots:
        h = max(slot.ratio * unit, 0.1)
        y -= slot.above_in + h
        share = axes[slot.sharex] if slot.sharex is not None else None
        ax = fig.add_axes((x0 / fig_w, y / fig_h, w / fig_w, h / fig_h), sharex=share)
        place_axis_labels(ax)
        axes.append(ax)
        y -= slot.below_in
    return axes


def place_axis_labels(ax: Axes) -> None:
    """Put the x and y labels at fixed distances from the axes.

    Placed automatically, every label measures the tick labels of the axes and of all those that
    share it, which is most of the time a page takes to draw.
    """
    from matplotlib.transforms import ScaledTranslation

    fig = ax.get_figure(root=True)
    assert fig is not None
    inches = fig.dpi_scale_trans
    ax.xaxis.set_label_coords(0.5, 0.0, ax.transAxes + ScaledTranslation(0, -XLABEL_IN, inches))
    ax.yaxis.set_label_coords(0.0, 0.5, ax.transAxes + ScaledTranslation(-YLABEL_IN, 0, inches))


def decimate_minmax(
    t: FloatArray, y: FloatArray, max_points: int = MAX_POINTS
) -> tuple[FloatArray, FloatArray]:
    """At most ``max_points`` points that draw like ``(t, y)``: each bucket's min and max.

    Splits the points into ``max_points // 2`` buckets of equal count (samples are evenly spaced
    in time) and keeps the lowest and highest point of each, in time order, so spikes survive.
    A bucket with no finite value becomes one NaN pair, so gaps stay gaps. For charts only:
    statistics always use every value.
    """
    n = int(t.size)
    if n <= max_points:
        return t, y
    buckets = max(1, max_points // 2)
    size = math.ceil(n / buckets)
    buckets = math.ceil(n / size)
    padded = np.full(buckets * size, np.nan)
    padded[:n] = y
    grid = padded.reshape(buckets, size)
    ok = np.isfinite(grid)
    low = np.where(ok, grid, np.inf).argmin(axis=1)
    high = np.where(ok, grid, -np.inf).argmax(axis=1)
    base = np.arange(buckets) * size
    index = np.minimum(
        np.stack([base + np.minimum(low, high), base + np.maximum(low, high)], axis=1).ravel(),
        n - 1,
    )
    values = y[index].astype(float)
    values[np.repeat(~ok.any(axis=1), 2)] = np.nan
    return t[index], values


def legend_entries(report: Report) -> tuple[list[Artist], list[str]]:
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
            style = LINE_STYLES[repeat % len(LINE_STYLES)]
            handles.append(Line2D([], [], color="0.3", lw=LINE_WIDTH, ls=style))
            labels.append(f"run #{repeat + 1}")
    return handles, labels


def legend_height_in(report: Report) -> float:
    """The height the legend row(s) take above the plots, in inches."""
    entries = len({s.framework for s in report.series})
    repeats = len({s.repeat for s in report.series})
    entries += repeats if repeats > 1 else 0
    rows = math.ceil(entries / LEGEND_COLUMNS)
    return 0.12 + 0.2 * rows if rows else 0.0


def add_legend(fig: Figure, report: Report, rect: tuple[float, float, float, float]) -> None:
    """The framework (and repeat) legend, centred above ``rect``."""
    handles, labels = legend_entries(report)
    if handles:
        left, bottom, width, height = rect
        fig.legend(
            handles,
            labels,
            loc="upper center",
            bbox_to_anchor=(left + width / 2, bottom + height),
            ncols=min(len(labels), LEGEND_COLUMNS),
            frameon=False,
        )


def hide_narrow_labels(fig: Figure, ax: Axes, names: list[tuple[Text, float]]) -> None:
    """Hide labels wider than their bar (``(text, bar width in x data units)``); call once the
    axes' place and x limits are final."""
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    px_per_unit = ax.transData.transform((1.0, 0.0))[0] - ax.transData.transform((0.0, 0.0))[0]
    for text, width in names:
        if text.get_window_extent(renderer).width + 2.0 > width * px_per_unit:
            text.set_visible(False)


def plain_log_axis(ax: Axes) -> None:
    """A log x axis labelled with plain numbers at 1-2-5 steps, no minor labels."""
    from matplotlib.ticker import LogLocator, NullFormatter, StrMethodFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10.0, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


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
