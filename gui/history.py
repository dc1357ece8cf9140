"""History: every stored session, searchable by name, date, framework, status, tag or note,
with its duration and headline result.

The list is read from the store in a worker. Open (double-click, Enter) asks the window to
reopen a session into the dashboard; Compare takes two or more selected sessions side by side;
Re-run runs a session's stored config again; Edit renames, tags and annotates a session.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from gui.models.metrics import format_duration
from gui.models.replay import annotate_stored, delete_stored
from gui.models.summary import history_listing
from gui.session_edit import SessionEditDialog
from gui.tasks import TaskRunner
from profiler.colors import label_of
from profiler.config import FRAMEWORKS
from profiler.store import SessionRow

HEADERS = (
    "ID",
    "Name",
    "Date",
    "Duration",
    "Frameworks",
    "Result",
    "Status",
    "Run all",
    "Tags",
    "Config file",
)
COL_STATUS = HEADERS.index("Status")
COL_DURATION = HEADERS.index("Duration")
COL_BATCH = HEADERS.index("Run all")
Index = QModelIndex | QPersistentModelIndex
SESSION_ID_ROLE = Qt.ItemDataRole.UserRole + 1
SEARCH_ROLE = Qt.ItemDataRole.UserRole + 2


def batch_text(batch: str) -> str:
    """A stored Run all (``run-all <UTC time> <index>/<total>``) as ``2026-11-29 09:14, 2 of 5``;
    the sessions of one Run all share the text before the comma."""
    *name, position = batch.split(" ") if batch else [""]
    index, _, total = position.partition("/")
    if not name or not total:
        return batch
    return f"{local_time(name[-1].rstrip('Z') + '+00:00')}, {index} of {total}"


def local_time(iso: str) -> str:
    """A stored UTC timestamp as local ``YYYY-MM-DD HH:MM`` (the text unchanged if unreadable)."""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


class SessionsModel(QAbstractTableModel):
    """Rows: stored sessions, newest first."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sessions: list[SessionRow] = []
        self.headlines: dict[int, str] = {}
        self.status_colors: dict[str, str] = {}

    def set_sessions(
        self, sessions: list[SessionRow], headlines: dict[int, str] | None = None
    ) -> None:
        """Replace the rows (``headlines``: each session's result in a few words)."""
        self.beginResetModel()
        self.sessions = list(sessions)
        self.headlines = dict(headlines or {})
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.sessions)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        s = self.sessions[index.row()]
        order = [fw for fw in FRAMEWORKS if fw in s.frameworks]
        order += [fw for fw in s.frameworks if fw and fw not in order]
        texts = (
            str(s.id),
            s.name,
            local_time(s.created_at),
            format_duration(s.duration_s),
            ", ".join(label_of(fw) for fw in order),
            self.headlines.get(s.id, ""),
            s.status,
            batch_text(s.batch),
            ", ".join(s.tags),
            Path(s.config_path).name if s.config_path else "",
        )
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return texts[col]
        if role == SESSION_ID_ROLE:
            return s.id
        if role == SEARCH_ROLE:
            return " ".join((*texts, *s.frameworks, s.config_path or "", s.note)).lower()
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(s, col)
        if (
            role == Qt.ItemDataRole.ForegroundRole
            and col == COL_STATUS
            and s.status in self.status_colors
        ):
            return QBrush(QColor(self.status_colors[s.status]))
        if role == Qt.ItemDataRole.UserRole:  # sort keys: numbers sort as numbers
            if col == COL_BATCH:  # one Run all's sessions together, in the order they ran
                return f"{s.batch.rsplit(' ', 1)[0] if s.batch else ''}\t{s.id:015d}"
            return s.id if col != COL_DURATION else s.duration_s
        return None

    @staticmethod
    def _tooltip(s: SessionRow, col: int) -> str:
        if HEADERS[col] in ("Name", "Tags") and s.note:
            return s.note
        if HEADERS[col] == "Run all" and s.batch:
            return "Sessions of one Run all share this time; sort by this column to group them"
        if HEADERS[col] == "Result":
            return (
                "The fastest framework against the slowest by training speed (steps/s, the "
                "median used window), with the report's ratio; judged only with two or more "
                "runs a side on a quiet machine"
            )
        return s.config_path or "no config file (run from a script)"


