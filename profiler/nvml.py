"""GPU metrics through NVML (nvidia-ml-py), behind one small class that never raises.

Every query falls back to "not available" (NaN) instead of raising, as nvitop does. The NVML
module is injected, so tests can pass a fake *at the NVML boundary* (same function names as
``pynvml``) where no NVIDIA GPU exists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType
from typing import Any

NAN = math.nan


@dataclass(frozen=True)
class GpuReading:
    """One GPU sample; NaN where NVML could not say."""

    util_percent: float = NAN
    mem_mib: float = NAN
    power_w: float = NAN


@dataclass(frozen=True)
class GpuInfo:
    """A GPU as NVML names it."""

    index: int
    name: str
    memory_total_mib: float
    driver: str


def _load_pynvml() -> ModuleType | None:
    try:
        import pynvml
    except ImportError:
        return None
    module: ModuleType = pynvml
    return module


class GpuMonitor:
    """Reads one GPU's utilisation, the given processes' memory and the board power."""

    def __init__(self, device_index: int = 0, nvml: Any = None) -> None:
        self.device_index = device_index
        self._nvml: Any = nvml if nvml is not None else _load_pynvml()
        self._handle: Any = None
        self.status = "no NVIDIA GPU: nvidia-ml-py is not installed"
        if self._nvml is None:
            return
        try:
            self._nvml.nvmlInit()
        except Exception as exc:
            self.status = f"no NVIDIA GPU: NVML unavailable ({_reason(exc)})"
            self._nvml = None
            return
        try:
            count = int(self._nvml.nvmlDeviceGetCount())
            if count <= device_index:
                self.status = f"no NVIDIA GPU at index {device_index} (NVML sees {count})"
                return
            self._handle = self._nvml.nvmlDeviceGetHandleByIndex(device_index)
            info = self.info()
            self.status = f"NVIDIA GPU {device_index}: {info.name if info else 'unknown'}"
        except Exception as exc:
            self.status = f"no NVIDIA GPU: {_reason(exc)}"

    @property
    def available(self) -> bool:
        """True when a GPU handle was obtained."""
        return self._handle is not None

    def info(self) -> GpuInfo | None:
        """The GPU's name, memory and driver, or None without a GPU."""
        if self._handle is None:
            return None
        name = self._try(self._nvml.nvmlDeviceGetName, self._handle)
        mem = self._try(self._nvml.nvmlDeviceGetMemoryInfo, self._handle)
        driver = self._try(self._nvml.nvmlSystemGetDriverVersion)
        return GpuInfo(
            index=self.device_index,
            name=_text(name) if name is not None else "unknown GPU",
            memory_total_mib=float(mem.total) / 2**20 if mem is not None else NAN,
            driver=_text(driver) if driver is not None else "unknown",
        )

    def read(self, pids: set[int]) -> GpuReading:
        """Utilisation (device), memory used by ``pids`` (MiB) and power (W)."""
        if self._handle is None:
            return GpuReading()
        util = self._try(self._nvml.nvmlDeviceGetUtilizationRates, self._handle)
        power_mw = self._try(self._nvml.nvmlDeviceGetPowerUsage, self._handle)
        return GpuReading(
            util_percent=float(util.gpu) if util is not None else NAN,
            mem_mib=self._process_memory_mib(pids),
            power_w=float(power_mw) / 1000.0 if power_mw is not None else NAN,
        )

    def _process_memory_mib(self, pids: set[int]) -> float:
        procs = self._try(self._nvml.nvmlDeviceGetComputeRunningProcesses, self._handle)
        if procs is None:
            return NAN
        # A process can be listed more than once (compute + graphics contexts): count it once.
        used: dict[int, int] = {}
        for p in procs:
            mem = getattr(p, "usedGpuMemory", None)
            if p.pid in pids and isinstance(mem, int):
                used[p.pid] = max(used.get(p.pid, 0), mem)
        return sum(used.values()) / 2**20 if used else 0.0

    def _try(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except Exception:
            return None

    def close(self) -> None:
        """Release NVML."""
        if self._nvml is not None:
            self._try(self._nvml.nvmlShutdown)
            self._nvml = None
            self._handle = None


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
