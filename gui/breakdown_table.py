"""The Breakdown tab's tables: a read-only model of ``Cell`` rows that sorts by each cell's key
(numbers as numbers), and the table views around it."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from gui.breakdown_model import Cell
from profiler.colors import color_of

Index = QModelIndex | QPersistentModelIndex
SORT_ROLE = Qt.ItemDataRole.UserRole + 1


class CellsModel(QAbstractTableModel):
    """A read-only table of ``Cell`` rows; sorts by each cell's key (numbers as numbers)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.headers: list[tuple[str, str | None]] = []
        self.rows: list[list[Cell]] = []

    def set_rows(self, headers: list[tuple[str, str | None]], rows: list[list[Cell]]) -> None:
        """Replace the headers (text, framework or None) and rows."""
        self.beginResetModel()
        self.headers, self.rows = headers, rows
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.headers)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or section >= len(self.headers):
            return None
        text, framework = self.headers[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return text
        if role == Qt.ItemDataRole.ForegroundRole and framework:
            return QBrush(QColor(color_of(framework)))
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        cell = self.rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return cell.text
        if role == SORT_ROLE:
            return cell.key
        if role == Qt.ItemDataRole.TextAlignmentRole and isinstance(cell.key, float | int):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole:
            return cell.tooltip or cell.text
        return None

    def cell_text(self, row: int, column: int) -> str:
        """A cell's text (tests, and copying)."""
        return self.rows[row][column].text


class OpsFilter(QSortFilterProxyModel):
    """Sorts by the cells' keys; hides rows whose column-1 text (the category) is in
    ``hidden`` (the host spans, to see only the ops that compute)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.hidden: frozenset[str] = frozenset()

    def set_hidden(self, categories: frozenset[str]) -> None:
        """Hide the rows of these category labels (none: show every row)."""
        self.beginFilterChange()
        self.hidden = categories
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, row: int, parent: Index) -> bool:
        return self.sourceModel().index(row, 1, parent).data() not in self.hidden


def make_table(model: CellsModel, parent: QWidget, sortable: bool) -> tuple[QTableView, Any]:
    """A read-only table view of ``model`` (sortable through an ``OpsFilter``); returns the view
    and the model it shows (the filter, or ``model`` itself)."""
    view = QTableView(parent)
    source: Any = model
    if sortable:
        proxy = OpsFilter(parent)
        proxy.setSourceModel(model)
        proxy.setSortRole(SORT_ROLE)
        view.setModel(proxy)
        # no column sorted at first: the rows stay largest first until a header is clicked
        view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        view.setSortingEnabled(True)
        source = proxy
    else:
        view.setModel(model)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setShowGrid(False)
    view.verticalHeader().setVisible(False)
    view.setWordWrap(False)
    header = view.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setStretchLastSection(True)
    return view, source


def fit_columns(view: QTableView, widest_px: int) -> None:
    """Columns as wide as their contents, capped (full text in the tooltip): long merged op
    names must not push the frameworks' columns out of sight."""
    view.resizeColumnsToContents()
    header = view.horizontalHeader()
    for column in range(header.count()):
        header.resizeSection(column, min(header.sectionSize(column), widest_px))
