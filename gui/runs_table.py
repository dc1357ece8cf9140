"""The runs table: one row per planned run with its status, phase, progress and speed."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from gui.adapter import Batch
from profiler.colors import color_of, label_of
from profiler.session import RunInfo, RunOutcome

COLUMNS: tuple[str, ...] = (
    "Framework",
    "Repeat",
    "Status",
    "Phase",
    "Progress",
    "Steps/s",
    "Details",
)
COL_FRAMEWORK, COL_REPEAT, COL_STATUS, COL_PHASE, COL_PROGRESS, COL_SPEED, COL_DETAILS = range(7)
PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 1
RUN_ID_ROLE = Qt.ItemDataRole.UserRole + 2

PHASE_WORDS = {
    "import": "importing",
    "build": "building model",
    "compile": "compiling",
    "warmup": "warming up",
    "measure": "measuring",
}
STATUS_COLORS = {
    "ok": "#2E7D32",
    "failed": "#C62828",
    "timeout": "#C62828",
    "stopped": "#8D6E00",
    "running": "#1F3A5F",
    "interrupted": "#8D6E00",
}
Index = QModelIndex | QPersistentModelIndex


@dataclass
class RunRow:
    """What the table knows about one run."""

    info: RunInfo
    status: str = "pending"
    phase: str = ""
    step: int = 0
    steps_per_s: float = math.nan
    details: str = ""
    error: str | None = None

    @property
    def progress(self) -> float:
        """Steps done as a fraction of the run's total (0..1)."""
        total = self.info.total_steps
        return min(1.0, self.step / total) if total > 0 else 0.0


class RunsModel(QAbstractTableModel):
    """Rows derive only from the adapter's signals (planned, started, batch, finished)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[RunRow] = []
        self._by_id: dict[int, int] = {}

    # -- Qt model API ---------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, col)
        if role == PROGRESS_ROLE:
            return row.progress
        if role == RUN_ID_ROLE:
            return row.info.run_id
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, col)
        if role == Qt.ItemDataRole.DecorationRole and col == COL_FRAMEWORK:
            return _swatch(color_of(row.info.framework))
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == COL_FRAMEWORK:
                return QBrush(QColor(color_of(row.info.framework)).darker(115))
            if col == COL_STATUS and row.status in STATUS_COLORS:
                return QBrush(QColor(STATUS_COLORS[row.status]))
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (COL_REPEAT, COL_SPEED):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _text(self, row: RunRow, col: int) -> str:
        if col == COL_FRAMEWORK:
            return label_of(row.info.framework)
        if col == COL_REPEAT:
            return str(row.info.repeat + 1)
        if col == COL_STATUS:
            return row.status
        if col == COL_PHASE:
            return row.phase
        if col == COL_PROGRESS:
            return f"{row.progress * 100:.0f}%"
        if col == COL_SPEED:
            return "" if math.isnan(row.steps_per_s) else f"{row.steps_per_s:,.1f}"
        if col == COL_DETAILS:
            text = row.error or row.details
            return text.splitlines()[0] if text else ""
        return ""

    def _tooltip(self, row: RunRow, col: int) -> str | None:
        if row.error and col in (COL_STATUS, COL_DETAILS):
            return row.error
        if col == COL_PROGRESS:
            return f"{row.step} of {row.info.total_steps} steps"
        if col == COL_DETAILS and row.details:
            return row.details
        return None

    # -- updates from the adapter ---------------------------------------------------------

    def set_runs(self, runs: list[RunInfo]) -> None:
        """Start over with the planned runs of a new session."""
        self.beginResetModel()
        self.rows = [RunRow(info) for info in runs]
        self._by_id = {info.run_id: i for i, info in enumerate(runs)}
        self.endResetModel()

    def row_of(self, run_id: int) -> int | None:
        """The row index of a run, or None."""
        return self._by_id.get(run_id)

    def run_started(self, info: RunInfo) -> None:
        """Mark a run running."""
        self._update(info.run_id, status="running", phase="starting")

    def add_batch(self, batch: Batch) -> None:
        """Apply a batch's phases, windows and events to the rows they concern."""
        touched: set[int] = set()
        for change in batch.phases:
            row = self._row(change.run_id)
            if row is not None and change.state == "start":
                row.phase = PHASE_WORDS.get(change.name, change.name)
                touched.add(change.run_id)
        for run_id, windows in batch.windows.items():
            row = self._row(run_id)
            if row is None or not windows:
                continue
            last = windows[-1]
            row.step = max(row.step, last.step)
            if last.step_time_ms > 0:
                row.steps_per_s = 1000.0 / last.step_time_ms
            touched.add(run_id)
        for run_id, _t, event in batch.events:
            row = self._row(run_id)
            if row is None:
                continue
            if event.kind == "hello":
                version = event.get("framework_version", "")
                row.details = f"{version} on {event.get('device', '?')}".strip()
            elif event.kind == "done":
                steps = event.get("steps")
                if isinstance(steps, int):
                    row.step = max(row.step, steps)
                row.phase = "finished"
            touched.add(run_id)
        for run_id in touched:
            self._changed(run_id)

    def run_finished(self, outcome: RunOutcome) -> None:
        """Record how a run ended; errors are kept in full for the tooltip."""
        row = self._row(outcome.run_id)
        if row is None:
            return
        row.status = outcome.status
        row.error = outcome.error if outcome.status != "ok" else None
        if outcome.status == "stopped" and outcome.error == "not started":
            row.phase = "not started"
            row.error = "stopped before this run started"
        self._changed(outcome.run_id)

    def _row(self, run_id: int) -> RunRow | None:
        i = self._by_id.get(run_id)
        return None if i is None else self.rows[i]

    def _update(self, run_id: int, **fields: Any) -> None:
        row = self._row(run_id)
        if row is None:
            return
        for name, value in fields.items():
            setattr(row, name, value)
        self._changed(run_id)

    def _changed(self, run_id: int) -> None:
        i = self._by_id[run_id]
        self.dataChanged.emit(self.index(i, 0), self.index(i, len(COLUMNS) - 1))


