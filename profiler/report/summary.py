"""The one summary of a session that every surface shows: the CLI's end table, the JSON, the PDF's
first page and the window's Runs table, Summary, Compare dialog and History.

``summarize(stored)`` is a pure function of a stored session, finished or still running (the
store is written as data arrives, so a live session's data so far reads the same way). It is
built on the report model (``build_report``), so a name means one thing everywhere:

- steps/s and samples/s: the median over the used measure windows (steady, undisturbed);
- time to first step: launch of the child to the end of its first training step;
- mean CPU: the mean of the process tree's CPU samples inside the measure phase;
- a framework's value: the median over its finished (``ok``) runs' windows (speed) or runs.

Ratios come with the report's 95% interval and significance (``profiler.stats.compare_runs``,
the run being the unit); runs that are not ``ok`` are listed but never compared. Numbers are
formatted once, by ``format_figure`` (the report's ``fmt``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from profiler.quality import BUSY_MACHINE_WARNING
from profiler.report.compare import Comparison, compare
from profiler.report.figures import (
    FIGURES,
    FIGURES_BY_KEY,
    RUN_FIGURE_ATTRS,
    WINDOW_FIGURES,
    Figure,
    format_figure,
    ratio_text,
)
from profiler.report.formatting import MISSING, fmt_ci, fmt_p, run_header
from profiler.report.model import Report, RunSummary, build_report
from profiler.report.verdicts import (
    PAGE_FAULTS_PER_STEP_NOTE,
    quality_notes,
    run_quality,
    unknown_spread,
)
from profiler.stats import CONFIDENCE
from profiler.store import StoredSession

__all__ = [
    "FIGURES",
    "FIGURES_BY_KEY",
    "Figure",
    "RatioCell",
    "RunFigures",
    "SessionSummary",
    "format_figure",
    "ratio_cell",
    "ratio_text",
    "summarize",
    "summary_of",
]


@dataclass(frozen=True)
class RunFigures:
    """One run's figures (None where unknown) and its measurement-quality notes.

    ``windows`` holds the per-window values of the used measure windows for the speed figures
    (``steps_per_s``, ``samples_per_s``, ``step_time_ms``), from which ratios and their
    intervals are computed.
    """

    run_id: int
    seq: int
    repeat: int
    framework: str
    status: str
    error: str | None
    values: dict[str, float | None]
    windows: dict[str, tuple[float, ...]]
    warnings: tuple[str, ...]
    windows_used: int
    windows_total: int
    busy: bool = False
    params: int | None = None  # the model's trainable parameters, as the child counted them
    # the warnings in a few words each ("busy machine", "drifting"), for a narrow column
    tags: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the run finished ok (only such runs are compared)."""
        return self.status == "ok"

    def value(self, key: str) -> float | None:
        """The figure ``key`` of this run (None when unknown)."""
        return self.values.get(key)

    def groups(self, key: str) -> np.ndarray:
        """The values ``compare`` takes for this run: its windows' values for a speed figure,
        else its one value (empty when unknown)."""
        if key in WINDOW_FIGURES:
            return np.array(self.windows.get(key, ()), dtype=float)
        value = self.values.get(key)
        return np.array([value] if value is not None else [], dtype=float)


@dataclass(frozen=True)
class RatioCell:
    """A ratio as shown: its text (``1.31× [1.27–1.35]``), the state that colours it and a
    sentence for the tooltip.

    ``state``: ``better`` or ``worse`` (significant, the interval excludes 1), ``same`` (no
    significant difference), ``unknown`` (one run on a side: run-to-run variation unknown),
    ``busy`` (significant, but a compared run's figures describe a busy machine: other processes
    took CPU in most of its windows), ``none`` (cannot compare, or the figure has no ratio).
    Only ``better``/``worse`` are coloured.
    """

    text: str
    state: str
    tip: str
    ratio: float | None = None


