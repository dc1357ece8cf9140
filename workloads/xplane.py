"""TensorFlow's XPlane profile as a Chrome trace (the JSON Perfetto and chrome://tracing read).

Run inside the TensorFlow child only, so the parent (which imports no framework) gets plain JSON.
``convert_xplane`` uses the maintained converter first: ``xprof`` (formerly
``tensorboard-plugin-profile``), its ``trace_viewer`` tool, the one TensorBoard's trace viewer
shows. ``make setup`` installs it with ``--no-deps``: its declared dependencies (gcsfs,
google-cloud-storage, aiohttp, ... some thirty packages) serve its web server, not the converter.
When xprof is missing, fails, or ``FRAMEDUEL_XPROF=off`` turns it off, FrameDuel's own reader
below converts instead (with TensorFlow's own ``xplane_pb2``), and the run says so.

The own reader's mapping: a plane (``/host:CPU``, ``/device:GPU:0``) is a process, a line (a
thread or a GPU stream) a thread, an XEvent a complete (``X``) event; the event's and its
metadata's stats become ``args`` (``tf_op``, ``long_name``, ``step_num``, ...). Times are
microseconds since the epoch, as in the plane (XLine timestamps are nanoseconds, offsets
picoseconds). xprof's output differs in ways the parent's reader does not depend on: times from
the profile's start, zero-length events as instants (``i``), step markers named with their step
(``frameduel.step 3``), ThreadPool regions paired into spans, allocator events left out.
"""

from __future__ import annotations

import gzip
import json
import os
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


# Set to "off" (or "0") to convert with FrameDuel's own reader even where xprof is installed.
XPROF_ENV = "FRAMEDUEL_XPROF"


def xprof_to_chrome_trace(source: Path, target: Path) -> str:
    """Convert with xprof's ``trace_viewer`` tool; return ``xprof <version>``."""
    from xprof.convert import raw_to_tool_data
    from xprof.version import __version__

    # use_saved_result off: xprof would otherwise cache its result beside the .xplane.pb
    data, _ = raw_to_tool_data.xspace_to_tool_data(
        [str(source)], "trace_viewer", {"use_saved_result": False}
    )
    if not data:
        raise RuntimeError("its trace_viewer tool returned nothing (its reason is on stderr)")
    with gzip.open(target, "wt", encoding="utf-8", compresslevel=3) as out:
        out.write(data if isinstance(data, str) else data.decode("utf-8"))
    return f"xprof {__version__}"


def convert_xplane(source: Path, target: Path) -> tuple[str, str | None]:
    """Convert ``source`` (an ``.xplane.pb``) into a gzipped Chrome trace at ``target``.

    Returns (the converter that made it, why the fallback ran instead of xprof, or None).
    """
    if os.environ.get(XPROF_ENV, "").strip().lower() in ("off", "0", "false", "no"):
        reason = f"xprof turned off ({XPROF_ENV}={os.environ[XPROF_ENV]})"
    else:
        try:
            return xprof_to_chrome_trace(source, target), None
        except ImportError as exc:
            reason = f"xprof is not installed ({exc}; `make setup` installs it)"
        except Exception as exc:  # the fallback covers whatever xprof raises
            reason = f"xprof failed: {type(exc).__name__}: {exc}"
    xplane_to_chrome_trace(source, target)
    return "FrameDuel's own XPlane reader", reason
