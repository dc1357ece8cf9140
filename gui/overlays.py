"""What the dashboard draws over its curves: shaded phases and a crosshair with a readout."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QAction, QColor, QPainter
from PySide6.QtWidgets import (
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QWidget,
)

from gui.models.catalog import PHASE_COLORS, PHASE_TIPS, SeriesSpec
from gui.models.rundata import RunData, SessionData
from profiler.colors import color_of, label_of

ToX = Callable[[RunData, np.ndarray], np.ndarray]
PHASE_ALPHA = 38


class PhaseBands(pg.GraphicsObject):  # type: ignore[misc]  # pyqtgraph is untyped
    """Vertical bands spanning a plot's height, all painted in one go (one item per plot,
    where a LinearRegionItem per band cost a paint call each)."""

    def __init__(self) -> None:
        super().__init__()
        self.bands: list[tuple[float, float, QColor]] = []
        self.setZValue(-20)
        # A pixmap, repainted only when the bands or the view change, not with every curve.
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    def set_bands(self, bands: list[tuple[float, float, QColor]]) -> None:
        """Replace the bands: (x0, x1, colour) in data coordinates."""
        self.prepareGeometryChange()
        self.bands = bands
        self.update()

    def viewRangeChanged(self) -> None:
        # The bands span the visible height: it changes with the view.
        self.prepareGeometryChange()
        super().viewRangeChanged()

    def boundingRect(self) -> QRectF:
        view = self.viewRect()
        if view is None or not self.bands:
            return QRectF()
        x0 = min(b[0] for b in self.bands)
        x1 = min(max(b[1] for b in self.bands), view.right())  # open bands: to the edge
        return QRectF(x0, view.top(), x1 - x0, view.height()).normalized()

    def paint(self, painter: QPainter, *_: object) -> None:
        view = self.viewRect()
        if view is None:
            return
        painter.setPen(Qt.PenStyle.NoPen)
        for x0, x1, color in self.bands:
            right = min(x1, view.right())
            if right > x0:
                painter.setBrush(color)
                painter.drawRect(QRectF(x0, view.top(), right - x0, view.height()))


class PhaseShading:
    """A light band per phase of each run, behind the curves of every plot."""

    def __init__(self, plots: dict[str, pg.PlotWidget]) -> None:
        self._items: dict[str, PhaseBands] = {}
        for key, plot in plots.items():
            item = self._items[key] = PhaseBands()
            plot.addItem(item, ignoreBounds=True)
        self._bands: list[tuple[float, float, str]] = []
        self.enabled = True
        self.alpha = PHASE_ALPHA

    def update(self, data: SessionData, to_x: ToX, force: bool = False) -> None:
        """Place a band for every phase span; a phase still going on runs to the plot's right
        edge (so the bands, painted once, need no repaint while it goes on)."""
        bands: list[tuple[float, float, str]] = []
        if self.enabled:
            for run in data.runs.values():
                if not run.phases:
                    continue
                starts = np.array([span.start for span in run.phases], dtype=float)
                ends = np.array([span.end for span in run.phases], dtype=float)
                x0s, x1s = to_x(run, starts), to_x(run, ends)
                for span, x0, x1 in zip(run.phases, x0s, x1s, strict=True):
                    right = math.inf if math.isnan(span.end) else float(x1)
                    if math.isfinite(x0) and not math.isnan(right) and right > x0:
                        bands.append((float(x0), right, span.name))
        if bands == self._bands and not force:
            return
        self._bands = bands
        colored = []
        for x0, x1, name in bands:
            color = QColor(PHASE_COLORS.get(name, "#9AA5B1"))
            # Measuring is most of a run: a lighter shade keeps the curves readable.
            color.setAlpha(self.alpha // 2 if name == "measure" else self.alpha)
            colored.append((x0, x1, color))
        for item in self._items.values():
            item.set_bands(colored)

    def count(self) -> int:
        """How many phase bands each plot shows."""
        return len(self._bands)

    def clear(self) -> None:
        """Remove every band."""
        self._bands = []
        for item in self._items.values():
            item.set_bands([])


class Crosshair(QObject):
    """A vertical line at the mouse's x in every plot; ``moved(key, x)`` names the plot hovered.

    ``readout(key, x)`` gives the rich text shown in ``label`` (each run's value there).
    """

    moved = Signal(str, float)

    def __init__(
        self,
        plots: dict[str, pg.PlotWidget],
        readout: Callable[[str, float], str],
        show_text: Callable[[str], None],
    ) -> None:
        super().__init__()
        self._plots = plots
        self._readout = readout
        self._show_text = show_text
        self._lines: dict[str, pg.InfiniteLine] = {}
        self.key: str | None = None
        self.x = math.nan
        for key, plot in plots.items():
            line = pg.InfiniteLine(angle=90, movable=False)
            line.setZValue(30)
            line.hide()
            plot.addItem(line, ignoreBounds=True)
            self._lines[key] = line
            plot.scene().sigMouseMoved.connect(lambda pos, k=key: self._mouse(k, pos))

    def set_color(self, color: str) -> None:
        """The lines' colour (follows the theme's foreground)."""
        qcolor = QColor(color)
        qcolor.setAlpha(150)
        for line in self._lines.values():
            line.setPen(pg.mkPen(qcolor, width=1, style=Qt.PenStyle.DotLine))

    def _mouse(self, key: str, pos: QPointF) -> None:
        view = self._plots[key].getPlotItem().getViewBox()
        if not view.sceneBoundingRect().contains(pos):
            self.hide()
            return
        self.show_at(key, float(view.mapSceneToView(pos).x()))

    def show_at(self, key: str, x: float) -> None:
        """Put the crosshair at ``x`` and show the values of plot ``key`` there."""
        self.key, self.x = key, x
        for line in self._lines.values():
            line.setPos(x)
            line.show()
        self._show_text(self._readout(key, x))
        self.moved.emit(key, x)

    def hide(self) -> None:
        """Hide the lines and clear the readout."""
        if self.key is None:
            return
        self.key, self.x = None, math.nan
        for line in self._lines.values():
            line.hide()
        self._show_text("")


def legend_html(frameworks: list[str], fg: str) -> str:
    """A coloured square and the name of each framework (``No runs yet`` for none)."""
    if not frameworks:
        return f"<span style='color:{fg}'>No runs yet</span>"
    return "&nbsp;&nbsp;&nbsp;".join(
        f"<span style='color:{color_of(fw)}; font-size:14pt'>&#9632;</span>"
        f"<span style='color:{fg}'>&nbsp;{label_of(fw)}</span>"
        for fw in frameworks
    )


def phase_legend_html(fg: str) -> str:
    """The phases' shades, named."""
    return "&nbsp;".join(
        f"<span style='color:{c}; font-size:12pt'>&#9646;</span>"
        f"<span style='color:{fg}; font-size:8pt'>{name}</span>"
        for name, c in PHASE_COLORS.items()
    )


