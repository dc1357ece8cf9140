"""Chrome-trace JSON as the frameworks' profilers write it, read into plain spans.

Kineto (PyTorch), FrameDuel's XPlane conversion (TensorFlow) and JAX's ``<host>.trace.json.gz``
are all Chrome trace files: ``{"traceEvents": [...]}`` with complete (``X``) events in
microseconds. Only complete events with a duration become spans; metadata (``M``) events name
the processes, which tells a GPU's timeline from the host's.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Kineto's categories for work that ran on a GPU.
_DEVICE_CATEGORIES = frozenset({"kernel", "gpu_memcpy", "gpu_memset", "gpu_user_annotation"})
# Kineto mirrors record_function ranges onto the GPU's timeline: not work, but they say which
# kernels an Optimizer.step launched (see ``Span.annotation``).
_ANNOTATION_CATEGORIES = frozenset({"gpu_user_annotation"})
# XPlane device lines that summarise other lines' kernels (JAX's and TensorFlow's GPU planes):
# counting them would count each kernel twice.
SUMMARY_LINES = frozenset(
    {"XLA Modules", "XLA Ops", "Steps", "Framework Ops", "Framework Name Scope", "Source code"}
)


class TraceFileError(ValueError):
    """A trace file that cannot be read as a Chrome trace (names the file)."""


@dataclass(slots=True)
class Span:
    """One complete event: ``ts``/``end`` in microseconds on the trace's clock."""

    name: str
    scope: str  # the framework's longer name where it gives one (TF long_name, XLA hlo_op)
    pid: Any
    tid: Any
    ts: float
    end: float
    device: bool  # ran on an accelerator's timeline (a kernel, a copy), not on a host thread
    annotation: bool = False  # a host range mirrored onto the device's timeline, not work


def read_trace_json(path: Path) -> dict[str, Any]:
    """A Chrome trace file (gzipped or not) as its JSON object."""
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        data = json.loads(raw)
    except (OSError, EOFError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise TraceFileError(f"{path}: not a readable Chrome trace ({exc})") from exc
    if isinstance(data, list):  # the JSON Array Format
        data = {"traceEvents": data}
    if not isinstance(data, dict) or not isinstance(data.get("traceEvents"), list):
        raise TraceFileError(f"{path}: not a Chrome trace (no traceEvents list)")
    return data


def _summary_threads(events: list[Any]) -> set[tuple[Any, Any]]:
    """(pid, tid) of the lines whose name says they repeat other lines' events."""
    out = set()
    for ev in events:
        if isinstance(ev, dict) and ev.get("ph") == "M" and ev.get("name") == "thread_name":
            label = str((ev.get("args") or {}).get("name", ""))
            if label in SUMMARY_LINES:
                out.add((ev.get("pid"), ev.get("tid")))
    return out


def _device_pids(events: list[Any]) -> set[Any]:
    """Processes whose name says they are an accelerator (XPlane's ``/device:GPU:0``)."""
    pids = set()
    for ev in events:
        if isinstance(ev, dict) and ev.get("ph") == "M" and ev.get("name") == "process_name":
            label = str((ev.get("args") or {}).get("name", ""))
            if label.startswith("/device:") and "CPU" not in label:
                pids.add(ev.get("pid"))
    return pids


def spans_of(data: dict[str, Any]) -> list[Span]:
    """The complete events of a Chrome trace as spans, in no particular order."""
    events = data["traceEvents"]
    device_pids = _device_pids(events)
    summaries = _summary_threads(events)
    spans: list[Span] = []
    for ev in events:
        if not isinstance(ev, dict) or ev.get("ph") != "X":
            continue
        if summaries and (ev.get("pid"), ev.get("tid")) in summaries:
            continue
        ts, dur = ev.get("ts"), ev.get("dur")
        if not isinstance(ts, int | float) or not isinstance(dur, int | float) or dur < 0:
            continue
        args = ev.get("args")
        scope = (args.get("long_name") or args.get("tf_op") or "") if isinstance(args, dict) else ""
        pid = ev.get("pid")
        spans.append(
            Span(
                name=str(ev.get("name", "")),
                scope=str(scope),
                pid=pid,
                tid=ev.get("tid"),
                ts=float(ts),
                end=float(ts) + float(dur),
                device=ev.get("cat") in _DEVICE_CATEGORIES or pid in device_pids,
                annotation=ev.get("cat") in _ANNOTATION_CATEGORIES,
            )
        )
    return spans
