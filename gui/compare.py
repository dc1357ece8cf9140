"""Two sessions (or two runs) side by side: every metric of A and B and the ratio B / A, with
the curves of any plotted series (throughput, step time, loss, CPU, RSS, GPU) of both on one plot
(A solid, B dashed), over training steps or time since each run's launch."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.catalog import METRICS, SERIES, SERIES_BY_KEY
from gui.metrics import (
    format_ratio,
    format_value,
    framework_metrics,
    ratio,
    ratio_verdict,
    run_metrics,
)
from gui.replay import StoredView
from gui.rundata import RunData, SessionData
from gui.theme import LIGHT, Theme
from profiler.colors import color_of, label_of


@dataclass(frozen=True)
class Side:
    """One side of a comparison: what it is, its framework, its metrics and its runs' data."""

    title: str
    framework: str
    values: dict[str, float]
    runs: tuple[RunData, ...]


Pair = tuple[Side, Side]


def compare_sessions(a: StoredView, b: StoredView) -> list[Pair]:
    """Each framework present in both sessions: A's values beside B's."""
    ma, mb = framework_metrics(a.data), framework_metrics(b.data)
    pairs = []
    for fw in [f for f in ma if f in mb]:
        pairs.append(
            (
                Side(f"#{a.session_id}", fw, ma[fw], _runs_of(a.data, fw)),
                Side(f"#{b.session_id}", fw, mb[fw], _runs_of(b.data, fw)),
            )
        )
    return pairs


def compare_runs(data: SessionData, run_a: int, run_b: int) -> list[Pair]:
    """Two runs of one session."""
    a, b = data.runs[run_a], data.runs[run_b]
    return [(_run_side(a), _run_side(b))]


def _run_side(run: RunData) -> Side:
    title = f"{label_of(run.framework)} #{run.info.repeat + 1}"
    return Side(title, run.framework, run_metrics(run), (run,))


def _runs_of(data: SessionData, framework: str) -> tuple[RunData, ...]:
    return tuple(r for r in data.runs.values() if r.framework == framework)


AXES: dict[str, str] = {"step": "training step", "time": "time since the run's launch (s)"}


def run_origin(run: RunData) -> float:
    """When the run started, on its session's clock: its first phase, else its first data."""
    starts = [p.start for p in run.phases if not math.isnan(p.start)]
    firsts = [float(np.nanmin(c.col("t"))) for c in (run.windows, run.samples) if len(c.col("t"))]
    candidates = starts or firsts
    return min(candidates) if candidates else math.nan


