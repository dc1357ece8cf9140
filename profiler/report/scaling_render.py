"""The scaling page of a report: throughput and efficiency against worker count, per framework.

One figure (Agg canvas, matplotlib imported only here) serves the PDF (a page of its own) and
the HTML (an inline SVG in a "Scaling" section); the JSON carries ``scaling_to_dict``.
"""

from __future__ import annotations

import math
from html import escape
from typing import TYPE_CHECKING

from profiler.colors import color_of, label_of
from profiler.report.plotting import new_figure
from profiler.report.scaling import ScalingReport

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def scaling_figure(report: ScalingReport, size_in: tuple[float, float]) -> Figure:
    """Global samples/s (top) and scaling efficiency with its 95% interval (bottom) against
    the worker count; the ideal (linear) throughput dashed, the verdict as the title."""
    fig = new_figure(size_in)
    top = fig.add_axes((0.13, 0.56, 0.82, 0.32))
    bottom = fig.add_axes((0.13, 0.12, 0.82, 0.32), sharex=top)
    fig.text(0.5, 0.95, "Data-parallel scaling", ha="center", va="top", fontsize=12)
    fig.text(0.5, 0.915, _wrap(report.verdict, 95), ha="center", va="top", fontsize=8)
    for fw in report.frameworks:
        points = sorted((p for p in report.points if p.framework == fw), key=lambda p: p.workers)
        if not points:
            continue
        color, label = color_of(fw), label_of(fw)
        ns = [p.workers for p in points]
        top.plot(ns, [p.samples_per_s for p in points], "o-", color=color, label=label, lw=1)
        base = next((p for p in points if p.workers == 1), None)
        if base is not None and math.isfinite(base.samples_per_s):
            # ideal: N times the 1-worker throughput (weak and strong scaling alike)
            ideal = [base.samples_per_s * p.workers for p in points]
            top.plot(ns, ideal, "--", color=color, lw=0.8, alpha=0.6)
        eff = [100 * p.efficiency for p in points]
        lows = [
            100 * (p.efficiency - p.efficiency_low) if math.isfinite(p.efficiency_low) else 0.0
            for p in points
        ]
        highs = [
            100 * (p.efficiency_high - p.efficiency) if math.isfinite(p.efficiency_high) else 0.0
            for p in points
        ]
        bottom.errorbar(ns, eff, yerr=[lows, highs], fmt="o-", color=color, lw=1, capsize=3)
        for p in points:
            if p.comm_share is not None:
                bottom.annotate(
                    f"comm {100 * p.comm_share:.0f}%",
                    (p.workers, 100 * p.efficiency),
                    textcoords="offset points",
                    xytext=(4, -10),
                    fontsize=6,
                    color=color,
                )
    top.set_ylabel("global samples/s")
    top.set_title("Throughput (dashed: ideal)", fontsize=9, loc="left")
    top.legend(fontsize=8, frameon=False)
    bottom.axhline(100, color="0.6", lw=0.8, ls=":")
    bottom.set_ylabel("efficiency %")
    bottom.set_xlabel("workers")
    bottom.set_title("Efficiency, 95% interval", fontsize=9, loc="left")
    bottom.set_xticks(list(report.workers))
    return fig


def _wrap(text: str, width: int) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join([*lines, line])


def scaling_table_html(report: ScalingReport) -> str:
    """A table of every point: workers, samples/s, efficiency [interval], communication share,
    straggler, per-rank peak RSS."""
    rows = []
    for p in report.points:
        interval = (
            f" [{100 * p.efficiency_low:.0f}–{100 * p.efficiency_high:.0f}%]"
            if math.isfinite(p.efficiency_low)
            else ""
        )
        comm = "not measured" if p.comm_share is None else f"{100 * p.comm_share:.1f}%"
        straggler = (
            "—"
            if p.straggler_rank is None or p.workers == 1
            else f"rank {p.straggler_rank} ({100 * (p.straggler_share or 0):.0f}% of windows)"
        )
        rss = ", ".join("—" if v is None else f"{v:.0f}" for v in p.rank_rss_mib)
        cells = [
            label_of(p.framework),
            str(p.workers),
            f"{p.samples_per_s:,.0f}",
            f"{100 * p.efficiency:.0f}%{interval}" if math.isfinite(p.efficiency) else "—",
            comm,
            straggler,
            rss,
        ]
        rows.append("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>")
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "framework",
            "workers",
            "samples/s",
            "efficiency",
            "all-reduce share",
            "straggler",
            "rank RSS MiB",
        )
    )
    return f'<table class="stats"><tr>{head}</tr>{"".join(rows)}</table>'


def scaling_section_html(report: ScalingReport) -> str:
    """The HTML "Scaling" section's body: the verdict, the figure as SVG, the table."""
    from profiler.report.plotting import figure_svg

    fig = scaling_figure(report, (7.5, 6.5))
    return (
        f"<p>{escape(report.verdict)}</p>\n<figure>{figure_svg(fig, 'scaling')}</figure>\n"
        + scaling_table_html(report)
    )
