"""Live plots: throughput, step time, loss, CPU, RSS and threads, one curve per run in its
framework's colour.

Following pyqtgraph's ``examples/scrollingPlots.py``: data lives in preallocated numpy arrays that
double when full, curves clip to the view and downsample by peaks, pens are one pixel wide.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from gui.adapter import Batch
from profiler.colors import color_of, label_of
from profiler.session import RunInfo

BACKGROUND = "#FFFFFF"
FOREGROUND = "#3A3F44"
GRID_ALPHA = 0.15


@dataclass(frozen=True)
class SeriesSpec:
    """One plotted quantity: its key, its title and the unit on its axis."""

    key: str
    title: str
    unit: str


SERIES: tuple[SeriesSpec, ...] = (
    SeriesSpec("samples_per_s", "Throughput", "samples/s"),
    SeriesSpec("step_time_ms", "Step time", "ms"),
    SeriesSpec("loss", "Training loss", ""),
    SeriesSpec("cpu_percent", "Process CPU", "%"),
    SeriesSpec("rss_mib", "Process RSS", "MiB"),
    SeriesSpec("threads", "Process threads", ""),
)
COLUMNS = 3
REDRAW_MS = 250
WINDOW_SERIES = ("samples_per_s", "step_time_ms", "loss")
SAMPLE_SERIES = ("cpu_percent", "rss_mib", "threads")


class GrowingSeries:
    """x/y points in preallocated float arrays whose capacity doubles when full."""

    def __init__(self, capacity: int = 256) -> None:
        self._x = np.empty(capacity, dtype=float)
        self._y = np.empty(capacity, dtype=float)
        self.count = 0

    def extend(self, xs: list[float], ys: list[float]) -> None:
        """Append points (NaN y values are kept; the curve leaves a gap there)."""
        n = len(xs)
        need = self.count + n
        if need > len(self._x):
            capacity = len(self._x)
            while capacity < need:
                capacity *= 2
            for name in ("_x", "_y"):
                old = getattr(self, name)
                new = np.empty(capacity, dtype=float)
                new[: self.count] = old[: self.count]
                setattr(self, name, new)
        self._x[self.count : need] = xs
        self._y[self.count : need] = ys
        self.count = need

    def x(self) -> np.ndarray:
        """The stored x values (a view, no copy)."""
        return self._x[: self.count]

    def y(self) -> np.ndarray:
        """The stored y values (a view, no copy)."""
        return self._y[: self.count]


class LiveDashboard(QWidget):
    """Six linked live plots in a 2 x 3 grid; feed it the adapter's batches with ``add_points``.

    Plots of equal width, so pyqtgraph's x-link copies the time range instead of lining views
    up by pixels (which is what it does for linked views of different widths).
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plots: dict[str, pg.PlotWidget] = {}
        self._series: dict[tuple[int, str], GrowingSeries] = {}
        self._curves: dict[tuple[int, str], pg.PlotDataItem] = {}
        self._runs: dict[int, RunInfo] = {}
        self._markers: list[tuple[pg.PlotWidget, pg.InfiniteLine]] = []
        self._dirty: set[tuple[int, str]] = set()
        self._following = True
        # Points are stored as they arrive, curves redrawn at most every REDRAW_MS: repainting
        # six plots on every 100 ms batch cost the GUI process a third of a core.
        self._redraw = QTimer(self)
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(REDRAW_MS)
        self._redraw.timeout.connect(self.redraw)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.legend = QLabel(self)
        self.legend.setObjectName("plotLegend")
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(self.legend)
        grid = QGridLayout()
        grid.setSpacing(6)
        layout.addLayout(grid, 1)
        first: pg.PlotWidget | None = None
        for i, spec in enumerate(SERIES):
            plot = self._make_plot(spec, bottom=i >= COLUMNS)
            if first is None:
                first = plot
            else:
                plot.setXLink(first)
            self.plots[spec.key] = plot
            grid.addWidget(plot, i // COLUMNS, i % COLUMNS)
        self._update_legend()

    def _make_plot(self, spec: SeriesSpec, *, bottom: bool) -> pg.PlotWidget:
        plot = pg.PlotWidget(background=BACKGROUND)
        plot.setMinimumSize(220, 150)
        item = plot.getPlotItem()
        title = f"{spec.title} ({spec.unit})" if spec.unit else spec.title
        item.setTitle(title, color=FOREGROUND, size="10pt")
        # A y grid only: x grid lines doubled the cost of every repaint for little help.
        item.showGrid(x=False, y=True, alpha=GRID_ALPHA)
        item.setClipToView(True)
        item.setDownsampling(mode="peak")
        font = QFont()
        font.setPointSize(8)
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen(FOREGROUND, width=1))
            axis.setTextPen(pg.mkPen(FOREGROUND))
            axis.setTickFont(font)
        # One width for every left axis keeps the plots of a column aligned.
        item.getAxis("left").setWidth(48)
        if bottom:
            item.setLabel("bottom", "time since start", units="s", color=FOREGROUND)
        view = item.getViewBox()
        view.setLimits(xMin=-1.0)
        # The time axis is ours (see _follow_time); y autoscales to what is visible.
        view.enableAutoRange(x=False, y=True)
        view.setAutoVisible(y=True)
        view.sigRangeChangedManually.connect(self._stop_following)
        return plot

    def _update_legend(self) -> None:
        frameworks = list(dict.fromkeys(run.framework for run in self._runs.values()))
        if not frameworks:
            self.legend.setText(f"<span style='color:{FOREGROUND}'>No runs yet</span>")
            return
        parts = [
            f"<span style='color:{color_of(fw)}; font-size:14pt'>&#9632;</span>"
            f"<span style='color:{FOREGROUND}'>&nbsp;{label_of(fw)}</span>"
            for fw in frameworks
        ]
        self.legend.setText("&nbsp;&nbsp;&nbsp;&nbsp;".join(parts))

    # -- feeding -------------------------------------------------------------------------

    def add_runs(self, runs: list[RunInfo]) -> None:
        """Register planned runs so each curve knows its framework."""
        for run in runs:
            self._runs[run.run_id] = run
        self._update_legend()

    def add_points(self, batch: Batch) -> None:
        """Append a batch's windows and samples and redraw only the curves that changed."""
        changed: set[tuple[int, str]] = set()
        for run_id, windows in batch.windows.items():
            xs = [w.t for w in windows]
            for key in WINDOW_SERIES:
                self._extend(run_id, key, xs, [getattr(w, key) for w in windows])
                changed.add((run_id, key))
        for run_id, all_samples in batch.samples.items():
            # A tree with no thread left was not measured: no point beats a false zero.
            samples = [s for s in all_samples if s.threads > 0]
            if not samples:
                continue
            xs = [s.t for s in samples]
            for key in SAMPLE_SERIES:
                self._extend(run_id, key, xs, [getattr(s, key) for s in samples])
                changed.add((run_id, key))
        for phase in batch.phases:
            if phase.name == "measure" and phase.state == "start":
                self._mark_measure_start(phase.run_id, phase.t)
        self._dirty |= changed
        if self._dirty and not self._redraw.isActive():
            self._redraw.start()

    def redraw(self) -> None:
        """Hand the curves that changed their new data now (the timer does this on its own)."""
        self._redraw.stop()
        for run_id, key in sorted(self._dirty):
            series = self._series.get((run_id, key))
            if series is not None:
                self._curve(run_id, key).setData(series.x(), series.y(), connect="finite")
        self._dirty.clear()
        if self._following:
            self._follow_time()

    def _follow_time(self) -> None:
        """Show the whole session so far: from 0 to the latest point of any series."""
        ends = [float(series.x()[-1]) for series in self._series.values() if series.count]
        if ends:
            first = self.plots[SERIES[0].key]
            first.setXRange(0.0, max(ends), padding=0.02)

    def _stop_following(self, *_: object) -> None:
        # The user zoomed or panned: leave the time axis alone until the next session.
        self._following = False

    def _extend(self, run_id: int, key: str, xs: list[float], ys: list[float]) -> None:
        series = self._series.get((run_id, key))
        if series is None:
            series = self._series[(run_id, key)] = GrowingSeries()
        series.extend(xs, ys)

    def _framework(self, run_id: int) -> str:
        run = self._runs.get(run_id)
        return run.framework if run is not None else f"run {run_id}"

    def _curve(self, run_id: int, key: str) -> pg.PlotDataItem:
        curve = self._curves.get((run_id, key))
        if curve is not None:
            return curve
        pen = pg.mkPen(color_of(self._framework(run_id)), width=1)
        curve = self.plots[key].plot(pen=pen, antialias=True)
        curve.setClipToView(True)
        curve.setDownsampling(auto=True, method="peak")
        self._curves[(run_id, key)] = curve
        return curve

    def _mark_measure_start(self, run_id: int, t: float) -> None:
        color = QColor(color_of(self._framework(run_id)))
        color.setAlpha(140)
        for plot in self.plots.values():
            line = pg.InfiniteLine(
                pos=t,
                angle=90,
                movable=False,
                pen=pg.mkPen(color, width=1, style=Qt.PenStyle.DashLine),
            )
            plot.addItem(line, ignoreBounds=True)
            self._markers.append((plot, line))

    def clear(self) -> None:
        """Remove every curve, marker and stored point (before a new session)."""
        for (_run_id, key), curve in self._curves.items():
            self.plots[key].removeItem(curve)
        for plot, line in self._markers:
            plot.removeItem(line)
        for plot in self.plots.values():
            plot.getPlotItem().getViewBox().enableAutoRange(x=False, y=True)
        self._following = True
        self._curves.clear()
        self._series.clear()
        self._dirty.clear()
        self._redraw.stop()
        self._markers.clear()
        self._runs.clear()
        self._update_legend()

    def point_count(self, run_id: int, series: str) -> int:
        """How many points ``series`` (e.g. 'samples_per_s', 'cpu_percent') holds for a run."""
        stored = self._series.get((run_id, series))
        return stored.count if stored is not None else 0
