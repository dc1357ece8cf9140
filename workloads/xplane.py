"""TensorFlow's XPlane profile as a Chrome trace (the JSON Perfetto and chrome://tracing read).

Run inside the TensorFlow child only: it reads the protobuf with TensorFlow's own
``xplane_pb2``, so the parent (which imports no framework) gets plain JSON. The maintained
converter (``xprof``, formerly ``tensorboard-plugin-profile``) does the same and more, but it
pulls some thirty packages (gcsfs, google-cloud-storage, aiohttp, ...) into every environment
that runs TensorFlow; this module needs nothing TensorFlow does not already ship.

Mapping: a plane (``/host:CPU``, ``/device:GPU:0``) is a process, a line (a thread or a GPU
stream) a thread, an XEvent a complete (``X``) event; the event's and its metadata's stats become
``args`` (``tf_op``, ``long_name``, ``step_num``, ...). Times are microseconds since the epoch,
as in the plane (XLine timestamps are nanoseconds, offsets picoseconds).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

# Lines that repeat other lines' events (XLA's per-module and per-op summaries on a device
# plane) or carry no timed work of their own: kept out so no instant is counted twice.
_SKIP_LINES = frozenset({"XLA Modules", "XLA Ops", "Steps", "Framework Ops", "Source code"})


def _stat_value(stat: Any, names: dict[int, str]) -> Any:
    kind = stat.WhichOneof("value")
    if kind is None:
        return None
    if kind == "ref_value":
        return names.get(stat.ref_value, "")
    value = getattr(stat, kind)
    if kind == "bytes_value":
        return f"<{len(value)} bytes>"
    return value


def _stats(stats: Any, names: dict[int, str]) -> dict[str, Any]:
    return {names.get(s.metadata_id, str(s.metadata_id)): _stat_value(s, names) for s in stats}


def xspace_events(space: Any) -> list[dict[str, Any]]:
    """The Chrome trace events of an ``XSpace`` message."""
    events: list[dict[str, Any]] = []
    for pid, plane in enumerate(space.planes, start=1):
        names = {k: v.name for k, v in plane.stat_metadata.items()}
        meta = plane.event_metadata
        events.append({"ph": "M", "name": "process_name", "pid": pid, "args": {"name": plane.name}})
        for line in plane.lines:
            if line.name in _SKIP_LINES or line.display_name in _SKIP_LINES:
                continue
            tid = line.id
            label = line.display_name or line.name or str(tid)
            events.append(
                {"ph": "M", "name": "thread_name", "pid": pid, "tid": tid, "args": {"name": label}}
            )
            base_ps = line.timestamp_ns * 1000
            for ev in line.events:
                md = meta.get(ev.metadata_id)
                args = _stats(md.stats, names) if md is not None else {}
                args.update(_stats(ev.stats, names))
                name = (md.display_name or md.name) if md is not None else str(ev.metadata_id)
                if md is not None and md.display_name and md.name != md.display_name:
                    args.setdefault("long_name", md.name)
                events.append(
                    {
                        "ph": "X",
                        "name": name,
                        "pid": pid,
                        "tid": tid,
                        "ts": (base_ps + ev.offset_ps) / 1e6,
                        "dur": ev.duration_ps / 1e6,
                        "args": args,
                    }
                )
    return events


def xplane_to_chrome_trace(source: Path, target: Path) -> None:
    """Convert the ``.xplane.pb`` at ``source`` into a gzipped Chrome trace at ``target``."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    space.ParseFromString(source.read_bytes())
    trace = {"displayTimeUnit": "ns", "traceEvents": xspace_events(space)}
    with gzip.open(target, "wt", encoding="utf-8", compresslevel=3) as out:
        json.dump(trace, out, separators=(",", ":"))
