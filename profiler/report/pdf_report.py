"""The report as a PDF: verdicts, the side-by-side table and the environment, then the charts.

Pages are matplotlib figures (Agg canvas, no pyplot) saved through PdfPages with TrueType fonts
embedded. Page 1 is laid out top to bottom by a small flow layout that starts a new page when a
block does not fit, so many runs or a long error message never run off the page.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from profiler.report.charts import chart_figures, chart_style, new_figure
from profiler.report.model import Report
from profiler.report.tables import (
    RunColumn,
    environment_rows,
    report_date,
    run_columns,
    summary_rows,
    verdicts,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Paper = Literal["a4", "letter"]
PAPER_SIZES_IN: dict[str, tuple[float, float]] = {"a4": (8.27, 11.69), "letter": (8.5, 11.0)}
MARGIN_IN = 0.6
FOOTER_IN = 0.35
BODY_PT = 8.0
RUNS_PER_TABLE = 4  # more runs continue in another block of columns below
_CHAR_EM = 0.56  # average glyph width of DejaVu Sans, in ems: for wrapping text to a width
_LINE = 1.35  # line height, in font sizes
_STRIPE = "#F3F4F6"
_CELL_PAD_IN = 0.045
_HEADING_PT = 11.0
_STATUS_COLORS = {"ok": "#1B7F3B"}
_FAILED_COLOR = "#B00020"


def _wrap(text: str, width_in: float, size_pt: float, max_lines: int = 0) -> list[str]:
    chars = max(4, int(width_in * 72.0 / (size_pt * _CHAR_EM)))
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines += textwrap.wrap(paragraph, chars, break_on_hyphens=False) or [""]
    if max_lines and len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], lines[max_lines - 1][: chars - 1] + "…"]
    return lines


class _Flow:
    """Places blocks top to bottom on pages of one size; y is inches from the page's top."""

    def __init__(self, size_in: tuple[float, float]) -> None:
        self.width_in, self.height_in = size_in
        self.pages: list[Figure] = []
        self.y = 0.0
        self._new_page()

    @property
    def fig(self) -> Figure:
        return self.pages[-1]

    def _new_page(self) -> None:
        self.pages.append(new_figure((self.width_in, self.height_in)))
        self.y = MARGIN_IN

    @property
    def body_height_in(self) -> float:
        """The height a page offers between its margins and footer."""
        return self.height_in - 2 * MARGIN_IN - FOOTER_IN

    def fits(self, height_in: float) -> bool:
        return self.y + height_in <= self.height_in - MARGIN_IN - FOOTER_IN

    def ensure(self, height_in: float) -> bool:
        """Start a new page unless ``height_in`` fits; True when a page was started."""
        if self.fits(height_in):
            return False
        self._new_page()
        return True

    def fx(self, x_in: float) -> float:
        return x_in / self.width_in

    def fy(self, y_in: float) -> float:
        return 1.0 - y_in / self.height_in

    def text_at(self, x_in: float, y_in: float, text: str, size: float, **kw: object) -> None:
        self.fig.text(self.fx(x_in), self.fy(y_in), text, fontsize=size, va="top", **kw)  # type: ignore[arg-type]

    def rect(self, x_in: float, y_in: float, w_in: float, h_in: float, color: str) -> None:
        from matplotlib.patches import Rectangle

        box = Rectangle(
            (self.fx(x_in), self.fy(y_in + h_in)),
            w_in / self.width_in,
            h_in / self.height_in,
            transform=self.fig.transFigure,
            facecolor=color,
            edgecolor="none",
        )
        self.fig.add_artist(box)

    def paragraph(
        self,
        text: str,
        size: float = BODY_PT,
        *,
        indent_in: float = 0.0,
        bullet: str = "",
        **kw: object,
    ) -> None:
        """Wrapped text; ``bullet`` hangs in the left margin of the indent."""
        x = MARGIN_IN + indent_in
        width = self.width_in - MARGIN_IN - x
        line_h = size * _LINE / 72.0
        for i, line in enumerate(_wrap(text, width, size)):
            self.ensure(line_h)
            if bullet and i == 0:
                self.text_at(x - 0.14, self.y, bullet, size, **kw)
            self.text_at(x, self.y, line, size, **kw)
            self.y += line_h

    def space(self, height_in: float) -> None:
        self.y += height_in

    def table(
        self,
        rows: list[tuple[str, list[str]]],
        label_w_in: float,
        columns: list[RunColumn] | None = None,
        size: float = BODY_PT,
    ) -> None:
        """A label column, then cells wrapped to equal columns.

        A table that fits on one page is kept together; a longer one breaks between rows and
        repeats its header.
        """
        col_w, laid_out, total = self._layout(rows, label_w_in, columns, size)
        pad = _CELL_PAD_IN
        n = len(rows[0][1]) if rows else 0
        if total <= self.body_height_in:
            self.ensure(total)
        if columns is not None:
            self._header(columns, label_w_in, col_w, size)
        for index, (label, cells, label_lines, wrapped, height) in enumerate(laid_out):
            if self.ensure(height) and columns is not None:
                self._header(columns, label_w_in, col_w, size)
            if index % 2 == 0:
                self.rect(MARGIN_IN, self.y, label_w_in + n * col_w, height, _STRIPE)
            self.text_at(MARGIN_IN + pad, self.y + pad, "\n".join(label_lines), size, color="0.3")
            for col, lines in enumerate(wrapped):
                x = MARGIN_IN + label_w_in + col * col_w + pad
                color = "0.1"
                if label == "status":
                    color = _STATUS_COLORS.get(cells[col], _FAILED_COLOR)
                elif label == "error":
                    color = _FAILED_COLOR
                self.text_at(x, self.y + pad, "\n".join(lines), size, color=color, linespacing=1.2)
            self.y += height

    def table_height(
        self,
        rows: list[tuple[str, list[str]]],
        label_w_in: float,
        columns: list[RunColumn] | None = None,
        size: float = BODY_PT,
    ) -> float:
        """The height ``table`` will take with these arguments, ignoring page breaks."""
        return self._layout(rows, label_w_in, columns, size)[2]

    def _layout(
        self,
        rows: list[tuple[str, list[str]]],
        label_w_in: float,
        columns: list[RunColumn] | None,
        size: float,
    ) -> tuple[float, list[tuple[str, list[str], list[str], list[list[str]], float]], float]:
        """(column width, rows with wrapped lines and heights, total height)."""
        n = len(rows[0][1]) if rows else 0
        col_w = (self.width_in - 2 * MARGIN_IN - label_w_in) / max(n, 1)
        line_h, pad = size * _LINE / 72.0, _CELL_PAD_IN
        laid_out = []
        for label, cells in rows:
            wrapped = [_wrap(c, col_w - 2 * pad, size, max_lines=8) for c in cells]
            label_lines = _wrap(label, label_w_in - 2 * pad, size)
            height = max(len(w) for w in [label_lines, *wrapped]) * line_h + 2 * pad
            laid_out.append((label, cells, label_lines, wrapped, height))
        total = sum(row[-1] for row in laid_out) + (self._header_h(size) if columns else 0.0)
        return col_w, laid_out, total

    @staticmethod
    def _header_h(size: float) -> float:
        return size * _LINE / 72.0 + 0.1

    def _header(
        self, columns: list[RunColumn], label_w_in: float, col_w: float, size: float
    ) -> None:
        height = self._header_h(size)
        self.ensure(height)
        for col, column in enumerate(columns):
            x = MARGIN_IN + label_w_in + col * col_w
            self.rect(x + 0.02, self.y, col_w - 0.04, height, column.color)
            self.text_at(x + 0.06, self.y + 0.05, column.header, size, color="white", weight="bold")
        self.y += height


