"""The Breakdown tab: why one framework is faster, from each framework's own profiler.

Stacked bars of ms per traced step by category (one colour per category, a legend beside them,
each framework named in its colour), the differences ranked by how much of the step-time gap
they explain (by category or by operator, for each pair against the fastest), the sentence that
names the largest contributors, and the top operators side by side in a sortable table.

The tab reads a session's breakdowns in a worker (``TaskRunner``) when a session ends or a stored
one is shown; until then, and for a session without a trace, it says why it is empty.
"""

from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from gui.breakdown_model import (
    NO_SESSION,
    RUNNING,
    BreakdownState,
    difference_headers,
    difference_rows,
    load_breakdown_state,
    op_headers,
    op_rows,
)
from gui.breakdown_table import CellsModel, fit_columns, make_table
from gui.elided_label import ElidedLabel
from gui.tasks import TaskRunner
from gui.theme import LIGHT, Theme
from profiler.breakdown import Category
from profiler.colors import color_of, label_of
from profiler.report.breakdown_compare import BreakdownComparison, category_color
from profiler.report.formatting import fmt

BAR_WIDTH = 0.6
HOST_SPANS = frozenset({Category.HOST_OVERHEAD.label, Category.IDLE.label})
NAME_COLUMN_PX = 300
DIFFERENCE_NAME_PX = 170
LEGEND_PX = 170