class SessionFilter(QSortFilterProxyModel):
    """Keeps rows whose text contains every word of the search."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.words: list[str] = []

    def set_search(self, text: str) -> None:
        """Filter by the words of ``text`` (all must match, case-insensitive)."""
        self.beginFilterChange()
        self.words = text.lower().split()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, row: int, parent: Index) -> bool:
        haystack = str(self.sourceModel().index(row, 0, parent).data(SEARCH_ROLE) or "")
        return all(word in haystack for word in self.words)


class HistoryView(QWidget):
    """The History tab. Emits ``openRequested(id)`` and ``compareRequested([id, id])``."""

    openRequested = Signal(int)
    compareRequested = Signal(list)
    rerunRequested = Signal(int)
    loaded = Signal()
    edited = Signal(int)  # a session was renamed, tagged or annotated

    def __init__(
        self,
        runner: TaskRunner,
        store_path: Callable[[], str | None],
        confirm: Callable[[str, str], bool],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.runner = runner
        self._store_path = store_path
        self._confirm = confirm
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        top = QHBoxLayout()
        self.search = QLineEdit(self)
        self.search.setPlaceholderText(
            "Search by name, date (2025-06), framework, status, tag, note…"
        )
        self.search.setClearButtonEnabled(True)
        top.addWidget(self.search, 1)
        self.refresh_button = QPushButton("Refresh", self)
        self.open_button = QPushButton("Open", self)
        self.open_button.setToolTip("Reopen the session in the dashboard (double-click, Enter)")
        self.compare_button = QPushButton("Compare", self)
        self.compare_button.setToolTip(
            "Select two or more sessions (Ctrl+click, Shift+click) to compare side by side"
        )
        self.rerun_button = QPushButton("Re-run", self)
        self.rerun_button.setToolTip("Run the selected session's config again, as it was stored")
        self.edit_button = QPushButton("Edit…", self)
        self.edit_button.setToolTip("Rename the selected session, tag it or add a note")
        self.delete_button = QPushButton("Delete…", self)
        for button in (
            self.refresh_button,
            self.open_button,
            self.compare_button,
            self.rerun_button,
            self.edit_button,
            self.delete_button,
        ):
            top.addWidget(button)
        layout.addLayout(top)
        self.model = SessionsModel(self)
        self.proxy = SessionFilter(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(Qt.ItemDataRole.UserRole)
        self.table = QTableView(self)
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        layout.addWidget(self.table, 1)
        self.message = QLabel(self)
        self.message.setObjectName("muted")
        layout.addWidget(self.message)

        self.search.textChanged.connect(self._search)
        self.refresh_button.clicked.connect(self.refresh)
        self.open_button.clicked.connect(self._open_selected)
        self.compare_button.clicked.connect(self._compare_selected)
        self.delete_button.clicked.connect(self._delete_selected)
        self.rerun_button.clicked.connect(self._rerun_selected)
        self.edit_button.clicked.connect(self.edit_selected)
        self.edit_dialog: SessionEditDialog | None = None
        self.table.doubleClicked.connect(self._open_selected)
        self.table.activated.connect(self._open_selected)
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self._update_buttons()

    def set_status_colors(self, colors: dict[str, str]) -> None:
        """Colours for the status column (from the theme)."""
        self.model.status_colors = colors

    def refresh(self) -> None:
        """Read the sessions list in a worker."""
        self.message.setText("Reading the store…")
        self.runner.submit(
            "list-sessions",
            lambda: history_listing(self._store_path()),
            self._loaded,
            lambda message, _details: self.message.setText(f"Cannot read the store: {message}"),
        )

    def _loaded(self, listing: tuple[list[SessionRow], dict[int, str]]) -> None:
        self.model.set_sessions(*listing)
        self._search(self.search.text())
        self.loaded.emit()

    def _search(self, text: str) -> None:
        self.proxy.set_search(text)
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        where = self._store_path() or "the default store"
        if total == 0:
            self.message.setText(f"No stored sessions yet in {where}.")
        elif shown == total:
            self.message.setText(f"{total} sessions in {where}.")
        else:
            self.message.setText(f"{shown} of {total} sessions match.")
        self._update_buttons()

    def visible_ids(self) -> list[int]:
        """The session ids shown (after the search), top to bottom."""
        return [
            int(self.proxy.index(r, 0).data(SESSION_ID_ROLE)) for r in range(self.proxy.rowCount())
        ]

    def selected_ids(self) -> list[int]:
        """The selected sessions' ids, top to bottom."""
        rows = sorted(self.table.selectionModel().selectedRows(), key=lambda i: i.row())
        return [int(i.data(SESSION_ID_ROLE)) for i in rows]

    def select_ids(self, ids: list[int]) -> None:
        """Select these sessions (for tests and scripts)."""
        self.table.clearSelection()
        flags = (
            self.table.selectionModel().SelectionFlag.Select
            | self.table.selectionModel().SelectionFlag.Rows
        )
        for r in range(self.proxy.rowCount()):
            index = self.proxy.index(r, 0)
            if int(index.data(SESSION_ID_ROLE)) in ids:
                self.table.selectionModel().select(index, flags)

    def _update_buttons(self, *_: object) -> None:
        n = len(self.selected_ids())
        self.open_button.setEnabled(n == 1)
        self.compare_button.setEnabled(n >= 2)
        self.rerun_button.setEnabled(n == 1)
        self.edit_button.setEnabled(n == 1)
        self.delete_button.setEnabled(n >= 1)

    def _open_selected(self, *_: object) -> None:
        ids = self.selected_ids()
        if len(ids) == 1:
            self.openRequested.emit(ids[0])

    def _compare_selected(self) -> None:
        ids = self.selected_ids()
        if len(ids) >= 2:
            self.compareRequested.emit(sorted(ids))  # the oldest is the baseline

    def _rerun_selected(self) -> None:
        ids = self.selected_ids()
        if len(ids) == 1:
            self.rerunRequested.emit(ids[0])

    def edit_selected(self) -> SessionEditDialog | None:
        """Open the rename/tag/note dialog of the selected session (window-modal, without
        blocking the event loop); OK writes the changes to the store in a worker."""
        ids = self.selected_ids()
        row = next((s for s in self.model.sessions if ids and s.id == ids[0]), None)
        if row is None:
            return None
        dialog = SessionEditDialog(row, self)
        dialog.accepted.connect(lambda: self._save_edit(dialog))
        self.edit_dialog = dialog
        dialog.open()
        return dialog

    def _save_edit(self, dialog: SessionEditDialog) -> None:
        sid = dialog.session_id
        name, tags, note = dialog.values()
        path = self._store_path()

        def done(_result: object) -> None:
            self.edited.emit(sid)
            self.refresh()

        self.runner.submit(
            "annotate-session",
            lambda: annotate_stored(path, sid, name, tags, note),
            done,
            lambda message, _details: self.message.setText(f"Cannot save #{sid}: {message}"),
        )

    def _delete_selected(self) -> None:
        ids = self.selected_ids()
        if not ids:
            return
        names = ", ".join(f"#{i}" for i in ids)
        if not self._confirm("Delete sessions", f"Delete {names} and everything recorded?"):
            return
        path = self._store_path()
        self.runner.submit(
            "delete-sessions",
            lambda: [delete_stored(path, i) for i in ids],
            lambda _result: self.refresh(),
            lambda message, _details: self.message.setText(f"Cannot delete: {message}"),
        )
