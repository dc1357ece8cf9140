"""A small flow layout for PDF text pages: paragraphs, tables and code placed top to bottom on
matplotlib figures, starting a new page whenever a block does not fit.

Units are inches from the page's top-left corner; text is placed with figure coordinates, so the
pages are plain matplotlib figures that PdfPages saves with embedded TrueType fonts.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING

from profiler.report.plotting import new_figure
from profiler.report.tables import Table

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MARGIN_IN = 0.6
FOOTER_IN = 0.35
BODY_PT = 8.0
HEADING_PT = 11.0
CODE_PT = 7.0
_CHAR_EM = 0.56  # average glyph width of DejaVu Sans, in ems: for wrapping text to a width
_MONO_EM = 0.61  # glyph width of DejaVu Sans Mono, in ems
_LINE = 1.35  # line height, in font sizes
_CELL_PAD_IN = 0.035
# Blocks up to this share of a page are never split (nor cut off from their heading); longer ones
# break where the page ends, so a long table leaves no page half empty before it.
KEEP_TOGETHER = 0.5
STRIPE = "#F3F4F6"
FLAG_FILL = "#FDE8E8"
CODE_FILL = "#F6F8FA"
OK_COLOR = "#1B7F3B"
FAILED_COLOR = "#B00020"


def wrap(
    text: str, width_in: float, size_pt: float, max_lines: int = 0, em: float = _CHAR_EM
) -> list[str]:
    """``text`` wrapped to ``width_in`` at ``size_pt`` (paragraphs kept); cut with … after
    ``max_lines`` lines when given."""
    chars = max(4, int(width_in * 72.0 / (size_pt * em)))
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines += textwrap.wrap(paragraph, chars, break_on_hyphens=False) or [""]
    if max_lines and len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], lines[max_lines - 1][: chars - 1] + "…"]
    return lines


@dataclass(frozen=True)
class _Row:
    cells: list[list[str]]
    height: float


class Flow:
    """Places blocks top to bottom on pages of one size; y is inches from the page's top."""

    def __init__(self, size_in: tuple[float, float]) -> None:
        self.width_in, self.height_in = size_in
        self.pages: list[Figure] = []
        self.y = 0.0
        self.new_page()

    @property
    def fig(self) -> Figure:
        """The page being filled."""
        return self.pages[-1]

    @property
    def text_width_in(self) -> float:
        """The width between the margins."""
        return self.width_in - 2 * MARGIN_IN

    @property
    def body_height_in(self) -> float:
        """The height a page offers between its margins and footer."""
        return self.height_in - 2 * MARGIN_IN - FOOTER_IN

    def new_page(self) -> None:
        """Start a new page."""
        self.pages.append(new_figure((self.width_in, self.height_in)))
        self.y = MARGIN_IN

    def fits(self, height_in: float) -> bool:
        """Whether ``height_in`` fits on the rest of the page."""
        return self.y + height_in <= self.height_in - MARGIN_IN - FOOTER_IN

    def ensure(self, height_in: float) -> bool:
        """Start a new page unless ``height_in`` fits; True when a page was started."""
        if self.fits(height_in):
            return False
        self.new_page()
        return True

    def _fx(self, x_in: float) -> float:
        return x_in / self.width_in

    def _fy(self, y_in: float) -> float:
        return 1.0 - y_in / self.height_in

    def text_at(self, x_in: float, y_in: float, text: str, size: float, **kw: object) -> None:
        """Text with its top-left corner at (x, y)."""
        self.fig.text(self._fx(x_in), self._fy(y_in), text, fontsize=size, va="top", **kw)  # type: ignore[arg-type]

    def rect(self, x_in: float, y_in: float, w_in: float, h_in: float, color: str) -> None:
        """A filled rectangle with its top-left corner at (x, y)."""
        from matplotlib.patches import Rectangle

        box = Rectangle(
            (self._fx(x_in), self._fy(y_in + h_in)),
            w_in / self.width_in,
            h_in / self.height_in,
            transform=self.fig.transFigure,
            facecolor=color,
            edgecolor="none",
        )
        self.fig.add_artist(box)

    def space(self, height_in: float) -> None:
        """Vertical space."""
        self.y += height_in

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
        line_h = size * _LINE / 72.0
        for i, line in enumerate(wrap(text, self.width_in - MARGIN_IN - x, size)):
            self.ensure(line_h)
            if bullet and i == 0:
                self.text_at(x - 0.14, self.y, bullet, size, **kw)
            self.text_at(x, self.y, line, size, **kw)
            self.y += line_h

    def heading(self, title: str, then_in: float = 0.5) -> None:
        """A section heading, on a new page when the block after it (``then_in`` high, or its
        first half page when longer) would be cut off from it."""
        own = HEADING_PT * _LINE / 72.0 + 0.05
        self.ensure(own + min(then_in, KEEP_TOGETHER * self.body_height_in))
        self.paragraph(title, HEADING_PT, weight="bold")
        self.space(0.05)

    def code(self, text: str, size: float = CODE_PT) -> None:
        """Monospaced lines on a light background (long lines wrapped), across pages."""
        line_h = size * 1.25 / 72.0
        width = self.text_width_in - 0.2
        for raw in text.splitlines() or [""]:
            indent = len(raw) - len(raw.lstrip(" "))
            for i, line in enumerate(wrap(raw, width, size, em=_MONO_EM)):
                self.ensure(line_h)
                self.rect(MARGIN_IN, self.y, self.text_width_in, line_h, CODE_FILL)
                shown = line if i == 0 else " " * (indent + 2) + line
                self.text_at(MARGIN_IN + 0.1, self.y + 0.01, shown, size, family="DejaVu Sans Mono")
                self.y += line_h

    # -- tables ---------------------------------------------------------------------------------

    def _layout(self, table: Table, widths: list[float], size: float) -> tuple[list[_Row], float]:
        line_h, pad = size * _LINE / 72.0, _CELL_PAD_IN
        rows = []
        for cells in table.rows:
            wrapped = [
                wrap(c, w - 2 * pad, size, max_lines=8) for c, w in zip(cells, widths, strict=True)
            ]
            rows.append(_Row(wrapped, max(len(w) for w in wrapped) * line_h + 2 * pad))
        header = self._header_h(table, widths, size)
        return rows, sum(r.height for r in rows) + header

    def table_height(self, table: Table, widths: list[float], size: float = BODY_PT) -> float:
        """The height ``table`` will take, ignoring page breaks."""
        return self._layout(table, widths, size)[1]

    def table(self, table: Table, widths: list[float], size: float = BODY_PT) -> None:
        """A table: striped rows, flagged rows filled red, the header repeated after a break.

        A table of up to half a page is kept together; a longer one breaks between rows.
        """
        rows, total = self._layout(table, widths, size)
        if total <= KEEP_TOGETHER * self.body_height_in:
            self.ensure(total)
        self._header(table, widths, size)
        colors = {(r, c): color for r, c, color in table.cell_colors}
        pad, full = _CELL_PAD_IN, sum(widths)
        for index, row in enumerate(rows):
            if self.ensure(row.height):
                self._header(table, widths, size)
            flagged = index in table.flagged
            if flagged or index % 2 == 0:
                self.rect(MARGIN_IN, self.y, full, row.height, FLAG_FILL if flagged else STRIPE)
            x = MARGIN_IN
            for col, (lines, width) in enumerate(zip(row.cells, widths, strict=True)):
                color = colors.get((index, col), "0.3" if col == 0 else "0.1")
                if flagged:
                    color = FAILED_COLOR
                self.text_at(
                    x + pad, self.y + pad, "\n".join(lines), size, color=color, linespacing=1.2
                )
                x += width
            self.y += row.height

    @staticmethod
    def _header_h(table: Table, widths: list[float], size: float) -> float:
        if not any(c.header for c in table.columns):
            return 0.0
        lines = max(
            len(wrap(c.header, w - 0.1, size)) for c, w in zip(table.columns, widths, strict=True)
        )
        return lines * size * _LINE / 72.0 + 0.1

    def _header(self, table: Table, widths: list[float], size: float) -> None:
        height = self._header_h(table, widths, size)
        if not height:
            return
        self.ensure(height)
        x = MARGIN_IN
        for column, width in zip(table.columns, widths, strict=True):
            lines = "\n".join(wrap(column.header, width - 0.1, size))
            if column.color:
                self.rect(x + 0.02, self.y, width - 0.04, height, column.color)
                self.text_at(x + 0.06, self.y + 0.05, lines, size, color="white", weight="bold")
            elif column.header:
                self.text_at(
                    x + _CELL_PAD_IN, self.y + 0.05, lines, size, color="0.2", weight="bold"
                )
            x += width
        self.y += height
