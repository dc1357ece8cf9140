"""One Chrome-trace/Perfetto file of a session: each traced run as its own process track.

``frameduel trace SESSION --out trace.json.gz`` writes it. Every run's own trace (Kineto,
TensorFlow's converted XPlane, JAX's trace) is shifted so its first traced step starts at
``LEAD_US`` (the runs line up step against step), flattened into one process per run (its
threads and GPU streams become that process's threads, named after where they came from), and
sorted, so timestamps rise on every track. Flow arrows are left out: their ids would collide
between runs. The file opens in the Perfetto UI (ui.perfetto.dev) and chrome://tracing.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from profiler.breakdown import RunBreakdown, session_trace_dir
from profiler.colors import FRAMEWORK_LABELS
from profiler.trace.events import read_trace_json
from profiler.trace.taxonomy import STEP_MARKER

# Each run's first traced step starts this far into the merged trace (µs): a little of what led
# up to it stays visible.
LEAD_US = 1000.0
_KEPT_PHASES = frozenset({"X", "i", "I", "C", "B", "E"})


def _run_source(folder: Path, run: RunBreakdown) -> Path:
    """The Chrome-trace file among a run's native files (as the breakdown read it)."""
    for name in run.native_files:
        path = folder / name
        if path.name.endswith(".json.gz") and not path.name.startswith("perfetto_trace"):
            return path
    raise FileNotFoundError(f"run {run.run_id}: no Chrome trace among {list(run.native_files)}")


def _names(events: list[Any]) -> tuple[dict[Any, str], dict[tuple[Any, Any], str]]:
    processes: dict[Any, str] = {}
    threads: dict[tuple[Any, Any], str] = {}
    for ev in events:
        if isinstance(ev, dict) and ev.get("ph") == "M":
            label = str((ev.get("args") or {}).get("name", ""))
            if ev.get("name") == "process_name":
                processes[ev.get("pid")] = label
            elif ev.get("name") == "thread_name":
                threads[(ev.get("pid"), ev.get("tid"))] = label
    return processes, threads


def run_events(path: Path, run: RunBreakdown, pid: int) -> list[dict[str, Any]]:
    """One run's trace events, shifted, renumbered into process ``pid``, sorted by time."""
    events = read_trace_json(path)["traceEvents"]
    steps = [
        ev["ts"]
        for ev in events
        if isinstance(ev, dict)
        and ev.get("ph") == "X"
        and str(ev.get("name", "")).startswith(STEP_MARKER)
        and isinstance(ev.get("ts"), int | float)
    ]
    if not steps:
        raise ValueError(f"{path}: no {STEP_MARKER} marker to align on")
    offset = min(steps) - LEAD_US
    processes, threads = _names(events)
    tids: dict[tuple[Any, Any], int] = {}
    out: list[dict[str, Any]] = []
    for ev in events:
        if not isinstance(ev, dict) or ev.get("ph") not in _KEPT_PHASES:
            continue
        ts = ev.get("ts")
        if not isinstance(ts, int | float) or ts < offset:
            continue
        key = (ev.get("pid"), ev.get("tid"))
        tid = tids.setdefault(key, len(tids) + 1)
        out.append({**ev, "pid": pid, "tid": tid, "ts": round(float(ts) - offset, 3)})
    out.sort(key=lambda e: (e["tid"], e["ts"]))
    label = FRAMEWORK_LABELS.get(run.framework, run.framework)
    meta: list[dict[str, Any]] = [
        {
            "ph": "M",
            "name": "process_name",
            "pid": pid,
            "args": {"name": f"{label} run {run.run_id} ({run.device})"},
        },
        {"ph": "M", "name": "process_sort_index", "pid": pid, "args": {"sort_index": pid}},
    ]
    for (orig_pid, orig_tid), tid in tids.items():
        where = processes.get(orig_pid, str(orig_pid))
        thread = threads.get((orig_pid, orig_tid), str(orig_tid))
        meta.append(
            {
                "ph": "M",
                "name": "thread_name",
                "pid": pid,
                "tid": tid,
                "args": {"name": f"{where} / {thread}"},
            }
        )
    return meta + out


def merged_trace(
    store_path: str | Path, session_id: int, runs: Sequence[RunBreakdown]
) -> dict[str, Any]:
    """The session's merged trace as a Chrome-trace JSON object."""
    folder = session_trace_dir(store_path, session_id)
    events: list[dict[str, Any]] = []
    for pid, run in enumerate(runs, start=1):
        events.extend(run_events(_run_source(folder, run), run, pid))
    return {
        "displayTimeUnit": "ms",
        "traceEvents": events,
        "otherData": {
            "frameduel_session": session_id,
            "aligned_at": f"each run's first {STEP_MARKER}, at {LEAD_US:g} µs",
            "runs": [
                {"pid": pid, "framework": r.framework, "run_id": r.run_id, "device": r.device}
                for pid, r in enumerate(runs, start=1)
            ],
        },
    }


def write_merged_trace(
    store_path: str | Path, session_id: int, runs: Sequence[RunBreakdown], out: Path
) -> Path:
    """Write the merged trace to ``out`` (gzipped when it ends in .gz), atomically."""
    data = merged_trace(store_path, session_id, runs)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, staging = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as raw:
            if out.name.endswith(".gz"):
                with gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=5) as gz:
                    gz.write(json.dumps(data, separators=(",", ":")).encode())
            else:
                raw.write(json.dumps(data, separators=(",", ":")).encode())
        os.replace(staging, out)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
    return out


def copy_native(
    store_path: str | Path, session_id: int, runs: Sequence[RunBreakdown], target: Path
) -> list[Path]:
    """Copy each run's native traces into ``target/<framework>-run<id>/`` (plus the session's
    breakdowns.json); return the files written."""
    folder = session_trace_dir(store_path, session_id)
    written: list[Path] = []
    for run in runs:
        for name in run.native_files:
            source = folder / name
            if not source.is_file():
                continue
            rel = Path(name).relative_to(f"run-{run.run_id}")
            dest = target / f"{run.framework}-run{run.run_id}" / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest)
            written.append(dest)
    summary = folder / "breakdowns.json"
    if summary.is_file():
        target.mkdir(parents=True, exist_ok=True)
        written.append(Path(shutil.copyfile(summary, target / "breakdowns.json")))
    return written
