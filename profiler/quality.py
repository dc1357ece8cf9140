"""Measurement-quality warnings: what in a run's samples makes its numbers less trustworthy."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from profiler.nvml import throttle_words
from profiler.sampler import Sample

# Other processes using more than this much CPU (percent of one core, on average) spoil a run.
BUSY_MACHINE_PERCENT = 25.0
# How the busy-machine warning begins (the summary model recognises it by this).
BUSY_MACHINE_WARNING = "other processes used"
# NVML refreshes board power about every 100 ms or more slowly: integrate it only above 5 Hz.
MIN_POWER_HZ = 5.0


@dataclass
class QualityTracker:
    """Accumulates samples of one run and says what went wrong with the measurement."""

    sample_hz: float
    _cpu_n: int = 0
    _machine_cpu_sum: float = 0.0
    _tree_cpu_sum: float = 0.0
    _power_seen: bool = False
    _energy_seen: bool = False
    _throttle: set[str] = field(default_factory=set)
    _other_gpu_pids: set[int] = field(default_factory=set)

    def add(self, s: Sample) -> None:
        """Take one sample into account."""
        if s.cpu_per_core and not math.isnan(s.cpu_percent):
            # Summed, not clamped per sample: the tree's CPU can be credited a little late
            # (children seen only when reaped), so one sample's difference means nothing.
            self._cpu_n += 1
            self._machine_cpu_sum += sum(s.cpu_per_core)
            self._tree_cpu_sum += s.cpu_percent
        self._power_seen |= not math.isnan(s.gpu_power_w)
        self._energy_seen |= not math.isnan(s.gpu_energy_j)
        self._throttle.update(throttle_words(s.gpu_throttle_reasons))
        self._other_gpu_pids.update(s.gpu_other_pids)

    def warnings(self) -> list[str]:
        """Plain-words warnings, empty when nothing was noticed."""
        out: list[str] = []
        if self._cpu_n:
            other = max(0.0, self._machine_cpu_sum - self._tree_cpu_sum) / self._cpu_n
            if other > BUSY_MACHINE_PERCENT:
                out.append(busy_machine_warning(other))
        if self._other_gpu_pids:
            pids = ", ".join(map(str, sorted(self._other_gpu_pids)))
            out.append(f"other processes were using the GPU during the run (pids {pids})")
        if self._throttle:
            out.append(throttle_warning(self._throttle))
        if self._power_seen and not self._energy_seen:
            out.append("the GPU has no energy counter: energy is integrated from sampled power")
        if self._power_seen and self.sample_hz < MIN_POWER_HZ:
            out.append(
                f"power sampled at {self.sample_hz:g} Hz is too coarse for energy figures; "
                f"use run.sample_hz >= {MIN_POWER_HZ:g}"
            )
        return out


def busy_machine_warning(other_percent: float) -> str:
    """The warning for other processes' mean CPU (percent of one core) above the limit."""
    return (
        f"{BUSY_MACHINE_WARNING} {other_percent:.0f}% CPU (of one core) on average during the "
        "run; close them and run again for trustworthy numbers"
    )


def throttle_warning(reasons: set[str]) -> str:
    """The warning for the GPU throttle reasons seen."""
    return f"the GPU was throttled: {', '.join(sorted(reasons))}"