@dataclass(frozen=True)
class SessionSummary:
    """Every figure of a session: per run, per framework (the median over its ok runs; while
    none has finished, over its running ones, listed in ``live``), the
    ratios between frameworks, the measurement-quality warnings (``(who, note)``) and the runs
    that did not finish ok (``unfinished``: ``(who, what happened)``; shown, never compared)."""

    session_id: int
    status: str
    frameworks: tuple[str, ...]
    runs: tuple[RunFigures, ...]
    per_framework: dict[str, dict[str, float | None]]
    warnings: tuple[tuple[str, str], ...]
    has_gpu: bool
    unfinished: tuple[tuple[str, str], ...] = ()
    # frameworks whose values come from runs still running (none finished ok yet)
    live: frozenset[str] = frozenset()
    # the level the report computes its intervals at (Report.confidence)
    confidence: float = CONFIDENCE

    def figures(self) -> tuple[Figure, ...]:
        """The rows to show: GPU figures only when some run has a GPU value."""
        return tuple(f for f in FIGURES if self.has_gpu or not f.gpu)

    def run(self, run_id: int) -> RunFigures | None:
        """One run's figures by run id."""
        return next((r for r in self.runs if r.run_id == run_id), None)

    def value(self, framework: str, key: str) -> float | None:
        """A framework's figure (median over its ok runs); None when unknown."""
        return self.per_framework.get(framework, {}).get(key)

    def params(self, framework: str) -> int | None:
        """The model's parameter count in ``framework`` (its first run that reported one)."""
        runs = [r for r in self.runs if r.framework == framework and r.params is not None]
        return next((r.params for r in sorted(runs, key=lambda r: not r.ok)), None)

    def ratio(self, key: str, baseline: str, other: str) -> RatioCell:
        """``other`` against ``baseline`` on figure ``key`` over their ok runs."""
        return ratio_cell(
            key,
            [r for r in self.runs if r.framework == baseline],
            [r for r in self.runs if r.framework == other],
            baseline,
            other,
            confidence=self.confidence,
        )


def comparison_of(
    key: str,
    base_runs: Sequence[RunFigures],
    other_runs: Sequence[RunFigures],
    baseline: str = "baseline",
    other: str = "other",
    *,
    confidence: float = CONFIDENCE,
) -> Comparison:
    """The report's comparison (ratio, 95% interval, p-value) of two sets of runs, at the level
    ``confidence`` (``Report.confidence``); runs that are not ok are left out."""
    return compare(
        key,
        baseline,
        other,
        [r.groups(key) for r in base_runs if r.ok],
        [r.groups(key) for r in other_runs if r.ok],
        confidence=confidence,
    )


def ratio_cell(
    key: str,
    base_runs: Sequence[RunFigures],
    other_runs: Sequence[RunFigures],
    baseline: str = "the baseline",
    other: str = "this",
    *,
    confidence: float = CONFIDENCE,
) -> RatioCell:
    """How the ratio of ``other_runs`` to ``base_runs`` on figure ``key`` reads and colours."""
    figure = FIGURES_BY_KEY[key]
    if not figure.ratio:
        return RatioCell("", "none", f"{figure.label} gets no ratio: it has no interval")
    if not any(r.ok for r in base_runs) or not any(r.ok for r in other_runs):
        return RatioCell(MISSING, "none", "Cannot compare: a side has no finished (ok) run")
    c = comparison_of(key, base_runs, other_runs, baseline, other, confidence=confidence)
    if c.ratio is None or c.ratio <= 0:
        return RatioCell(MISSING, "none", "Cannot compare: no usable values")
    text = ratio_text(c.ratio, c.ci95)
    runs = f"{c.n_repeats_other} vs {c.n_repeats_baseline} runs"
    if c.significant is None:
        within = fmt_ci(c.within_ci95)
        seen = f"; their windows alone: {within}" if within else ""
        why = unknown_spread(c) or "too few values to judge"
        tip = f"In these runs{seen}. {why[0].upper()}{why[1:]}."
        return RatioCell(text, "unknown", tip, c.ratio)
    p = fmt_p(c.p_value)
    if c.significant is False:
        tip = f"No significant difference ({runs}{', ' + p if p else ''})."
        return RatioCell(text, "same", tip, c.ratio)
    if not figure.better:
        return RatioCell(text, "none", f"Significant ({runs}, {p}); neither is better.", c.ratio)
    busy = [r for r in (*base_runs, *other_runs) if r.ok and r.busy]
    if busy:
        return RatioCell(
            text,
            "busy",
            f"Significant in these runs ({runs}, {p}), but other processes took CPU during most "
            "of the measured windows of a compared run: the figures describe a busy machine. "
            "Close other programs and run again.",
            c.ratio,
        )
    higher = c.ratio > 1.0
    state = "better" if higher == (figure.better == "higher") else "worse"
    tip = f"{other} is significantly {state} than {baseline} ({runs}, {p})."
    return RatioCell(text, state, tip, c.ratio)


def _run_figures(run: RunSummary, report: Report) -> RunFigures:
    series = next(s for s in report.series if s.run_id == run.run_id)
    used = series.window_used
    steps_per_s = 1000.0 / series.step_time_ms[used]
    windows = {
        "steps_per_s": tuple(float(v) for v in steps_per_s),
        "samples_per_s": tuple(float(v) for v in series.samples_per_s[used]),
        "step_time_ms": tuple(float(v) for v in series.step_time_ms[used]),
    }
    values: dict[str, float | None] = {
        "steps_per_s": run.steps_per_s,
        "samples_per_s": run.samples_per_s,
        "step_time_ms": run.step_time_ms.median,
        "step_time_p95_ms": run.step_time_ms.p95,
    }
    values.update({key: getattr(run, attr) for key, attr in RUN_FIGURE_ATTRS.items()})
    return RunFigures(
        run_id=run.run_id,
        seq=run.seq,
        repeat=run.repeat,
        framework=run.framework,
        status=run.status,
        error=run.error,
        values=values,
        windows=windows,
        warnings=tuple(run_quality(run)),
        windows_used=run.drift.windows_used,
        windows_total=run.drift.windows_total,
        busy=_busy(run),
        params=run.params,
        tags=_tags(run),
    )


