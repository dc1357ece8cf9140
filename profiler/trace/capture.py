"""The parent's side of the trace phase: which runs trace, where, and what their traces say.

Each framework's first run (repeat 0) traces, so auto repeats cost no more than one trace per
framework. The child writes its profiler's native files into the run's trace folder
(``<store file>.traces/<session>/run-<id>/``) and names them in a ``trace`` event; once the run
has ended, ``SessionTraces.finish_run`` caps the folder's size, attributes the trace and rewrites
the session's ``breakdowns.json``. Nothing here can fail a run: a trace that cannot be read is a
warning on the run.
"""

from __future__ import annotations

import gzip
import json
import logging
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from profiler.breakdown import (
    RunBreakdown,
    run_trace_dir,
    save_breakdowns,
    session_trace_dir,
)
from profiler.events import TRACE_PHASE, EventData, Hello, TraceInfo, Window
from profiler.trace.attribution import NoStepsTraced, attribute, traced_window
from profiler.trace.events import Span, TraceFileError, read_trace_json, spans_of
from profiler.trace.taxonomy import STEP_MARKER

_log = logging.getLogger(__name__)
_MIB = 1024 * 1024
# The file of each format the breakdown reads (the others are kept for the framework's tools).
_PARSED = {
    "kineto": ("*.kineto.json.gz", "*.json"),
    "xplane": ("tensorflow.trace.json.gz",),
    "perfetto": ("*.trace.json.gz",),
}


@dataclass
class _RunState:
    framework: str
    repeat: int
    device: str = "cpu"
    trace: TraceInfo | None = None
    measure_ms: list[float] = field(default_factory=list)
    trace_ms: float = math.nan


@dataclass
class SessionTraces:
    """A session's traced runs: plans them, collects their events, processes their traces."""

    store_path: Path
    session_id: int
    steps: int | None  # run.trace's steps; None: tracing is off
    max_mib: float = 50.0
    breakdowns: list[RunBreakdown] = field(default_factory=list)
    _runs: dict[int, _RunState] = field(default_factory=dict)

    def plan(self, run_id: int, framework: str, repeat: int) -> Path | None:
        """The trace folder a run's child writes into; None when this run does not trace."""
        if self.steps is None or repeat != 0:
            return None
        self._runs[run_id] = _RunState(framework, repeat)
        return run_trace_dir(self.store_path, self.session_id, run_id)

    def event(self, run_id: int, data: EventData) -> None:
        """Note what a traced run's events (their typed views) say about its trace (cheap; any
        thread)."""
        state = self._runs.get(run_id)
        if state is None:
            return
        if isinstance(data, Hello):
            state.device = "cuda" if data.device.startswith("cuda") else "cpu"
        elif isinstance(data, TraceInfo):
            state.trace = data
        elif isinstance(data, Window):
            if data.measured:
                state.measure_ms.append(data.step_time_ms)
            elif data.phase == TRACE_PHASE:
                state.trace_ms = data.step_time_ms

    def finish_run(self, run_id: int) -> list[str]:
        """Process an ended run's trace; return warnings for the run (empty when fine)."""
        state = self._runs.pop(run_id, None)
        if state is None or state.trace is None:
            return []
        try:
            breakdown = breakdown_of_run(
                run_trace_dir(self.store_path, self.session_id, run_id),
                run_id=run_id,
                framework=state.framework,
                repeat=state.repeat,
                device=state.device,
                trace=state.trace,
                measure_step_ms=statistics.median(state.measure_ms)
                if state.measure_ms
                else math.nan,
                trace_step_ms=state.trace_ms,
                max_bytes=int(self.max_mib * _MIB),
            )
        except (TraceFileError, NoStepsTraced, OSError, ValueError) as exc:
            return [f"the {state.framework} trace could not be broken down: {exc}"]
        self.breakdowns.append(breakdown)
        try:
            save_breakdowns(self.store_path, self.session_id, self.breakdowns)
        except OSError as exc:
            return [f"the breakdowns could not be saved in {self.folder}: {exc.strerror}"]
        return [n for n in breakdown.notes if breakdown.truncated]

    @property
    def folder(self) -> Path:
        """The session's trace folder."""
        return session_trace_dir(self.store_path, self.session_id)


