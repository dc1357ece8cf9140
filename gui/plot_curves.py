"""The dashboard's curves: one per run and plotted series, drawn as each plot's options say.

A log plot gets the log10 of its values (the left axis then labels powers of ten); a smoothed
plot gets a rolling median or mean drawn over its raw points, which stay, faint, behind it.
Every curve gets a peak envelope of the x range it will show (``decimate``).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

from gui.models.catalog import SERIES
from gui.models.decimate import envelope
from gui.models.rundata import RunData
from gui.models.smoothing import rolling
from gui.plot_options import PlotOptions
from profiler.colors import color_of

RAW_ALPHA = 70  # raw points behind a smoothed curve: faint
Span = tuple[float, float, int]  # x0, x1, bins
Key = tuple[int, str]  # run id, series key


def log10_or_nan(y: np.ndarray) -> np.ndarray:
    """log10 of the positive values; NaN for the others (a log axis has no place for them)."""
    positive = y > 0
    return np.where(positive, np.log10(np.where(positive, y, 1.0)), np.nan)


class PlotCurves:
    """The curves of ``plots`` (series key -> PlotWidget), by (run id, series key)."""

    def __init__(self, plots: dict[str, pg.PlotWidget]) -> None:
        self.plots = plots
        self.raw: dict[Key, pg.PlotCurveItem] = {}
        self.smoothed: dict[Key, pg.PlotCurveItem] = {}
        self.options: dict[str, PlotOptions] = {spec.key: PlotOptions() for spec in SERIES}

    def clear(self) -> None:
        """Remove every curve."""
        for (_run_id, key), curve in [*self.raw.items(), *self.smoothed.items()]:
            self.plots[key].removeItem(curve)
        self.raw.clear()
        self.smoothed.clear()

    def draw(self, run: RunData, key: str, x: np.ndarray, y: np.ndarray, span: Span) -> None:
        """Hand one run's series to its curves, as plot ``key``'s options say."""
        options = self.options[key]
        if options.log:
            y = log10_or_nan(y)
        xs, ys = envelope(x, y, *span)
        self._raw(run, key).setData(xs, ys, connect="finite")
        smoothed = self.smoothed.get((run.info.run_id, key))
        if options.smoothing == "off":
            if smoothed is not None:
                smoothed.setData([], [])
            return
        if smoothed is None:
            smoothed = pg.PlotCurveItem(pen=pg.mkPen(color_of(run.framework), width=2))
            smoothed.setZValue(5)
            self.plots[key].addItem(smoothed)
            self.smoothed[(run.info.run_id, key)] = smoothed
        sx, sy = envelope(x, rolling(y, options.smoothing, options.window), *span)
        smoothed.setData(sx, sy, connect="finite")

    def restyle(self, key: str, runs: dict[int, RunData]) -> None:
        """Give plot ``key``'s raw curves the pen its smoothing asks for (faint or not)."""
        for (run_id, k), curve in self.raw.items():
            if k == key and run_id in runs:
                curve.setPen(self._pen(runs[run_id], key))

    def y_extent(self, key: str) -> tuple[float, float] | None:
        """The lowest and highest value drawn in plot ``key`` (None when nothing is)."""
        lows, highs = [], []
        for (_run_id, k), curve in self.raw.items():
            ys = curve.yData
            if k == key and ys is not None and len(ys) and np.isfinite(ys).any():
                lows.append(float(np.nanmin(ys)))
                highs.append(float(np.nanmax(ys)))
        return (min(lows), max(highs)) if lows else None

    def _pen(self, run: RunData, key: str) -> object:
        color = QColor(color_of(run.framework))
        if self.options[key].smoothing != "off":
            color.setAlpha(RAW_ALPHA)
        return pg.mkPen(color, width=1)

    def _raw(self, run: RunData, key: str) -> pg.PlotCurveItem:
        curve = self.raw.get((run.info.run_id, key))
        if curve is None:
            # A bare PlotCurveItem: the data is already decimated, so PlotDataItem's layer
            # (downsampling, clipping, its own bounds) would only cost time.
            curve = pg.PlotCurveItem(pen=self._pen(run, key))
            self.plots[key].addItem(curve)
            self.raw[(run.info.run_id, key)] = curve
        return curve
