"""The words and tables a human-readable report shows, shared by the PDF and HTML renderers.

Everything here turns a Report into plain strings: verdict sentences, the summary table (one
column per run) and the environment table. Missing values show as an em dash.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from profiler.colors import color_of, label_of
from profiler.report.model import Comparison, Report, RunSummary

MISSING = "—"
SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class RunColumn:
    """A summary-table column: the run's header text and its framework colour."""

    header: str
    color: str
    failed: bool


def fmt(value: float | int | None, unit: str = "") -> str:
    """A number with about three significant digits (thousands separated); em dash if missing."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    if isinstance(value, int):
        text = f"{value:,}"
    else:
        magnitude = abs(value)
        if magnitude >= 100:
            text = f"{value:,.0f}"
        elif magnitude >= 10:
            text = f"{value:.1f}"
        elif magnitude >= 1 or magnitude == 0:
            text = f"{value:.2f}"
        else:
            text = f"{value:.3g}"
    return f"{text} {unit}".rstrip()


def fmt_p(p: float | None) -> str:
    """A p-value as 'p < 0.001' or 'p = 0.012'; empty when missing."""
    if p is None:
        return ""
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}" if p < 0.01 else f"p = {p:.2f}"


def report_date(report: Report) -> str:
    """The session's creation date and time (UTC) as recorded."""
    return report.generated_from.created_at.replace("T", " ").replace("+00:00", " UTC")


# -- verdicts -----------------------------------------------------------------------------------

_TOPIC = {
    "steps_per_s": "Training speed",
    "step_time_ms": "Step time",
    "rss_peak_mib": "Peak memory (RSS)",
    "first_step_s": "Time to first step",
}
_UNIT = {"steps_per_s": "steps/s", "step_time_ms": "ms", "rss_peak_mib": "MiB", "first_step_s": "s"}
# How the winner's factor reads: "1.29x shorter"; a higher-is-better metric reads "1.29x higher".
_BETTER = {"steps_per_s": "faster", "step_time_ms": "shorter", "first_step_s": "sooner"}


def min_p_value(n_a: int, n_b: int) -> float:
    """The smallest two-sided Mann-Whitney p-value that samples of these sizes can reach."""
    return min(1.0, 2.0 / math.comb(n_a + n_b, n_a)) if n_a and n_b else 1.0


def _why_uncomparable(c: Comparison) -> str:
    pairs = ((c.baseline, c.n_baseline), (c.other, c.n_other))
    missing = [label_of(fw) for fw, n in pairs if n == 0]
    return f"no finished run of {' or '.join(missing)}" if missing else "no usable values"