def parsed_file(folder: Path, fmt: str, files: list[str]) -> Path:
    """The Chrome-trace file of a run's native files that the breakdown reads."""
    for pattern in _PARSED.get(fmt, ("*.json.gz", "*.json")):
        for name in files:
            path = folder / name
            if path.match(pattern) and not path.name.startswith("perfetto_trace"):
                return path
    raise TraceFileError(f"{folder}: no {fmt} Chrome trace among {files}")


def breakdown_of_run(
    folder: Path,
    *,
    run_id: int,
    framework: str,
    repeat: int,
    device: str,
    trace: TraceInfo,
    measure_step_ms: float,
    trace_step_ms: float,
    max_bytes: int,
) -> RunBreakdown:
    """A run's breakdown from its trace folder and ``trace`` event (capping the folder)."""
    files = list(trace.files)
    source = parsed_file(folder, trace.format, files)
    data = read_trace_json(source)
    spans = spans_of(data)
    notes: list[str] = []
    kept = [f for f in files if (folder / f).is_file()]
    total = sum((folder / f).stat().st_size for f in kept)
    truncated = total > max_bytes
    if truncated:
        spans, kept, note = _cap(
            folder, source, data, spans, files=kept, total=total, max_bytes=max_bytes
        )
        notes.append(note)
    converter = trace.converter or ""
    if trace.fallback:
        notes.append(f"trace converted by {converter} ({trace.fallback})")
    attr = attribute(spans, framework)
    steps = attr.steps
    per_step = 1000.0 * steps
    return RunBreakdown(
        framework=framework,
        run_id=run_id,
        repeat=repeat,
        device=device,
        timeline="device" if any(s.device for s in spans) else "host",
        traced_steps=steps,
        step_ms=attr.window_us / per_step,
        category_ms={c: us / per_step for c, us in attr.category_us.items()},
        category_launches={c: n / steps for c, n in attr.launches.items()},
        top_ops=attr.top_ops(),
        launches_per_step=sum(attr.launches.values()) / steps,
        trace_step_ms=trace_step_ms,
        measure_step_ms=measure_step_ms,
        truncated=truncated,
        native_files=tuple(f"run-{run_id}/{f}" for f in kept),
        converter=converter,
        notes=tuple(notes),
    )


def _cap(
    folder: Path,
    source: Path,
    data: dict[str, Any],
    spans: list[Span],
    *,
    files: list[str],
    total: int,
    max_bytes: int,
) -> tuple[list[Span], list[str], str]:
    """Cut a run's traces to ``max_bytes``: keep the first steps of the parsed trace that fit
    (at least one), rewrite it, and drop the other native files if still over."""
    markers = sorted((s for s in spans if s.name.startswith(STEP_MARKER)), key=lambda s: s.ts)
    source_bytes = source.stat().st_size
    keep_steps = max(1, min(len(markers), int(len(markers) * max_bytes / max(total, 1))))
    cutoff = markers[keep_steps - 1].end if markers else traced_window(spans)[1]
    events = [
        ev
        for ev in data["traceEvents"]
        if not isinstance(ev, dict)
        or not isinstance(ev.get("ts"), int | float)
        or ev.get("ph") == "M"
        or ev["ts"] <= cutoff
    ]
    with gzip.open(source, "wt", encoding="utf-8", compresslevel=3) as out:
        json.dump({**data, "traceEvents": events}, out, separators=(",", ":"))
    kept_spans = [s for s in spans if s.ts <= cutoff]
    dropped: list[str] = []
    size = source.stat().st_size
    for name in files:
        path = folder / name
        if path != source and path.is_file():
            if size + path.stat().st_size > max_bytes:
                path.unlink()
                dropped.append(name)
            else:
                size += path.stat().st_size
    kept = [f for f in files if f not in dropped]
    note = (
        f"trace truncated: run-{folder.name.removeprefix('run-')}'s traces were "
        f"{total / _MIB:.1f} MiB, over the {max_bytes / _MIB:g} MiB cap (run.trace.max_mib): "
        f"kept the first {keep_steps} of {len(markers)} traced steps "
        f"({source_bytes / _MIB:.1f} -> {source.stat().st_size / _MIB:.1f} MiB)"
        + (f", dropped {', '.join(dropped)}" if dropped else "")
    )
    _log.warning(note)
    return kept_spans, kept, note
