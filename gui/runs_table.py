"""The runs table: one row per planned run with its status, phase, progress and speed."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QBrush, QColor, QPainter, QPalette, QPixmap
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

from gui.models.live import Batch
from gui.models.metrics import format_duration
from gui.theme import LIGHT, Theme
from profiler.colors import color_of, label_of
from profiler.config import FRAMEWORKS
from profiler.events import Done, Hello
from profiler.report.summary import RunFigures, SessionSummary, format_figure
from profiler.session import RunInfo, RunOutcome

# The live figures sit beside the progress bar: the latest window's speed first, then the
# median the report will say, the time left and whether the measurement can be trusted.
COLUMNS: tuple[str, ...] = (
    "Framework",
    "#",
    "Status",
    "Phase",
    "Progress",
    "Now",
    "Steps/s",
    "ETA",
    "Quality",
    "Details",
)
(
    COL_FRAMEWORK,
    COL_REPEAT,
    COL_STATUS,
    COL_PHASE,
    COL_PROGRESS,
    COL_NOW,
    COL_SPEED,
    COL_ETA,
    COL_QUALITY,
    COL_DETAILS,
) = range(10)
HEADER_TIPS = {
    COL_REPEAT: "repeat: which of this framework's repeated runs it is (1, 2, …)",
    COL_STATUS: "pending; while running, what the run is doing (importing, building, compiling, "
    "warming up, measuring, tracing); finishing (the process exits); then ok, failed, timeout "
    "or stopped",
    COL_PHASE: "what the run is doing, or where it ended (the Status column says it while the "
    "run is live: right-click a header to show this one)",
    COL_PROGRESS: "training steps done out of the configured total",
    COL_SPEED: "training steps per second: the median over the used measure windows (steady, not "
    "disturbed), as the report says it; updated every few seconds while the run measures",
    COL_NOW: "while the run is live: steps per second in its latest timing window",
    COL_ETA: "estimated time left for this run at its latest speed (minutes:seconds)",
    COL_QUALITY: "measurement-quality warnings, as the report says them (other processes' CPU, "
    "throttling, drift, disturbed windows); hover for all of them",
    COL_DETAILS: "framework version and device; for a failed run, the error (double-click: all)",
}
# What each column is sized for, in the table's font: the widest text it shows while a run is
# live (a longer one, such as a second quality tag, elides and is whole in its tooltip).
FIT_TEXTS: dict[int, tuple[str, ...]] = {
    COL_FRAMEWORK: tuple(label_of(fw) for fw in FRAMEWORKS),
    COL_REPEAT: ("99",),
    COL_STATUS: ("measuring", "warming up", "compiling", "finishing", "timeout"),
    COL_PHASE: ("measuring", "ended in compile"),  # hidden unless the user shows it
    COL_PROGRESS: ("100%",),
    COL_NOW: ("12,345",),
    COL_SPEED: ("12,345",),
    COL_ETA: ("1:02:05",),
    COL_QUALITY: ("⚠ busy machine",),
}
PROGRESS_MIN_PX = 64  # the bar stays a bar, its percentage readable on it
SWATCH_PX = 10
PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 1
PROGRESS_CHUNK = "#8FB3DE"
RUN_ID_ROLE = Qt.ItemDataRole.UserRole + 2

PHASE_WORDS = {
    "import": "importing",
    "build": "building model",
    "compile": "compiling",
    "warmup": "warming up",
    "measure": "measuring",
    "trace": "tracing",
}
PHASE_NOUNS = {
    "starting": "start-up",
    "importing": "import",
    "building model": "build",
    "compiling": "compile",
    "warming up": "warm-up",
    "measuring": "measure",
    "tracing": "trace",
    "shutting down": "shut-down",
}
STATUS_ROLES = {
    "ok": "ok",
    "failed": "danger",
    "timeout": "danger",
    "lost": "danger",  # the SSH link to the run's host died (profiler.remote)
    "stopped": "warn",
    "running": "accent",
    "finishing": "accent",
    "interrupted": "warn",
    "not run": "warn",
}
Index = QModelIndex | QPersistentModelIndex


@dataclass
class RunRow:
    """What the table knows about one run."""

    info: RunInfo
    status: str = "pending"
    phase: str = ""
    step: int = 0
    steps_per_s: float = math.nan  # the latest window's, while live (the "Now" column)
    details: str = ""
    error: str | None = None
    figures: RunFigures | None = None  # the summary model's figures of this run

    @property
    def progress(self) -> float:
        """Steps done as a fraction of the run's total (0..1)."""
        total = self.info.total_steps
        return min(1.0, self.step / total) if total > 0 else 0.0

    @property
    def eta_s(self) -> float:
        """Seconds left at the latest speed (NaN when unknown or not running)."""
        left = self.info.total_steps - self.step
        if self.status != "running" or math.isnan(self.steps_per_s) or self.steps_per_s <= 0:
            return math.nan
        return max(0.0, left) / self.steps_per_s


