"""The report's breakdown page: why one framework is faster, from each one's own profiler.

The same content in the PDF (a page of its own after the numbers) and the HTML report (a
section): the sentence naming the largest contributors, stacked ms/step per category per framework
next to what each category adds to the gap, the ranked differences, the top operators side by
side, and per framework what the trace cost. The CSV gets the per-category figures as rows of its
long format (``csv_rows``). Without a trace the page says so in one line.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from profiler.breakdown import RunBreakdown
from profiler.colors import color_of, label_of
from profiler.report.breakdown_compare import (
    BreakdownComparison,
    Difference,
    PairGap,
    category_color,
    compare_breakdowns,
)
from profiler.report.formatting import MISSING, fmt
from profiler.report.model import Report
from profiler.report.tables import Column, Table

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from profiler.report.pdf_flow import Flow

TITLE = "Why: operator-level breakdown"
TRACING_OFF = (
    "Tracing was off for this session, so there is no operator-level breakdown. Run with "
    "run.trace (e.g. run: {trace: {steps: 10}}) to trace a few steps after the measure phase "
    "with each framework's own profiler."
)
NO_TRACE_LEFT = (
    "This session's trace phase left no breakdown: tracing failed, the runs stopped before it, "
    "or its breakdowns file could not be read (the runs' logs say which)."
)
CAPTION = (
    "From each framework's own profiler, in a trace phase after the measure phase (the measured "
    "figures never include it). Every instant of the traced steps is counted once, so the "
    "categories add up to the traced step time; ops are matched across frameworks by category "
    "and normalised name. Shares of the gap: what each difference adds to the slower framework's "
    "step (negative: it narrows the gap)."
)
TOP_OPS_SHOWN = 12
DIFFERENCES_SHOWN = 8
CHART_HEIGHT_IN = 2.6
SEGMENT_LABEL_SHARE = 0.12  # segments this share of the longest bar or wider show their ms


def tracing_was_on(config: Mapping[str, Any]) -> bool:
    """Whether a stored config asked for the trace phase: ``run.trace`` set and not off (a
    config stored before tracing existed has no ``run.trace``: it was not traced)."""
    run = config.get("run")
    return isinstance(run, Mapping) and isinstance(run.get("trace"), Mapping)


def why_no_breakdown(config: Mapping[str, Any]) -> str:
    """Why a session has no breakdown, in words, from its stored config."""
    return NO_TRACE_LEFT if tracing_was_on(config) else TRACING_OFF


def report_breakdowns(report: Report) -> tuple[RunBreakdown, ...]:
    """The report's run breakdowns (none for an untraced session)."""
    return report.breakdowns


def comparison_of(report: Report) -> BreakdownComparison:
    """The breakdowns of ``report`` side by side."""
    return compare_breakdowns(report_breakdowns(report), report.frameworks)


# -- tables shared by the PDF and HTML ---------------------------------------------------------


def _ms(value: float | None) -> str:
    return MISSING if value is None else fmt(value)


