"""The report as one self-contained HTML file: inline CSS and inline SVG charts, no scripts.

The content matches the PDF (verdict, measurement quality, summary, comparisons, statistics,
charts, runs, fairness audit, environment, config); the style sheet ``report.css`` ships inside
this package and is copied into the page, so the file can be mailed or archived alone.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from profiler.report.breakdown_page import TITLE, html_breakdown
from profiler.report.charts import chart_figure, chart_pages, time_page_height_in
from profiler.report.charts_stats import distribution_figure, distribution_height_in
from profiler.report.model import Report
from profiler.report.plotting import chart_style, figure_svg
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
    report_date,
    run_columns,
    run_header,
    run_quality,
    runs_rows,
    statistics_table,
    summary_rows,
    verdicts,
)
from profiler.report.verdicts import mismatch_sentence, quality_notes

CSS_PATH = Path(__file__).with_name("report.css")
CHART_WIDTH_IN = 9.0
PLOT_HEIGHT_IN = 1.9


def _css() -> str:
    try:
        return CSS_PATH.read_text(encoding="utf-8")
    except OSError:  # an unstyled report is still a complete report
        return ""


def _header_cell(column: Column) -> str:
    if column.color:
        return f'<th class="run" style="background:{column.color}">{escape(column.header)}</th>'
    return f"<th>{escape(column.header)}</th>"


def _table(table: Table, css_class: str = "") -> str:
    head = "".join(_header_cell(c) for c in table.columns)
    colors = {(r, c): color for r, c, color in table.cell_colors}
    body = []
    for r, row in enumerate(table.rows):
        cells = []
        for c, cell in enumerate(row):
            style = f' style="color:{colors[(r, c)]}"' if (r, c) in colors else ""
            tag = "th" if c == 0 else "td"
            scope = ' scope="row"' if c == 0 else ""
            cells.append(f"<{tag}{scope}{style}>{escape(cell)}</{tag}>")
        flag = ' class="flagged"' if r in table.flagged else ""
        body.append(f"<tr{flag}>{''.join(cells)}</tr>")
    thead = f"<thead><tr>{head}</tr></thead>" if any(c.header for c in table.columns) else ""
    return (
        f'<div class="table-wrap"><table class="{css_class}">{thead}'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _list(items: list[tuple[str, bool]], css_class: str = "verdicts") -> str:
    lis = "".join(
        f'<li class="warn">{escape(t)}</li>' if warn else f"<li>{escape(t)}</li>"
        for t, warn in items
    )
    return f'<ul class="{css_class}">{lis}</ul>'


def _charts(report: Report) -> str:
    """One inline SVG per chart page; each as tall as its panels need."""
    figures = []
    with chart_style():
        for index, page in enumerate(chart_pages(report)):
            if page.kind == "distribution":
                size = (CHART_WIDTH_IN, distribution_height_in(report))
                fig = distribution_figure(report, size_in=size)
            else:
                size = (CHART_WIDTH_IN, time_page_height_in(report, page, PLOT_HEIGHT_IN))
                fig = chart_figure(
                    report, page.keys, size_in=size, timeline=page.timeline, unit_in=PLOT_HEIGHT_IN
                )
            figures.append(f"<figure>{figure_svg(fig, f'chart{index + 1}')}</figure>")
    return "\n".join(figures)


def _section(title: str, body: str) -> str:
    return f"<section>\n<h2>{escape(title)}</h2>\n{body}\n</section>"


def _quality_per_run(report: Report) -> str:
    parts = []
    for run in report.runs:
        notes = run_quality(run)
        items = _list([(n, False) for n in notes], "notes") if notes else "<p>no warnings</p>"
        parts.append(f"<h3>{escape(run_header(report, run))}</h3>{items}")
    return "".join(parts)


def render_html(report: Report) -> str:
    """The whole HTML document as a string."""
    ref = report.generated_from
    title = f"FrameDuel report — {ref.name}"
    meta = (
        f"{report_date(report)} · session #{ref.id} · status {ref.status} · {len(report.runs)} runs"
    )
    sections = [_section("Verdict", _list([(v.text, v.warning) for v in verdicts(report)]))]
    notes = quality_notes(report)
    if notes:
        items = [(f"{who}: {note}", False) for who, note in notes]
        sections.append(_section("Measurement quality", _list(items, "notes")))
    summary = grid_table(summary_rows(report), framework_columns(report))
    sections.append(_section("Summary", _table(summary, "summary")))
    if report.scaling is not None:
        from profiler.report.scaling_render import scaling_section_html

        sections.append(_section("Scaling", scaling_section_html(report.scaling)))
    if report.comparisons:
        caption = f'<p class="caption">{escape(COMPARISON_CAPTION)}</p>'
        sections.append(
            _section("Comparisons", _table(comparison_table(report), "stats") + caption)
        )
    sections.append(_section("Statistics per framework", _table(statistics_table(report), "stats")))
    sections.append(_section(TITLE, html_breakdown(report)))
    sections.append(_section("Charts", _charts(report)))
    runs = grid_table(runs_rows(report), run_columns(report))
    sections.append(_section("Runs", _table(runs, "summary")))
    mismatches = [(mismatch_sentence(report, r), True) for r in report.audit.mismatches]
    audit_intro = (
        _list(mismatches)
        if mismatches
        else "<p>No mismatch in the settings that bear on a fair comparison.</p>"
    )
    sections.append(_section("Fairness audit", audit_intro + _table(audit_table(report), "audit")))
    env = Table((Column(""), Column("")), tuple(environment_rows(report)))
    sections.append(_section("Environment", _table(env, "env")))
    sections.append(_section("Measurement quality per run", _quality_per_run(report)))
    sections.append(_section("Config", f'<pre class="config">{escape(config_text(report))}</pre>'))
    body = "\n".join(sections)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="FrameDuel">
<title>{escape(title)}</title>
<style>
{_css()}
</style>
</head>
<body>
<main>
<header>
<h1>{escape(title)}</h1>
<p class="meta">{escape(meta)}</p>
</header>
{body}
<footer>Generated by FrameDuel from session #{ref.id} ({escape(ref.created_at)}).</footer>
</main>
</body>
</html>
"""


def write_html(report: Report, path: str | Path) -> Path:
    """Write the self-contained HTML report (UTF-8); returns the path."""
    target = Path(path)
    target.write_text(render_html(report), encoding="utf-8")
    return target