class RunsModel(QAbstractTableModel):
    """Rows derive only from the adapter's signals (planned, started, batch, finished)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[RunRow] = []
        self._by_id: dict[int, int] = {}
        self.theme = LIGHT

    def set_theme(self, theme: Theme) -> None:
        """Recolour statuses and framework names."""
        self.theme = theme
        if self.rows:
            self.dataChanged.emit(
                self.index(0, 0), self.index(len(self.rows) - 1, len(COLUMNS) - 1)
            )

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
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            return HEADER_TIPS.get(section)
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
        if role == Qt.ItemDataRole.DecorationRole and col == COL_STATUS and _warned(row):
            # seen even when a narrow dock hides the Quality column
            return QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == COL_FRAMEWORK:
                color = QColor(color_of(row.info.framework))
                return QBrush(color if self.theme.dark else color.darker(115))
            if col == COL_STATUS and row.status in STATUS_ROLES:
                return QBrush(QColor(getattr(self.theme, STATUS_ROLES[row.status])))
            if col == COL_QUALITY and row.figures is not None and row.figures.warnings:
                return QBrush(QColor(self.theme.warn))
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (
            COL_REPEAT,
            COL_SPEED,
            COL_NOW,
            COL_ETA,
        ):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _text(self, row: RunRow, col: int) -> str:
        if col == COL_FRAMEWORK:
            return label_of(row.info.framework)
        if col == COL_REPEAT:
            return str(row.info.repeat + 1)
        if col == COL_STATUS:  # "running" says less than what it is doing
            return row.phase if row.status == "running" and row.phase else row.status
        if col == COL_PHASE:
            return row.phase
        if col == COL_PROGRESS:
            return f"{row.progress * 100:.0f}%"
        if col == COL_SPEED:
            return "" if row.figures is None else format_figure(row.figures.value("steps_per_s"))
        if col == COL_NOW:
            live = row.status == "running" and not math.isnan(row.steps_per_s)
            return format_figure(row.steps_per_s) if live else ""
        if col == COL_ETA:
            return compact_duration(row.eta_s)
        if col == COL_QUALITY:
            tags = row.figures.tags if row.figures is not None else ()
            return f"⚠ {', '.join(tags)}" if tags else ""
        if col == COL_DETAILS:
            text = row.error or row.details
            return text.splitlines()[0] if text else ""
        return ""

    def _tooltip(self, row: RunRow, col: int) -> str | None:
        if row.error and col in (COL_STATUS, COL_DETAILS):
            where = f"{row.status}, {row.phase}\n\n" if col == COL_STATUS and row.phase else ""
            return f"{where}{row.error}\n\n(double-click for the details and the log)"
        if col == COL_PROGRESS:
            return f"{row.step} of {row.info.total_steps} steps"
        if col == COL_PHASE and row.phase:
            return row.phase  # in full where a narrow column elides it
        if col == COL_ETA and not math.isnan(row.eta_s):
            return f"{format_duration(row.eta_s)} left at the latest speed"
        if col == COL_DETAILS and row.details:
            return row.details
        if col in (COL_QUALITY, COL_STATUS) and row.figures is not None and row.figures.warnings:
            head = f"{row.status}: {row.phase}\n\n" if col == COL_STATUS and row.phase else ""
            notes = "\n".join(f"• {n}" for n in row.figures.warnings)
            return f"{head}Measurement quality:\n{notes}"
        if col == COL_STATUS and row.phase:
            return f"{row.status}: {row.phase}"
        if col == COL_SPEED and row.figures is not None:
            f = row.figures
            return f"median of {f.windows_used} used of {f.windows_total} measure windows"
        return None

    # -- updates from the adapter ---------------------------------------------------------

    def set_runs(self, runs: list[RunInfo]) -> None:
        """Start over with the planned runs of a new session."""
        self.beginResetModel()
        self.rows = [RunRow(info) for info in runs]
        self._by_id = {info.run_id: i for i, info in enumerate(runs)}
        self.endResetModel()

    def add_runs(self, runs: list[RunInfo]) -> None:
        """Append runs planned while the session runs (a round of auto repeats)."""
        new = [info for info in runs if info.run_id not in self._by_id]
        if not new:
            return
        first = len(self.rows)
        self.beginInsertRows(QModelIndex(), first, first + len(new) - 1)
        for info in new:
            self._by_id[info.run_id] = len(self.rows)
            self.rows.append(RunRow(info))
        self.endInsertRows()

    def set_summary(self, summary: SessionSummary | None) -> None:
        """Take each run's figures and warnings from the summary model (None: forget them)."""
        for row in self.rows:
            row.figures = None if summary is None else summary.run(row.info.run_id)
        if self.rows:
            self.dataChanged.emit(
                self.index(0, 0), self.index(len(self.rows) - 1, len(COLUMNS) - 1)
            )

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
            if last.phase != "trace":  # the trace phase's steps come after the planned ones
                row.step = max(row.step, last.step)
            if last.step_time_ms > 0:
                row.steps_per_s = 1000.0 / last.step_time_ms
            touched.add(run_id)
        for run_id, _t, event in batch.events:
            row = self._row(run_id)
            if row is None:
                continue
            data = event.data
            if isinstance(data, Hello):
                row.details = f"{data.framework_version} on {data.device}".strip()
            elif isinstance(data, Done):
                if data.steps is not None:
                    row.step = max(row.step, data.steps)
                # Training is over but the process still exits (frees memory, joins threads):
                # not "running" with an ETA of 0 s, and not finished until its outcome comes.
                row.status = "finishing"
                row.phase = "shutting down"
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
        if outcome.status == "ok":
            row.phase = "finished"
        elif outcome.status == "not run":
            row.phase = "not started"
            row.error = outcome.error or "the session ended before this run started"
        else:  # where it ended, not as if it still were there ("importing" after a crash)
            row.phase = f"ended in {PHASE_NOUNS[row.phase]}" if row.phase in PHASE_NOUNS else "—"
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


