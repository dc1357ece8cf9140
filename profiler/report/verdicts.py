"""The sentences a report opens with: verdicts per key metric, measurement quality, fairness.

Plain strings from a Report, shared by the PDF and HTML renderers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from profiler.colors import label_of
from profiler.repeats import CERTAIN
from profiler.report.audit import AuditRow
from profiler.report.events import DISTURBED_CPU_PERCENT, MAX_QUIET_SHARE
from profiler.report.formatting import fmt, fmt_ci, fmt_p, fmt_setting, run_header
from profiler.report.model import Comparison, Report, RunSummary

# Above this many minor page faults per step, the allocator is churning memory every step (a
# steady loop on a warmed-up allocator takes about none: 0.5 per step in FrameDuel's workers).
PAGE_FAULTS_PER_STEP_NOTE = 100.0

TOPIC = {
    "steps_per_s": "Training speed",
    "step_time_ms": "Step time",
    "rss_peak_mib": "Peak memory (RSS)",
    "gpu_mem_peak_mib": "Peak GPU memory",
    "first_step_s": "Time to first step",
    "energy_per_1k_samples_j": "GPU energy per 1,000 samples",
}
UNIT = {
    "steps_per_s": "steps/s",
    "step_time_ms": "ms",
    "rss_peak_mib": "MiB",
    "gpu_mem_peak_mib": "MiB",
    "first_step_s": "s",
    "energy_per_1k_samples_j": "J",
}
# Metrics with a verdict sentence on page one (step time is throughput's reciprocal: it gets a
# row in the comparisons table instead).
KEY_METRICS = (
    "steps_per_s",
    "rss_peak_mib",
    "gpu_mem_peak_mib",
    "first_step_s",
    "energy_per_1k_samples_j",
)
# "PyTorch uses 0.58x the peak memory of TensorFlow": what the smaller one "uses".
_USES = {
    "rss_peak_mib": "the peak memory (RSS)",
    "gpu_mem_peak_mib": "the peak GPU memory",
    "energy_per_1k_samples_j": "the GPU energy per 1,000 samples",
}


@dataclass(frozen=True)
class Verdict:
    """One sentence; ``warning`` marks a failed run, failed parity or an unfair setting."""

    text: str
    warning: bool = False


def why_uncomparable(c: Comparison) -> str:
    """Why a comparison has no ratio."""
    pairs = ((c.baseline, c.n_baseline), (c.other, c.n_other))
    missing = [label_of(fw) for fw, n in pairs if n == 0]
    return f"no finished run of {' or '.join(missing)}" if missing else "no usable values"


def _stats_text(c: Comparison) -> str:
    ci = fmt_ci(c.ci95)
    return ", ".join(
        s for s in (f"ratio {c.ratio:.2f}{' ' + ci if ci else ''}", fmt_p(c.p_value)) if s
    )


def _turned(interval: tuple[float, float] | None, flip: bool) -> tuple[float, float] | None:
    return None if interval is None or not flip else (1.0 / interval[1], 1.0 / interval[0])


def winner(c: Comparison) -> tuple[str, str, float, tuple[float, float] | None]:
    """(better framework, worse one, the better's factor >= 1, its interval turned alike)."""
    assert c.ratio is not None
    other_wins = c.ratio >= 1.0 if c.higher_is_better else c.ratio <= 1.0
    factor, ci95 = c.ratio, c.ci95
    if factor < 1.0:
        factor, ci95 = 1.0 / factor, _turned(ci95, True)
    return (
        (c.other, c.baseline, factor, ci95) if other_wins else (c.baseline, c.other, factor, ci95)
    )


def within_interval(c: Comparison, uses: bool = False) -> tuple[float, float] | None:
    """``c.within_ci95`` turned like the winner's factor (``uses``: as 'uses 0.58x of')."""
    interval = c.within_ci95
    if interval is not None and c.ratio is not None and c.ratio < 1.0:
        interval = _turned(interval, True)
    return _turned(interval, True) if uses else interval


SETTLE = "run repeats (run.repeats: auto) to settle it"


def unknown_spread(c: Comparison) -> str:
    """Why a comparison cannot be judged: which side ran once. Empty when it can be judged."""
    if c.significant is not None or c.ratio is None:
        return ""
    once = [label_of(fw) for fw, k in ((c.baseline, c.n_repeats_baseline),
                                        (c.other, c.n_repeats_other)) if k < 2]  # fmt: skip
    if len(once) == 2:
        who = "one run each"
    elif once:
        who = f"{once[0]} ran once"
    else:
        who = "too few values"
    return f"{who}: run-to-run variation is unknown, so no significance is claimed; {SETTLE}"


def verdict(c: Comparison, report: Report | None = None, *, caveat: bool = True) -> str:
    """One sentence on one metric, such as 'TensorFlow trains this model 1.31x faster than
    PyTorch [1.27–1.35], p < 0.001 (median 3.1 vs 4.1 ms; 5 vs 5 runs)', 'no significant
    difference', or, with one run per side, the ratio of these runs with what would settle it
    (``caveat`` False leaves that last part to a sentence shared by every metric)."""
    topic = TOPIC.get(c.metric, c.metric)
    if c.ratio is None or c.ratio <= 0:
        return f"{topic}: cannot compare, {why_uncomparable(c)}."
    if c.significant is False:
        return (
            f"{topic}: no significant difference between {label_of(c.other)} and "
            f"{label_of(c.baseline)} ({_stats_text(c)}; {c.n_repeats_other} vs "
            f"{c.n_repeats_baseline} runs)."
        )
    w, lo, factor, ci95 = winner(c)
    wv, lv = (
        (c.other_median, c.baseline_median) if w == c.other else (c.baseline_median, c.other_median)
    )
    unit = UNIT.get(c.metric, "")
    within = within_interval(c, uses=c.metric in _USES)
    if c.metric == "steps_per_s":
        text = f"{label_of(w)} trains this model {factor:.2f}x faster than {label_of(lo)}"
    elif c.metric in _USES:
        # the smaller one is the better one: say how much of the other's it uses
        text = f"{label_of(w)} uses {1 / factor:.2f}x {_USES[c.metric]} of {label_of(lo)}"
        ci95 = _turned(ci95, True)
    elif c.metric == "first_step_s":
        text = f"{label_of(w)} reaches its first step {factor:.2f}x sooner than {label_of(lo)}"
    else:
        text = f"{topic}: {label_of(w)} {factor:.2f}x better than {label_of(lo)}"
    if c.significant is None:
        text += " in these runs"
    if ci95 is not None:
        text += f" {fmt_ci(ci95)}"
    if c.p_value is not None:
        text += f", {fmt_p(c.p_value)}"
    text += f" (median {fmt(wv)} vs {fmt(lv)} {unit}"
    if c.significant is None:
        text += f"; their windows alone: {fmt_ci(within)})" if within else ")"
        text += f"; {unknown_spread(c)}" if caveat else ""
    else:
        text += f"; {c.n_repeats_other} vs {c.n_repeats_baseline} runs)"
    if report is not None and c.metric == "steps_per_s":
        text += _drifting(report, [c.baseline, c.other])
    return text + "."


_BEST = {
    "steps_per_s": ("trains this model fastest", "faster than"),
    "first_step_s": ("reaches its first step soonest", "sooner than"),
}


def _drifting(report: Report, frameworks: list[str]) -> str:
    names = [
        label_of(fw)
        for fw in frameworks
        if any(r.framework == fw and r.steady_state is False for r in report.runs)
    ]
    return f"; not a steady state: {' and '.join(names)} still drifting" if names else ""


def best_of_verdict(
    report: Report, metric: str, comps: list[Comparison], *, caveat: bool = True
) -> str:
    """One sentence on one metric across three or more frameworks, from the best one's side:
    'TensorFlow trains this model fastest: 1.25x faster than PyTorch [1.24–1.26], p < 0.001;
    no significant difference from JAX (1.01x [0.98–1.03], p = 0.41)'."""
    medians: dict[str, float] = {}
    for c in comps:
        for fw, m in ((c.baseline, c.baseline_median), (c.other, c.other_median)):
            if m is not None:
                medians[fw] = m
    higher = comps[0].higher_is_better
    best = (max if higher else min)(medians, key=lambda fw: medians[fw])
    parts, others, unjudged = [], [], ""
    for c in comps:
        if best not in (c.baseline, c.other):
            continue
        fw = c.other if c.baseline == best else c.baseline
        others.append(fw)
        _, _, factor, ci95 = winner(c)
        shown = factor
        if metric in _USES:  # the smaller one is the better one: how much of the other's
            shown, ci95 = 1 / factor, _turned(ci95, True)
        stats = ", ".join(x for x in (fmt_ci(ci95), fmt_p(c.p_value)) if x)
        if c.significant is None:
            within = within_interval(c, uses=metric in _USES)
            stats = f"(their windows alone: {fmt_ci(within)})" if within else ""
            unjudged = unjudged or f"; {unknown_spread(c)}"
        stats = f" {stats}" if stats else ""
        if c.significant is False:
            parts.append(f"no significant difference from {label_of(fw)} ({shown:.2f}x{stats})")
        elif metric in _USES:
            parts.append(f"{shown:.2f}x that of {label_of(fw)}{stats}")
        else:
            parts.append(f"{shown:.2f}x {_BEST.get(metric, ('', 'better than'))[1]} "
                         f"{label_of(fw)}{stats}")  # fmt: skip
    if metric in _USES:
        lead = f"{label_of(best)} uses the least {_USES[metric].removeprefix('the ')}"
    else:
        what = _BEST.get(metric, (f"is best on {TOPIC.get(metric, metric)}",))[0]
        lead = f"{label_of(best)} {what}"
    if unjudged:
        lead += " in these runs"
    values = " and ".join(fmt(medians[fw]) for fw in others)
    unit = UNIT.get(metric, "")
    text = f"{lead}: {'; '.join(parts)} (median {fmt(medians[best])} vs {values} {unit})"
    text += unjudged if caveat else ""
    if metric == "steps_per_s":
        text += _drifting(report, [best, *others])
    return text + "."


def parity_sentence(report: Report) -> str:
    """Whether the frameworks start from the same first-batch loss."""
    parity = report.parity
    if parity.max_rel_diff is None:
        return "Parity: not checked (fewer than two frameworks reported a first-batch loss)."
    diff = f"{parity.max_rel_diff:.1e}"
    if parity.ok:
        return f"Parity: first-batch losses agree (max relative difference {diff} < 1e-4)."
    return (
        f"Parity FAILED: first-batch losses differ by {diff} (relative, limit 1e-4); the "
        "frameworks are not training the same model, so the comparison is suspect."
    )


# What to do about a mismatch whose cause is a framework's design rather than a setting.
REMEDIES: dict[str, str] = {
    "jit_compile": (
        "JAX always compiles its step with XLA; set train.compile: true to compile PyTorch "
        "(torch.compile) and TensorFlow (XLA) too"
    ),
}


def mismatch_sentence(report: Report, row: AuditRow) -> str:
    """'Unfair setting: precision differs (PyTorch fp32, TensorFlow bf16).'"""
    parts = [f"{label_of(fw)} {fmt_setting(v)}" for fw, v in row.values.items()]
    text = f"Unfair setting: {row.key} differs ({', '.join(parts)})"
    for fw, values in row.repeat_values.items():
        shown = " / ".join(fmt_setting(v) for v in values)
        text += f"; {label_of(fw)}'s repeats disagree ({shown})"
    if row.key in REMEDIES and "jax" in row.values:
        text += f": {REMEDIES[row.key]}"
    return text + "."


def verdicts(report: Report) -> list[Verdict]:
    """Page one's sentences: key metrics per framework pair, failures, fairness, then parity."""
    out: list[Verdict] = []
    # Metrics that cannot be compared share one sentence per framework pair and reason.
    uncomparable: dict[tuple[str, str, str], list[str]] = {}
    grouped: dict[str, list[Comparison]] = {}
    for c in report.comparisons:
        if c.metric not in KEY_METRICS:
            continue
        if c.ratio is None or c.ratio <= 0:
            topic = TOPIC.get(c.metric, c.metric)
            key = (c.baseline, c.other, why_uncomparable(c))
            uncomparable.setdefault(key, []).append(topic[0].lower() + topic[1:])
        elif len(report.frameworks) > 2:  # one sentence per metric, from the best one's side
            grouped.setdefault(c.metric, []).append(c)
        else:
            out.append(Verdict(verdict(c, report, caveat=False)))
    out += [
        Verdict(best_of_verdict(report, m, comps, caveat=False)) for m, comps in grouped.items()
    ]
    # why some comparisons are not judged, said once for all of them
    unjudged = dict.fromkeys(
        unknown_spread(c)
        for c in report.comparisons
        if c.metric in KEY_METRICS and c.ratio is not None and c.ratio > 0
        and c.significant is None
    )  # fmt: skip
    out += [Verdict(text[0].upper() + text[1:] + ".") for text in unjudged]
    if report.repeats is not None and report.repeats.mode == "auto":
        out.append(Verdict(report.repeats.describe(), warning=report.repeats.reason != CERTAIN))
    for (_, _, why), topics in uncomparable.items():
        listed = ", ".join(topics[:-1]) + (" or " if len(topics) > 1 else "") + topics[-1]
        out.append(Verdict(f"Cannot compare {listed}: {why}."))
    for run in report.runs:
        if run.status != "ok":
            what = run.error or "no error text recorded"
            text = f"{run_header(report, run)} did not finish ({run.status}): {what}"
            out.append(Verdict(text, warning=True))
    for row in report.audit.mismatches:
        out.append(Verdict(mismatch_sentence(report, row), warning=True))
    loop = loop_sentence(report)
    if loop:
        out.append(Verdict(loop))
    out.append(Verdict(parity_sentence(report), warning=report.parity.ok is False))
    return out


def loop_sentence(report: Report) -> str | None:
    """Which framework trained with Keras's ``model.fit`` (``train.loop: fit``), if any."""
    fit = [
        fw
        for fw in report.frameworks
        if any(
            r.framework == fw and (r.settings or {}).get("train_loop") == "fit" for r in report.runs
        )
    ]
    if not fit:
        return None
    names = " and ".join(label_of(fw) for fw in fit)
    return (
        f"{names} trained with Keras's model.fit (train.loop: fit), the other frameworks with "
        "their own step loop: the speed figures include fit's per-step sync, callbacks and "
        "metrics, as most Keras users run it."
    )


def drift_sentence(run: RunSummary) -> str | None:
    """What the steady-state check found, when there is something to say."""
    d = run.drift
    trend = ""
    if d.change is not None and d.tau is not None:
        direction = "slowing down" if d.change > 0 else "speeding up"
        trend = (
            f"{direction}: {d.change:+.0%} from the first to the last third of the windows, "
            f"Kendall τ = {d.tau:.2f}, {fmt_p(d.p_value)}"
        )
    if d.large_cut:
        share = d.windows_excluded / d.windows_total
        return (
            f"step time was still changing for the first {d.windows_excluded} of "
            f"{d.windows_total} measure windows ({share:.0%}, more than the "
            f"{MAX_QUIET_SHARE:.0%} left out without comment; {trend}): they are left out, every "
            f"figure uses the remaining {d.windows_used}, and the run is not called steady; run "
            "a longer warmup, and check what else ran on the machine"
        )
    if run.steady_state is False:
        return (
            f"step time drifts throughout the measure phase ({trend}): its median is not a "
            "steady-state figure; run more steps or a longer warmup"
        )
    if run.steady_state and d.windows_excluded:
        return (
            f"step time was not steady at the start of the measure phase ({trend}): the first "
            f"{d.windows_excluded} of {d.windows_total} measure windows are left out of every "
            "figure; a longer warmup would avoid this"
        )
    if run.steady_state is None and run.status == "ok" and d.windows_total:
        return f"only {d.windows_total} measure windows: too few to check for a steady state"
    return None


def disturbed_sentence(run: RunSummary) -> str | None:
    """Which measure windows other processes disturbed, and what the figures do about them."""
    d = run.drift
    if not d.windows_disturbed:
        return None
    share = d.windows_disturbed / d.windows_total
    what = (
        f"{d.windows_disturbed} of {d.windows_total} measure windows ({share:.0%}) ran while "
        f"other processes took more than {DISTURBED_CPU_PERCENT:.0f}% CPU (of one core)"
    )
    if d.disturbed_left_out:
        text = f"{what}: they are left out of every figure"
        if share > MAX_QUIET_SHARE:
            text += "; that is a large share: close other programs and run again"
        return text
    return (
        f"{what}: too many to leave out, so every figure includes them and describes a busy "
        "machine; close other programs and run again for trustworthy numbers"
    )


def run_quality(run: RunSummary) -> list[str]:
    """A run's measurement-quality notes: the parent's warnings, the disturbed windows, then the
    steady-state check."""
    notes = list(run.warnings)
    notes += [n for n in (disturbed_sentence(run), drift_sentence(run)) if n]
    faults = run.minor_faults_per_step
    if faults is not None and faults > PAGE_FAULTS_PER_STEP_NOTE:
        notes.append(
            f"{faults:,.0f} minor page faults per step: the C allocator hands memory back to "
            "the system and takes it again every step, which slows steps down (see the "
            "README's 'What your own script may see')"
        )
    return notes


_PERCENT = re.compile(r"(\d+(?:\.\d+)?)%")


def quality_notes(report: Report) -> list[tuple[str, str]]:
    """(runs, note) for the measurement-quality notes of every run, in run order.

    Notes that read the same but for their percentages (other processes' CPU) are merged into
    one, with the range of the percentages: "all 6 runs", "other processes used 135–153% CPU".
    """
    groups: dict[str, list[tuple[RunSummary, str]]] = {}
    for run in report.runs:
        for note in run_quality(run):
            groups.setdefault(_PERCENT.sub("#%", note), []).append((run, note))
    out = []
    for template, items in groups.items():
        runs = list(dict.fromkeys(r.run_id for r, _ in items))
        if len(runs) == 1:
            out.append((run_header(report, items[0][0]), items[0][1]))
            continue
        columns = zip(*(map(float, _PERCENT.findall(note)) for _, note in items), strict=True)
        ranges = [f"{min(v):g}" if min(v) == max(v) else f"{min(v):g}–{max(v):g}" for v in columns]
        pieces = template.split("#%")
        text = pieces[0] + "".join(
            f"{r}%{rest}" for r, rest in zip(ranges, pieces[1:], strict=True)
        )
        if len(runs) == len(report.runs):
            who = f"all {len(runs)} runs" if len(runs) > 2 else "both runs"
        else:
            who = ", ".join(run_header(report, r) for r, _ in items)
        out.append((who[0].upper() + who[1:], text))
    return out
