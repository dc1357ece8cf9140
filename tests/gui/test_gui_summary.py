"""One summary model on every surface: the CLI's end table, the JSON, the PDF's first page and the
window's Summary, Runs table and Compare dialog show the same figures, and the window is as
honest as the report (quality warnings, intervals, significance, runs that are not ok)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush
from pytestqt.qtbot import QtBot
from rich.console import Console

from gui.compare import CompareDialog
from gui.main_window import MainWindow
from gui.runs_table import (
    COL_FRAMEWORK,
    COL_NOW,
    COL_QUALITY,
    COL_SPEED,
    COL_STATUS,
    RunsTable,
)
from gui.summary import SummaryFeed, SummaryTable
from gui.tasks import TaskRunner
from profiler.headless import _print_summary
from profiler.report import build_report, render_text, write_report
from profiler.report.summary import format_figure, summary_of
from profiler.session import RunInfo
from profiler.store import Store, StoredSession
from tests.gui.recorded import record_session
from tests.profiler.test_report_summary import record as record_live

TIMEOUT_MS = 60_000
WindowMaker = Callable[..., MainWindow]


def open_session(window: MainWindow, qtbot: QtBot, session_id: int) -> None:
    with qtbot.waitSignal(window.history.loaded, timeout=TIMEOUT_MS):
        if window.history_loaded:
            window.history.refresh()
        else:
            window.commands.history.trigger()
    with qtbot.waitSignal(window.sessions.sessionShown, timeout=TIMEOUT_MS):
        window.history.select_ids([session_id])
        window.history.open_button.click()


def load(store_path: Path, session_id: int) -> StoredSession:
    store = Store(store_path)
    try:
        return store.load(session_id)
    finally:
        store.close()


def compare_runs(window: MainWindow, qtbot: QtBot) -> CompareDialog:
    ids = [row.info.run_id for row in window.runs_table.runs.rows]
    with qtbot.waitSignal(window.sessions.compared, timeout=TIMEOUT_MS) as shown:
        window.runs_table.compareRequested.emit(ids)
    dialog: CompareDialog = shown.args[0]
    return dialog


def colored(brush: Any) -> bool:
    """Whether a cell's foreground was set (the ratios are coloured only when significant)."""
    return isinstance(brush, QBrush)


def runs_column(window: MainWindow, col: int) -> list[str]:
    model = window.runs_table.runs
    return [model.index(i, col).data() for i in range(model.rowCount())]


# -- the same figures everywhere --------------------------------------------------------------

# figure key -> (the JSON's path under runs[i], the PDF summary's row label)
FIELDS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "steps_per_s": (("steps_per_s",), "steps/s (median window)"),
    "samples_per_s": (("samples_per_s",), "samples/s (median window)"),
    "step_time_ms": (("step_time_ms", "median"), "step time, median (p5–p95)"),
    "step_time_p95_ms": (("step_time_ms", "p95"), "step time, median (p5–p95)"),
    "first_step_s": (("first_step_s",), "time to first step"),
    "cpu_percent_mean": (("cpu_percent_mean",), "mean CPU (100% = 1 core)"),
    "rss_peak_mib": (("rss_peak_mib",), "peak RSS"),
    "loss_last": (("loss_last",), None),
}