def _share(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return MISSING
    return "0%" if abs(value) < 0.005 else f"{value:.0%}"


def _launches(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return MISSING
    return f"{value:.0f}" if abs(value - round(value)) < 0.05 else f"{value:.1f}"


def _delta(ms: float) -> str:
    return "0 ms" if abs(ms) < 5e-4 else f"{ms:+.3g} ms"


def differences_table(pair: PairGap, level: str = "category") -> Table:
    """The ranked differences of one pair: what each category (or op) adds to the gap."""
    fast, slow = label_of(pair.faster), label_of(pair.slower)
    columns = (
        Column("Category" if level == "category" else "Operator"),
        Column(fast, color_of(pair.faster)),
        Column(slow, color_of(pair.slower)),
        Column("difference"),
        Column("share of gap"),
        Column("launches/step"),
    )
    diffs: Sequence[Difference] = pair.categories if level == "category" else pair.ops
    rows = []
    for d in diffs[:DIFFERENCES_SHOWN]:
        launches = (
            f"{_launches(d.faster_launches)} vs {_launches(d.slower_launches)}"
            if d.faster_launches is not None or d.slower_launches is not None
            else MISSING
        )
        rows.append(
            (
                d.label,
                _ms(d.faster_ms) if d.faster_ms is not None else "no counterpart",
                _ms(d.slower_ms) if d.slower_ms is not None else "no counterpart",
                _delta(d.delta_ms),
                _share(d.share_of_gap),
                launches,
            )
        )
    return Table(columns, tuple(rows))


def ops_table(cmp: BreakdownComparison) -> Table:
    """The top operators, one row per matched op: its time (share) and launches per framework."""
    columns = [Column("Operator"), Column("Category")]
    columns += [Column(label_of(b.framework), color_of(b.framework)) for b in cmp.per_framework]
    rows = []
    for op in cmp.ops[:TOP_OPS_SHOWN]:
        cells = [op.title(cmp.frameworks), op.category.label]
        for b in cmp.per_framework:
            fw = b.framework
            if not op.has(fw):
                cells.append("no counterpart")
                continue
            cells.append(
                f"{fmt(op.ms_per_step[fw])} ms ({_share(op.share[fw])}) · "
                f"{_launches(op.launches_per_step[fw])}×"
            )
        rows.append(tuple(cells))
    return Table(tuple(columns), tuple(rows))


def per_framework_table(cmp: BreakdownComparison) -> Table:
    """Per framework: traced vs measured step time (the profiler's cost), launches, idle share."""
    columns = [Column("")]
    columns += [Column(label_of(b.framework), color_of(b.framework)) for b in cmp.per_framework]
    runs = [b.run for b in cmp.per_framework]

    def row(label: str, cells: list[str]) -> tuple[str, ...]:
        return (label, *cells)

    cost = [
        MISSING if not math.isfinite(r.profiler_cost) else f"{r.profiler_cost:.2f}×" for r in runs
    ]
    return Table(
        tuple(columns),
        (
            row("Traced step (trace clock)", [f"{fmt(r.step_ms)} ms" for r in runs]),
            row(
                "Measure phase step (median)",
                [
                    _ms(r.measure_step_ms if math.isfinite(r.measure_step_ms) else None)
                    for r in runs
                ],
            ),
            row("Profiler cost (trace / measure step)", cost),
            row("Launches per step", [_launches(r.launches_per_step) for r in runs]),
            row("Idle share (nothing running)", [_share(r.idle_share) for r in runs]),
            row(
                "Waiting on the host (idle + host overhead)",
                [_share(r.waiting_share) for r in runs],
            ),
            row("Timeline split", [r.timeline for r in runs]),
            row(
                "Steps traced",
                [
                    f"{r.traced_steps} (truncated)" if r.truncated else str(r.traced_steps)
                    for r in runs
                ],
            ),
            row(
                "Run shown",
                [
                    f"#{b.run.repeat + 1} (median of {b.traced_runs})"
                    if b.traced_runs > 1
                    else f"#{b.run.repeat + 1}"
                    for b in cmp.per_framework
                ],
            ),
        ),
    )


# -- the chart ---------------------------------------------------------------------------------


def draw_stacked(ax: Axes, cmp: BreakdownComparison) -> None:
    """Stacked horizontal bars, one per framework, a segment per category (its colour)."""
    names = [label_of(fw) for fw in cmp.frameworks]
    y = list(range(len(names)))
    left = [0.0] * len(names)
    longest = max((b.step_ms for b in cmp.per_framework), default=0.0)
    for category, values in cmp.stacked_ms().items():
        ax.barh(
            y,
            values,
            left=left,
            height=0.62,
            color=category_color(category),
            edgecolor="white",
            linewidth=0.5,
            label=category.label,
        )
        for i, (x, ms) in enumerate(zip(left, values, strict=True)):
            if ms >= SEGMENT_LABEL_SHARE * longest:  # wide enough on the axis for its label
                ax.text(x + ms / 2, i, fmt(ms), ha="center", va="center", fontsize=6.5)
        left = [a + b for a, b in zip(left, values, strict=True)]
    for i, b in enumerate(cmp.per_framework):
        ax.text(left[i], i, f" {fmt(b.step_ms)} ms", va="center", fontsize=7, color="0.2")
    ax.set_yticks(y, names)
    for tick, fw in zip(ax.get_yticklabels(), cmp.frameworks, strict=True):
        tick.set_color(color_of(fw))
        tick.set_fontweight("bold")
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.set_xlim(0.0, max(left, default=1.0) * 1.18 or 1.0)
    ax.set_xlabel("ms per traced step")
    ax.set_title("Where each step goes")
    ax.grid(False, axis="y")


def draw_gap(ax: Axes, pair: PairGap) -> None:
    """What each category adds to the slower framework's step (bars right) or takes off it."""
    diffs = [d for d in pair.categories if d.delta_ms != 0][:DIFFERENCES_SHOWN]
    y = list(range(len(diffs)))
    ax.barh(
        y,
        [d.delta_ms for d in diffs],
        color=[category_color(d.category) for d in diffs],
        height=0.62,
    )
    ax.axvline(0.0, color="0.3", lw=0.6)
    ax.set_yticks(y, [d.label for d in diffs], fontsize=6.5)
    ax.set_ylim(len(diffs) - 0.5, -0.5)
    ax.set_xlabel(f"ms/step more in {label_of(pair.slower)} than {label_of(pair.faster)}")
    # right-aligned: the axes start far right of the category names a left title would overrun
    ax.set_title(f"The gap: {label_of(pair.slower)} − {label_of(pair.faster)}", loc="right")
    ax.grid(False, axis="y")


def breakdown_figure(cmp: BreakdownComparison, size_in: tuple[float, float]) -> Figure:
    """The page's chart: stacked bars, and the first pair's gap by category beside them."""
    from profiler.report.plotting import new_figure

    fig = new_figure(size_in)
    _draw_into(fig, cmp, (0.0, 0.0, 1.0, 1.0))
    return fig


def _draw_into(
    fig: Figure, cmp: BreakdownComparison, rect: tuple[float, float, float, float]
) -> None:
    """Both panels and the category legend inside ``rect`` (figure fractions)."""
    left, bottom, width, height = rect
    fig_w, fig_h = fig.get_size_inches()
    legend_h = 0.42 / fig_h  # two rows of category names at the bottom
    top_pad, x_label = 0.3 / fig_h, 0.42 / fig_h
    ax_bottom = bottom + legend_h + x_label
    ax_height = height - legend_h - x_label - top_pad
    gutter = 0.8 / fig_w  # framework names
    panels = [(left + gutter, width * (0.52 if cmp.pairs else 1.0) - gutter - 0.1 / fig_w)]
    if cmp.pairs:
        gap_gutter = 1.9 / fig_w  # category names
        start = left + width * 0.52 + gap_gutter
        panels.append((start, left + width - start - 0.1 / fig_w))
    stacked = fig.add_axes((panels[0][0], ax_bottom, panels[0][1], ax_height))
    draw_stacked(stacked, cmp)
    if cmp.pairs:
        gap = fig.add_axes((panels[1][0], ax_bottom, panels[1][1], ax_height))
        draw_gap(gap, cmp.pairs[0])
    handles, labels = stacked.get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="lower center",
        bbox_to_anchor=(left + width / 2, bottom),
        ncols=min(len(labels), 5),
        frameon=False,
        fontsize=6.5,
        handlelength=1.2,
        columnspacing=1.0,
    )


# -- PDF ---------------------------------------------------------------------------------------


def pdf_breakdown(flow: Flow, report: Report) -> None:
    """The breakdown page of the PDF, on a new page (a line after the numbers when the session
    was not traced)."""
    from profiler.report.pdf_flow import BODY_PT, MARGIN_IN

    cmp = comparison_of(report)
    if cmp.empty:  # one line after the numbers, not a page of its own
        flow.space(0.15)
        flow.heading(TITLE, 0.3)
        flow.paragraph(why_no_breakdown(report.config), BODY_PT)
        return
    flow.new_page()
    flow.heading(TITLE)
    for sentence in cmp.sentences:  # a paragraph per pair: three frameworks make two
        flow.paragraph(sentence, 9.5)
        flow.space(0.08)
    for note in cmp.notes:
        flow.paragraph(note, 7.5, indent_in=0.2, bullet="•", color="#B00020")
    flow.space(0.06)
    flow.ensure(CHART_HEIGHT_IN)
    w, h = flow.width_in, flow.height_in
    rect = (
        MARGIN_IN / w,
        1 - (flow.y + CHART_HEIGHT_IN) / h,
        flow.text_width_in / w,
        CHART_HEIGHT_IN / h,
    )
    _draw_into(flow.fig, cmp, rect)
    flow.space(CHART_HEIGHT_IN + 0.12)
    for pair in cmp.pairs:
        _pdf_table(
            flow,
            f"Where the gap comes from: {label_of(pair.slower)} vs {label_of(pair.faster)} "
            "(ms per traced step)",
            differences_table(pair),
            [2.35, 1.0, 1.0, 0.85, 0.8],
        )
    _pdf_table(flow, "Top operators side by side", ops_table(cmp), [2.2, 1.2])
    _pdf_table(flow, "What each trace covers", per_framework_table(cmp), [2.4])
    flow.paragraph(CAPTION, 7, color="0.4")


def _pdf_table(flow: Flow, title: str, table: Table, fixed: list[float]) -> None:
    rest = len(table.columns) - len(fixed)
    widths = fixed + [(flow.text_width_in - sum(fixed)) / max(rest, 1)] * rest
    flow.heading(title, flow.table_height(table, widths, 7.5))
    flow.table(table, widths, size=7.5)
    flow.space(0.12)


# -- HTML --------------------------------------------------------------------------------------


def html_breakdown(report: Report) -> str:
    """The breakdown section's body for the HTML report (chart inline as SVG)."""
    from html import escape

    from profiler.report.html_report import CHART_WIDTH_IN, _table
    from profiler.report.plotting import chart_style, figure_svg

    cmp = comparison_of(report)
    if cmp.empty:
        return f"<p>{escape(why_no_breakdown(report.config))}</p>"
    parts = [
        f'<p class="breakdown-sentence"><strong>{escape(sentence)}</strong></p>'
        for sentence in cmp.sentences
    ]
    if cmp.notes:
        items = "".join(f'<li class="warn">{escape(n)}</li>' for n in cmp.notes)
        parts.append(f'<ul class="verdicts">{items}</ul>')
    with chart_style():
        fig = breakdown_figure(cmp, (CHART_WIDTH_IN, CHART_HEIGHT_IN + 0.4))
        parts.append(f"<figure>{figure_svg(fig, 'breakdown')}</figure>")
    for pair in cmp.pairs:
        title = (
            f"Where the gap comes from: {label_of(pair.slower)} vs {label_of(pair.faster)} "
            "(ms per traced step)"
        )
        parts.append(f"<h3>{escape(title)}</h3>{_table(differences_table(pair), 'stats')}")
    parts.append(f"<h3>Top operators side by side</h3>{_table(ops_table(cmp), 'stats')}")
    parts.append(f"<h3>What each trace covers</h3>{_table(per_framework_table(cmp), 'stats')}")
    parts.append(f'<p class="caption">{escape(CAPTION)}</p>')
    return "\n".join(parts)


# -- CSV ---------------------------------------------------------------------------------------

CsvRow = tuple[int, str, int, str, str, str, str, str, str]  # csv_report's columns


def csv_rows(report: Report) -> Iterator[CsvRow]:
    """Breakdown rows in the CSV's long format (phase ``trace``, no time or step): per run,
    ``trace_step_ms``, ``trace_ms_per_step:<category>`` and ``trace_launches_per_step:<category>``
    (with ``used`` 1 for the run the report shows, 0 for other repeats)."""
    shown = {b.run.run_id for b in comparison_of(report).per_framework}
    for b in report_breakdowns(report):
        series = [("trace_step_ms", b.step_ms)]
        series += [(f"trace_ms_per_step:{c.value}", ms) for c, ms in b.category_ms.items()]
        series += [
            (f"trace_launches_per_step:{c.value}", n) for c, n in b.category_launches.items()
        ]
        used = "1" if b.run_id in shown else "0"
        for name, value in series:
            cell = repr(float(value)) if math.isfinite(value) else ""
            yield (b.run_id, b.framework, b.repeat, name, "", cell, "trace", "", used)
