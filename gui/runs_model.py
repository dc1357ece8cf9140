"""The runs table's model: one row per planned run with its status, phase, progress and speed,
derived only from the adapter's signals; each cell's tooltip says its value in full."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QPixmap
from PySide6.QtWidgets import QApplication, QStyle, QWidget

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
            return self._speed_tip(row.figures)
        if col == COL_FRAMEWORK:
            return self._row_tip(row)
        if col == COL_NOW and self._text(row, col):
            ms = 1000.0 / row.steps_per_s
            speed = format_figure(row.steps_per_s)
            return f"{speed} steps/s ({format_figure(ms)} ms a step) in the latest timing window"
        if col == COL_REPEAT:
            return f"repeat {row.info.repeat + 1} of {label_of(row.info.framework)}"
        return None

    @staticmethod
    def _speed_tip(f: RunFigures) -> str:
        ms = f.value("step_time_ms")
        step = f"; median step time {format_figure(ms)} ms" if ms is not None else ""
        return f"median of {f.windows_used} used of {f.windows_total} measure windows{step}"

    def _row_tip(self, row: RunRow) -> str:
        """Every column's value of the row in full: what a narrow table left out is one hover
        away."""
        lines = [f"{label_of(row.info.framework)}, repeat {row.info.repeat + 1}"]
        for col in (COL_STATUS, COL_PROGRESS, COL_NOW, COL_SPEED, COL_ETA, COL_QUALITY):
            text = self._text(row, col)
            if col == COL_STATUS and row.phase and row.phase != text:
                text = f"{text} ({row.phase})"
            elif col == COL_PROGRESS:
                text = f"{text} ({row.step:,} of {row.info.total_steps:,} steps)"
            elif col == COL_NOW and text:
                text = f"{text} steps/s in the latest window"
            elif col == COL_SPEED and row.figures is not None and text:
                text = f"{text} ({self._speed_tip(row.figures)})"
            elif col == COL_ETA and text:
                text = f"{text} left"
            if text:
                lines.append(f"{COLUMNS[col]}: {text}")
        details = row.error or row.details
        if details:
            lines.append(f"Details: {details.splitlines()[0]}")
        return "\n".join(lines)

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
