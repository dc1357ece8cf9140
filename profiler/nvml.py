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
    """One GPU sample; NaN where NVML could not say.

    ``energy_j`` is the board's total-energy counter (since the driver loaded), NaN on cards
    without one; ``throttle_reasons`` is NVML's clocks-event bitmask (0 = running free).
    """

    util_percent: float = NAN
    mem_mib: float = NAN
    power_w: float = NAN
    temp_c: float = NAN
    sm_clock_mhz: float = NAN
    energy_j: float = NAN
    throttle_reasons: float = NAN
    other_pids: tuple[int, ...] = ()


# Throttle reasons that mean the measurement is being slowed by the hardware, not by idling.
_IDLE_OR_APP_CLOCKS = 0x1 | 0x2
THROTTLE_NAMES: dict[int, str] = {
    0x4: "software power cap",
    0x8: "hardware slowdown",
    0x10: "sync boost",
    0x20: "software thermal slowdown",
    0x40: "hardware thermal slowdown",
    0x80: "hardware power brake",
    0x100: "display clock setting",
}


def throttle_words(mask: float) -> list[str]:
    """Names of the hardware throttle reasons set in an NVML bitmask (idle is not one)."""
    if math.isnan(mask):
        return []
    bits = int(mask) & ~_IDLE_OR_APP_CLOCKS
    return [name for bit, name in THROTTLE_NAMES.items() if bits & bit]


@dataclass(frozen=True)
class GpuInfo:
    """A GPU as NVML names it."""

    index: int
    name: str
    memory_total_mib: float
    driver: str


def device_index(device: str) -> int:
    """The CUDA index a device string names ('cuda:1' -> 1; others -> 0)."""
    return int(device.split(":", 1)[1]) if device.startswith("cuda:") else 0


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
        name = self._call("nvmlDeviceGetName", self._handle)
        mem = self._call("nvmlDeviceGetMemoryInfo", self._handle)
        driver = self._call("nvmlSystemGetDriverVersion")
        return GpuInfo(
            index=self.device_index,
            name=_text(name) if name is not None else "unknown GPU",
            memory_total_mib=float(mem.total) / 2**20 if mem is not None else NAN,
            driver=_text(driver) if driver is not None else "unknown",
        )

    def free_memory_bytes(self) -> int | None:
        """Memory not yet allocated on the GPU, in bytes; None without a GPU or an answer."""
        if self._handle is None:
            return None
        mem = self._call("nvmlDeviceGetMemoryInfo", self._handle)
        free = getattr(mem, "free", None)
        return free if isinstance(free, int) else None

    def read(self, pids: set[int]) -> GpuReading:
        """Utilisation (device), memory used by ``pids`` (MiB) and power (W)."""
        if self._handle is None:
            return GpuReading()
        nvml, h = self._nvml, self._handle
        util = self._call("nvmlDeviceGetUtilizationRates", h)
        power_mw = self._call("nvmlDeviceGetPowerUsage", h)
        temp = self._call("nvmlDeviceGetTemperature", h, getattr(nvml, "NVML_TEMPERATURE_GPU", 0))
        clock = self._call("nvmlDeviceGetClockInfo", h, getattr(nvml, "NVML_CLOCK_SM", 1))
        energy_mj = self._call("nvmlDeviceGetTotalEnergyConsumption", h)
        throttle = self._call("nvmlDeviceGetCurrentClocksThrottleReasons", h)
        mem_mib, others = self._process_memory(pids)
        return GpuReading(
            util_percent=_num(util.gpu if util is not None else None),
            mem_mib=mem_mib,
            power_w=_num(power_mw, 1e-3),
            temp_c=_num(temp),
            sm_clock_mhz=_num(clock),
            energy_j=_num(energy_mj, 1e-3),
            throttle_reasons=_num(throttle),
            other_pids=others,
        )

    def _process_memory(self, pids: set[int]) -> tuple[float, tuple[int, ...]]:
        """Memory used by ``pids`` (MiB) and the pids of other processes on this GPU."""
        procs = self._call("nvmlDeviceGetComputeRunningProcesses", self._handle)
        if procs is None:
            return NAN, ()
        # A process can be listed more than once (compute + graphics contexts): count it once.
        used: dict[int, int] = {}
        others: set[int] = set()
        for p in procs:
            mem = getattr(p, "usedGpuMemory", None)
            if p.pid not in pids:
                others.add(int(p.pid))
            elif isinstance(mem, int):
                used[p.pid] = max(used.get(p.pid, 0), mem)
        return (sum(used.values()) / 2**20 if used else 0.0), tuple(sorted(others))

    def _call(self, name: str, *args: Any) -> Any:
        """Call an NVML function; None when it is missing, unsupported or fails."""
        try:
            return getattr(self._nvml, name)(*args)
        except Exception:
            return None

    def close(self) -> None:
        """Release NVML."""
        if self._nvml is not None:
            self._call("nvmlShutdown")
            self._nvml = None
            self._handle = None


def _num(value: Any, scale: float = 1.0) -> float:
    return float(value) * scale if isinstance(value, int | float) else NAN


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
