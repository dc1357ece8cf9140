"""Every rank of a data-parallel session, grouped per run: step time against step.

One curve per rank, in its framework's colour; within a run the ranks differ by dash, and the
legend names run, framework and rank, so a straggler shows as the curve above its run's others.
The widget takes ``RankSeries`` (built without Qt by ``profiler.report.scaling.rank_series``, or
live by ``gui.models.ranks.LiveRanks``); ``update_series`` redraws only what grew while a scaling
run goes on.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QVBoxLayout, QWidget

from profiler.colors import color_of, label_of
from profiler.report.scaling import RankSeries

_DASHES = (
    Qt.PenStyle.SolidLine,
    Qt.PenStyle.DashLine,
    Qt.PenStyle.DotLine,
    Qt.PenStyle.DashDotLine,
)


class RankStepTimes(QWidget):
    """A plot of per-rank step times (ms), one curve per (run, rank)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget(parent=self, background="w")
        self.plot.setLabel("left", "step time (ms)")  # no SI prefix: "kms" on a log axis
        self.plot.setLabel("bottom", "step")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setClipToView(True)
        self.legend = self.plot.addLegend(offset=(-10, 10))
        self.curves: dict[tuple[int, int], pg.PlotDataItem] = {}
        self._lengths: dict[tuple[int, int], int] = {}  # points per curve, to redraw only growth
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    def set_series(self, series: list[RankSeries]) -> None:
        """Show ``series`` (replacing what was shown): grouped per run, ranks in order."""
        self.plot.clear()
        self.legend.clear()
        self.curves.clear()
        self._lengths.clear()
        for s in series:
            self._add(s)

    def update_series(self, series: list[RankSeries]) -> None:
        """Show ``series``, a later state of what is shown: curves that grew get their new
        points, new ones are added after them; anything else (a curve gone, or a new one that
        belongs before a shown one) redraws all."""
        keys = [(s.run_id, s.rank) for s in series]
        if keys[: len(self.curves)] != list(self.curves):
            self.set_series(series)
            return
        for s in series:
            key = (s.run_id, s.rank)
            if key not in self.curves:
                self._add(s)
            elif self._lengths[key] != len(s.steps):
                self.curves[key].setData(list(s.steps), list(s.step_ms))
                self._lengths[key] = len(s.steps)

    def _add(self, s: RankSeries) -> None:
        pen = QPen(QColor(color_of(s.framework)))
        pen.setCosmetic(True)
        pen.setWidth(1)
        pen.setStyle(_DASHES[s.rank % len(_DASHES)])
        name = f"run {s.run_id} · {label_of(s.framework)} ×{s.workers} · rank {s.rank}"
        # a dot per window: a run's first window is a point before it is a line
        curve = self.plot.plot(
            list(s.steps),
            list(s.step_ms),
            pen=pen,
            name=name,
            symbol="o",
            symbolSize=4,
            symbolPen=None,
            symbolBrush=QColor(color_of(s.framework)),
        )
        curve.setDownsampling(auto=True, method="peak")
        self.curves[(s.run_id, s.rank)] = curve
        self._lengths[(s.run_id, s.rank)] = len(s.steps)
