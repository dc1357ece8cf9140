"""The side-by-side summary: for each figure, each framework's value and its ratio to a baseline
framework the user picks, with the report's 95% interval, coloured only when significant, and the
measurement-quality warnings above it. Every number comes from the one summary model
(``profiler.report.summary``), read from the store: live while a session runs (``SummaryFeed``
reloads it every few seconds in a worker) and the same for a session reopened from history."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal
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

from gui.models.rundata import SessionData
from gui.models.summary import load_summary
from gui.tasks import TaskRunner
from gui.theme import LIGHT, Theme
from profiler.colors import color_of, label_of
from profiler.report.summary import (
    FIGURES,
    RatioCell,
    RunFigures,
    SessionSummary,
    format_figure,
)

REFRESH_MS = 2000
# What a ratio's suffix says, in the legend under the table.
SUFFIX = {"same": " n.s.", "unknown": " ?", "busy": " ⚠"}
LEGEND = (
    "Ratios to the baseline with their 95% interval; coloured only when significant. "
    "n.s. = no significant difference; ? = one run on a side: run-to-run variation is "
    "unknown, so no significance is claimed (run repeats to settle it); ⚠ = measured on a "
    "busy machine, not judged. Runs that did not finish ok are never compared."
)
SHORT_LEGEND = "[95% interval] · coloured when significant · n.s. · ? one run a side · ⚠ busy"


def ratio_text(cell: RatioCell) -> str:
    """A ratio cell's text as shown: the ratio, its interval and what it means (n.s., ?)."""
    return cell.text + SUFFIX.get(cell.state, "") if cell.text else ""


def run_name(summary: SessionSummary, run: RunFigures) -> str:
    """``PyTorch``, or ``PyTorch #2`` when the framework ran more than once."""
    repeats = sum(r.framework == run.framework for r in summary.runs)
    name = label_of(run.framework)
    return f"{name} #{run.repeat + 1}" if repeats > 1 else name


def warnings_text(summary: SessionSummary | None, full: bool = False) -> str:
    """The runs that did not finish, then each measurement-quality finding in a few words with
    the runs it concerns (one line each), or every sentence in full when ``full``; empty when
    there is nothing to say."""
    if summary is None:
        return ""
    lines = [f"✗ {who} {what}" for who, what in summary.unfinished]
    if full:
        return "\n".join(lines + [f"⚠ {who}: {note}" for who, note in summary.warnings])
    runs: dict[str, list[str]] = {}
    for run in summary.runs:
        for tag in run.tags:
            runs.setdefault(tag, []).append(run_name(summary, run))
    lines += [f"⚠ {tag}: {', '.join(names)}" for tag, names in runs.items()]
    return "\n".join(lines)


