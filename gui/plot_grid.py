"""The dashboard's plots as a grid: which are shown, in which order, linked on x.

One plot per series of the catalogue, made once; arranging them shows, hides and re-links them.
Plots in the grid have equal widths, so pyqtgraph's x-link copies the range instead of lining
views up by pixels (which is what it does for linked views of different widths).
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QGraphicsItem, QGridLayout, QWidget

from gui.models.catalog import SERIES, SERIES_BY_KEY, SeriesSpec
from gui.plot_options import PlotViewBox
from gui.theme import Theme

COLUMNS = 3
GRID_ALPHA = 0.15
AXIS_LABELS = {
    "time": ("session time", "s"),
    "launch": ("time since launch", "s"),
    "step": ("training step", ""),
}


def make_plot(spec: SeriesSpec, parent: QWidget) -> pg.PlotWidget:
    """An empty, hidden plot for one series, its tooltips explaining the metric and unit."""
    plot = pg.PlotWidget(parent=parent, viewBox=PlotViewBox())
    plot.setMinimumSize(200, 130)
    item = plot.getPlotItem()
    item.titleLabel.setToolTip(spec.tip)
    item.getAxis("left").setToolTip(spec.tip)
    # A y grid only: x grid lines doubled the cost of every repaint for little help.
    item.showGrid(x=False, y=True, alpha=GRID_ALPHA)
    item.hideButtons()
    # pyqtgraph's menus (raw log mode, autorange, export) fight the dashboard's own ranges:
    # the dashboard's menu (``plot_options``) replaces them.
    item.setMenuEnabled(False, enableViewBoxMenu=True)
    font = QFont()
    font.setPointSize(8)
    for name in ("left", "bottom"):
        axis = item.getAxis(name)
        axis.setTickFont(font)
        # Painted into a pixmap, repainted only when the range changes: laying out and
        # drawing tick labels was the largest cost of a redraw.
        axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
    # One width for every left axis keeps the plots of a column aligned.
    item.getAxis("left").setWidth(48)
    item.getAxis("bottom").enableAutoSIPrefix(False)
    view = item.getViewBox()
    view.setLimits(xMin=-1.0)
    # Both ranges are the dashboard's while it follows the data (round numbers that change
    # seldom): autorange moved the y range with nearly every new point of a noisy curve.
    view.enableAutoRange(x=False, y=False)
    plot.hide()
    return plot


class PlotGrid:
    """Places the plots of ``self.plots`` in ``layout``: ``order`` minus ``hidden``, or only
    ``maximized``; GPU plots only when asked for."""

    def __init__(self, parent: QWidget, layout: QGridLayout) -> None:
        self.layout = layout
        self.plots: dict[str, pg.PlotWidget] = {s.key: make_plot(s, parent) for s in SERIES}
        self.order = [s.key for s in SERIES]
        self.hidden: set[str] = set()
        self.maximized: str | None = None
        self.shown: list[str] = []

    def visible_keys(self, gpu: bool) -> list[str]:
        """The plots to show, in order (GPU ones only when ``gpu``)."""
        if self.maximized is not None:
            return [self.maximized]
        return [k for k in self.order if k not in self.hidden and (gpu or not SERIES_BY_KEY[k].gpu)]

    def hidden_gpu(self) -> list[str]:
        """GPU plots not shown but not hidden by the user either."""
        return [
            k
            for k in self.order
            if SERIES_BY_KEY[k].gpu and k not in self.shown and k not in self.hidden
        ]

    def set_order(self, order: list[str], hidden: set[str] | list[str]) -> None:
        """Reorder and hide (unknown keys are ignored, missing ones appended)."""
        known = [k for k in order if k in self.plots]
        self.order[:] = known + [s.key for s in SERIES if s.key not in known]  # in place:
        self.hidden.clear()  # the dashboard holds these very objects
        self.hidden.update(k for k in hidden if k in self.plots)

    def arrange(self, gpu: bool) -> list[str]:
        """Lay the visible plots out, link their x axes; returns the plots newly shown."""
        shown = self.visible_keys(gpu)
        newly = [k for k in shown if k not in self.shown]
        for key, plot in self.plots.items():
            self.layout.removeWidget(plot)
            plot.setXLink(None)
            if key not in shown:
                plot.hide()
        for i, key in enumerate(shown):
            self.layout.addWidget(self.plots[key], i // COLUMNS, i % COLUMNS)
            self.plots[key].show()
            if i:
                self.plots[key].setXLink(self.plots[shown[0]])
        columns = min(COLUMNS, max(1, len(shown)))
        for c in range(COLUMNS):
            self.layout.setColumnStretch(c, 1 if c < columns else 0)
        self.shown = shown
        return newly

    def label_axes(self, mode: str, color: str) -> None:
        """Name the x axis (wall time or step) under the plots that have none below them."""
        text, units = AXIS_LABELS[mode]
        n = len(self.shown)
        for i, key in enumerate(self.shown):
            item = self.plots[key].getPlotItem()
            if i + COLUMNS >= n:
                item.setLabel("bottom", text, units=units, color=color)
            else:
                item.setLabel("bottom", None)

    def apply_theme(self, theme: Theme) -> None:
        """Backgrounds, axes and titles in the theme's colours."""
        fg = theme.plot_foreground
        for key, plot in self.plots.items():
            plot.setBackground(theme.plot_background)
            item = plot.getPlotItem()
            item.setTitle(SERIES_BY_KEY[key].label, color=fg, size="10pt")
            for name in ("left", "bottom"):
                axis = item.getAxis(name)
                axis.setPen(pg.mkPen(fg, width=1))
                axis.setTextPen(pg.mkPen(fg))
