"""The Breakdown tab: why one framework is faster, from each framework's own profiler.

Horizontal stacked bars of ms per traced step by category (a row per framework, named in its
colour on the left and its total at the bar's end; one colour per category, the legend beside
the bars or, in a narrow chart, below them), the differences ranked by how much of the step-time gap
they explain (by category or by operator, for each pair against the fastest), the sentence that
names the largest contributors, and the top operators side by side in a sortable table.

The tab reads a session's breakdowns in a worker (``TaskRunner``) when a session ends or a stored
one is shown; until then, and for a session without a trace, it says why it is empty.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
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
CHART_LEAST_PX = 220  # the chart's least width in the splitter: its bars stay bars
LEGEND_BELOW_PX = 470  # a chart narrower than this has its legend below the bars, not beside
LABEL_GAP_PX = 6  # between a bar's end and its total
ROW_PX = 18  # a framework's row: its name, its bar and its total, none on the next one's
AXIS_PX = 30  # the ms axis below the bars


SHORT_LABELS = {  # a category's name in a narrow legend (the full one in its tooltip)
    Category.DATA_INPUT.label: "data input",
    Category.HOST_OVERHEAD.label: "host overhead",
}


def short_label(label: str) -> str:
    """A category's name for a narrow legend: ``matmul / dense`` -> ``matmul``,
    ``framework host overhead (Python & dispatch)`` -> ``host overhead``."""
    return SHORT_LABELS.get(label, label.split(maxsplit=1)[0])


class FrameworkAxis(pg.AxisItem):  # type: ignore[misc]  # pyqtgraph is untyped
    """A category axis whose tick labels (framework names) are drawn each in its own colour."""

    def __init__(self, orientation: str, **kwargs: Any) -> None:
        super().__init__(orientation, **kwargs)
        self.colors: dict[str, str] = {}  # tick text -> colour
        self.drawn: dict[str, QRectF] = {}  # tick text -> where it was last painted

    def drawPicture(self, p: QPainter, axisSpec: Any, tickSpecs: Any, textSpecs: Any) -> None:
        super().drawPicture(p, axisSpec, tickSpecs, [])
        self.drawn = {text: QRectF(rect) for rect, _flags, text in textSpecs}
        if self.style["tickFont"] is not None:
            p.setFont(self.style["tickFont"])
        p.setClipRect(self.boundingRect().toAlignedRect())
        for rect, flags, text in textSpecs:
            p.setPen(QColor(self.colors.get(text, self.textPen().color())))
            font = p.font()
            font.setBold(True)
            p.setFont(font)
            p.drawText(rect, int(flags), text)


class ChartBox(QWidget):
    """The bars and their legend: side by side, or the legend below once the box is narrow
    (``legendMoved`` then)."""

    legendMoved = Signal()

    def __init__(self, graphics: QWidget, legend: QLabel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.legend = legend
        self.box = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        self.box.setContentsMargins(0, 0, 0, 0)
        self.box.addWidget(graphics, 1)
        self.box.addWidget(legend)
        self.rows = 2  # frameworks, a bar each
        self.setMinimumWidth(CHART_LEAST_PX)

    def refit(self) -> None:
        """Be at least ``ROW_PX`` a framework tall for the bars, plus the legend below them."""
        rows = self.rows * ROW_PX + AXIS_PX
        legend = max(0, self.legend.heightForWidth(max(self.width(), CHART_LEAST_PX)))
        below = self.legend_below()
        self.legend.setMinimumHeight(legend if below else 0)  # whole, never a line cut off
        self.setMinimumHeight(rows + (legend + self.box.spacing() if below else 0))

    def legend_below(self) -> bool:
        """Whether the legend runs below the bars (a narrow chart)."""
        return self.box.direction() == QBoxLayout.Direction.TopToBottom

    def resizeEvent(self, event: QResizeEvent) -> None:
        below = event.size().width() < LEGEND_BELOW_PX
        if below != self.legend_below():
            direction = (
                QBoxLayout.Direction.TopToBottom if below else QBoxLayout.Direction.LeftToRight
            )
            self.box.setDirection(direction)
            self.legend.setMaximumWidth(16_777_215 if below else LEGEND_PX)
            self.legendMoved.emit()
        super().resizeEvent(event)
        self.refit()  # the legend's lines change with the width


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
        # Horizontal bars: a row per framework needs little height (a 768-line screen leaves the
        # tab little), and the names sit on the left axis, never on each other.
        self.names_axis = FrameworkAxis("left")
        self.plot = self.graphics.addPlot(row=0, col=0, axisItems={"left": self.names_axis})
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        # no axis title: each total says "ms", the tooltip says what (a title costs the height
        # of a bar on a 768-line screen)
        self.plot.showGrid(x=True, alpha=0.25)
        self.plot.getViewBox().sigResized.connect(self._fit_x_range)
        self.graphics.setToolTip("Where each step goes: ms per traced step, by category")
        # a Qt label beside the plot: a legend inside the plot would cover the bars
        self.legend = QLabel(page)
        self.legend.setObjectName("breakdownLegend")
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.legend.setWordWrap(True)
        self.legend.setMaximumWidth(LEGEND_PX)
        self.chart = ChartBox(self.graphics, self.legend, page)
        chart = self.chart
        self._legend: list[str] = []
        self._legend_colors: list[str] = []
        self._top_ms = 1.0
        self.chart.legendMoved.connect(self._set_legend_text)

        gap = QWidget(page)
        gap_layout = QVBoxLayout(gap)
        gap_layout.setContentsMargins(0, 0, 0, 0)
        controls = QHBoxLayout()
        self.pair_box = QComboBox(gap)
        self.pair_box.setToolTip("The fastest framework against each other one")
        # "TensorFlow vs PyTorch" need not set the gap's least width: the chart needs it more
        self.pair_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.pair_box.setMinimumContentsLength(10)
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
        top.setSizes([480, 560])  # in proportion: a narrow tab keeps the bars wide enough
        top.setCollapsible(0, False)

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
        self.ops_view.setMinimumHeight(60)  # a short window gives its height to the bars
        ops_layout.addWidget(self.ops_view, 1)

        split = QSplitter(Qt.Orientation.Vertical, page)
        split.addWidget(top)
        split.addWidget(ops)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 1)
        split.setSizes([400, 200])  # in proportion: a short window keeps the bars tall enough
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
        n = len(cmp.frameworks)
        y = [n - 1 - i for i in range(n)]  # the config's first framework on top
        left = [0.0] * n
        for category, values in cmp.stacked_ms().items():
            bars = pg.BarGraphItem(
                x0=left,
                width=values,
                y=y,
                height=BAR_WIDTH,
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
            left = [a + b for a, b in zip(left, values, strict=True)]
        self._legend = [c.label for c in reversed(cmp.categories)]  # as the segments stack
        self._legend_colors = [category_color(c) for c in reversed(cmp.categories)]
        self._set_legend_text()
        for i, b in enumerate(cmp.per_framework):
            label = pg.TextItem(
                html=f'<div style="margin-left:{LABEL_GAP_PX}px">'  # clear of the bar's end
                f'<span style="color:{self.theme.plot_foreground}">{fmt(b.step_ms)} ms</span>'
                "</div>",
                anchor=(0.0, 0.5),
            )
            label.textItem.document().setDocumentMargin(0)  # as tall as its text: rows are short
            label.setPos(left[i], y[i])
            self.plot.addItem(label)
            self.labels.append(label)
        names = [label_of(fw) for fw in cmp.frameworks]
        self.names_axis.colors = {label_of(fw): color_of(fw) for fw in cmp.frameworks}
        self.names_axis.setTicks([list(zip(y, names, strict=True))])
        bold = QFont(self.graphics.font())
        bold.setBold(True)
        widest = max((QFontMetrics(bold).horizontalAdvance(name) for name in names), default=0)
        self.names_axis.setWidth(widest + 14)  # all names whole from the first paint
        self._top_ms = max(left, default=1.0) or 1.0
        self.chart.rows = n
        self.chart.refit()
        self.plot.setYRange(-0.6, n - 0.4, padding=0)
        self._fit_x_range()

    def _fit_x_range(self, *_: object) -> None:
        """Leave room right of the longest bar for its total, in pixels of the plot's width."""
        width = self.plot.getViewBox().width()
        label_px = max((lab.boundingRect().width() for lab in self.labels), default=0.0)
        room = label_px + 2 * LABEL_GAP_PX
        share = min(0.6, room / width) if width > 0 else 0.3
        self.plot.setXRange(0.0, self._top_ms / (1.0 - share), padding=0)

    def _set_legend_text(self) -> None:
        items = list(zip(self._legend_colors, self._legend, strict=True))
        swatch = '<span style="color:{}; font-size:13px">■</span>&nbsp;'
        if self.chart.legend_below():  # a flow of short names (the full ones in the tooltip)
            self.legend.setText(
                "&nbsp;&nbsp; ".join(
                    swatch.format(color) + short_label(label).replace(" ", "&nbsp;")
                    for color, label in items
                )
            )
            self.legend.setToolTip("\n".join(label for _color, label in items))
        else:
            self.legend.setToolTip("")
            self.legend.setText(
                "".join(
                    f'<div style="margin-bottom:4px">{swatch.format(color)}{label}</div>'
                    for color, label in items
                )
            )
        self.chart.refit()

    def chart_items_px(self) -> dict[str, QRectF]:
        """Where the chart's framework names (as last painted), totals, bars and legend lie, in
        the chart box's pixels: tests check that none covers another or is cut off."""
        view = self.graphics
        at = QPointF(view.mapTo(self.chart, QPoint(0, 0)))

        def box_px(item: pg.GraphicsObject, rect: QRectF) -> QRectF:
            scene: QRectF = item.mapRectToScene(rect)
            return QRectF(view.mapFromScene(scene).boundingRect()).translated(at)

        rects = {f"name {t}": box_px(self.names_axis, r) for t, r in self.names_axis.drawn.items()}
        for label in self.labels:
            rects[f"total {label.textItem.toPlainText()}"] = box_px(label, label.boundingRect())
        for key, bars in self.bars.items():
            rects[f"bars {key}"] = box_px(bars, bars.boundingRect())
        rects["plot"] = box_px(self.plot.getViewBox(), self.plot.getViewBox().boundingRect())
        rects["legend"] = QRectF(self.legend.geometry())
        return rects

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
        self.sentence.setStyleSheet(f"font-weight: bold; color: {theme.text};")
        self.notes.setStyleSheet(f"color: {theme.danger};")
        cmp = self.state.comparison
        if cmp is not None and not cmp.empty and not self.showing_placeholder():
            self._draw_bars(cmp)  # the bars' outlines and labels take the theme's colours

    # -- reading it back (tests, screenshots) ---------------------------------------------

    def showing_placeholder(self) -> bool:
        """Whether the tab shows a sentence instead of a breakdown."""
        return self.stack.currentWidget() is self.placeholder

    def framework_names(self) -> list[str]:
        """The frameworks named on the bars' axis, top row first."""
        return list(self.names_axis.colors)

    def legend_labels(self) -> list[str]:
        """The legend's category names, top segment first."""
        return list(self._legend)
