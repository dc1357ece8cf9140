"""Arrange plots: drag them into another order, untick the ones to hide."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.models.catalog import SERIES_BY_KEY
from gui.plots import LiveDashboard

KEY_ROLE = Qt.ItemDataRole.UserRole + 1


class ArrangePlotsDialog(QDialog):
    """Edits the dashboard's plot order and visibility; OK applies them."""

    def __init__(self, dashboard: LiveDashboard, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Arrange plots")
        self.dashboard = dashboard
        layout = QVBoxLayout(self)
        hint = QLabel(
            "Drag plots into the order you want (left to right, top to bottom); untick the "
            "ones to hide. GPU plots show only for sessions with GPU samples.",
            self,
        )
        hint.setWordWrap(True)
        layout.addWidget(hint)
        self.list = QListWidget(self)
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        for key in dashboard.order:
            spec = SERIES_BY_KEY[key]
            item = QListWidgetItem(spec.label)
            item.setData(KEY_ROLE, key)
            item.setToolTip(spec.tip)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            hidden = key in dashboard.hidden
            item.setCheckState(Qt.CheckState.Unchecked if hidden else Qt.CheckState.Checked)
            self.list.addItem(item)
        layout.addWidget(self.list, 1)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def order(self) -> list[str]:
        """The keys in the list's order."""
        return [str(self.list.item(i).data(KEY_ROLE)) for i in range(self.list.count())]

    def hidden(self) -> set[str]:
        """The unticked keys."""
        return {
            str(self.list.item(i).data(KEY_ROLE))
            for i in range(self.list.count())
            if self.list.item(i).checkState() != Qt.CheckState.Checked
        }

    def move_plot(self, key: str, row: int) -> None:
        """Move a plot to ``row`` (what a drag does; for tests)."""
        current = self.order().index(key)
        item = self.list.takeItem(current)
        self.list.insertItem(row, item)

    def accept(self) -> None:
        """Apply the order and visibility to the dashboard."""
        self.dashboard.set_layout(self.order(), self.hidden())
        super().accept()
