"""Sessions (or runs) side by side: every metric of each and its ratio to the first, the config
values that differ between them, and the curves of any plotted series (throughput, step time,
loss, CPU, RSS, GPU) of all on one plot, over training steps or time since each run's launch.

One line style per session (solid, dashed, dotted, ...), one colour per framework; the legend
sits above the plot, so it never covers a curve.
"""

from __future__ import annotations

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
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from gui.models.catalog import SERIES, SERIES_BY_KEY
from gui.models.comparison import Group, Side, side_ratio
from gui.models.rundata import RunData
from gui.summary import LEGEND, ratio_text
from gui.theme import LIGHT, Theme
from profiler.colors import color_of, label_of
from profiler.report.summary import FIGURES, FIGURES_BY_KEY, format_figure

AXES: dict[str, str] = {"step": "training step", "time": "time since the run's launch (s)"}
STYLES: tuple[tuple[Qt.PenStyle, str], ...] = (
    (Qt.PenStyle.SolidLine, "solid"),
    (Qt.PenStyle.DashLine, "dashed"),
    (Qt.PenStyle.DotLine, "dotted"),
    (Qt.PenStyle.DashDotLine, "dash-dot"),
    (Qt.PenStyle.DashDotDotLine, "dash-dot-dot"),
)


def series_of(run: RunData, key: str, axis: str) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)`` of one series of a run: x is the training step (``axis='step'``) or seconds
    since the run's launch, so runs from different sessions start at the same zero."""
    return run.series(key, "step" if axis == "step" else "launch")


def _table(parent: QWidget) -> QTableWidget:
    table = QTableWidget(parent)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    table.setAlternatingRowColors(True)
    return table


