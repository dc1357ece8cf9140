"""The machine a session ran on, recorded with it so a report can say where numbers came from."""

from __future__ import annotations

import os
import platform
import sys
from typing import Any

import psutil

from profiler import __version__
from profiler.nvml import GpuMonitor


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_environment(gpu: GpuMonitor | None = None) -> dict[str, Any]:
    """Host, OS, CPU, memory, Python and GPU facts (no deep-learning framework is imported)."""
    info = gpu.info() if gpu is not None else None
    return {
        "frameduel": __version__,
        "hostname": platform.node(),
        "os": f"{platform.system()} {platform.release()}",
        "cpu": _cpu_model(),
        "cpu_count_logical": psutil.cpu_count(logical=True),
        "cpu_count_physical": psutil.cpu_count(logical=False),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": sys.version.split()[0],
        "gpu": None
        if info is None
        else {"name": info.name, "memory_mib": info.memory_total_mib, "driver": info.driver},
        "gpu_status": gpu.status if gpu is not None else "not probed",
        "cuda_visible_devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
    }