def verdict(c: Comparison) -> str:
    """One sentence on one metric, such as 'TensorFlow trains this model 1.31x faster than
    PyTorch [1.27–1.35], p < 0.001' or 'no significant difference'."""
    topic = _TOPIC.get(c.metric, c.metric)
    if c.ratio is None or c.ratio <= 0:
        return f"{topic}: cannot compare, {_why_uncomparable(c)}."
    p_text = fmt_p(c.p_value)
    ci_spans_one = c.ci95 is not None and c.ci95[0] <= 1.0 <= c.ci95[1]
    p_high = c.p_value is not None and c.p_value >= SIGNIFICANCE
    too_few = p_high and min_p_value(c.n_baseline, c.n_other) >= SIGNIFICANCE
    if ci_spans_one or (p_high and not too_few):
        ci = f" [{c.ci95[0]:.2f}–{c.ci95[1]:.2f}]" if c.ci95 else ""
        stats = ", ".join(s for s in (f"ratio {c.ratio:.2f}{ci}", p_text) if s)
        return (
            f"{topic}: no significant difference between {label_of(c.other)} and "
            f"{label_of(c.baseline)} ({stats})."
        )
    other_wins = c.ratio >= 1.0 if c.higher_is_better else c.ratio <= 1.0
    # Express the difference as the winner's factor (>= 1), with its interval turned alike.
    factor, ci95 = c.ratio, c.ci95
    if c.ratio < 1.0:
        factor, ci95 = 1.0 / c.ratio, None if ci95 is None else (1.0 / ci95[1], 1.0 / ci95[0])
    w, lo = (c.other, c.baseline) if other_wins else (c.baseline, c.other)
    wv, lv = c.other_median, c.baseline_median
    if not other_wins:
        wv, lv = lv, wv
    unit = _UNIT.get(c.metric, "")
    better = _BETTER.get(c.metric, "higher" if c.higher_is_better else "lower")
    if c.metric == "steps_per_s":
        text = f"{label_of(w)} trains this model {factor:.2f}x faster than {label_of(lo)}"
    else:
        text = (
            f"{topic}: {label_of(w)} {fmt(wv, unit)} vs {label_of(lo)} {fmt(lv, unit)}, "
            f"{factor:.2f}x {better}"
        )
    if ci95 is not None:
        text += f" [{ci95[0]:.2f}–{ci95[1]:.2f}]"
    if p_text:
        text += f", {p_text}"
    if c.ci95 is None and c.p_value is None:
        text += " (one run each: no interval, no test)"
    elif too_few:
        text += f"; too few runs ({c.n_baseline} vs {c.n_other}) to call it significant"
    if c.metric == "steps_per_s":
        text += f" (median {fmt(wv)} vs {fmt(lv)} {unit})"
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


@dataclass(frozen=True)
class Verdict:
    """One sentence of the verdict; ``warning`` marks a failed run or failed parity."""

    text: str
    warning: bool = False


def verdicts(report: Report) -> list[Verdict]:
    """Verdict sentences: one per compared metric and framework pair, failures, then parity."""
    out: list[Verdict] = []
    # Metrics that cannot be compared share one sentence per framework pair and reason.
    uncomparable: dict[tuple[str, str], list[str]] = {}
    for c in report.comparisons:
        if c.ratio is None or c.ratio <= 0:
            topic = _TOPIC.get(c.metric, c.metric)
            uncomparable.setdefault((c.other, _why_uncomparable(c)), []).append(
                topic[0].lower() + topic[1:]
            )
        else:
            out.append(Verdict(verdict(c)))
    for (_, why), topics in uncomparable.items():
        listed = ", ".join(topics[:-1]) + (" or " if len(topics) > 1 else "") + topics[-1]
        out.append(Verdict(f"Cannot compare {listed}: {why}."))
    for run in report.runs:
        if run.status != "ok":
            what = run.error or "no error text recorded"
            text = f"{run_header(report, run)} did not finish ({run.status}): {what}"
            out.append(Verdict(text, warning=True))
    out.append(Verdict(parity_sentence(report), warning=report.parity.ok is False))
    return out


# -- tables -------------------------------------------------------------------------------------


def run_header(report: Report, run: RunSummary) -> str:
    """'PyTorch', or 'PyTorch #2' when the session has repeats."""
    repeats = sum(1 for r in report.runs if r.framework == run.framework)
    name = label_of(run.framework)
    return f"{name} #{run.repeat + 1}" if repeats > 1 else name


def run_columns(report: Report) -> list[RunColumn]:
    """One column per run, in run order."""
    return [
        RunColumn(run_header(report, r), color_of(r.framework), r.status != "ok")
        for r in report.runs
    ]


def _loss(value: float | None) -> str:
    return MISSING if value is None else f"{value:.6g}"


