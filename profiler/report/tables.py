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
    "steps_per_s": "training speed",
    "step_time_ms": "step time",
    "rss_peak_mib": "peak memory (RSS)",
    "first_step_s": "time to first step",
}
_UNIT = {"steps_per_s": "steps/s", "step_time_ms": "ms", "rss_peak_mib": "MiB", "first_step_s": "s"}
_WINS = {
    "steps_per_s": "{w} trains this model {f}x faster than {l}",
    "step_time_ms": "{w} needs {f}x less time per step than {l} ({wv} vs {lv})",
    "rss_peak_mib": "{w} peaks at {f}x less memory than {l} ({wv} vs {lv})",
    "first_step_s": "{w} reaches its first training step {f}x sooner than {l} ({wv} vs {lv})",
}


def _is_significant(c: Comparison) -> bool | None:
    """None when there is neither an interval nor a test (one run each)."""
    if c.ci95 is None and c.p_value is None:
        return None
    excludes_one = c.ci95 is None or not (c.ci95[0] <= 1.0 <= c.ci95[1])
    return excludes_one and (c.p_value is None or c.p_value < SIGNIFICANCE)


def verdict(c: Comparison) -> str:
    """One sentence on one metric, e.g. 'TensorFlow trains this model 1.31x faster than
    PyTorch [1.27–1.35], p < 0.001'."""
    base, other = label_of(c.baseline), label_of(c.other)
    topic = _TOPIC.get(c.metric, c.metric)
    if c.ratio is None or c.ratio <= 0:
        pairs = ((c.baseline, c.n_baseline), (c.other, c.n_other))
        missing = [label_of(fw) for fw, n in pairs if n == 0]
        why = f"no finished run of {' or '.join(missing)}" if missing else "no usable values"
        return f"Cannot compare {topic}: {why}."
    significant = _is_significant(c)
    p_text = fmt_p(c.p_value)
    ci_text = f"[{c.ci95[0]:.2f}–{c.ci95[1]:.2f}]" if c.ci95 else ""
    if significant is False:
        stats = ", ".join(s for s in (f"{c.ratio:.2f}x {ci_text}".strip(), p_text) if s)
        return f"No significant difference in {topic} between {other} and {base} ({stats})."
    other_wins = c.ratio >= 1.0 if c.higher_is_better else c.ratio <= 1.0
    factor = c.ratio if c.ratio >= 1.0 else 1.0 / c.ratio
    ci = c.ci95
    if ci is not None and c.ratio < 1.0:
        ci = (1.0 / ci[1], 1.0 / ci[0])
    w, lo = (other, base) if other_wins else (base, other)
    wv, lv = (
        (c.other_median, c.baseline_median) if other_wins else (c.baseline_median, c.other_median)
    )
    unit = _UNIT.get(c.metric, "")
    text = _WINS.get(c.metric, "{w} is better than {l} on " + c.metric + " by {f}x").format(
        w=w, l=lo, f=f"{factor:.2f}", wv=fmt(wv, unit), lv=fmt(lv, unit)
    )
    if ci is not None:
        text += f" [{ci[0]:.2f}–{ci[1]:.2f}]"
    if p_text:
        text += f", {p_text}"
    if significant is None:
        text += " (one run each: no interval)"
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


def verdicts(report: Report) -> list[str]:
    """Verdict sentences: one per compared metric and framework pair, failures, then parity."""
    out = [verdict(c) for c in report.comparisons]
    for run in report.runs:
        if run.status != "ok":
            what = run.error or "no error text recorded"
            out.append(f"{run_header(report, run)} did not finish ({run.status}): {what}")
    out.append(parity_sentence(report))
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
