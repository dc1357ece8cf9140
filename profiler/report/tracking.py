"""A stored session, exported to what teams already run: MLflow tracking and TensorBoard.

Both exporters read the report model (``build_report``), so every figure is the report's own:
the per-window series (samples/s, step time, loss) by training step, the sampled series (CPU,
RSS, GPU) by time, and each run's headline numbers. Each FrameDuel run becomes one MLflow run
(nested under a run for the session, which carries the HTML and JSON reports as artifacts) and one
TensorBoard run folder. mlflow and tensorboard are optional (``frameduel[export]``), imported only
here and only when asked; neither imports a deep-learning framework.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from profiler.report.model import Report
from profiler.report.runs import RunSeries, RunSummary

# MLflow's limits: 1,000 metrics per log_batch call, 100 params, 6,000 characters a value.
_MLFLOW_BATCH = 1000
_MLFLOW_PARAMS = 100
_MLFLOW_VALUE = 6000
# Headline numbers logged once per run (MLflow summary metrics, TensorBoard "summary/" scalars).
HEADLINES = (
    "steps_per_s",
    "samples_per_s",
    "first_step_s",
    "rss_peak_mib",
    "cpu_percent_mean",
    "gpu_util_percent_mean",
    "gpu_mem_peak_mib",
    "energy_j",
    "achieved_tflops",
    "mfu",
    "loss_first",
    "loss_last",
)


class ExportError(Exception):
    """The export could not be done; the message says why and what to do."""


def run_label(run: RunSummary) -> str:
    """``torch #1``: the framework and the repeat, as the report names runs."""
    return f"{run.framework} #{run.repeat + 1}"


