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
from profiler.paths import cache_dir_for, default_python, default_store_path
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
            [python or default_python(), "-m", "workloads.probe"],
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


NO_FRAMEWORK_FIX = (
    "no framework can run: install one beside FrameDuel (pip install 'frameduel[torch]', "
    "'frameduel[tensorflow]' or 'frameduel[jax]'), or point FrameDuel at the environment that has "
    "it: `frameduel doctor --python torch=/path/to/env/bin/python` to check it, then "
    "`--python` on `frameduel run`, run.python in the config, or Settings in the app"
)


def probe_interpreters(
    pythons: dict[str, str] | None = None,
    timeout_s: float = 120.0,
    store: Path | None = None,
) -> dict[str, Any]:
    """Each framework probed in the interpreter its runs use (``pythons``, else this one).

    Each distinct interpreter is probed once; a framework's entry gains ``"python"``.
    """
    pythons = pythons or {}
    by_python: dict[str, dict[str, Any]] = {}
    out: dict[str, Any] = {}
    for name in ("torch", "tensorflow", "jax"):
        python = pythons.get(name) or default_python()
        if python not in by_python:
            by_python[python] = probe_frameworks(python, timeout_s, store=store)
        probed = by_python[python]
        if "error" in probed:
            out[name] = {"available": False, "error": probed["error"], "python": python}
        elif isinstance(probed.get(name), dict):
            out[name] = {**probed[name], "python": python}
    return out


def findings(store: str | None = None, pythons: dict[str, str] | None = None) -> dict[str, Any]:
    """What ``frameduel doctor`` reports, as data (``doctor --json`` prints it as is)."""
    from profiler.install_check import claimants, problems

    gpu = GpuMonitor()
    gpu_status = gpu.status
    gpu.close()
    platform = os.environ.get("QT_QPA_PLATFORM") or (
        "xcb"
        if os.environ.get("DISPLAY")
        else "wayland"
        if os.environ.get("WAYLAND_DISPLAY")
        else None
    )
    store_path = Path(store).expanduser() if store else default_store_path()
    frameworks = probe_interpreters(pythons, store=store_path)
    return {
        "python": {"version": sys.version.split()[0], "executable": sys.executable},
        "frameworks": frameworks,
        "can_run": any(isinstance(i, dict) and i.get("available") for i in frameworks.values()),
        "gpu": gpu_status,
        "qt": {"installed": importlib.util.find_spec("PySide6") is not None, "platform": platform},
        "store": store_health(store_path),
        "install": problems()
        + [
            f"'{name}' is also installed by {', '.join(dists)}: one may overwrite the other"
            for name, dists in claimants().items()
        ],
    }


def doctor(
    store: str | None = None, pythons: dict[str, str] | None = None, *, as_json: bool = False
) -> int:
    """Print frameworks, GPU/NVML state, Qt platform, the store and the install's soundness.

    Exit status 0 when at least one framework can run, 1 (with the fix) when none can.
    """
    found = findings(store, pythons)
    if as_json:
        print(json.dumps(found, indent=2))
    else:
        _print(found)
    if not found["can_run"]:
        print(f"frameduel: error: {NO_FRAMEWORK_FIX}", file=sys.stderr)
        return 1
    return 0


def _print(found: dict[str, Any]) -> None:
    print("FrameDuel doctor")
    print(f"  python      {found['python']['version']} ({found['python']['executable']})")
    for name in ("torch", "tensorflow", "jax"):
        info = found["frameworks"].get(name)
        if not isinstance(info, dict):
            continue
        where = "" if info["python"] == default_python() else f"  ({info['python']})"
        if info.get("available"):
            devices = ", ".join(info.get("devices") or []) or "no devices listed"
            print(f"  {name:<11} {info.get('version')}  devices: {devices}{where}")
        else:
            print(f"  {name:<11} not available ({info.get('error') or 'not installed'}){where}")
    print(f"  gpu         {found['gpu']}")
    qt = found["qt"]
    has = (
        "PySide6 installed" if qt["installed"] else "PySide6 not installed (headless commands only)"
    )
    print(f"  qt          {has}; platform: {qt['platform'] or 'no display (use `frameduel run`)'}")
    print(f"  store       {found['store']}")
    sound = "ok (no foreign profiler/gui/workloads)"
    print(f"  install     {'; '.join(found['install']) or sound}")
