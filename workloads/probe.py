"""``python -m workloads.probe``: which frameworks this interpreter can run, and on what devices.

Prints one JSON object, ``{framework: {"available", "version", "devices", "error"}}`` for torch,
tensorflow and jax. "Available" means a run would start: the probe imports what the run imports
(NumPy, the framework and FrameDuel's workload module for it), so an environment whose NumPy does
not fit its Python, or that lacks what the workload needs, is reported with the import's error.

Each framework is imported in a subprocess of its own, all at once, so
importing one cannot break another (CUDA libraries, thread pools) and the total time is that of
the slowest. Devices use the config's spelling: ``cpu``, ``cuda:N``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from typing import Any

FRAMEWORKS: tuple[str, ...] = ("torch", "tensorflow", "jax")
PROBE_TIMEOUT_S = 60.0

# Each prints one JSON line {"version", "devices"} as its last line of stdout.
_SNIPPETS = {
    "torch": """
import json, numpy, torch
import workloads.torch_workload
n = torch.cuda.device_count() if torch.cuda.is_available() else 0
devices = ["cpu"] + [f"cuda:{i}" for i in range(n)]
print(json.dumps({"version": str(torch.__version__), "devices": devices}))
""",
    "tensorflow": """
import json, numpy, tensorflow as tf
import workloads.tensorflow_workload
n = len(tf.config.list_physical_devices("GPU"))
devices = ["cpu"] + [f"cuda:{i}" for i in range(n)]
print(json.dumps({"version": tf.__version__, "devices": devices}))
""",
    "jax": """
import json, numpy, jax
import workloads.jax_workload
devices = []
for d in jax.devices() + ([] if jax.default_backend() == "cpu" else jax.devices("cpu")):
    name = "cpu" if d.platform == "cpu" else f"cuda:{d.id}" if d.platform == "gpu" else str(d)
    if name not in devices:
        devices.append(name)
print(json.dumps({"version": jax.__version__, "devices": devices}))
""",
}

# Quiet the frameworks' C++ start-up logs; they go to stderr, which is read for errors. JAX
# would grab 75% of every GPU just to list them, beside a run that may be using one.
_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "KERAS_BACKEND": "tensorflow",
    "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
}


def probe_all(timeout_s: float = PROBE_TIMEOUT_S) -> dict[str, dict[str, Any]]:
    """Probe every framework in parallel subprocesses; never raises for a broken framework."""
    results: dict[str, dict[str, Any]] = {}
    running: dict[str, subprocess.Popen[str]] = {}
    env = {**os.environ, **_ENV}
    for name in FRAMEWORKS:
        if importlib.util.find_spec(name) is None:
            results[name] = _result(error=f"{name} is not installed in {sys.executable}")
            continue
        running[name] = subprocess.Popen(
            [sys.executable, "-c", _SNIPPETS[name]],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
    try:
        for name, proc in running.items():
            results[name] = _collect(name, proc, timeout_s)
    finally:
        for proc in running.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    return {name: results[name] for name in FRAMEWORKS}


def _collect(name: str, proc: subprocess.Popen[str], timeout_s: float) -> dict[str, Any]:
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return _result(error=f"importing {name} took longer than {timeout_s:g} s")
    lines = out.strip().splitlines()
    if proc.returncode == 0 and lines:
        try:
            info = json.loads(lines[-1])
            return _result(available=True, version=info["version"], devices=info["devices"])
        except (json.JSONDecodeError, KeyError, TypeError):
            pass
    return _result(error=_last_line(err) or f"probe exited with code {proc.returncode}")


def _result(
    *,
    available: bool = False,
    version: str | None = None,
    devices: list[str] | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    return {"available": available, "version": version, "devices": devices or [], "error": error}


def _last_line(text: str) -> str:
    """The last non-empty line of stderr: the exception line of a traceback."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:500] if lines else ""


def main() -> int:
    """Print the probe result as one JSON object."""
    print(json.dumps(probe_all()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