def json_value(run: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = run
    for part in path:
        value = value[part]
    return value


def cli_cells(text: str) -> dict[str, list[str]]:
    """The CLI end table's rows: label -> one cell per column."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if len(cells) > 1:
            rows[cells[0]] = cells[1:]
    return rows


def pdf_page_one(pdf: Path) -> dict[str, list[str]]:
    """The PDF's first page summary rows: label -> one cell per framework (pdftotext)."""
    text = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", "-layout", str(pdf), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rows = {}
    for line in text.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if len(cells) == 3:
            rows[cells[0]] = cells[1:]
    return rows


def pdf_cell(key: str, cell: str) -> str:
    """The figure ``key``'s number in a PDF summary cell (``5.25 ms (3.93–11.0)``)."""
    if key == "step_time_p95_ms":
        return cell.rsplit("–", maxsplit=1)[-1].rstrip(")")
    return cell.split(" ", maxsplit=1)[0]


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils' pdftotext")
def test_every_surface_shows_the_same_figures(
    window: MainWindow, qtbot: QtBot, store_path: Path, tmp_path: Path
) -> None:
    """One recorded session: the CLI end table, the JSON, the PDF's page one and the window's
    Summary, Runs table and Compare dialog show each figure alike, formatted alike."""
    sid = record_session(store_path, "same-numbers", uneven=True)
    report = build_report(load(store_path, sid))
    runs = json.loads(render_text(report, "json"))["runs"]
    assert [r["framework"] for r in runs] == ["torch", "tensorflow"]
    console = Console(record=True, width=200)
    _print_summary(console, summary_of(report))
    cli_text = console.export_text()
    cli = cli_cells(cli_text)
    pdf = pdf_page_one(write_report(report, tmp_path / "report.pdf"))
    open_session(window, qtbot, sid)
    dialog = compare_runs(window, qtbot)

    figures = {f.key: f for f in summary_of(report).figures()}
    assert set(FIELDS) == set(figures)
    for key, (path, pdf_label) in FIELDS.items():
        for i, (run, name) in enumerate(zip(runs, ("PyTorch", "TensorFlow"), strict=True)):
            expected = format_figure(json_value(run, path))
            assert expected != "—", key  # every figure is known here: no vacuous match
            assert cli[figures[key].title][i] == expected, (key, name, "CLI")
            assert window.summary.cell_text(key, name) == expected, (key, name, "Summary")
            assert dialog.cell(key, i + 1) == expected, (key, name, "Compare")
            if pdf_label is not None:
                assert pdf_cell(key, pdf[pdf_label][i]) == expected, (key, name, "PDF")
    speeds = [format_figure(r["steps_per_s"]) for r in runs]
    assert runs_column(window, COL_SPEED) == speeds  # the median window, not the last one
    assert runs_column(window, COL_NOW) == ["", ""]  # no "now" once runs ended
    # the ratio reads alike in the Summary, the Compare dialog and the CLI
    ratio = window.summary.cell_text("steps_per_s", "TensorFlow / PyTorch")
    compared = json.loads(render_text(report, "json"))["comparisons"]
    speed = next(c for c in compared if c["metric"] == "steps_per_s")
    assert ratio == f"{speed['ratio']:.2f}× ?"  # the JSON's ratio; one run a side: not judged
    assert dialog.cell("steps_per_s", 3) == ratio
    assert f"steps/s TensorFlow / PyTorch: {ratio.removesuffix(' ?')} " in cli_text
    dialog.close()


# -- honest about what is not known ----------------------------------------------------------


def test_a_failed_session_shows_its_runs_and_colours_no_ratio(
    window: MainWindow, qtbot: QtBot, store_path: Path
) -> None:
    sid = record_session(store_path, "half-failed", fail="tensorflow", repeats=2)
    open_session(window, qtbot, sid)

    assert runs_column(window, COL_FRAMEWORK) == ["PyTorch", "TensorFlow"] * 2
    assert runs_column(window, COL_STATUS) == ["ok", "failed"] * 2
    # a failed run's own figures are shown, from the windows it did measure
    assert all(s not in ("", "—") for s in runs_column(window, COL_SPEED))
    summary = window.summary
    assert summary.cell_text("steps_per_s", "TensorFlow") == "—"  # no ok run to summarise
    for figure in summary.summary.figures() if summary.summary else ():
        cell = summary.cell(figure.key, "TensorFlow / PyTorch")
        assert cell.text() in ("—", ""), figure.key
        assert not colored(cell.data(0x0009)), figure.key  # Qt.ForegroundRole
    dialog = compare_runs(window, qtbot)
    torch_side = 1  # PyTorch #1; TensorFlow #1 (failed) against it:
    assert dialog.cell("steps_per_s", torch_side) != "—"
    ratio = dialog.item("steps_per_s", 5)
    assert ratio is not None and ratio.text() == "—"
    assert not colored(ratio.data(0x0009))
    dialog.close()


def test_a_busy_machine_is_said_and_its_ratios_are_not_coloured(
    window: MainWindow, qtbot: QtBot, store_path: Path
) -> None:
    """The same timing twice, on a quiet and on a busy machine: only the quiet one's significant
    ratio is coloured; the busy one's warning shows on the Summary and on each run."""
    quiet = record_session(store_path, "quiet", repeats=3)
    busy = record_session(store_path, "busy", repeats=3, busy_percent=140.0)

    open_session(window, qtbot, quiet)
    cell = window.summary.cell("steps_per_s", "TensorFlow / PyTorch")
    assert re.fullmatch(r"0\.6\d× \[0\.\d\d–0\.\d\d\]", cell.text())  # with its 95% interval
    assert colored(cell.data(0x0009))
    assert not window.summary.warnings.isVisible()
    assert runs_column(window, COL_QUALITY) == [""] * 6
    model = window.runs_table.runs
    assert model.index(0, COL_STATUS).data(Qt.ItemDataRole.DecorationRole) is None

    open_session(window, qtbot, busy)
    cell = window.summary.cell("steps_per_s", "TensorFlow / PyTorch")
    assert cell.text().endswith(" ⚠") and "busy machine" in cell.toolTip()
    assert not colored(cell.data(0x0009))
    warnings = window.summary.warnings
    assert warnings.isVisible() and warnings.text().startswith("⚠ busy machine: PyTorch #1")
    assert "other processes took more than 25% CPU" in warnings.toolTip()  # the sentences
    quality = runs_column(window, COL_QUALITY)
    assert all(q.startswith("⚠ ") and "busy machine" in q for q in quality)
    # marked on the status too, which a narrow Runs dock always shows
    assert model.index(0, COL_STATUS).data(Qt.ItemDataRole.DecorationRole) is not None
    assert "other processes" in model.index(0, COL_STATUS).data(Qt.ItemDataRole.ToolTipRole)


def test_the_summary_uses_the_p95_and_each_runs_own_launch(
    window: MainWindow, qtbot: QtBot, store_path: Path
) -> None:
    """Uneven step times and a second run launched seconds into the session: the p95 is not a
    p90 or a median, and time to first step counts from each run's own launch."""
    sid = record_session(store_path, "uneven", uneven=True)
    stored = load(store_path, sid)
    open_session(window, qtbot, sid)

    for run, name in zip(stored.runs, ("PyTorch", "TensorFlow"), strict=True):
        measure = [e.payload for e in run.events_of("window") if e.payload["phase"] == "measure"]
        ms = np.array([w["seconds"] / w["steps"] * 1000 for w in measure])
        p95, p90 = np.percentile(ms, 95), np.percentile(ms, 90)
        assert format_figure(p95) != format_figure(p90) != format_figure(np.median(ms))
        assert window.summary.cell_text("step_time_p95_ms", name) == format_figure(p95)
        first = run.events_of("first_step")[0].t
        assert run.started_t is not None
        assert window.summary.cell_text("first_step_s", name) == format_figure(
            first - run.started_t
        )
    tf = stored.runs[1]
    assert tf.started_t is not None and tf.started_t > 1.0  # a launch offset to drop, if wrong
    assert window.summary.cell_text("first_step_s", "TensorFlow") != format_figure(
        tf.events_of("first_step")[0].t
    )


def test_a_live_session_shows_its_figures_and_warnings_as_they_are_recorded(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """While a run is still being recorded, the feed reads its summary from the store: the
    Summary and the Runs table show the busy machine before the run ends."""
    path = tmp_path / "live.sqlite3"
    sid = record_live(path, seconds=[0.05] * 12, other_cpu=140.0, ended=False)
    runner = TaskRunner()
    feed = SummaryFeed(runner, lambda: str(path), lambda: sid)
    summary, runs = SummaryTable(), RunsTable()
    qtbot.addWidget(summary)
    qtbot.addWidget(runs)
    stored = load(path, sid)
    runs.runs.set_runs([RunInfo(r.id, r.framework, r.repeat, r.seq, 120) for r in stored.runs])
    feed.summaryChanged.connect(summary.set_summary)
    feed.summaryChanged.connect(runs.runs.set_summary)
    with qtbot.waitSignal(feed.summaryChanged, timeout=TIMEOUT_MS):
        feed.follow()
    feed.clear()
    runner.join()

    assert summary.summary is not None and summary.summary.runs[0].status == "running"
    assert summary.cell_text("steps_per_s", "PyTorch") == format_figure(200.0)
    assert summary.warnings.text() == "⚠ busy machine: PyTorch"
    assert "other processes used 140% CPU" in summary.warnings.toolTip()
    assert runs.runs.index(0, COL_QUALITY).data() == "⚠ busy machine"
    assert runs.runs.index(0, COL_SPEED).data() == format_figure(200.0)