def summary_rows(report: Report) -> list[tuple[str, list[str]]]:
    """(metric label, one cell per run) for the side-by-side table."""
    runs = report.runs
    rows: list[tuple[str, list[str]]] = [
        ("status", [r.status for r in runs]),
        ("version", [r.framework_version or MISSING for r in runs]),
        ("device", [r.device or MISSING for r in runs]),
        ("params", [fmt(r.params) for r in runs]),
        ("steps/s", [fmt(r.steps_per_s) for r in runs]),
        ("samples/s", [fmt(r.samples_per_s) for r in runs]),
        ("step time median (ms)", [fmt(r.step_time_ms.median) for r in runs]),
        ("step time p95 (ms)", [fmt(r.step_time_ms.p95) for r in runs]),
        ("time to first step (s)", [fmt(r.first_step_s) for r in runs]),
        ("peak RSS (MiB)", [fmt(r.rss_peak_mib) for r in runs]),
        ("mean CPU %", [fmt(r.cpu_percent_mean) for r in runs]),
    ]
    if report.has_gpu:
        rows += [
            ("mean GPU util %", [fmt(r.gpu_util_percent_mean) for r in runs]),
            ("peak GPU memory (MiB)", [fmt(r.gpu_mem_peak_mib) for r in runs]),
            ("mean GPU power (W)", [fmt(r.gpu_power_w_mean) for r in runs]),
        ]
    if any(r.allocator_peak_mib is not None for r in runs):
        rows.append(("allocator peak (MiB)", [fmt(r.allocator_peak_mib) for r in runs]))
    rows += [
        ("first loss", [_loss(r.loss_first) for r in runs]),
        ("last loss", [_loss(r.loss_last) for r in runs]),
        ("parity (first-batch loss)", [_loss(r.parity_loss) for r in runs]),
    ]
    if any(r.error for r in runs):
        rows.append(("error", [r.error or "" for r in runs]))
    return rows


def _get(mapping: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(mapping, dict):
            return None
        mapping = mapping.get(key)
    return mapping


def _workload(config: dict[str, Any]) -> str:
    model, train = config.get("model") or {}, config.get("train") or {}
    parts = []
    if isinstance(model, dict) and model.get("family"):
        layers = [model.get("input_dim"), *(model.get("hidden") or []), model.get("num_classes")]
        parts.append(f"{model['family']} {'-'.join(str(x) for x in layers if x is not None)}")
    if isinstance(train, dict) and train:
        parts.append(
            f"batch {train.get('batch_size', '?')}, {train.get('steps', '?')} steps "
            f"({train.get('warmup_steps', '?')} warmup), "
            f"{_get(train, 'optimizer', 'name') or '?'} lr {_get(train, 'optimizer', 'lr') or '?'}"
        )
    if config.get("device"):
        parts.append(f"device {config['device']}")
    if config.get("threads"):
        parts.append(f"{config['threads']} threads")
    return "; ".join(parts) or MISSING


def environment_rows(report: Report) -> list[tuple[str, str]]:
    """(label, value) facts about the machine, the workload and the framework versions."""
    env = report.environment
    gpu = env.get("gpu")
    if isinstance(gpu, dict) and gpu.get("name"):
        gpu_text = f"{gpu['name']}, {fmt(gpu.get('memory_mib'), 'MiB')}, driver {gpu.get('driver')}"
    else:
        gpu_text = f"none ({env.get('gpu_status') or 'not probed'})"
    logical, physical = env.get("cpu_count_logical"), env.get("cpu_count_physical")
    versions: dict[str, str] = {}
    for run in report.runs:
        if run.framework_version:
            versions.setdefault(label_of(run.framework), run.framework_version)
    machine = " · ".join(str(env[k]) for k in ("hostname", "os") if env.get(k))
    return [
        ("machine", machine or MISSING),
        ("CPU", f"{env.get('cpu') or MISSING} ({logical} logical, {physical} physical cores)"),
        ("memory", fmt(env.get("memory_gib"), "GiB")),
        ("Python", str(env.get("python") or MISSING)),
        ("GPU", gpu_text),
        ("frameworks", ", ".join(f"{k} {v}" for k, v in versions.items()) or MISSING),
        ("workload", _workload(report.config)),
        ("FrameDuel", str(env.get("frameduel") or MISSING)),
    ]
