"""The one registry of report formats (suffix -> writer, with a description): the CLI's
`report --out/--format` and `run --report`, the app's export actions and dialog, and
``profiler.report.write_report`` all read it. Importing it imports no report code (the CLI
builds its help from it before anything heavy is loaded); a writer is imported when used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from profiler.report.model import Report


@dataclass(frozen=True)
class ReportFormat:
    """One report format: its file suffix, its name (``report --format``), what it holds, the
    writer (``module:function``, imported when asked for), and whether it is text that can go
    to stdout."""

    suffix: str
    name: str
    description: str
    writer: str
    text: bool
    aliases: tuple[str, ...] = ()
    charts: bool = False  # drawn with matplotlib

    def write(self, report: Report, path: Path) -> Path:
        """Write ``report`` to ``path`` in this format (not atomically: see write_report)."""
        module, _, function = self.writer.partition(":")
        writer: Callable[[Report, Path], Path] = getattr(importlib.import_module(module), function)
        return writer(report, path)


# The one registry of report formats: the CLI (`report --out/--format`, `run --report`), the
# app's export actions and dialog, and write_report all read it.
REPORT_FORMATS: dict[str, ReportFormat] = {
    f.suffix: f
    for f in (
        ReportFormat(
            ".pdf", "pdf", "PDF report", "profiler.report.pdf_report:write_pdf", False, (), True
        ),
        ReportFormat(
            ".html",
            "html",
            "HTML report",
            "profiler.report.html_report:write_html",
            True,
            (".htm",),
            True,
        ),
        ReportFormat(".json", "json", "JSON data", "profiler.report.json_report:write_json", True),
        ReportFormat(".csv", "csv", "CSV tables", "profiler.report.csv_report:write_csv", True),
    )
}
REPORT_SUFFIXES: tuple[str, ...] = tuple(REPORT_FORMATS)
TEXT_FORMATS: tuple[str, ...] = tuple(f.name for f in REPORT_FORMATS.values() if f.text)


def known_formats() -> str:
    """The known formats in words, for messages: '.pdf (PDF report), .html (HTML report), ...'."""
    return ", ".join(f"{f.suffix} ({f.description})" for f in REPORT_FORMATS.values())


def format_for(path: str | Path) -> ReportFormat:
    """The format ``path``'s suffix names; ValueError listing the known ones otherwise."""
    target = Path(path)
    suffix = target.suffix.lower()
    for f in REPORT_FORMATS.values():
        if suffix == f.suffix or suffix in f.aliases:
            return f
    shown = suffix or "(none)"
    raise ValueError(
        f"cannot write a report as {shown!r} ({target.name}); use one of: {known_formats()}"
    )
