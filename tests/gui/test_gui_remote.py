"""A run whose SSH link died reads as such in the runs table: status 'lost', in the danger
colour, the reason in the tooltip."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor
from pytestqt.qtbot import QtBot

from gui.runs_table import COL_STATUS, RunsTable
from profiler.listener import RunInfo, RunOutcome

LOST = (
    "the SSH link to host gpu-box was lost (Connection closed by remote host); everything "
    "received until then is kept, and the run's processes there were ended"
)


def test_a_lost_run_is_shown_as_lost_in_the_danger_colour(qtbot: QtBot) -> None:
    table = RunsTable()
    qtbot.addWidget(table)
    model = table.runs
    runs = [RunInfo(1, "torch", 0, 0, 100), RunInfo(2, "tensorflow", 0, 1, 100)]
    model.set_runs(runs)
    model.run_started(runs[0])
    model.run_finished(RunOutcome(1, "torch", "lost", LOST, 255))
    model.run_started(runs[1])
    model.run_finished(RunOutcome(2, "tensorflow", "timeout", "timed out after 5 s", -9))
    lost, timeout = model.index(0, COL_STATUS), model.index(1, COL_STATUS)
    assert lost.data() == "lost"
    brush = lost.data(Qt.ItemDataRole.ForegroundRole)
    assert isinstance(brush, QBrush)
    # the same colour as a run that timed out: a failure, not the user's own stop
    assert brush.color() == timeout.data(Qt.ItemDataRole.ForegroundRole).color()
    assert brush.color() == QColor(model.theme.danger)
    assert "SSH link to host gpu-box was lost" in str(lost.data(Qt.ItemDataRole.ToolTipRole))