def _flatten(data: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from _flatten(value, f"{name}.")
        else:
            text = value if isinstance(value, str) else json.dumps(value)
            yield name, text[:_MLFLOW_VALUE]


def headline_metrics(run: RunSummary) -> dict[str, float]:
    """The run's headline numbers that exist (finite), plus its median step time."""
    values: dict[str, float] = {}
    for name in HEADLINES:
        value = getattr(run, name, None)
        if isinstance(value, int | float) and math.isfinite(value):
            values[name] = float(value)
    median = run.step_time_ms.median
    if median is not None and math.isfinite(median):
        values["step_time_ms_median"] = float(median)
    if run.params is not None:
        values["params"] = float(run.params)
    return values


def _window_points(series: RunSeries) -> Iterator[tuple[str, int, float, float]]:
    """(name, step, value, seconds since launch) of every finite window value."""
    for name, values in series.window_series().items():
        for i, value in enumerate(values):
            step = series.window_step[i] if i < series.window_step.size else math.nan
            if math.isfinite(value) and math.isfinite(step):
                yield name, int(step), float(value), float(series.window_t_s[i])


def _sample_points(series: RunSeries) -> Iterator[tuple[str, int, float, float]]:
    """(name, sample index, value, seconds since launch) of every finite sampled value."""
    for name, values in series.sample_series().items():
        for i, value in enumerate(values):
            if math.isfinite(value):
                yield name, i, float(value), float(series.sample_t_s[i])


def _epoch_s(report: Report) -> float:
    """When the session started, as Unix time (the stored timestamp; now if unreadable)."""
    try:
        return datetime.fromisoformat(report.generated_from.created_at).timestamp()
    except (TypeError, ValueError):
        return time.time()


# -- MLflow --------------------------------------------------------------------------------------


def export_mlflow(report: Report, tracking_uri: str, experiment: str | None = None) -> list[str]:
    """Log ``report`` into the MLflow tracking store at ``tracking_uri``; returns the run ids.

    One parent run for the session (the reports as artifacts, the comparison verdicts as
    metrics) and one nested run per FrameDuel run (the config as params, window series by
    training step, sampled series by sample index, headline numbers as summary metrics).
    """
    try:
        import mlflow
        from mlflow.entities import Metric, Param, RunTag
    except ImportError:
        raise ExportError(
            "exporting to MLflow needs the mlflow package: pip install 'frameduel[export]'"
        ) from None
    if _is_local(tracking_uri):
        # MLflow 3 keeps its file store in maintenance mode and refuses it unless asked: the
        # user asked, by naming a folder.
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    name = experiment or f"frameduel/{report.generated_from.name}"
    try:
        found = client.get_experiment_by_name(name)
        exp_id = found.experiment_id if found else client.create_experiment(name)
    except Exception as exc:  # MLflow raises many types for an unusable store
        raise ExportError(f"MLflow tracking store {tracking_uri}: {exc}") from None
    t0_ms = int(_epoch_s(report) * 1000)
    ref = report.generated_from
    parent = client.create_run(
        exp_id,
        run_name=f"session {ref.id}: {ref.name}",
        tags={"frameduel.session_id": str(ref.id), "frameduel.status": ref.status},
    )
    parent_id = parent.info.run_id
    params = [Param(k, v) for k, v in _flatten(report.config)][:_MLFLOW_PARAMS]
    client.log_batch(parent_id, params=params)
    verdicts = [
        Metric(f"ratio.{c.metric}.{c.other}_vs_{c.baseline}", float(c.ratio), t0_ms, 0)
        for c in report.comparisons
        if isinstance(c.ratio, int | float) and math.isfinite(c.ratio)
    ]
    _log_metrics(client, parent_id, verdicts)
    with tempfile.TemporaryDirectory(prefix="frameduel-mlflow-") as tmp:
        from profiler.report import render_text

        for fmt in ("html", "json"):
            path = Path(tmp) / f"report.{fmt}"
            path.write_text(render_text(report, fmt), encoding="utf-8")
            client.log_artifact(parent_id, str(path))
    ids = [parent_id]
    for run, series in zip(report.runs, report.series, strict=True):
        child = client.create_run(
            exp_id,
            run_name=f"{run_label(run)} (session {ref.id})",
            tags={
                "mlflow.parentRunId": parent_id,
                "frameduel.session_id": str(ref.id),
                "frameduel.run_id": str(run.run_id),
                "frameduel.framework": run.framework,
                "frameduel.framework_version": run.framework_version or "",
                "frameduel.repeat": str(run.repeat),
                "frameduel.status": run.status,
                "frameduel.device": run.device or "",
            },
        )
        run_id = child.info.run_id
        client.log_batch(
            run_id,
            params=[Param("framework", run.framework), *params[: _MLFLOW_PARAMS - 1]],
            tags=[RunTag("frameduel.error", (run.error or "")[:_MLFLOW_VALUE])],
        )
        metrics = [
            Metric(name, value, t0_ms + int(t * 1000), step)
            for name, step, value, t in _window_points(series)
        ]
        metrics += [
            Metric(f"system/{name}", value, t0_ms + int(t * 1000), step)
            for name, step, value, t in _sample_points(series)
        ]
        metrics += [
            Metric(f"summary/{name}", value, t0_ms, 0)
            for name, value in headline_metrics(run).items()
        ]
        _log_metrics(client, run_id, metrics)
        client.set_terminated(run_id, "FINISHED" if run.status == "ok" else "FAILED")
        ids.append(run_id)
    client.set_terminated(parent_id, "FINISHED" if ref.status == "ok" else "FAILED")
    return ids


def _log_metrics(client: Any, run_id: str, metrics: list[Any]) -> None:
    for start in range(0, len(metrics), _MLFLOW_BATCH):
        client.log_batch(run_id, metrics=metrics[start : start + _MLFLOW_BATCH])


def _is_local(uri: str) -> bool:
    return uri.startswith("file:") or "://" not in uri


# -- TensorBoard ---------------------------------------------------------------------------------


def export_tensorboard(report: Report, logdir: str | Path) -> list[Path]:
    """Write TensorBoard event files, one folder per run under ``logdir``; returns the folders.

    Scalars: ``window/<series>`` by training step, ``system/<series>`` by sample index, and
    ``summary/<headline>`` at step 0; the config and each run's status as text.
    """
    try:
        from tensorboard.compat.proto import event_pb2, summary_pb2
        from tensorboard.compat.proto.tensor_pb2 import TensorProto
        from tensorboard.compat.proto.tensor_shape_pb2 import TensorShapeProto
        from tensorboard.summary.writer.event_file_writer import EventFileWriter
    except ImportError:
        raise ExportError(
            "exporting to TensorBoard needs the tensorboard package: "
            "pip install 'frameduel[export]'"
        ) from None
    root = Path(logdir) / f"session-{report.generated_from.id}"
    t0 = _epoch_s(report)

    def scalar(tag: str, value: float, step: int, wall: float) -> Any:
        summary = summary_pb2.Summary(
            value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)]
        )
        return event_pb2.Event(wall_time=wall, step=step, summary=summary)

    def text(tag: str, body: str) -> Any:
        tensor = TensorProto(
            dtype=7,  # DT_STRING
            string_val=[body.encode("utf-8")],
            tensor_shape=TensorShapeProto(dim=[TensorShapeProto.Dim(size=1)]),
        )
        meta = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="text")
        )
        value = summary_pb2.Summary.Value(tag=tag, tensor=tensor, metadata=meta)
        return event_pb2.Event(wall_time=t0, step=0, summary=summary_pb2.Summary(value=[value]))

    folders = []
    config_text = "```\n" + json.dumps(report.config, indent=2) + "\n```"
    for run, series in zip(report.runs, report.series, strict=True):
        folder = root / f"{run.framework}-{run.repeat + 1}"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            writer = EventFileWriter(str(folder))
        except OSError as exc:
            raise ExportError(f"cannot write TensorBoard files in {folder}: {exc}") from None
        for name, step, value, t in _window_points(series):
            writer.add_event(scalar(f"window/{name}", value, step, t0 + t))
        for name, step, value, t in _sample_points(series):
            writer.add_event(scalar(f"system/{name}", value, step, t0 + t))
        for name, value in headline_metrics(run).items():
            writer.add_event(scalar(f"summary/{name}", value, 0, t0))
        status = json.dumps({k: v for k, v in asdict(run).items() if k in ("status", "error")})
        writer.add_event(text("frameduel/config", config_text))
        writer.add_event(text("frameduel/status", status))
        writer.close()
        folders.append(folder)
    return folders