class SummaryTable(QWidget):
    """Rows: figures. Columns: each framework's value, then each one's ratio to the baseline."""

    baselineChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None, theme: Theme = LIGHT) -> None:
        super().__init__(parent)
        self.theme = theme
        self.summary: SessionSummary | None = None
        self._preferred = "torch"
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
        self.warnings = QLabel(self)
        self.warnings.setObjectName("summaryWarnings")
        self.warnings.setWordWrap(True)
        self.warnings.setVisible(False)
        layout.addWidget(self.warnings)
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
        self.legend = QLabel(SHORT_LEGEND, self)
        self.legend.setToolTip(LEGEND)
        self.legend.setWordWrap(True)
        self.legend.setVisible(False)
        layout.addWidget(self.legend)
        self.refresh()

    @property
    def baseline(self) -> str:
        """The framework ratios are computed against."""
        fw = self.baseline_box.currentData()
        return str(fw) if fw else self._preferred

    def preferred_width(self, frameworks: list[str], intervals: bool = True) -> int:
        """Pixels the table needs to show these frameworks' values and ratios (to the first)
        uncut, with typical values (``1,032``, ``12.9× [12.3–13.4] n.s.``); without
        ``intervals``, for ratios of one run a side (``0.78× ?``): the least a window short of
        room gives it (an interval then scrolls into view)."""
        fm = self.table.fontMetrics()
        pad = 16  # the cell's margins, as the header and the items draw them

        def width(*texts: str) -> int:
            return max(fm.horizontalAdvance(t) for t in texts) + pad

        metric = width(*(f.title for f in FIGURES if not f.gpu))
        columns = [width(label_of(fw), "1,032") for fw in frameworks]
        base = f"/ {label_of(frameworks[0])}" if frameworks else ""
        widest: tuple[str, ...] = ("0.78× ?", "12.9× ?", "160× ?")
        if intervals:
            widest = ("0.78× [0.75–0.81] n.s.", "12.9× [12.3–13.4] n.s.", "160× [153–167] n.s.")
        columns += [width(label_of(fw), base, *widest) for fw in frameworks[1:]]
        bar = self.table.verticalScrollBar().sizeHint().width()  # when the rows overflow
        return metric + sum(columns) + 2 * self.table.frameWidth() + bar + 4

    def set_preferred_baseline(self, framework: str) -> None:
        """The baseline to pick whenever the session has that framework (from the settings)."""
        self._preferred = framework
        index = self.baseline_box.findData(framework)
        if index >= 0:
            self.baseline_box.setCurrentIndex(index)

    def set_data(self, data: SessionData) -> None:
        """Another session is shown: forget the last one's summary until its own arrives."""
        del data  # the figures come from the summary model, never from the plotted data
        self.set_summary(None)

    def set_summary(self, summary: SessionSummary | None) -> None:
        """Show ``summary`` (None: nothing yet)."""
        self.summary = summary
        self.refresh()

    def schedule(self) -> None:
        """Kept for callers of the live path: the feed refreshes the summary on its own."""

    def apply_theme(self, theme: Theme) -> None:
        """Recolour the ratios and warnings."""
        self.theme = theme
        self.refresh()

    def _baseline_picked(self, _index: int) -> None:
        fw = self.baseline_box.currentData()
        if fw:
            self._preferred = str(fw)
            self._fill()
            self.baselineChanged.emit(self._preferred)

    def refresh(self) -> None:
        """Redraw the table, the warnings and the baseline choices from the summary."""
        frameworks = list(self.summary.frameworks) if self.summary else []
        current = [self.baseline_box.itemData(i) for i in range(self.baseline_box.count())]
        if current != frameworks:
            self.baseline_box.blockSignals(True)
            self.baseline_box.clear()
            for fw in frameworks:
                self.baseline_box.addItem(label_of(fw), fw)
            index = self.baseline_box.findData(self._preferred)
            self.baseline_box.setCurrentIndex(max(index, 0))
            self.baseline_box.blockSignals(False)
        text = warnings_text(self.summary)
        self.warnings.setText(text)
        self.warnings.setStyleSheet(f"color: {self.theme.warn};")
        self.warnings.setToolTip(
            "Measurement quality, as the report says it: what makes these numbers less "
            "trustworthy (other processes' CPU, throttling, drift, disturbed windows).\n\n"
            + warnings_text(self.summary, full=True)
        )
        self.warnings.setVisible(bool(text))
        self._fill()

    def _fill(self) -> None:
        summary = self.summary
        frameworks = list(summary.frameworks) if summary else []
        base = self.baseline if self.baseline in frameworks else None
        others = [fw for fw in frameworks if fw != base] if base else []
        headers = ["Metric"] + [label_of(fw) for fw in frameworks]
        headers += [f"{label_of(fw)}\n/ {label_of(base)}" for fw in others if base]
        rows = summary.figures() if summary else tuple(f for f in FIGURES if not f.gpu)
        table = self.table
        table.setRowCount(len(rows))
        table.setColumnCount(len(headers))
        self.legend.setVisible(bool(others))
        for c, text in enumerate(headers):
            item = QTableWidgetItem(text)
            if 1 <= c <= len(frameworks):
                item.setForeground(QBrush(QColor(color_of(frameworks[c - 1]))))
                fw = frameworks[c - 1]
                live = summary is not None and fw in summary.live
                item.setToolTip(
                    f"{label_of(fw)}: the median over its runs so far (still running: not "
                    "compared until one finishes)"
                    if live
                    else f"{label_of(fw)}: the median over its ok runs"
                )
            elif c > len(frameworks):
                item.setToolTip(LEGEND)
            table.setHorizontalHeaderItem(c, item)
        for r, figure in enumerate(rows):
            name = QTableWidgetItem(figure.title)
            name.setToolTip(figure.tip)
            table.setItem(r, 0, name)
            if summary is None:
                continue
            for c, fw in enumerate(frameworks, start=1):
                table.setItem(r, c, _number(format_figure(summary.value(fw, figure.key))))
            for c, fw in enumerate(others, start=len(frameworks) + 1):
                assert base is not None
                ratio = summary.ratio(figure.key, base, fw)
                cell = _number(ratio_text(ratio))
                cell.setToolTip(ratio.tip)
                if ratio.state in ("better", "worse"):
                    color = self.theme.ok if ratio.state == "better" else self.theme.danger
                    cell.setForeground(QBrush(QColor(color)))
                table.setItem(r, c, cell)
        # Every column as wide as its widest text, never cut with "…": a narrow dock scrolls
        # sideways instead (the metric column stays put, values line up on the right).
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)

    def cell_text(self, metric: str, column: str) -> str:
        """The text shown for figure ``metric`` in the column titled ``column`` (for tests)."""
        return self.cell(metric, column).text()

    def cell(self, metric: str, column: str) -> QTableWidgetItem:
        """The item shown for figure ``metric`` in the column titled ``column`` (for tests)."""
        rows = [f.key for f in (self.summary.figures() if self.summary else ())]
        titles = [
            (h.text() if (h := self.table.horizontalHeaderItem(c)) else "").replace("\n", " ")
            for c in range(self.table.columnCount())
        ]
        item = self.table.item(rows.index(metric), titles.index(column))
        return item if item is not None else QTableWidgetItem("")


