"""The runs table: one row per planned run with its status, phase, progress and speed.

The columns show as the room allows (``gui.models.columns``): the user's ticked columns, the
most important first, so the figures that matter are never off to the side of a narrow dock;
the user's choices (shown, order, widths) are kept in the settings.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QModelIndex, QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QPainter, QPalette, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QMenu,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from gui.models.columns import ColumnChoices, fit_to_room
from gui.runs_model import (
    COL_DETAILS,
    COL_ETA,
    COL_FRAMEWORK,
    COL_NOW,
    COL_PHASE,
    COL_PROGRESS,
    COL_QUALITY,
    COL_REPEAT,
    COL_SPEED,
    COL_STATUS,
    COLUMNS,
    FIT_TEXTS,
    PROGRESS_CHUNK,
    PROGRESS_MIN_PX,
    PROGRESS_ROLE,
    RUN_ID_ROLE,
    Index,
    RunRow,
    RunsModel,
    compact_duration,
)

__all__ = [  # the model's names, imported from here by the table's users
    "COLUMNS",
    "COL_DETAILS",
    "COL_ETA",
    "COL_FRAMEWORK",
    "COL_NOW",
    "COL_PHASE",
    "COL_PROGRESS",
    "COL_QUALITY",
    "COL_REPEAT",
    "COL_SPEED",
    "COL_STATUS",
    "ProgressDelegate",
    "RunRow",
    "RunsModel",
    "RunsTable",
    "compact_duration",
]


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
        # A light chunk under dark text reads in both themes (Fusion draws the text once).
        bar.palette = QPalette(option.palette)
        bar.palette.setColor(QPalette.ColorRole.Highlight, QColor(PROGRESS_CHUNK))
        bar.palette.setColor(QPalette.ColorRole.HighlightedText, QColor("#10202F"))
        bar.palette.setColor(QPalette.ColorRole.Text, QColor("#10202F"))
        style = option.widget.style() if option.widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, option.widget)


# Which columns go first when the Runs are narrow (a 1024-px laptop, a dock the user made
# small): what the run is doing and the headline speed, then the live progress and speed, the
# repeat and the time left; the quality tags are also a warning icon on Status, and Details is
# whatever room is left. Framework, Status and Steps/s stay whatever the room (then a scroll
# bar): without them a row says nothing.
PRIORITY = (
    COL_FRAMEWORK,
    COL_STATUS,
    COL_SPEED,
    COL_PROGRESS,
    COL_NOW,
    COL_REPEAT,
    COL_ETA,
    COL_QUALITY,
    COL_PHASE,
    COL_DETAILS,
)
KEY_COLUMNS = (COL_FRAMEWORK, COL_STATUS, COL_SPEED)
# the columns a live run is followed by: what a side-by-side Runs dock must have room for
FOLLOW_COLUMNS = PRIORITY[: PRIORITY.index(COL_ETA) + 1]
DEFAULT_HIDDEN = (COLUMNS[COL_PHASE],)  # the Status column names the live phase
DETAILS_MIN_PX = 80  # below this Details would be a sliver of "…": left out instead
NO_ROOM = "no room"


class RunsTable(QTableView):
    """The runs table view with its model and progress delegate.

    Double-clicking a row asks for its details (``detailsRequested(run_id)``); selecting two or
    more rows and asking (context menu) compares them (``compareRequested([run_id, ...])``).
    The header's context menu shows and hides columns; columns can be dragged to another place
    and resized. The user's choices change ``columnsChanged`` (``column_choices()`` says them,
    ``restore_columns`` takes them back at the next start).
    """

    detailsRequested = Signal(int)
    compareRequested = Signal(list)
    columnsChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs = RunsModel(self)
        self.setModel(self.runs)
        self.setItemDelegateForColumn(COL_PROGRESS, ProgressDelegate(self))
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)  # a user-narrowed column: "Tensor…"
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(26)
        self.choices = ColumnChoices.from_json(None, COLUMNS, DEFAULT_HIDDEN)
        self._fit: dict[int, int] = {}  # each column's width fitting its contents, in pixels
        self._dropped: set[int] = set()  # wanted, but left out for lack of room
        self._applying = False  # the table, not the user, sizes or moves sections
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setMinimumSectionSize(16)  # the "#" column is narrower than Qt's default least
        header.setSectionsMovable(True)  # drag a column elsewhere; Framework stays first
        header.setFirstSectionMovable(False)
        for col in FIT_TEXTS:
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL_DETAILS, QHeaderView.ResizeMode.Stretch)
        self.fit_columns()
        header.sectionResized.connect(self._section_resized)
        header.sectionMoved.connect(self._section_moved)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._header_menu)
        self.doubleClicked.connect(self._double_clicked)
        self.details_action = QAction("Show &details…", self)
        self.details_action.triggered.connect(self._details_of_current)
        self.compare_action = QAction("&Compare the selected runs", self)
        self.compare_action.triggered.connect(self._compare_selected)
        self.addActions([self.details_action, self.compare_action])
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.selectionModel().selectionChanged.connect(self._selection_changed)
        self._selection_changed()

    # -- columns --------------------------------------------------------------------------

    def fit_columns(self) -> None:
        """Size each column to the widest text it shows while a run is live, in the current
        font and style (not fixed pixels), unless the user resized it; then show as many of the
        wanted columns as the room allows. Details takes what is left."""
        self._fit = {col: self.fit_width(col) for col in FIT_TEXTS}
        self._fit[COL_DETAILS] = max(DETAILS_MIN_PX, self.fit_width(COL_DETAILS))
        self._apply_columns()

    def fit_width(self, col: int) -> int:
        """Pixels column ``col`` needs for its header and its widest live text, as the style
        sizes an item (its margins, and the swatch or warning icon before the text)."""
        style = self.style()
        header = self.horizontalHeader()
        title = header.sectionSizeFromContents(col).width()
        if col not in FIT_TEXTS:
            return title
        option = QStyleOptionViewItem()
        self.initViewItemOption(option)
        option.features |= QStyleOptionViewItem.ViewItemFeature.HasDisplay
        if col in (COL_FRAMEWORK, COL_STATUS):  # its swatch; the warning icon of a warned run
            option.features |= QStyleOptionViewItem.ViewItemFeature.HasDecoration
            icon = style.pixelMetric(QStyle.PixelMetric.PM_SmallIconSize, None, self)
            option.decorationSize = QSize(icon, icon)
        text = 0
        for t in FIT_TEXTS[col]:
            option.text = t
            size = style.sizeFromContents(
                QStyle.ContentsType.CT_ItemViewItem, option, QSize(), self
            )
            text = max(text, size.width())
        return max(text, title, PROGRESS_MIN_PX if col == COL_PROGRESS else 0)

    def wanted_width(self, col: int) -> int:
        """The pixels column ``col`` gets when shown: the user's, else its fitting width."""
        return self.choices.widths.get(COLUMNS[col], self._fit[col])

    def wants(self, col: int) -> bool:
        """Whether the user wants column ``col`` shown (it shows when there is room)."""
        return COLUMNS[col] not in self.choices.hidden

    def dropped_columns(self) -> set[int]:
        """The wanted columns left out for lack of room (their values are in each row's
        Framework tooltip)."""
        return set(self._dropped)

    def _apply_columns(self) -> None:
        wanted = {c: self.wanted_width(c) for c in range(len(COLUMNS)) if self.wants(c)}
        # Before the table is shown its viewport's size means nothing: every wanted column.
        room = self.viewport().width() if self.isVisible() else None
        shown = set(wanted) if room is None else fit_to_room(wanted, PRIORITY, KEY_COLUMNS, room)
        self._applying = True
        try:
            self._apply_order()
            for col in range(len(COLUMNS)):
                hide = col not in shown
                if self.isColumnHidden(col) != hide:
                    self.setColumnHidden(col, hide)  # sizing a hidden section would show it
                if not hide and col != COL_DETAILS and self.columnWidth(col) != wanted[col]:
                    self.setColumnWidth(col, wanted[col])
        finally:
            self._applying = False
        self._dropped = set(wanted) - shown

    def _apply_order(self) -> None:
        header = self.horizontalHeader()
        for visual, name in enumerate(self.choices.order):
            now = header.visualIndex(COLUMNS.index(name))
            if now != visual:
                header.moveSection(now, visual)

    def show_column(self, col: int, shown: bool) -> None:
        """Show or hide a column (the header's context menu), a shown one at its width."""
        name = COLUMNS[col]
        if shown == (name not in self.choices.hidden) or col == COL_FRAMEWORK:
            return
        if shown:
            self.choices.hidden.discard(name)
        else:
            self.choices.hidden.add(name)
        self._apply_columns()
        self.columnsChanged.emit()

    def column_choices(self) -> dict[str, Any]:
        """The user's column choices as JSON-ready values (for the settings)."""
        return self.choices.to_json()

    def restore_columns(self, raw: object) -> None:
        """Take back choices ``column_choices`` gave (anything unreadable: the defaults)."""
        self.choices = ColumnChoices.from_json(raw, COLUMNS, DEFAULT_HIDDEN)
        self._apply_columns()

    def reset_columns(self) -> None:
        """Back to the default columns: their order, shown ones and fitting widths."""
        self.restore_columns(None)
        self.columnsChanged.emit()

    def _section_resized(self, col: int, _old: int, new: int) -> None:
        # Details stretches into what is left; a hidden section reads as 0 pixels.
        if self._applying or col == COL_DETAILS or new <= 0:
            return
        self.choices.widths[COLUMNS[col]] = new
        self.columnsChanged.emit()

    def _section_moved(self, *_: object) -> None:
        if self._applying:
            return
        header = self.horizontalHeader()
        self.choices.order = [COLUMNS[header.logicalIndex(v)] for v in range(len(COLUMNS))]
        self.columnsChanged.emit()

    def _header_menu(self, pos: QPoint) -> None:
        menu = self.columns_menu()
        menu.aboutToHide.connect(menu.deleteLater)  # a new one, with the current ticks, each time
        menu.popup(self.horizontalHeader().mapToGlobal(pos))

    def columns_menu(self) -> QMenu:
        """A menu of the columns to show (every one but Framework) in the order shown, and a
        way back to the default columns, as a header's context menu."""
        menu = QMenu(self)
        self.fill_columns_menu(menu)
        return menu

    def fill_columns_menu(self, menu: QMenu) -> None:
        """Put ``columns_menu``'s entries, with the current ticks, in ``menu`` (View ▸ Runs
        columns is filled as it opens)."""
        menu.clear()
        menu.setToolTipsVisible(True)
        header = self.horizontalHeader()
        for visual in range(1, len(COLUMNS)):
            col = header.logicalIndex(visual)
            title = "Repeat (#)" if col == COL_REPEAT else COLUMNS[col]
            action = menu.addAction(f"{title} ({NO_ROOM})" if col in self._dropped else title)
            action.setCheckable(True)
            action.setChecked(self.wants(col))
            if col in self._dropped:
                action.setToolTip(
                    "Left out: the Runs panel is too narrow for it. Widen the panel or untick "
                    "a column; each row's Framework tooltip has its value."
                )
            action.toggled.connect(lambda on, c=col: self.show_column(c, on))
        menu.addSeparator()
        reset = menu.addAction("Reset columns")
        reset.setToolTip("The default columns, in their default order and widths")
        reset.triggered.connect(self.reset_columns)

    def live_width(self) -> int:
        """Pixels the table needs to show every wanted column but Details without scrolling
        sideways, with room for a vertical scroll bar (many repeats)."""
        return self._width_of([c for c in FIT_TEXTS if self.wants(c)])

    def follow_width(self) -> int:
        """Pixels the table needs for the columns a live run is followed by (status, speeds,
        progress, repeat, time left) that the user wants."""
        return self._width_of([c for c in FOLLOW_COLUMNS if self.wants(c)])

    def _width_of(self, columns: list[int]) -> int:
        pixels = sum(self.wanted_width(c) for c in columns)
        bar = self.verticalScrollBar().sizeHint().width()
        return pixels + self.horizontalHeader().minimumSectionSize() + 2 * self.frameWidth() + bar

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._apply_columns()  # a narrower dock leaves out the least important columns

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._apply_columns()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            # once the header has the new font too; dropped if the table is gone by then
            QTimer.singleShot(0, self, self.fit_columns)

    def _double_clicked(self, index: QModelIndex) -> None:
        self.detailsRequested.emit(int(index.data(RUN_ID_ROLE)))

    def _details_of_current(self) -> None:
        run_id = self.selected_run_id()
        if run_id is not None:
            self.detailsRequested.emit(run_id)

    def _compare_selected(self) -> None:
        ids = self.selected_run_ids()
        if len(ids) >= 2:
            self.compareRequested.emit(ids)

    def _selection_changed(self, *_: object) -> None:
        self.compare_action.setEnabled(len(self.selected_run_ids()) >= 2)
        self.details_action.setEnabled(self.selected_run_id() is not None)

    def selected_run_ids(self) -> list[int]:
        """The run ids of the selected rows, in table order."""
        rows = sorted(self.selectionModel().selectedRows(), key=lambda i: i.row())
        return [int(i.data(RUN_ID_ROLE)) for i in rows]

    def selected_run_id(self) -> int | None:
        """The run id of the current selected row (the last clicked), or None."""
        current = self.selectionModel().currentIndex()
        ids = self.selected_run_ids()
        if current.isValid() and self.selectionModel().isRowSelected(current.row(), QModelIndex()):
            return int(self.runs.index(current.row(), 0).data(RUN_ID_ROLE))
        return ids[0] if ids else None

    def select_run(self, run_id: int) -> None:
        """Select a run's row."""
        row = self.runs.row_of(run_id)
        if row is not None:
            self.selectRow(row)