def _first_page(flow: _Flow, report: Report) -> None:
    name = report.generated_from.name
    flow.paragraph(f"FrameDuel report — {name}", 16, weight="bold")
    flow.space(0.04)
    ref = report.generated_from
    flow.paragraph(
        f"{report_date(report)} · session #{ref.id} · status {ref.status} · "
        f"{len(report.runs)} runs",
        BODY_PT,
        color="0.35",
    )
    flow.space(0.2)
    _heading(flow, "Verdict", 0.5)
    for item in verdicts(report):
        color = _FAILED_COLOR if item.warning else "0.1"
        flow.paragraph(item.text, 9, indent_in=0.2, bullet="•", color=color)
        flow.space(0.03)
    flow.space(0.2)
    rows, columns = summary_rows(report), run_columns(report)
    blocks = [
        (
            [(label, cells[i : i + RUNS_PER_TABLE]) for label, cells in rows],
            columns[i : i + RUNS_PER_TABLE],
        )
        for i in range(0, len(columns), RUNS_PER_TABLE)
    ]
    for index, (block_rows, block_columns) in enumerate(blocks):
        if index == 0:
            _heading(flow, "Summary", flow.table_height(block_rows, 1.75, block_columns))
        flow.table(block_rows, 1.75, block_columns)
        flow.space(0.15)
    flow.space(0.1)
    env = [(label, [value]) for label, value in environment_rows(report)]
    _heading(flow, "Environment", flow.table_height(env, 1.2))
    flow.table(env, 1.2)


def _heading(flow: _Flow, title: str, then_in: float) -> None:
    """A section heading, on a new page when the block after it would be cut off from it."""
    own = _HEADING_PT * _LINE / 72.0 + 0.05
    flow.ensure(own + min(then_in, flow.body_height_in - own))
    flow.paragraph(title, _HEADING_PT, weight="bold")
    flow.space(0.05)


def _footers(pages: list[Figure], report: Report, size_in: tuple[float, float]) -> None:
    width, height = size_in
    y = (MARGIN_IN * 0.6) / height
    left = f"FrameDuel report — {report.generated_from.name}"
    for number, fig in enumerate(pages, start=1):
        fig.text(MARGIN_IN / width, y, left, fontsize=7, color="0.45", va="bottom")
        fig.text(
            1 - MARGIN_IN / width,
            y,
            f"page {number} of {len(pages)}",
            fontsize=7,
            color="0.45",
            ha="right",
            va="bottom",
        )


def write_pdf(report: Report, path: str | Path, *, paper: Paper = "a4") -> Path:
    """Write the PDF report (A4 portrait, or US Letter); returns the path."""
    if paper not in PAPER_SIZES_IN:
        raise ValueError(f"unknown paper size {paper!r}; use 'a4' or 'letter'")
    from matplotlib.backends.backend_pdf import PdfPages

    size = PAPER_SIZES_IN[paper]
    target = Path(path)
    width, height = size
    bottom = (MARGIN_IN + FOOTER_IN) / height
    rect = (MARGIN_IN / width, bottom, 1 - 2 * MARGIN_IN / width, 1 - bottom - MARGIN_IN / height)
    with chart_style():
        flow = _Flow(size)
        _first_page(flow, report)
        pages = flow.pages + chart_figures(report, size_in=size, rect=rect)
        _footers(pages, report, size)
        metadata = {
            "Title": f"FrameDuel report — {report.generated_from.name}",
            "Creator": "FrameDuel",
            "CreationDate": None,
        }
        with PdfPages(target, metadata=metadata) as pdf:
            for fig in pages:
                pdf.savefig(fig)
    return target
