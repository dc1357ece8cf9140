"""The side-by-side summary: for each metric, each framework's value and its ratio to a baseline
framework the user picks. Live while a session runs (refreshed at most once a second), and the
same for a session reopened from history."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.models.catalog import METRICS, MetricSpec
from gui.models.metrics import format_ratio, format_value, framework_metrics, ratio, ratio_verdict
from gui.models.rundata import SessionData
from gui.theme import LIGHT, Theme
from profiler.colors import color_of, label_of

REFRESH_MS = 1000


class SummaryTable(QWidget):
    """Rows: metrics. Columns: each framework's value, then each one's ratio to the baseline."""

    baselineChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None, theme: Theme = LIGHT) -> None:
        super().__init__(parent)
        self.theme = theme
        self.data = SessionData()
        self._preferred = "torch"
        self.values: dict[str, dict[str, float]] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        top = QHBoxLayout()
        top.addWidget(QLabel("Baseline:", self))
        self.baseline_box = QComboBox(self)
        self.baseline_box.setToolTip("Ratios divide each framework's value by this framework's")
        self.baseline_box.currentIndexChanged.connect(self._baseline_picked)
        top.addWidget(self.baseline_box, 1)
        layout.addLayout(top)
        self.table = QTableWidget(self)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideNone)
        self.table.setWordWrap(False)
        self.table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        layout.addWidget(self.table, 1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self.refresh()

    @property
    def baseline(self) -> str:
        """The framework ratios are computed against."""
        fw = self.baseline_box.currentData()
        return str(fw) if fw else self._preferred

    def preferred_width(self, frameworks: list[str]) -> int:
        """Pixels the table needs to show these frameworks' values and ratios (to the first)
        uncut, with typical values (``1,032.40``, ``129.05×``)."""
        fm = self.table.fontMetrics()
        pad = 16  # the cell's margins, as the header and the items draw them

        def width(*texts: str) -> int:
            return max(fm.horizontalAdvance(t) for t in texts) + pad

        metric = width(*(f"{m.title} ({m.unit})" for m in METRICS if not m.gpu))
        columns = [width(label_of(fw), "1,032.40") for fw in frameworks]
        base = f"/ {label_of(frameworks[0])}" if frameworks else ""
        columns += [width(label_of(fw), base, "129.05×") for fw in frameworks[1:]]
        bar = self.table.verticalScrollBar().sizeHint().width()  # when the rows overflow
        return metric + sum(columns) + 2 * self.table.frameWidth() + bar + 4

    def set_preferred_baseline(self, framework: str) -> None:
        """The baseline to pick whenever the session has that framework (from the settings)."""
        self._preferred = framework
        index = self.baseline_box.findData(framework)
        if index >= 0:
            self.baseline_box.setCurrentIndex(index)

    def set_data(self, data: SessionData) -> None:
        """Summarise another session (and refresh now)."""
        self.data = data
        self.refresh()

    def schedule(self) -> None:
        """Refresh within REFRESH_MS (cheap to call on every batch)."""
        if not self._timer.isActive():
            self._timer.start()

    def apply_theme(self, theme: Theme) -> None:
        """Recolour the ratios."""
        self.theme = theme
        self.refresh()

    def _baseline_picked(self, _index: int) -> None:
        fw = self.baseline_box.currentData()
        if fw:
            self._preferred = str(fw)
            self._fill()
            self.baselineChanged.emit(self._preferred)

    def refresh(self) -> None:
        """Recompute every value from the data and redraw the table."""
        self._timer.stop()
        self.values = framework_metrics(self.data)
        frameworks = list(self.values)
        current = [self.baseline_box.itemData(i) for i in range(self.baseline_box.count())]
        if current != frameworks:
            self.baseline_box.blockSignals(True)
            self.baseline_box.clear()
            for fw in frameworks:
                self.baseline_box.addItem(label_of(fw), fw)
            index = self.baseline_box.findData(self._preferred)
            self.baseline_box.setCurrentIndex(max(index, 0))
            self.baseline_box.blockSignals(False)
        self._fill()

    def metrics_shown(self) -> list[MetricSpec]:
        """The rows: GPU metrics only when the session has GPU samples."""
        gpu = self.data.has_gpu()
        return [m for m in METRICS if gpu or not m.gpu]

    def _fill(self) -> None:
        frameworks = list(self.values)
        base = self.baseline if self.baseline in frameworks else None
        others = [fw for fw in frameworks if fw != base] if base else []
        headers = ["Metric"] + [label_of(fw) for fw in frameworks]
        headers += [f"{label_of(fw)}\n/ {label_of(base)}" for fw in others if base]
        rows = self.metrics_shown()
        table = self.table
        table.setRowCount(len(rows))
        table.setColumnCount(len(headers))
        for c, text in enumerate(headers):
            item = QTableWidgetItem(text)
            if 1 <= c <= len(frameworks):
                item.setForeground(QBrush(QColor(color_of(frameworks[c - 1]))))
                item.setToolTip(f"{label_of(frameworks[c - 1])}: median over its runs")
            elif c > len(frameworks):
                item.setToolTip(
                    "Ratio of the values; green where it is better than the baseline, "
                    "red where worse (within 2%: neither). A colour is not a significance "
                    "test: the report's verdict says whether a difference holds beyond "
                    "run-to-run variation"
                )
            table.setHorizontalHeaderItem(c, item)
        for r, spec in enumerate(rows):
            name = QTableWidgetItem(f"{spec.title} ({spec.unit})" if spec.unit else spec.title)
            name.setToolTip(spec.tip)
            table.setItem(r, 0, name)
            for c, fw in enumerate(frameworks, start=1):
                text = format_value(spec, self.values[fw][spec.key], unit=False)
                table.setItem(r, c, _number(text))
            for c, fw in enumerate(others, start=len(frameworks) + 1):
                assert base is not None
                value = ratio(self.values[fw][spec.key], self.values[base][spec.key])
                cell = _number(format_ratio(spec, value))
                verdict = ratio_verdict(spec, value)
                if verdict:
                    color = self.theme.ok if verdict == "better" else self.theme.danger
                    cell.setForeground(QBrush(QColor(color)))
                    cell.setToolTip(f"{label_of(fw)} is {verdict} than {label_of(base)} here")
                table.setItem(r, c, cell)
        # Every column as wide as its widest text, never cut with "…": a narrow dock scrolls
        # sideways instead (the metric column stays put, values line up on the right).
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)

    def cell_text(self, metric: str, column: str) -> str:
        """The text shown for ``metric`` in the column titled ``column`` (for tests)."""
        rows = [m.key for m in self.metrics_shown()]
        titles = [
            self.table.horizontalHeaderItem(c).text().replace("\n", " ")
            for c in range(self.table.columnCount())
        ]
        item = self.table.item(rows.index(metric), titles.index(column))
        return item.text() if item is not None else ""


def _number(text: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item
