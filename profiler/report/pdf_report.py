"""The report as a PDF: page one (verdict, measurement quality, summary), the details (statistics,
comparisons, runs, fairness audit, environment, config), then the charts.

Pages are matplotlib figures (Agg canvas, no pyplot) saved through PdfPages with TrueType fonts
embedded and vector charts. Text pages are laid out by a small flow layout (``pdf_flow``) that
starts a new page when a block does not fit, so many runs or a long error never run off a page.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Literal

from profiler.report.breakdown_page import pdf_breakdown
from profiler.report.charts import chart_figures
from profiler.report.formatting import report_date
from profiler.report.model import Report
from profiler.report.pdf_flow import BODY_PT, FAILED_COLOR, FOOTER_IN, MARGIN_IN, Flow
from profiler.report.plotting import chart_style
from profiler.report.tables import (
    COMPARISON_CAPTION,
    Column,
    Table,
    audit_table,
    comparison_table,
    config_text,
    environment_rows,
    framework_columns,
    grid_table,
    run_columns,
    run_header,
    run_quality,
    runs_rows,
    statistics_table,
    summary_rows,
    verdicts,
)
from profiler.report.verdicts import mismatch_sentence, quality_notes

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Paper = Literal["a4", "letter"]
PAPER_SIZES_IN: dict[str, tuple[float, float]] = {"a4": (8.27, 11.69), "letter": (8.5, 11.0)}
RUNS_PER_TABLE = 4  # more runs continue in another block of columns below
_LABEL_IN = 1.85


def _even(flow: Flow, label_in: float, n: int) -> list[float]:
    """A label column and ``n`` equal columns filling the text width."""
    return [label_in] + [(flow.text_width_in - label_in) / max(n, 1)] * n


def _bullets(flow: Flow, items: list[tuple[str, bool]], size: float = 9.0) -> None:
    for text, warning in items:
        flow.paragraph(
            text, size, indent_in=0.2, bullet="•", color=FAILED_COLOR if warning else "0.1"
        )
        flow.space(0.03)


def _first_page(flow: Flow, report: Report) -> None:
    ref = report.generated_from
    flow.paragraph(f"FrameDuel report — {ref.name}", 16, weight="bold")
    flow.space(0.04)
    meta = (
        f"{report_date(report)} · session #{ref.id} · status {ref.status} · {len(report.runs)} runs"
    )
    flow.paragraph(meta, BODY_PT, color="0.35")
    flow.space(0.2)
    flow.heading("Verdict")
    _bullets(flow, [(v.text, v.warning) for v in verdicts(report)])
    notes = quality_notes(report)
    if notes:
        flow.space(0.12)
        flow.heading("Measurement quality")
        _bullets(flow, [(f"{who}: {note}", False) for who, note in notes], size=8.5)
    flow.space(0.15)
    table = grid_table(summary_rows(report), framework_columns(report))
    widths = _even(flow, _LABEL_IN, len(report.frameworks))
    flow.heading("Summary", flow.table_height(table, widths))
    flow.table(table, widths)
    caption = "Medians over the measure windows used (steady state)"
    if report.has_repeats:
        caption += " of every finished run, and over runs for per-run figures"
    flow.paragraph(caption + ". Details and every run follow.", 7, color="0.4")


def _numbers(flow: Flow, report: Report) -> None:
    """Comparisons and statistics per framework, from a new page."""
    flow.new_page()
    if report.comparisons:
        table = comparison_table(report)
        widths = [2.35, 1.15, 0.5, 0.9, 0.7]
        widths.append(flow.text_width_in - sum(widths))
        flow.heading("Comparisons", flow.table_height(table, widths))
        flow.table(table, widths, size=7.5)
        flow.paragraph(COMPARISON_CAPTION, 7, color="0.4")
        flow.space(0.15)
    table = statistics_table(report)
    widths = [2.67] + [0.55] * 8
    flow.heading("Statistics per framework", flow.table_height(table, widths))
    flow.table(table, widths, size=7.5)


def _appendix(flow: Flow, report: Report) -> None:
    """Every run, the fairness audit, the environment, each run's warnings and the config."""
    rows, columns = runs_rows(report), run_columns(report)
    for i in range(0, len(columns), RUNS_PER_TABLE):
        block = grid_table(
            [(label, cells[i : i + RUNS_PER_TABLE]) for label, cells in rows],
            columns[i : i + RUNS_PER_TABLE],
        )
        widths = _even(flow, _LABEL_IN, len(block.columns) - 1)
        if i == 0:
            flow.heading("Runs", flow.table_height(block, widths))
        flow.table(block, widths)
        flow.space(0.15)
    _audit(flow, report)
    _environment(flow, report)


def _audit(flow: Flow, report: Report) -> None:
    table = audit_table(report)
    widths = _even(flow, _LABEL_IN, len(table.columns) - 1)
    mismatches = report.audit.mismatches
    flow.heading(
        "Fairness audit", flow.table_height(table, widths, 7.5) + 0.3 * (1 + len(mismatches))
    )
    if mismatches:
        _bullets(flow, [(mismatch_sentence(report, r), True) for r in mismatches], 8.5)
    else:
        flow.paragraph("No mismatch in the settings that bear on a fair comparison.", BODY_PT)
    flow.space(0.06)
    flow.table(table, widths, size=7.5)
    flow.paragraph(
        "“default”: the framework does not set it (its own default applies).", 7, color="0.4"
    )
    flow.space(0.15)


def _environment(flow: Flow, report: Report) -> None:
    env = Table((Column(""), Column("")), tuple(environment_rows(report)))
    widths = [_LABEL_IN, flow.text_width_in - _LABEL_IN]
    flow.heading("Environment", flow.table_height(env, widths))
    flow.table(env, widths)
    flow.space(0.15)
    flow.heading("Measurement quality per run", 0.6)
    for run in report.runs:
        notes = run_quality(run) or ["no warnings"]
        flow.paragraph(run_header(report, run), BODY_PT, weight="bold")
        _bullets(flow, [(n, False) for n in notes], BODY_PT)
    flow.space(0.15)
    flow.heading("Config", 1.0)
    flow.code(config_text(report))


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
        front, back = Flow(size), Flow(size)
        _first_page(front, report)
        _numbers(front, report)
        pdf_breakdown(front, report)
        _appendix(back, report)
        scaling = []
        if report.scaling is not None:
            from profiler.report.scaling_render import scaling_figure

            scaling = [scaling_figure(report.scaling, size)]
        pages = front.pages + scaling + chart_figures(report, size_in=size, rect=rect) + back.pages
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
