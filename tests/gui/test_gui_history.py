"""History, reopening, comparing and exporting, on sessions written through the real Store."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from gui.compare import CompareDialog
from gui.export import PreviewDialog
from gui.main_window import MainWindow
from gui.models.catalog import SERIES
from gui.runs_table import COL_DETAILS, COL_STATUS
from tests.gui.conftest import Answers
from tests.gui.recorded import record_session

TIMEOUT_MS = 60_000
GPU_KEYS = {s.key for s in SERIES if s.gpu}
WindowMaker = Callable[..., MainWindow]


def show_history(window: MainWindow, qtbot: QtBot) -> None:
    with qtbot.waitSignal(window.history.loaded, timeout=TIMEOUT_MS):
        window.commands.history.trigger()


def open_session(window: MainWindow, qtbot: QtBot, session_id: int) -> None:
    with qtbot.waitSignal(window.sessions.sessionShown, timeout=TIMEOUT_MS):
        window.history.select_ids([session_id])
        window.history.open_button.click()


def test_history_lists_every_session_and_searches_them(
    window: MainWindow, qtbot: QtBot, store_path: Path
) -> None:
    first = record_session(store_path, "mlp-baseline")
    second = record_session(store_path, "cnn-tuned", ("torch",))
    third = record_session(store_path, "mlp-jax", ("jax", "torch"))

    show_history(window, qtbot)

    history = window.history
    assert history.visible_ids() == [third, second, first]  # newest first
    history.search.setText("mlp")
    assert history.visible_ids() == [third, first]
    history.search.setText("tensorflow")
    assert history.visible_ids() == [first]
    history.search.setText("JAX mlp")
    assert history.visible_ids() == [third]
    date = history.model.index(0, 2).data()[:7]  # YYYY-MM
    history.search.setText(date)
    assert len(history.visible_ids()) == 3
    history.search.setText("nothing-like-this")
    assert history.visible_ids() == []
    assert "0 of 3" in history.message.text()


def test_a_stored_session_reopens_with_gpu_plots_when_it_had_a_gpu(
    window: MainWindow, qtbot: QtBot, store_path: Path
) -> None:
    cpu = record_session(store_path, "on-cpu")
    gpu = record_session(store_path, "on-gpu", gpu=True, fail="tensorflow")
    show_history(window, qtbot)

    open_session(window, qtbot, cpu)
    assert not GPU_KEYS & set(window.dashboard.visible_keys())

    open_session(window, qtbot, gpu)

    assert window.tabs.currentWidget() is window.dashboard
    assert set(window.dashboard.visible_keys()) >= GPU_KEYS
    run_ids = list(window.dashboard.data.runs)
    assert window.dashboard.point_count(run_ids[0], "gpu_util_percent") > 0
    assert window.dashboard.point_count(run_ids[0], "samples_per_s") == 20
    model = window.runs_table.runs
    assert [model.index(i, COL_STATUS).data() for i in range(2)] == ["ok", "failed"]
    assert model.index(1, COL_DETAILS).data() == "RuntimeError: the model fell over"
    assert window.summary.summary is not None
    assert "gpu_util_percent_mean" in [f.key for f in window.summary.summary.figures()]
    assert window.summary.cell_text("step_time_ms", "PyTorch") == "5.00"
    # TensorFlow's run failed: shown, never compared
    assert window.summary.cell_text("step_time_ms", "TensorFlow / PyTorch") == "—"
    assert window.dashboard.shading.count() > 0
    window.runs_table.select_run(run_ids[1])
    assert "Traceback" in window.log_view.toPlainText()
    box = window.log_pane.show_details(run_ids[1], "failed", model.rows[1].error)
    assert "the model fell over" in box.text()
    assert "tensorflow says hello" in box.detailedText()
    box.close()
    assert "on-gpu" in window.status_text()
    assert window.commands.exports[".pdf"].isEnabled()


def test_two_sessions_and_two_runs_compare_side_by_side(
    window: MainWindow, qtbot: QtBot, store_path: Path
) -> None:
    a = record_session(store_path, "before")
    b = record_session(store_path, "after", step_ms={"torch": 4.0})
    show_history(window, qtbot)
    window.history.select_ids([a, b])
    assert window.history.compare_button.isEnabled()

    with qtbot.waitSignal(window.sessions.compared, timeout=TIMEOUT_MS) as shown:
        window.history.compare_button.click()

    dialog: CompareDialog = shown.args[0]
    assert [group[0].framework for group in dialog.groups] == ["torch", "tensorflow"]
    assert dialog.cell("step_time_ms", 1) == "5.00"
    assert dialog.cell("step_time_ms", 2) == "4.00"
    assert dialog.cell("step_time_ms", 3) == "0.80× ?"  # one run a side: not judged
    # Any series, by step or by time since each run's launch (runs start at different times in
    # their sessions: each curve starts at its own zero).
    dialog.show_series("step_time_ms", "step")
    assert dialog.plot.getPlotItem().titleLabel.text.startswith("Step time by training step")
    first_a, first_b = dialog.curves[0], dialog.curves[1]  # torch in A, torch in B
    assert (first_a[0], first_b[0]) == (f"#{a}", f"#{b}")
    assert np.nanmedian(first_a[2]) == pytest.approx(5.0)
    assert np.nanmedian(first_b[2]) == pytest.approx(4.0)
    assert first_a[1][0] == 10  # the first window ends at step 10
    dialog.show_series("rss_mib", "time")
    for _title, x, y in dialog.curves:
        assert len(x) > 5 and np.isfinite(y).all()
        assert 0.0 <= np.nanmin(x) < 1.0  # from the run's own launch, not the session's
    dialog.close()

    open_session(window, qtbot, b)
    ids = list(window.dashboard.data.runs)
    with qtbot.waitSignal(window.sessions.compared, timeout=TIMEOUT_MS) as shown:
        window.runs_table.compareRequested.emit(ids)
    runs: CompareDialog = shown.args[0]
    assert runs.cell("step_time_ms", 3) == "2.00× ?"
    runs.close()


@pytest.mark.parametrize("suffix", [".json", ".csv", ".html"])
def test_export_writes_the_report(
    window: MainWindow, qtbot: QtBot, store_path: Path, tmp_path: Path, suffix: str
) -> None:
    sid = record_session(store_path, "exported")
    show_history(window, qtbot)
    window.history.select_ids([sid])  # Export acts on the selection while History is shown
    out = tmp_path / f"report{suffix}"

    with qtbot.waitSignal(window.sessions.exported, timeout=TIMEOUT_MS) as done:
        window.sessions.export_to(str(out))

    assert done.args == [str(out)]
    assert out.stat().st_size > 0
    if suffix == ".json":
        assert "exported" in json.dumps(json.loads(out.read_text(encoding="utf-8")))
    assert "Exported" in window.banner.text()


def test_the_pdf_is_exported_and_previewed_inside_the_app(
    window: MainWindow, qtbot: QtBot, store_path: Path, tmp_path: Path
) -> None:
    sid = record_session(store_path, "previewed", gpu=True)
    show_history(window, qtbot)
    open_session(window, qtbot, sid)

    with qtbot.waitSignal(window.sessions.previewShown, timeout=TIMEOUT_MS) as shown:
        window.commands.preview.trigger()

    dialog: PreviewDialog = shown.args[0]
    assert dialog.page_labels
    pixmap = dialog.page_labels[0].pixmap()
    assert pixmap.width() > 300 and pixmap.height() > pixmap.width()  # a portrait page
    saved = tmp_path / "saved.pdf"
    with qtbot.waitSignal(window.runner.taskFinished, timeout=TIMEOUT_MS):
        dialog.save_to(str(saved))
    assert saved.read_bytes().startswith(b"%PDF")
    folder = dialog.preview.folder
    with qtbot.waitSignal(window.runner.taskFinished, timeout=TIMEOUT_MS):
        dialog.close()
    assert not folder.exists()


def test_problems_are_said_in_words_and_never_crash(
    window: MainWindow, qtbot: QtBot, store_path: Path, tmp_path: Path
) -> None:
    sid = record_session(store_path, "fine")
    with qtbot.waitSignal(window.runner.taskFinished, timeout=TIMEOUT_MS):
        window.sessions.open_session(sid + 100)
    assert f"Cannot open session {sid + 100}" in window.banner.text()

    with qtbot.waitSignal(window.runner.taskFinished, timeout=TIMEOUT_MS):
        window.sessions.export_to(str(tmp_path / "report.docx"), sid)
    assert "Cannot export" in window.banner.text()
    assert ".docx" in window.banner.text()
    assert window.banner.details_button.isVisible()
    assert window.isVisible()


def test_deleting_a_session_asks_first(
    window: MainWindow, qtbot: QtBot, store_path: Path, answers: Answers
) -> None:
    keep = record_session(store_path, "keep")
    drop = record_session(store_path, "drop")
    show_history(window, qtbot)
    window.history.select_ids([drop])
    answers.answer = False
    window.history.delete_button.click()
    assert answers.asked and f"#{drop}" in answers.asked[0][1]
    assert window.history.visible_ids() == [drop, keep]

    answers.answer = True
    with qtbot.waitSignal(window.history.loaded, timeout=TIMEOUT_MS):
        window.history.delete_button.click()

    assert window.history.visible_ids() == [keep]


def test_the_sessions_of_one_run_all_are_shown_and_sorted_together(
    window: MainWindow, qtbot: QtBot, store_path: Path
) -> None:
    """Each session of a Run all records its batch (what the app's Run all stores, see
    tests/gui/test_gui_day.py); History shows which Run all and which place, and sorting by that
    column puts a batch's sessions together, in the order they ran."""
    from PySide6.QtCore import Qt

    from gui.history import COL_BATCH
    from profiler.store import Store

    alone = record_session(store_path, "alone")
    batch_ids = []
    store = Store(store_path)
    try:
        for i, name in enumerate(("first-of-two", "second-of-two"), start=1):
            env = {"run_all": {"id": "run-all 2026-11-29T08:00:00Z", "index": i, "total": 2}}
            sid = store.create_session(name, {"name": name}, None, env)
            store.finish_session(sid, "ok")
            batch_ids.append(sid)
    finally:
        store.close()
    later = record_session(store_path, "later")
    show_history(window, qtbot)
    history = window.history
    texts = {
        history.model.index(r, 0).data(): history.model.index(r, COL_BATCH).data()
        for r in range(history.model.rowCount())
    }
    assert texts[str(alone)] == "" and texts[str(later)] == ""
    assert texts[str(batch_ids[0])].endswith(", 1 of 2")
    assert texts[str(batch_ids[1])].endswith(", 2 of 2")
    assert texts[str(batch_ids[0])].split(",")[0] == texts[str(batch_ids[1])].split(",")[0]
    history.table.sortByColumn(COL_BATCH, Qt.SortOrder.DescendingOrder)
    ids = history.visible_ids()
    assert ids[:2] == [batch_ids[1], batch_ids[0]]  # the batch together, then the others