class CompareDialog(QDialog):
    """A non-modal window: the metrics table, the config differences and a plot of one series
    of every side (chosen with the Plot and Against boxes).

    ``titles`` name the compared things in order (``#3``, ``#5``; they set the line styles);
    ``configs`` gives ``(key, [value per thing])`` rows of differing config values.
    """

    def __init__(
        self,
        title: str,
        groups: list[Group],
        description: str = "",
        parent: QWidget | None = None,
        *,
        theme: Theme = LIGHT,
        configs: list[tuple[str, list[str]]] | None = None,
        titles: list[str] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setObjectName("compareDialog")
        self.resize(960, 680)
        self.groups = groups
        self.titles = titles or list(dict.fromkeys(s.title for g in groups for s in g))
        self._theme = theme
        layout = QVBoxLayout(self)
        if description:
            label = QLabel(description, self)
            label.setWordWrap(True)
            layout.addWidget(label)
        if not groups:
            layout.addWidget(QLabel("These have no measured run: nothing to compare.", self))
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.tabs = QTabWidget(self)
        self.table = _table(self)
        self.tabs.addTab(self.table, "Metrics")
        self.config_table = _table(self)
        self._fill_configs(configs or [])
        self.tabs.addTab(self.config_table, f"Config differences ({len(configs or [])})")
        splitter.addWidget(self.tabs)
        splitter.addWidget(self._plot_panel(theme))
        splitter.setSizes([330, 330])
        layout.addWidget(splitter, 1)
        self._fill(theme)
        self.series_box.currentIndexChanged.connect(self._plot)
        self.axis_box.currentIndexChanged.connect(self._plot)
        self._plot()

    def _plot_panel(self, theme: Theme) -> QWidget:
        has_gpu = any(run.has_gpu for group in self.groups for side in group for run in side.runs)
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
        self.legend = QLabel(bottom)
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        column.addWidget(self.legend)
        self.plot = pg.PlotWidget(background=theme.plot_background)
        column.addWidget(self.plot, 1)
        return bottom

    def show_series(self, key: str, axis: str = "step") -> None:
        """Plot series ``key`` (a ``SERIES`` key) against ``axis`` (``step`` or ``time``)."""
        self.series_box.setCurrentIndex(self.series_box.findData(key))
        self.axis_box.setCurrentIndex(self.axis_box.findData(axis))

    def style_of(self, side: Side) -> tuple[Qt.PenStyle, str]:
        """The line style of a side's curves: its position among the compared things."""
        index = self.titles.index(side.title) if side.title in self.titles else 0
        return STYLES[index % len(STYLES)]

    def _columns(self) -> list[tuple[Group, Side, Side | None]]:
        """Per group: each side's value column, then each later side's ratio to the first."""
        columns: list[tuple[Group, Side, Side | None]] = []
        for group in self.groups:
            columns += [(group, side, None) for side in group]
            columns += [(group, side, group[0]) for side in group[1:]]
        return columns

    def _fill(self, theme: Theme) -> None:
        columns = self._columns()
        headers = ["Metric"] + [
            side.label if base is None else f"{side.title} / {base.title}"
            for _group, side, base in columns
        ]
        self.table.setColumnCount(len(headers))
        self.table.setHorizontalHeaderLabels(headers)
        for c, (group, side, base) in enumerate(columns, start=1):
            item = self.table.horizontalHeaderItem(c)
            if item is None:
                continue
            item.setForeground(QBrush(QColor(color_of(side.framework))))
            if len(group) == 1:
                item.setToolTip(f"{label_of(side.framework)} ran only in {side.title}")
            elif base is not None:
                item.setToolTip(f"{side.label} relative to {base.label}. {LEGEND}")
        has_gpu = any(
            side.values.get("gpu_util_percent_mean") is not None
            or side.values.get("gpu_mem_peak_mib") is not None
            for group in self.groups
            for side in group
        )
        figures = [f for f in FIGURES if has_gpu or not f.gpu]
        self.table.setRowCount(len(figures))
        for r, figure in enumerate(figures):
            name = QTableWidgetItem(figure.title)
            name.setToolTip(figure.tip)
            self.table.setItem(r, 0, name)
            for c, (_group, side, base) in enumerate(columns, start=1):
                if base is None:
                    item = QTableWidgetItem(format_figure(side.values.get(figure.key)))
                else:
                    cell = side_ratio(figure.key, base, side)
                    item = QTableWidgetItem(ratio_text(cell))
                    item.setToolTip(cell.tip)
                    if cell.state in ("better", "worse"):
                        color = theme.ok if cell.state == "better" else theme.danger
                        item.setForeground(QBrush(QColor(color)))
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)

    def _fill_configs(self, rows: list[tuple[str, list[str]]]) -> None:
        table = self.config_table
        table.setColumnCount(1 + len(self.titles))
        table.setHorizontalHeaderLabels(["Config key", *self.titles])
        table.setRowCount(max(1, len(rows)))
        if not rows:
            table.setItem(0, 0, QTableWidgetItem("The configs are the same (name aside)."))
        for r, (key, values) in enumerate(rows):
            table.setItem(r, 0, QTableWidgetItem(key))
            for c, value in enumerate(values, start=1):
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                table.setItem(r, c, item)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)

    def _plot(self) -> None:
        key, axis = self.series_box.currentData(), self.axis_box.currentData()
        spec = SERIES_BY_KEY[key]
        self.plot.clear()
        self.plot.setTitle(f"{spec.title} by {AXES[axis]}", color=self._theme.text)
        self.plot.setLabel("bottom", AXES[axis])
        self.plot.setLabel("left", spec.label)
        self.curves: list[tuple[str, np.ndarray, np.ndarray]] = []
        for group in self.groups:
            for side in group:
                style, _name = self.style_of(side)
                pen = pg.mkPen(color_of(side.framework), width=1, style=style)
                for run in side.runs:
                    x, y = series_of(run, key, axis)
                    self.curves.append((side.title, x, y))
                    self.plot.plot(x, y, pen=pen, connect="finite")
        self.legend.setText(self._legend_html())

    def _legend_html(self) -> str:
        fg = self._theme.text
        frameworks = list(dict.fromkeys(s.framework for g in self.groups for s in g))
        colours = "&nbsp;&nbsp;".join(
            f"<span style='color:{color_of(fw)}; font-size:13pt'>&#9632;</span>"
            f"<span style='color:{fg}'>&nbsp;{label_of(fw)}</span>"
            for fw in frameworks
        )
        if len({s.framework for g in self.groups for s in g}) == sum(len(g) for g in self.groups):
            return colours  # one side per framework: the colour says it all
        lines = ", ".join(
            f"{title} {STYLES[i % len(STYLES)][1]}" for i, title in enumerate(self.titles)
        )
        return f"{colours}&nbsp;&nbsp;&nbsp;<span style='color:{fg}'>Lines: {lines}</span>"

    def cell(self, row_metric: str, column: int) -> str:
        """The text of a cell, by metric key and column number (for tests)."""
        item = self.item(row_metric, column)
        return item.text() if item is not None else ""

    def item(self, row_metric: str, column: int) -> QTableWidgetItem | None:
        """The item of a cell, by figure key and column number (for tests)."""
        titles = [_text(self.table.item(r, 0)) for r in range(self.table.rowCount())]
        return self.table.item(titles.index(FIGURES_BY_KEY[row_metric].title), column)

    def header(self, column: int) -> str:
        """A column's header text (for tests)."""
        return _text(self.table.horizontalHeaderItem(column))


def _text(item: QTableWidgetItem | None) -> str:
    return item.text() if item is not None else ""
