"""Reports of a stored session: a pure model (``build_report``) and one renderer per format.

Importing this package does not import matplotlib; the PDF and HTML renderers import it (Agg
canvas only, never pyplot) when they are asked for a file.
"""

from __future__ import annotations

from pathlib import Path

from profiler.report.model import Report, build_report

REPORT_SUFFIXES: tuple[str, ...] = (".pdf", ".html", ".json", ".csv")

__all__ = ["REPORT_SUFFIXES", "Report", "build_report", "write_report"]


def write_report(report: Report, path: str | Path) -> Path:
    """Write ``report`` in the format its suffix names (.pdf, .html, .json, .csv); returns the path.

    Raises ValueError naming the suffix for any other file type.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix == ".pdf":
        from profiler.report.pdf_report import write_pdf

        return write_pdf(report, target)
    if suffix in (".html", ".htm"):
        from profiler.report.html_report import write_html

        return write_html(report, target)
    if suffix == ".json":
        from profiler.report.json_report import write_json

        return write_json(report, target)
    if suffix == ".csv":
        from profiler.report.csv_report import write_csv

        return write_csv(report, target)
    shown = suffix or "(none)"
    known = ", ".join(REPORT_SUFFIXES)
    raise ValueError(f"cannot write a report as {shown!r} ({target.name}); use one of {known}")