def readout_html(
    spec: SeriesSpec,
    where: str,
    x: float,
    values: list[tuple[RunData, np.ndarray, np.ndarray]],
    fg: str,
) -> str:
    """Each run's value nearest to ``x`` (``values``: run, xs, ys); empty when none has one.

    A run says nothing outside its data's span (before it started, after its process ended):
    a value missing there is not its last or first reading.
    """
    parts = [f"<span style='color:{fg}'><b>{spec.title}</b> at {where}:</span>"]
    frameworks = [run.framework for run, _xs, _ys in values]
    for run, xs, ys in values:
        ok = np.isfinite(xs) & np.isfinite(ys)
        if not ok.any() or not _within(xs[ok], x):
            continue
        value = float(ys[ok][int(np.argmin(np.abs(xs[ok] - x)))])
        name = label_of(run.framework)
        if frameworks.count(run.framework) > 1:
            name += f" #{run.info.repeat + 1}"
        unit = f" {spec.unit}" if spec.unit else ""
        parts.append(
            f"<span style='color:{color_of(run.framework)}'>{name}</span> "
            f"<span style='color:{fg}'>{format_number(value)}{unit}</span>"
        )
    return "&nbsp;&nbsp;".join(parts) if len(parts) > 1 else ""


def _within(xs: np.ndarray, x: float) -> bool:
    """Whether ``x`` lies in the span of ``xs``, give or take two of their usual spacings."""
    lo, hi = float(xs.min()), float(xs.max())
    gaps = np.abs(np.diff(xs))  # x ascends (time, or steps reached): no sort on every hover
    slack = 2 * float(np.median(gaps)) if len(gaps) else 0.0
    return lo - slack <= x <= hi + slack


def format_number(value: float) -> str:
    """Three significant digits, thousands grouped (``48,120``, ``12.3``, ``0.0420``)."""
    if math.isnan(value):
        return "—"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:,.1f}"
    return f"{value:#.3g}"


class DashboardHeader(QWidget):
    """Above the plots: the crosshair's readout, the phases' legend, the x axis switch and the
    frameworks' legend."""

    def __init__(self, axis_actions: tuple[QAction, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.readout = QLabel(self)
        self.readout.setObjectName("plotReadout")
        self.phases = QLabel(self)
        self.phases.setToolTip(
            "Shaded phases:\n" + "\n".join(f"{k}: {v}" for k, v in PHASE_TIPS.items())
        )
        self.legend = QLabel(self)
        self.legend.setObjectName("plotLegend")
        for label in (self.readout, self.phases, self.legend):
            label.setTextFormat(Qt.TextFormat.RichText)
        # The readout's text changes as the mouse moves: its width must never ask the window
        # for room (it widened the window by 75-95 px, and that size was saved). It takes what
        # is left and clips at its right end.
        self.readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.readout.setMinimumWidth(0)
        row.addWidget(self.readout, 1)
        row.addWidget(self.phases)
        row.addSpacing(12)
        for action in axis_actions:
            button = QToolButton(self)
            button.setDefaultAction(action)
            button.setAutoRaise(True)
            row.addWidget(button)
        row.addSpacing(12)
        row.addWidget(self.legend)
