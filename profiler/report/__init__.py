"""Reports of a stored session: a pure model (``build_report``) and one renderer per format.

Importing this package does not import matplotlib; the PDF and HTML renderers import it (Agg
canvas only, never pyplot) when they are asked for a file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path

from profiler.report.model import Report, build_report
from profiler.report_formats import (
    REPORT_FORMATS,
    REPORT_SUFFIXES,
    TEXT_FORMATS,
    ReportFormat,
    format_for,
    known_formats,
)

__all__ = [
    "REPORT_FORMATS",
    "REPORT_SUFFIXES",
    "TEXT_FORMATS",
    "Report",
    "ReportFormat",
    "build_report",
    "format_for",
    "known_formats",
    "render_text",
    "write_atomically",
    "write_report",
]


def render_text(report: Report, fmt: str) -> str:
    """``report`` as text in ``fmt`` (a text format's name: json, csv or html), for stdout."""
    found = next((f for f in REPORT_FORMATS.values() if f.name == fmt and f.text), None)
    if found is None:
        raise ValueError(
            f"cannot write a report to stdout as {fmt!r}; use {', '.join(TEXT_FORMATS)}"
        )
    with tempfile.TemporaryDirectory(prefix="frameduel-report-") as folder:
        path = Path(folder) / f"report{found.suffix}"
        if found.charts:
            _import_plotting(pdf=False)
        found.write(report, path)
        return path.read_bytes().decode("utf-8")  # as written: CSV rows end in \r\n


def write_report(report: Report, path: str | Path) -> Path:
    """Write ``report`` in the format its suffix names (see REPORT_FORMATS); returns the path.

    The file appears complete or not at all (see ``write_atomically``). Raises ValueError naming
    the suffix and the known formats for any other file type, OSError when it cannot be written.
    """
    target = Path(path)
    found = format_for(target)
    if found.charts:
        _import_plotting(pdf=found.suffix == ".pdf")
    return write_atomically(target, lambda partial: found.write(report, partial))


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