def compact_duration(seconds: float) -> str:
    """``0:42``, ``3:05``, ``1:02:05`` (as a progress display counts down); empty when unknown."""
    if math.isnan(seconds):
        return ""
    s = round(seconds)
    minutes, s = divmod(s, 60)
    if minutes < 60:
        return f"{minutes}:{s:02d}"
    return f"{minutes // 60}:{minutes % 60:02d}:{s:02d}"


def _warned(row: RunRow) -> bool:
    return row.figures is not None and bool(row.figures.tags)


def _swatch(color: str) -> QPixmap:
    pixmap = QPixmap(SWATCH_PX, SWATCH_PX)
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
        # A light chunk under dark text reads in both themes (Fusion draws the text once).
        bar.palette = QPalette(option.palette)
        bar.palette.setColor(QPalette.ColorRole.Highlight, QColor(PROGRESS_CHUNK))
        bar.palette.setColor(QPalette.ColorRole.HighlightedText, QColor("#10202F"))
        bar.palette.setColor(QPalette.ColorRole.Text, QColor("#10202F"))
        style = option.widget.style() if option.widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, option.widget)


class RunsTable(QTableView):
    """The runs table view with its model and progress delegate.

    Double-clicking a row asks for its details (``detailsRequested(run_id)``); selecting two or
    more rows and asking (context menu) compares them (``compareRequested([run_id, ...])``).
    """

    detailsRequested = Signal(int)
    compareRequested = Signal(list)

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
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(26)
        header = self.horizontalHeader()
        header.setHighlightSections(False)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        header.setMinimumSectionSize(16)  # the "#" column is narrower than Qt's default least
        for col in FIT_TEXTS:
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.Interactive)
        self.setColumnHidden(COL_PHASE, True)  # the Status column names the live phase
        self.fit_columns()
        header.setSectionResizeMode(COL_DETAILS, QHeaderView.ResizeMode.Stretch)
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

    def fit_columns(self) -> None:
        """Size each shown column to the widest text it shows while a run is live, in the
        current font and style (not fixed pixels): compact enough that the live columns fit the
        Runs dock of a 1366-px laptop screen. Details takes what is left."""
        for col in FIT_TEXTS:
            if not self.isColumnHidden(col):  # sizing a hidden section would show it
                self.setColumnWidth(col, self.fit_width(col))

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

    def show_column(self, col: int, shown: bool) -> None:
        """Show or hide a column (the header's context menu), a shown one at its fitting width."""
        self.setColumnHidden(col, not shown)
        if shown and col in FIT_TEXTS:
            self.setColumnWidth(col, self.fit_width(col))

    def _header_menu(self, pos: QPoint) -> None:
        menu = self.columns_menu()
        menu.aboutToHide.connect(menu.deleteLater)  # a new one, with the current ticks, each time
        menu.popup(self.horizontalHeader().mapToGlobal(pos))

    def columns_menu(self) -> QMenu:
        """A menu of the columns to show (every one but Framework), as a header's context menu."""
        menu = QMenu(self)
        for col in range(1, len(COLUMNS)):
            title = "Repeat (#)" if col == COL_REPEAT else COLUMNS[col]
            action = menu.addAction(title)
            action.setCheckable(True)
            action.setChecked(not self.isColumnHidden(col))
            action.toggled.connect(lambda on, c=col: self.show_column(c, on))
        return menu

    def live_width(self) -> int:
        """Pixels the table needs to show every column but Details without scrolling sideways,
        with room for a vertical scroll bar (many repeats)."""
        columns = sum(self.columnWidth(c) for c in FIT_TEXTS if not self.isColumnHidden(c))
        bar = self.verticalScrollBar().sizeHint().width()
        return columns + self.horizontalHeader().minimumSectionSize() + 2 * self.frameWidth() + bar

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
