"""The log pane: each run's child output (stdout, stderr, logged events, errors), one run shown
at a time, and a run's whole story (error in words, details and log tail) one click away."""

from __future__ import annotations

from collections import deque

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QTextCursor
from PySide6.QtWidgets import QLabel, QMessageBox, QPlainTextEdit, QVBoxLayout, QWidget

from gui.prompts import fit_box
from profiler.colors import label_of
from profiler.session import RunInfo

MAX_LOG_LINES = 20_000
DETAIL_LINES = 200


class LogPane(QWidget):
    """Keeps every run's lines; shows the selected run's. ``titleChanged`` names it."""

    titleChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._logs: dict[int, deque[str]] = {}
        self._runs: dict[int, RunInfo] = {}
        self.run_id: int | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.title = QLabel("Log", self)
        self.title.setObjectName("paneTitle")
        self.title.hide()  # the dock's title says it
        self.view = QPlainTextEdit(self)
        self.view.setReadOnly(True)
        self.view.setMaximumBlockCount(MAX_LOG_LINES)
        self.view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.view.setPlaceholderText("Output of the selected run appears here.")
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)
        self.details_box: QMessageBox | None = None

    def reset(self, runs: list[RunInfo], logs: dict[int, list[str]] | None = None) -> None:
        """Start over for a session's runs (with their stored lines, if any)."""
        self._runs = {r.run_id: r for r in runs}
        self._logs = {
            r.run_id: deque((logs or {}).get(r.run_id, []), maxlen=MAX_LOG_LINES) for r in runs
        }
        self.run_id = None
        self.view.clear()
        self._set_title("Log")

    def add_runs(self, runs: list[RunInfo]) -> None:
        """Know these runs' names."""
        for run in runs:
            self._runs[run.run_id] = run

    def append(self, run_id: int, lines: list[str]) -> None:
        """Add a run's new lines (shown at once if it is the selected run)."""
        self._logs.setdefault(run_id, deque(maxlen=MAX_LOG_LINES)).extend(lines)
        if run_id == self.run_id and lines:
            self.view.appendPlainText("\n".join(lines))

    def lines(self, run_id: int) -> list[str]:
        """Every line kept for a run."""
        return list(self._logs.get(run_id, ()))

    def show_run(self, run_id: int | None) -> None:
        """Show a run's lines (None: none)."""
        if run_id == self.run_id:
            return
        self.run_id = run_id
        lines = self._logs.get(run_id, ()) if run_id is not None else ()
        self.view.setPlainText("\n".join(lines))
        self.view.moveCursor(QTextCursor.MoveOperation.End)
        self.view.horizontalScrollBar().setValue(0)
        self._set_title("Log" if run_id is None else f"Log — {self.run_name(run_id)}")

    def _set_title(self, text: str) -> None:
        self.title.setText(text)
        self.titleChanged.emit(text)

    def run_name(self, run_id: int) -> str:
        """``TensorFlow, repeat 1`` (or ``run N`` for a run never planned)."""
        run = self._runs.get(run_id)
        if run is None:
            return f"run {run_id}"
        return f"{label_of(run.framework)}, repeat {run.repeat + 1}"

    def show_details(self, run_id: int, status: str, error: str | None) -> QMessageBox:
        """A non-modal box: the run's outcome in words, the error and log tail behind
        Show Details."""
        name = self.run_name(run_id)
        if error:
            first = error.splitlines()[0]
            text = f"{name} {status}: {first}"
        else:
            text = f"{name}: {status}"
        tail = self.lines(run_id)[-DETAIL_LINES:]
        details = (error or "") + ("\n\n— last output —\n" + "\n".join(tail) if tail else "")
        box = QMessageBox(self.window())
        # A failure is an error; the user's own Stop (or a run it skipped) is not.
        failed = status in ("failed", "timeout", "lost")
        box.setIcon(QMessageBox.Icon.Critical if failed else QMessageBox.Icon.Information)
        box.setWindowTitle(name)  # Qt adds " — FrameDuel"
        box.setText(text)
        if details.strip():
            box.setDetailedText(details.strip())
        fit_box(box)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.details_box = box
        box.open()
        return box
