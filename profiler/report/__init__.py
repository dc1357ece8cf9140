"""Reports of a stored session: a pure model (``build_report``) and one renderer per format.

Importing this package does not import matplotlib; the PDF and HTML renderers import it (Agg
canvas only, never pyplot) when they are asked for a file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from profiler.report.model import Report, build_report

REPORT_SUFFIXES: tuple[str, ...] = (".pdf", ".html", ".json", ".csv")

__all__ = [
    "REPORT_SUFFIXES",
    "Report",
    "build_report",
    "render_text",
    "write_atomically",
    "write_report",
]


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

    The file appears complete or not at all (see ``write_atomically``). Raises ValueError naming
    the suffix for any other file type, OSError when the file cannot be written.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    write: Callable[[Report, Path], Path]
    if suffix == ".pdf":
        from profiler.report.pdf_report import write_pdf

        write = write_pdf
    elif suffix in (".html", ".htm"):
        from profiler.report.html_report import write_html

        write = write_html
    elif suffix == ".json":
        from profiler.report.json_report import write_json

        write = write_json
    elif suffix == ".csv":
        from profiler.report.csv_report import write_csv

        write = write_csv
    else:
        shown = suffix or "(none)"
        known = ", ".join(REPORT_SUFFIXES)
        raise ValueError(f"cannot write a report as {shown!r} ({target.name}); use one of {known}")
    if suffix in (".pdf", ".html", ".htm"):
        _import_plotting(pdf=suffix == ".pdf")
    return write_atomically(target, lambda partial: write(report, partial))


def _import_plotting(pdf: bool) -> None:
    """Import matplotlib's compiled parts with Ctrl+C held: an extension interrupted while it
    initialises can fail in ways other than KeyboardInterrupt."""
    from profiler.terminal import interrupts_deferred

    with interrupts_deferred():
        import matplotlib.backends.backend_agg
        import matplotlib.figure

        if pdf:
            import matplotlib.backends.backend_pdf  # noqa: F401


def write_atomically(target: Path, write: Callable[[Path], object]) -> Path:
    """Call ``write`` with a hidden temporary path beside ``target``, then rename it ``target``.

    A reader, a full disk or a Ctrl+C half-way never leaves a truncated report: the file is
    whole or absent (an older one stays until the new one replaces it).
    """
    partial = target.with_name(f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}.partial")
    try:
        write(partial)
        os.replace(partial, target)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    return target
