"""What the window shows, in one place: the plotted series and the phases, each with the words
and unit its tooltip explains (the summary's figures are ``profiler.report.summary.FIGURES``)."""

from __future__ import annotations

from dataclasses import dataclass

from profiler.events import PHASES  # noqa: F401  (the one vocabulary, re-exported)


@dataclass(frozen=True)
class SeriesSpec:
    """One plotted quantity: its key, title, unit, where it comes from and what it means.

    ``source`` is ``windows`` (reported by the child per timing window) or ``samples``
    (measured by FrameDuel from outside, over the run's whole process tree).
    """

    key: str
    title: str
    unit: str
    source: str
    tip: str
    gpu: bool = False

    @property
    def label(self) -> str:
        """The title with its unit, as plots and menus show it."""
        return f"{self.title} ({self.unit})" if self.unit else self.title


SERIES: tuple[SeriesSpec, ...] = (
    SeriesSpec(
        "samples_per_s",
        "Throughput",
        "samples/s",
        "windows",
        "Training samples processed per second, per timing window (samples/s). Higher is faster. "
        "The compile phase's single step is left out (its length is the compile phase's).",
    ),
    SeriesSpec(
        "step_time_ms",
        "Step time",
        "ms",
        "windows",
        "Mean time of one training step (forward, backward, optimizer update) in each timing "
        "window, in milliseconds; the device is synchronised at window ends. Lower is faster. "
        "The compile phase's single step is left out (its length is the compile phase's).",
    ),
    SeriesSpec(
        "loss",
        "Training loss",
        "",
        "windows",
        "The training loss at the end of each timing window (unitless). Same model, same "
        "initial weights and data: the frameworks' curves should fall alike.",
    ),
    SeriesSpec(
        "cpu_percent",
        "Process CPU",
        "%",
        "samples",
        "CPU used by the run's whole process tree, in percent of one core (200% = two cores "
        "busy), sampled from outside.",
    ),
    SeriesSpec(
        "rss_mib",
        "Process RSS",
        "MiB",
        "samples",
        "Resident memory of the run's whole process tree, in MiB (1 MiB = 2^20 bytes).",
    ),
    SeriesSpec(
        "threads",
        "Process threads",
        "",
        "samples",
        "Number of threads in the run's process tree (a count).",
    ),
    SeriesSpec(
        "gpu_util_percent",
        "GPU utilisation",
        "%",
        "samples",
        "Share of time the GPU was executing kernels, in percent (NVML), over the sample period.",
        gpu=True,
    ),
    SeriesSpec(
        "gpu_mem_mib",
        "GPU memory",
        "MiB",
        "samples",
        "GPU memory used by the run's processes, in MiB (NVML).",
        gpu=True,
    ),
    SeriesSpec(
        "gpu_power_w",
        "GPU power",
        "W",
        "samples",
        "Power drawn by the whole GPU board, in watts (NVML).",
        gpu=True,
    ),
)
SERIES_BY_KEY: dict[str, SeriesSpec] = {s.key: s for s in SERIES}


# Neutral shades, so no phase is mistaken for a framework's colour.
PHASE_COLORS: dict[str, str] = {
    "import": "#9AA5B1",
    "build": "#B8A07E",
    "compile": "#A38BC2",
    "warmup": "#E0C35A",
    "measure": "#7FB77E",
    "trace": "#8FA9C7",
}
PHASE_TIPS: dict[str, str] = {
    "import": "importing the framework in the child process",
    "build": "building the model and its optimizer",
    "compile": "the framework's compiler tracing and compiling the step",
    "warmup": "warm-up steps, not measured",
    "measure": "measured steps: every statistic comes from here",
    "trace": "a few steps under the framework's own profiler, after measuring: never measured",
}