class BreakdownTab(QWidget):
    """The Breakdown tab; ``load_session(id)`` fills it (read in a worker).

    Emits ``shown(session_id)`` once the tab shows a session's state (its breakdown or why there
    is none), ``-1`` for the placeholders of no session.
    """

    shown = Signal(int)

    def __init__(
        self,
        runner: TaskRunner,
        store_path: Callable[[], str | None],
        parent: QWidget | None = None,
        theme: Theme = LIGHT,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("breakdownTab")
        self.runner = runner
        self._store_path = store_path
        self.theme = theme
        self.state = BreakdownState(None, None, NO_SESSION)
        self._pending: int | None = None  # the session a worker is reading
        self.bars: dict[str, pg.BarGraphItem] = {}  # category value -> its bars
        self.labels: list[pg.TextItem] = []
        self._build()
        self._show_placeholder(NO_SESSION)

    # -- construction ---------------------------------------------------------------------

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        self.stack = QStackedWidget(self)
        layout.addWidget(self.stack)

        self.placeholder = QLabel(self)
        self.placeholder.setObjectName("muted")
        self.placeholder.setWordWrap(True)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setMargin(40)
        self.stack.addWidget(self.placeholder)

        page = QWidget(self)
        body = QVBoxLayout(page)
        body.setContentsMargins(4, 0, 4, 0)
        self.sentence = QLabel(page)
        self.sentence.setObjectName("breakdownSentence")
        self.sentence.setWordWrap(True)
        self.sentence.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes = QLabel(page)
        self.notes.setWordWrap(True)
        body.addWidget(self.sentence)
        body.addWidget(self.notes)

        self.graphics = pg.GraphicsLayoutWidget(page)
        self.plot = self.graphics.addPlot(row=0, col=0)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setLabel("left", "ms per traced step")
        self.plot.setTitle("Where each step goes")
        self.plot.showGrid(y=True, alpha=0.25)
        # a Qt label beside the plot: a legend inside the plot would cover the bars
        self.legend = QLabel(page)
        self.legend.setObjectName("breakdownLegend")
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.legend.setWordWrap(True)
        self.legend.setMaximumWidth(LEGEND_PX)
        chart = QWidget(page)
        chart_layout = QHBoxLayout(chart)
        chart_layout.setContentsMargins(0, 0, 0, 0)
        chart_layout.addWidget(self.graphics, 1)
        chart_layout.addWidget(self.legend)
        self._legend: list[str] = []

        gap = QWidget(page)
        gap_layout = QVBoxLayout(gap)
        gap_layout.setContentsMargins(0, 0, 0, 0)
        controls = QHBoxLayout()
        self.pair_box = QComboBox(gap)
        self.pair_box.setToolTip("The fastest framework against each other one")
        self.level_box = QComboBox(gap)
        self.level_box.addItem("by category", "category")
        self.level_box.addItem("by operator", "op")
        controls.addWidget(QLabel("What explains the gap:", gap))
        controls.addWidget(self.pair_box, 1)
        controls.addWidget(self.level_box)
        gap_layout.addLayout(controls)
        self.differences = CellsModel(self)
        self.differences_view, _ = make_table(self.differences, gap, sortable=False)
        gap_layout.addWidget(self.differences_view, 1)

        top = QSplitter(Qt.Orientation.Horizontal, page)
        top.addWidget(chart)
        top.addWidget(gap)
        top.setSizes([430, 610])

        ops = QWidget(page)
        ops_layout = QVBoxLayout(ops)
        ops_layout.setContentsMargins(0, 0, 0, 0)
        # elided (full text in its tooltip): one line this long set the window's least width
        ops_title = ElidedLabel(
            "Top operators side by side (matched by category and normalised name; click a "
            "header to sort)",
            ops,
            Qt.TextElideMode.ElideRight,
        )
        ops_title.setObjectName("muted")
        self.compute_only = QCheckBox("Compute ops only", ops)
        self.compute_only.setToolTip(
            "Hide framework host spans (Python, dispatch) and idle time: only the ops that compute"
        )
        ops_head = QHBoxLayout()
        ops_head.addWidget(ops_title, 1)
        ops_head.addWidget(self.compute_only)
        ops_layout.addLayout(ops_head)
        self.ops = CellsModel(self)
        self.ops_view, self.ops_proxy = make_table(self.ops, ops, sortable=True)
        ops_layout.addWidget(self.ops_view, 1)

        split = QSplitter(Qt.Orientation.Vertical, page)
        split.addWidget(top)
        split.addWidget(ops)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        body.addWidget(split, 1)
        self.stack.addWidget(page)
        self.page = page

        self.pair_box.currentIndexChanged.connect(self._show_differences)
        self.compute_only.toggled.connect(
            lambda on: self.ops_proxy.set_hidden(HOST_SPANS if on else frozenset())
        )
        self.level_box.currentIndexChanged.connect(self._show_differences)

    # -- loading --------------------------------------------------------------------------

    def load_session(self, session_id: int) -> None:
        """Read stored session ``session_id``'s breakdown in a worker and show it."""
        if session_id < 0:
            return
        self._pending = session_id
        path = self._store_path
        self.runner.submit(
            "breakdown",
            lambda: load_breakdown_state(path(), session_id),
            self._loaded,
            lambda message, _details: self._failed(session_id, message),
        )

    def show_running(self) -> None:
        """A session is starting: its breakdown comes when it ends."""
        self._pending = None
        self.state = BreakdownState(None, None, RUNNING)
        self._show_placeholder(RUNNING)

    def _loaded(self, state: BreakdownState) -> None:
        if state.session_id != self._pending:
            return  # an older read finished after a newer one was asked for
        self.show_state(state)

    def _failed(self, session_id: int, message: str) -> None:
        if session_id == self._pending:
            text = f"Cannot read session {session_id}'s breakdown: {message}"
            self.show_state(BreakdownState(session_id, None, text))

    def show_state(self, state: BreakdownState) -> None:
        """Show a breakdown (or why there is none)."""
        self.state = state
        cmp = state.comparison
        if cmp is None or cmp.empty:
            self._show_placeholder(state.placeholder)
        else:
            self._show_comparison(cmp)
        self.shown.emit(-1 if state.session_id is None else state.session_id)

    # -- showing --------------------------------------------------------------------------

    def _show_placeholder(self, text: str) -> None:
        self.placeholder.setText(text)
        self.stack.setCurrentWidget(self.placeholder)

    def _show_comparison(self, cmp: BreakdownComparison) -> None:
        self.sentence.setText("\n".join(cmp.sentences))  # a line per pair
        self.notes.setText("\n".join(cmp.notes))
        self.notes.setVisible(bool(cmp.notes))
        self.ops.set_rows(op_headers(cmp), op_rows(cmp))
        fit_columns(self.ops_view, NAME_COLUMN_PX)
        self.pair_box.blockSignals(True)
        self.pair_box.clear()
        for pair in cmp.pairs:
            self.pair_box.addItem(f"{label_of(pair.slower)} vs {label_of(pair.faster)}")
        self.pair_box.blockSignals(False)
        self.pair_box.setEnabled(len(cmp.pairs) > 1)
        self._show_differences()
        self.stack.setCurrentWidget(self.page)
        self.apply_theme(self.theme)  # colours, and the bars drawn in them

    def _draw_bars(self, cmp: BreakdownComparison) -> None:
        for item in [*self.bars.values(), *self.labels]:
            self.plot.removeItem(item)
        self.bars, self.labels = {}, []
        x = list(range(len(cmp.frameworks)))
        bottom = [0.0] * len(x)
        for category, values in cmp.stacked_ms().items():
            bars = pg.BarGraphItem(
                x=x,
                y0=bottom,
                height=values,
                width=BAR_WIDTH,
                brush=category_color(category),
                pen=pg.mkPen(self.theme.plot_background, width=1),
            )
            bars.setToolTip(
                category.label
                + "\n"
                + "\n".join(
                    f"{label_of(fw)}: {fmt(v)} ms/step"
                    for fw, v in zip(cmp.frameworks, values, strict=True)
                )
            )
            self.plot.addItem(bars)
            self.bars[category.value] = bars
            bottom = [a + b for a, b in zip(bottom, values, strict=True)]
        self._legend = [c.label for c in reversed(cmp.categories)]  # as the segments stack
        self.legend.setText(
            "".join(
                f'<div style="margin-bottom:4px"><span style="color:{category_color(c)}; '
                f'font-size:14px">■</span>&nbsp;{c.label}</div>'
                for c in reversed(cmp.categories)
            )
        )
        for i, b in enumerate(cmp.per_framework):
            label = pg.TextItem(
                html=f'<b style="color:{color_of(b.framework)}">{label_of(b.framework)}</b>'
                f'<br><span style="color:{self.theme.plot_foreground}">{fmt(b.step_ms)} ms</span>',
                anchor=(0.5, 1.0),
            )
            label.setPos(i, bottom[i])
            self.plot.addItem(label)
            self.labels.append(label)
        # no tick labels: each bar is named in its colour above it (names crowd a narrow axis)
        axis = self.plot.getAxis("bottom")
        axis.setTicks([[(i, "") for i in x]])
        top = max(bottom, default=1.0) or 1.0
        self.plot.setXRange(-0.7, len(x) - 0.3, padding=0)
        self.plot.setYRange(0.0, top * 1.25, padding=0)

    def _show_differences(self, *_: object) -> None:
        cmp = self.state.comparison
        if cmp is None or not cmp.pairs:
            self.differences.set_rows([], [])
            return
        pair = cmp.pairs[max(self.pair_box.currentIndex(), 0)]
        diffs = pair.categories if self.level_box.currentData() == "category" else pair.ops
        headers = difference_headers(pair.faster, pair.slower)
        colors = [None, None, pair.faster, pair.slower, None, None, None]
        self.differences.set_rows(list(zip(headers, colors, strict=True)), difference_rows(diffs))
        fit_columns(self.differences_view, DIFFERENCE_NAME_PX)

    def apply_theme(self, theme: Theme) -> None:
        """Use ``theme``'s plot and text colours."""
        self.theme = theme
        self.graphics.setBackground(theme.plot_background)
        for name in ("left", "bottom"):
            axis = self.plot.getAxis(name)
            axis.setPen(theme.plot_foreground)
            axis.setTextPen(theme.plot_foreground)
        self.plot.setTitle("Where each step goes", color=theme.plot_foreground)
        self.sentence.setStyleSheet(f"font-weight: bold; color: {theme.text};")
        self.notes.setStyleSheet(f"color: {theme.danger};")
        cmp = self.state.comparison
        if cmp is not None and not cmp.empty and not self.showing_placeholder():
            self._draw_bars(cmp)  # the bars' outlines and labels take the theme's colours

    # -- reading it back (tests, screenshots) ---------------------------------------------

    def showing_placeholder(self) -> bool:
        """Whether the tab shows a sentence instead of a breakdown."""
        return self.stack.currentWidget() is self.placeholder

    def legend_labels(self) -> list[str]:
        """The legend's category names, top segment first."""
        return list(self._legend)