# The parent's warnings in a few words, by how each begins (see ``profiler.quality``).
_WARNING_TAGS: tuple[tuple[str, str], ...] = (
    (BUSY_MACHINE_WARNING, "busy machine"),
    ("other processes were using the GPU", "GPU shared"),
    ("the GPU was throttled", "GPU throttled"),
    ("the GPU has no energy counter", "energy integrated"),
    ("power sampled at", "power sampled coarsely"),
)


def _tags(run: RunSummary) -> tuple[str, ...]:
    """Each measurement-quality note of ``run_quality`` in a few words, in the same order."""
    tags = []
    for warning in run.warnings:
        tag = next((t for prefix, t in _WARNING_TAGS if warning.startswith(prefix)), None)
        if tag is None and "bad line" in warning:
            tag = "bad event lines"
        tags.append(tag or " ".join(warning.split()[:3]) + "…")
    d = run.drift
    if d.windows_disturbed:
        tags.append(
            f"{d.windows_disturbed} disturbed windows left out"
            if d.disturbed_left_out
            else "busy machine"
        )
    if d.large_cut:
        tags.append("settled late")
    elif run.steady_state is False:
        tags.append("drifting")
    elif run.steady_state and d.windows_excluded:
        tags.append(f"{d.windows_excluded} settling windows left out")
    elif run.steady_state is None and run.status == "ok" and d.windows_total:
        tags.append("too few windows")
    faults = run.minor_faults_per_step
    if faults is not None and faults > PAGE_FAULTS_PER_STEP_NOTE:
        tags.append("page faults")
    return tuple(dict.fromkeys(tags))


def _busy(run: RunSummary) -> bool:
    """Whether the run's figures describe a busy machine: its disturbed windows were too many
    to leave out, or the parent saw other processes take CPU over the whole run."""
    d = run.drift
    disturbed = d.windows_disturbed > 0 and not d.disturbed_left_out
    return disturbed or any(w.startswith(BUSY_MACHINE_WARNING) for w in run.warnings)


def _median(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.median(known)) if known else None


def _live_values(runs: Sequence[RunFigures]) -> dict[str, float | None]:
    """A framework's values while its runs are still running: the median over them (shown so
    the window is live; never compared)."""
    out: dict[str, float | None] = {}
    for figure in FIGURES:
        if figure.key in WINDOW_FIGURES:
            pooled = [v for r in runs for v in r.windows.get(figure.key, ())]
            out[figure.key] = _median(pooled)
        else:
            out[figure.key] = _median([r.value(figure.key) for r in runs])
    return out


def _framework_values(report: Report, framework: str) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    ok = [r for r in report.runs if r.framework == framework and r.status == "ok"]
    for figure in FIGURES:
        if figure.key == "step_time_p95_ms":
            stats = report.stats_of("step_time_ms", framework)
            out[figure.key] = stats.p95 if stats else None
        elif figure.key == "loss_last":
            out[figure.key] = _median([r.loss_last for r in ok])
        else:
            stats = report.stats_of(figure.key, framework)
            out[figure.key] = stats.median if stats else None
    return out


def summary_of(report: Report) -> SessionSummary:
    """The summary of a built report (see ``summarize``)."""
    runs = tuple(_run_figures(r, report) for r in report.runs)
    per_framework = {fw: _framework_values(report, fw) for fw in report.frameworks}
    live = []
    for fw in report.frameworks:
        mine = [r for r in runs if r.framework == fw]
        running = [r for r in mine if r.status == "running"]
        if running and not any(r.ok for r in mine):
            per_framework[fw] = _live_values(running)
            live.append(fw)
    return SessionSummary(
        session_id=report.generated_from.id,
        status=report.generated_from.status,
        frameworks=report.frameworks,
        runs=runs,
        per_framework=per_framework,
        live=frozenset(live),
        warnings=tuple(quality_notes(report)),
        has_gpu=report.has_gpu,
        confidence=report.confidence,
        unfinished=tuple(
            (run_header(report, r), _unfinished(r))
            for r in report.runs
            if r.status not in ("ok", "running", "pending")
        ),
    )


def _unfinished(run: RunSummary) -> str:
    what = (run.error or "").strip().splitlines()
    return f"did not finish ({run.status}{': ' + what[0] if what else ''}): shown, not compared"


def summarize(stored: StoredSession) -> SessionSummary:
    """The summary of a stored session, finished or still running."""
    return summary_of(build_report(stored))