def _swatch(color: str) -> QPixmap:
    pixmap = QPixmap(10, 10)
    pixmap.fill(QColor(color))
    return pixmap


class ProgressDelegate(QStyledItemDelegate):
    """Paints the progress column as a progress bar with the percentage on it."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        value = index.data(PROGRESS_ROLE)
        if value is None:
            super().paint(painter, option, index)
            return
        if option.state & QStyle.StateFlag.State_Selected:
            painter.fillRect(option.rect, option.palette.highlight())
        bar = QStyleOptionProgressBar()
        bar.rect = QRect(option.rect.adjusted(4, 4, -4, -4))
        bar.minimum = 0
        bar.maximum = 1000
        bar.progress = round(float(value) * 1000)
        bar.text = str(index.data(Qt.ItemDataRole.DisplayRole))
        bar.textVisible = True
        bar.textAlignment = Qt.AlignmentFlag.AlignCenter
        bar.state = QStyle.StateFlag.State_Enabled | QStyle.StateFlag.State_Horizontal
        style = option.widget.style() if option.widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, option.widget)


class RunsTable(QTableView):
    """The runs table view with its model and progress delegate."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs = RunsModel(self)
        self.setModel(self.runs)
        self.setItemDelegateForColumn(COL_PROGRESS, ProgressDelegate(self))
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(26)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        widths = {
            COL_FRAMEWORK: 105,
            COL_REPEAT: 55,
            COL_STATUS: 70,
            COL_PHASE: 110,
            COL_PROGRESS: 120,
            COL_SPEED: 70,
        }
        for col, width in widths.items():
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
            self.setColumnWidth(col, width)
        header.setSectionResizeMode(COL_DETAILS, QHeaderView.ResizeMode.Stretch)

    def selected_run_id(self) -> int | None:
        """The run id of the selected row, or None."""
        rows = self.selectionModel().selectedRows()
        return None if not rows else int(rows[0].data(RUN_ID_ROLE))

    def select_run(self, run_id: int) -> None:
        """Select a run's row."""
        row = self.runs.row_of(run_id)
        if row is not None:
            self.selectRow(row)
