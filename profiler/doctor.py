"""`frameduel doctor`: what this machine offers FrameDuel, without importing any framework here."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from profiler.launcher import child_environment
from profiler.nvml import GpuMonitor
from profiler.paths import cache_dir_for, default_store_path
from profiler.store import MIN_FREE_BYTES, Store, StoreError


def probe_frameworks(
    python: str | None = None,
    timeout_s: float = 120.0,
    cancel: threading.Event | None = None,
    store: Path | None = None,
) -> dict[str, Any]:
    """Ask a child interpreter which frameworks it has (version, devices); never raises.

    Its caches go beside ``store`` (default: the default store), as a run's do. Setting
    ``cancel`` kills the child (within 0.25 s), so an application closed while probing leaves
    no process behind.
    """
    env = child_environment(cache_dir_for(store or default_store_path()))
    try:
        proc = subprocess.Popen(
            [python or sys.executable, "-m", "workloads.probe"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
        )
    except OSError as exc:
        return {"error": f"could not run the framework probe: {exc}"}
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            stdout, stderr = proc.communicate(timeout=0.25)
            break
        except subprocess.TimeoutExpired:
            cancelled = cancel is not None and cancel.is_set()
            if cancelled or time.monotonic() > deadline:
                proc.kill()
                proc.communicate()
                if cancelled:
                    return {"error": "the framework probe was cancelled"}
                return {"error": f"the framework probe took longer than {timeout_s:g} s"}
    try:
        result: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"error": f"the framework probe failed: {stderr.strip()[-500:]}"}
    return result


def store_health(path: Path) -> str:
    """One line on the store: sessions, running ones, writable or not, free space, or the
    problem that makes it unusable. Reads only; creates nothing."""
    if not path.exists():
        where = path.parent if path.parent.exists() else None
        if where is not None and not os.access(where, os.W_OK):
            return f"{path}: not created yet, and {where} is not writable"
        return f"{path}: not created yet (the first run creates it)"
    try:
        with Store(path, read_only=True) as store:
            rows = store.sessions()
    except StoreError as exc:
        return f"{path}: PROBLEM: {exc}"
    running = sum(r.status == "running" for r in rows)
    writable = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
    free = shutil.disk_usage(path.parent).free
    notes = [f"{len(rows)} session(s)"]
    if running:
        notes.append(f"{running} running now")
    notes.append("writable" if writable else "READ-ONLY (can be listed and exported, not run)")
    low = "; LOW: runs are refused" if free < MIN_FREE_BYTES else ""
    notes.append(f"{free / 2**30:,.1f} GiB free{low}")
    return f"{path}: {', '.join(notes)}"


def doctor(store: str | None = None) -> int:
    """Print frameworks, GPU/NVML state, Qt platform and the store's health; always exit 0."""
    store_path = Path(store).expanduser() if store else default_store_path()
    print("FrameDuel doctor")
    print(f"  python      {sys.version.split()[0]} ({sys.executable})")
    frameworks = probe_frameworks(store=store_path)
    if "error" in frameworks:
        print(f"  frameworks  {frameworks['error']}")
    for name in ("torch", "tensorflow", "jax"):
        info = frameworks.get(name)
        if not isinstance(info, dict):
            continue
        if info.get("available"):
            devices = ", ".join(info.get("devices") or []) or "no devices listed"
            print(f"  {name:<11} {info.get('version')}  devices: {devices}")
        else:
            print(f"  {name:<11} not available ({info.get('error') or 'not installed'})")
    gpu = GpuMonitor()
    print(f"  gpu         {gpu.status}")
    gpu.close()
    has_qt = importlib.util.find_spec("PySide6") is not None
    platform = os.environ.get("QT_QPA_PLATFORM") or (
        "xcb"
        if os.environ.get("DISPLAY")
        else "wayland"
        if os.environ.get("WAYLAND_DISPLAY")
        else None
    )
    qt = "PySide6 installed" if has_qt else "PySide6 not installed (headless commands only)"
    print(f"  qt          {qt}; platform: {platform or 'no display (use `frameduel run`)'}")
    print(f"  store       {store_health(store_path)}")
    return 0
