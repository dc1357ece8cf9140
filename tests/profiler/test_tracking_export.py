"""Exports of a real stored session into a real MLflow file store and TensorBoard event files,
read back with MLflow's own client and TensorBoard's own event reader."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from profiler.report.model import Report, build_report
from profiler.session import store_for
from tests.profiler.test_cli import TINY, frameduel


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A real two-framework session (torch and TensorFlow, a tiny MLP) in a fresh store."""
    work = tmp_path_factory.mktemp("tracked")
    config = work / "tiny.yaml"
    config.write_text(TINY)
    store = work / "s.sqlite3"
    res = frameduel("run", str(config), "--store", str(store))
    assert res.returncode == 0, res.stderr[-2000:]
    with store_for(str(store)) as opened:
        (row,) = opened.sessions()
    return store, row.id


def _report(store: Path, sid: int) -> Report:
    with store_for(str(store)) as opened:
        return build_report(opened.load(sid))


def _finite(values: npt.NDArray[np.float64]) -> list[float]:
    return [float(v) for v in values if math.isfinite(v)]


@pytest.mark.slow
def test_mlflow_file_store_gets_a_run_per_framework_with_series_and_the_report(
    session: tuple[Path, int], tmp_path: Path
) -> None:
    import mlflow

    store, sid = session
    uri = tmp_path / "mlruns"
    res = frameduel("export", str(sid), "--store", str(store), "--mlflow", str(uri))
    assert res.returncode == 0, res.stderr
    report = _report(store, sid)

    os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    client = mlflow.MlflowClient(tracking_uri=str(uri))
    exp = client.get_experiment_by_name("frameduel/tiny-cli")
    assert exp is not None
    runs = client.search_runs([exp.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    (parent,) = parents
    assert {a.path for a in client.list_artifacts(parent.info.run_id)} == {
        "report.html",
        "report.json",
    }
    assert parent.data.params["train.batch_size"] == "8"
    assert sorted(r.data.tags["frameduel.framework"] for r in children) == ["tensorflow", "torch"]
    for child in children:
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        run_id = int(child.data.tags["frameduel.run_id"])
        (series,) = [s for s in report.series if s.run_id == run_id]
        (summary,) = [r for r in report.runs if r.run_id == run_id]
        history = client.get_metric_history(child.info.run_id, "loss")
        history.sort(key=lambda m: m.step)
        assert [m.value for m in history] == pytest.approx(_finite(series.loss))
        assert [m.step for m in history] == [int(s) for s in series.window_step]
        assert child.data.metrics["summary/steps_per_s"] == pytest.approx(summary.steps_per_s)
        assert child.data.metrics["summary/params"] == summary.params
        assert client.get_metric_history(child.info.run_id, "system/cpu_percent")


@pytest.mark.slow
def test_tensorboard_event_files_read_back_with_tensorboards_reader(
    session: tuple[Path, int], tmp_path: Path
) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    store, sid = session
    logdir = tmp_path / "tb"
    res = frameduel("export", "last", "--store", str(store), "--tensorboard", str(logdir))
    assert res.returncode == 0, res.stderr
    report = _report(store, sid)
    for summary, series in zip(report.runs, report.series, strict=True):
        folder = logdir / f"session-{sid}" / f"{summary.framework}-{summary.repeat + 1}"
        acc = EventAccumulator(str(folder))
        acc.Reload()
        tags = acc.Tags()
        assert {"window/loss", "window/step_time_ms", "summary/steps_per_s"} <= set(tags["scalars"])
        loss = acc.Scalars("window/loss")
        assert [e.value for e in loss] == pytest.approx(_finite(series.loss), rel=1e-6)
        assert [e.step for e in loss] == [int(s) for s in series.window_step]
        (steps_per_s,) = acc.Scalars("summary/steps_per_s")
        assert steps_per_s.value == pytest.approx(summary.steps_per_s, rel=1e-6)
        assert "frameduel/config" in tags["tensors"]


def test_export_without_a_destination_is_bad_input(tmp_path: Path) -> None:
    res = frameduel("export", "last", "--store", str(tmp_path / "none.sqlite3"))
    assert res.returncode == 2
    assert "--mlflow URI and/or --tensorboard LOGDIR" in res.stderr
