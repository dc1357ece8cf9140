"""Reports of a stored session: a pure model (``build_report``) and one renderer per format.

Importing this package does not import matplotlib; the PDF and HTML renderers import it (Agg
canvas only, never pyplot) when they are asked for a file.
"""

from __future__ import annotations

from pathlib import Path

from profiler.report.model import Report, build_report

REPORT_SUFFIXES: tuple[str, ...] = (".pdf", ".html", ".json", ".csv")

__all__ = ["REPORT_SUFFIXES", "Report", "build_report", "render_text", "write_report"]


def render_text(report: Report, fmt: str) -> str:
    """``report`` as text in ``fmt`` (json, csv or html), for stdout."""
    if fmt == "json":
        import json

        from profiler.report.json_report import to_dict

        return json.dumps(to_dict(report), indent=2, allow_nan=False) + "\n"
    if fmt == "csv":
        import csv
        import io

        from profiler.report.csv_report import CSV_COLUMNS, csv_rows

        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(CSV_COLUMNS)
        writer.writerows(csv_rows(report))
        return buffer.getvalue()
    if fmt == "html":
        from profiler.report.html_report import render_html

        return render_html(report)
    raise ValueError(f"cannot write a report to stdout as {fmt!r}; use json, csv or html")


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