def series_of(run: RunData, key: str, axis: str) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` of one series of a run: x is the training step (``axis='step'``) or seconds
    since the run's launch, so runs from different sessions start at the same zero."""
    x, y = run.series(key, axis)
    return (x - run_origin(run), y) if axis == "time" else (x, y)


class CompareDialog(QDialog):
    """A non-modal window with the comparison table and a plot of one series of both sides
    (chosen with the Plot and Against boxes)."""

    def __init__(
        self,
        title: str,
        pairs: list[Pair],
        description: str = "",
        parent: QWidget | None = None,
        theme: Theme = LIGHT,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("compareDialog")
        self.resize(900, 640)
        self.pairs = pairs
        layout = QVBoxLayout(self)
        if description:
            label = QLabel(description, self)
            label.setWordWrap(True)
            layout.addWidget(label)
        if not pairs:
            layout.addWidget(QLabel("These have no framework in common: nothing to compare.", self))
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.table = QTableWidget(self)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setAlternatingRowColors(True)
        splitter.addWidget(self.table)
        self._theme = theme
        has_gpu = any(run.has_gpu for pair in pairs for side in pair for run in side.runs)
        bottom = QWidget(self)
        column = QVBoxLayout(bottom)
        column.setContentsMargins(0, 0, 0, 0)
        choices = QHBoxLayout()
        self.series_box = QComboBox(bottom)
        for spec in SERIES:
            if has_gpu or not spec.gpu:
                self.series_box.addItem(spec.label, spec.key)
                self.series_box.setItemData(
                    self.series_box.count() - 1, spec.tip, Qt.ItemDataRole.ToolTipRole
                )
        self.axis_box = QComboBox(bottom)
        for key, text in AXES.items():
            self.axis_box.addItem(text, key)
        choices.addWidget(QLabel("Plot", bottom))
        choices.addWidget(self.series_box)
        choices.addWidget(QLabel("against", bottom))
        choices.addWidget(self.axis_box)
        choices.addStretch(1)
        column.addLayout(choices)
        self.plot = pg.PlotWidget(background=theme.plot_background)
        self.plot.addLegend(offset=(-10, 10))
        column.addWidget(self.plot, 1)
        splitter.addWidget(bottom)
        splitter.setSizes([330, 300])
        layout.addWidget(splitter, 1)
        self._fill(theme)
        self.series_box.currentIndexChanged.connect(self._plot)
        self.axis_box.currentIndexChanged.connect(self._plot)
        self._plot()

    def show_series(self, key: str, axis: str = "step") -> None:
        """Plot series ``key`` (a ``SERIES`` key) against ``axis`` (``step`` or ``time``)."""
        self.series_box.setCurrentIndex(self.series_box.findData(key))
        self.axis_box.setCurrentIndex(self.axis_box.findData(axis))

    def _fill(self, theme: Theme) -> None:
        headers = ["Metric"]
        for a, b in self.pairs:
            headers += [f"{label_of(a.framework)} {a.title}", f"{b.title}", "B / A"]
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        for c, (a, _b) in enumerate(self.pairs):
            for k in range(3):
                item = self.table.horizontalHeaderItem(1 + 3 * c + k)
                item.setForeground(QBrush(QColor(color_of(a.framework))))
        has_gpu = any(
            not math.isnan(side.values.get("gpu_util_percent", math.nan))
            for pair in self.pairs
            for side in pair
        )
        metrics = [m for m in METRICS if has_gpu or not m.gpu]
        self.table.setRowCount(len(metrics))
        for r, spec in enumerate(metrics):
            name = QTableWidgetItem(f"{spec.title} ({spec.unit})" if spec.unit else spec.title)
            name.setToolTip(spec.tip)
            self.table.setItem(r, 0, name)
            for c, (a, b) in enumerate(self.pairs):
                va, vb = a.values[spec.key], b.values[spec.key]
                rel = ratio(vb, va)
                cells = [format_value(spec, va), format_value(spec, vb), format_ratio(spec, rel)]
                for k, text in enumerate(cells):
                    item = QTableWidgetItem(text)
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                    verdict = ratio_verdict(spec, rel)
                    if k == 2 and verdict:
                        color = theme.ok if verdict == "better" else theme.danger
                        item.setForeground(QBrush(QColor(color)))
                        item.setToolTip(
                            f"B is {verdict} than A by more than 2% in these runs; not a "
                            "significance test (the report's verdict is)"
                        )
                    self.table.setItem(r, 1 + 3 * c + k, item)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)

    def _plot(self) -> None:
        key, axis = self.series_box.currentData(), self.axis_box.currentData()
        spec = SERIES_BY_KEY[key]
        self.plot.clear()
        self.plot.setTitle(
            f"{spec.title} by {AXES[axis]} (A solid, B dashed)", color=self._theme.text
        )
        self.plot.setLabel("bottom", AXES[axis])
        self.plot.setLabel("left", spec.label)
        self.curves: list[tuple[str, np.ndarray, np.ndarray]] = []
        for a, b in self.pairs:
            for side, style in ((a, Qt.PenStyle.SolidLine), (b, Qt.PenStyle.DashLine)):
                pen = pg.mkPen(color_of(side.framework), width=1, style=style)
                for i, run in enumerate(side.runs):
                    name = f"{label_of(side.framework)} {side.title}" if i == 0 else None
                    x, y = series_of(run, key, axis)
                    self.curves.append((side.title, x, y))
                    self.plot.plot(x, y, pen=pen, name=name, connect="finite")

    def cell(self, row_metric: str, column: int) -> str:
        """The text of a cell, by metric key and column number (for tests)."""
        titles = [self.table.item(r, 0).text() for r in range(self.table.rowCount())]
        spec = next(m for m in METRICS if m.key == row_metric)
        label = f"{spec.title} ({spec.unit})" if spec.unit else spec.title
        item = self.table.item(titles.index(label), column)
        return item.text() if item is not None else ""
