"""How numbers, p-values, settings and run names read in the human-readable reports."""

from __future__ import annotations

import json
import math
from typing import Any

from profiler.colors import label_of
from profiler.report.model import Report, RunSummary

MISSING = "—"


def fmt(value: float | int | None, unit: str = "") -> str:
    """A number with about three significant digits (thousands separated); em dash if missing."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    if isinstance(value, int):
        text = f"{value:,}"
    else:
        magnitude = abs(value)
        if magnitude >= 100:
            text = f"{value:,.0f}"
        elif magnitude >= 10:
            text = f"{value:.1f}"
        elif magnitude >= 1 or magnitude == 0:
            text = f"{value:.2f}"
        else:
            text = f"{value:.3g}"
    return f"{text} {unit}".rstrip()


def fmt_p(p: float | None) -> str:
    """A p-value as 'p < 0.001' or 'p = 0.012'; empty when missing."""
    if p is None:
        return ""
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}" if p < 0.01 else f"p = {p:.2f}"


def fmt_ci(ci95: tuple[float, float] | None) -> str:
    """'[1.27–1.35]', or empty without an interval."""
    return "" if ci95 is None else f"[{ci95[0]:.2f}–{ci95[1]:.2f}]"


def fmt_setting(value: Any) -> str:
    """A setting as reported: true/false, numbers to six digits, null as 'default'."""
    if value is None:
        return "default"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, int | str):
        return str(value)
    return json.dumps(value, sort_keys=True)


def report_date(report: Report) -> str:
    """The session's creation date and time (UTC) as recorded."""
    return report.generated_from.created_at.replace("T", " ").replace("+00:00", " UTC")


def run_header(report: Report, run: RunSummary) -> str:
    """'PyTorch', or 'PyTorch #2' when the session has repeats."""
    repeats = sum(1 for r in report.runs if r.framework == run.framework)
    name = label_of(run.framework)
    return f"{name} #{run.repeat + 1}" if repeats > 1 else name
