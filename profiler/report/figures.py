"""The figures a session summary shows, and how every surface formats them.

One row per figure (``FIGURES``): its key in ``profiler.report.summary``, label, unit, which way
is better and what it means. ``format_figure`` and ``ratio_text`` are the one way numbers and
ratios read, in the CLI's end table, the window and the PDF's summary.
"""

from __future__ import annotations

from dataclasses import dataclass

from profiler.report.formatting import fmt


@dataclass(frozen=True)
class Figure:
    """One summary row: its key, label, unit, which way is better and its meaning.

    ``better`` is ``higher``, ``lower`` or empty (neither: never coloured). ``ratio`` False: the
    figure gets no ratio (a tail or a last value has no interval to judge a ratio by).
    """

    key: str
    label: str
    unit: str
    better: str
    tip: str
    gpu: bool = False
    ratio: bool = True

    @property
    def title(self) -> str:
        """The label with its unit in brackets."""
        return f"{self.label} ({self.unit})" if self.unit else self.label


FIGURES: tuple[Figure, ...] = (
    Figure(
        "steps_per_s",
        "Training speed",
        "steps/s",
        "higher",
        "Training steps per second: the median over the used measure windows (steady, not "
        "disturbed by other processes); per framework, over its finished runs' windows.",
    ),
    Figure(
        "samples_per_s",
        "Throughput",
        "samples/s",
        "higher",
        "Training samples per second: the median over the used measure windows.",
    ),
    Figure(
        "step_time_ms",
        "Step time, median",
        "ms",
        "lower",
        "Median time of one training step over the used measure windows, in milliseconds.",
    ),
    Figure(
        "step_time_p95_ms",
        "Step time, p95",
        "ms",
        "lower",
        "95th percentile of the used measure windows' step time, in milliseconds: the slow tail.",
        ratio=False,
    ),
    Figure(
        "first_step_s",
        "Time to first step",
        "s",
        "lower",
        "Seconds from launching the run's process to the end of its first training step "
        "(interpreter, import, build, compile and the first step).",
    ),
    Figure(
        "cpu_percent_mean",
        "Mean CPU",
        "%",
        "",
        "Mean CPU of the run's process tree during the measure phase, in percent of one core "
        "(200% = two cores busy).",
    ),
    Figure(
        "rss_peak_mib",
        "Peak RSS",
        "MiB",
        "lower",
        "Highest resident memory of the run's process tree, in MiB.",
    ),
    Figure(
        "loss_last",
        "Last loss",
        "",
        "",
        "The last training loss reported (unitless).",
        ratio=False,
    ),
    Figure(
        "gpu_util_percent_mean",
        "Mean GPU utilisation",
        "%",
        "",
        "Mean GPU utilisation during the measure phase, in percent.",
        gpu=True,
    ),
    Figure(
        "gpu_mem_peak_mib",
        "Peak GPU memory",
        "MiB",
        "lower",
        "Highest GPU memory used by the run's processes, in MiB.",
        gpu=True,
    ),
    Figure(
        "gpu_power_w_mean",
        "Mean GPU power",
        "W",
        "lower",
        "Mean board power during the measure phase, in watts.",
        gpu=True,
    ),
)
FIGURES_BY_KEY: dict[str, Figure] = {f.key: f for f in FIGURES}
# Figures whose values are per window (pooled over a framework's runs), not one per run.
WINDOW_FIGURES = frozenset({"steps_per_s", "samples_per_s", "step_time_ms"})
# Figures taken as they are from the per-run summary (RunSummary attribute names).
RUN_FIGURE_ATTRS: dict[str, str] = {
    "first_step_s": "first_step_s",
    "cpu_percent_mean": "cpu_percent_mean",
    "rss_peak_mib": "rss_peak_mib",
    "loss_last": "loss_last",
    "gpu_util_percent_mean": "gpu_util_percent_mean",
    "gpu_mem_peak_mib": "gpu_mem_peak_mib",
    "gpu_power_w_mean": "gpu_power_w_mean",
}


def format_figure(value: float | int | None) -> str:
    """A figure as every surface shows it: about three significant digits, thousands
    separated, an em dash when missing (the report's ``fmt``)."""
    return fmt(value)


def _ratio_number(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def ratio_text(ratio: float, ci95: tuple[float, float] | None) -> str:
    """A ratio with its 95% interval as every surface shows it: ``1.31× [1.27–1.35]``; two
    decimals below 10, one below 100, none above (``160× [153–167]``)."""
    text = f"{_ratio_number(ratio)}×"
    if ci95 is not None:
        text += f" [{_ratio_number(ci95[0])}–{_ratio_number(ci95[1])}]"
    return text