def _number(text: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class SummaryFeed(QObject):
    """Reads the summary of the session shown from the store, in a worker, and hands it on.

    While a session runs, ``follow`` reloads it every REFRESH_MS (one read at a time); ``load``
    reads it once (a finished or stored session). ``summaryChanged(SessionSummary)`` carries
    each result; a result for a session no longer shown is dropped.
    """

    summaryChanged = Signal(object)

    def __init__(
        self,
        runner: TaskRunner,
        store_path: Callable[[], str],
        live_session_id: Callable[[], int | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self._store_path = store_path
        self._live_session_id = live_session_id
        self._wanted: int | None = None
        self._busy = False
        self._again = False
        # bumped by follow/load/clear: a read begun before is stale (a live read that ends
        # after the session's final one must not replace it)
        self._generation = 0
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self._tick)

    def follow(self) -> None:
        """Reload the live session's summary every REFRESH_MS until ``load`` or ``clear``."""
        self._wanted = None
        self._generation += 1
        self._timer.start()

    def load(self, session_id: int) -> None:
        """Read session ``session_id``'s summary once (and stop following a live one)."""
        self._timer.stop()
        self._wanted = session_id
        self._generation += 1
        self._request(session_id)

    def clear(self) -> None:
        """Stop following; results still under way are dropped."""
        self._timer.stop()
        self._wanted = -1
        self._generation += 1

    def _tick(self) -> None:
        session_id = self._live_session_id()
        if session_id is not None:
            self._wanted = session_id
            self._request(session_id)

    def _request(self, session_id: int) -> None:
        if self._busy:
            self._again = True
            return
        self._busy = True
        path, generation = self._store_path(), self._generation
        self._runner.submit(
            "summary",
            lambda: load_summary(path, session_id),
            lambda summary: self._done(summary, generation),
            lambda _message, _details: self._done(None, generation),
        )

    def _done(self, summary: SessionSummary | None, generation: int) -> None:
        self._busy = False
        current = generation == self._generation
        if current and summary is not None and summary.session_id == self._wanted:
            self.summaryChanged.emit(summary)
        if self._again:
            self._again = False
            if self._wanted is not None and self._wanted >= 0:
                self._request(self._wanted)
