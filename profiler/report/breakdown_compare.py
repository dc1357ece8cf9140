"""Operator-level profiles side by side: per-category time, corresponding ops, and what explains
the gap between frameworks' step times.

A pure transform of the ``RunBreakdown`` records the trace phase produced (``profiler.breakdown``)
into what the Breakdown tab and the report's breakdown page show: stacked ms/step per category
per framework, a table of top operators matched across frameworks (same category and the same
normalised name, e.g. ``aten::addmm``, ``MatMul`` and ``dot_general`` are all "matmul"), the
differences ranked by how much of the step-time gap they explain, and one sentence naming the
largest contributors. Times are the traced steps' (the trace phase's own step time, which the
categories add up to), not the measure phase's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from profiler.breakdown import Category, OpStat, RunBreakdown
from profiler.colors import label_of
from profiler.report.breakdown_ops import match_key, op_key
from profiler.report.formatting import fmt

__all__ = [
    "CATEGORY_COLORS",
    "BreakdownComparison",
    "Difference",
    "FrameworkBreakdown",
    "OpRow",
    "PairGap",
    "compare_breakdowns",
    "op_key",
]

# One colour per category, the same in the app and the reports; qualitative and distinct from the
# framework colours' hues where it matters (framework colours label columns, never bars).
CATEGORY_COLORS: dict[Category, str] = {
    Category.MATMUL: "#4E79A7",
    Category.CONVOLUTION: "#A0CBE8",
    Category.ATTENTION: "#F28E2B",
    Category.ELEMENTWISE: "#FFBE7D",
    Category.NORMALISATION: "#59A14F",
    Category.REDUCTION: "#8CD17D",
    Category.OPTIMIZER: "#B6992D",
    Category.DATA_INPUT: "#F1CE63",
    Category.COLLECTIVE: "#499894",
    Category.COMPILATION: "#86BCB6",
    Category.HOST_OVERHEAD: "#E15759",
    Category.IDLE: "#D4D4D4",
    Category.OTHER: "#9D7660",
}
# How a category reads after "spends 0.31 ms/step less in ...".
_IN_WORDS: dict[Category, str] = {
    Category.MATMUL: "matmul / dense ops",
    Category.CONVOLUTION: "convolutions",
    Category.ELEMENTWISE: "elementwise ops and activations",
    Category.REDUCTION: "reductions, softmax and loss",
    Category.OPTIMIZER: "optimizer updates",
    Category.DATA_INPUT: "data input and host→device copies",
    Category.COMPILATION: "compilation and tracing",
    Category.HOST_OVERHEAD: "Python and dispatch overhead",
    Category.IDLE: "idle time",
    Category.OTHER: "other work",
}
# A gap under this share of the slower step is "about the same": its parts are noise-sized.
SAME_SPEED_SHARE = 0.01
# Launch counts that differ by less than this factor are not worth a clause in the sentence.
LAUNCH_RATIO_WORTH_SAYING = 1.5
SENTENCE_CONTRIBUTORS = 2  # categories named in a pair's sentence, at most
NAMES_SHOWN = 2  # an op row's names per framework before "+N more"


def category_color(category: Category) -> str:
    """The category's colour, the same in the app and the reports."""
    return CATEGORY_COLORS[category]


# -- the comparison ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FrameworkBreakdown:
    """One framework's traced profile: the run shown for it, and how many runs were traced."""

    run: RunBreakdown
    traced_runs: int  # runs of this framework with a breakdown (the median one is shown)

    @property
    def framework(self) -> str:
        """The framework."""
        return self.run.framework

    @property
    def step_ms(self) -> float:
        """The traced steps' mean step time (what the categories add up to)."""
        return self.run.step_ms

    @property
    def unit(self) -> str:
        """What a launch is: a kernel where the device timeline was split, else an op."""
        return "kernel" if self.run.timeline == "device" else "op"

    def ms(self, category: Category) -> float:
        """Milliseconds per traced step in ``category``."""
        return self.run.ms(category)

    def launches(self, category: Category) -> float | None:
        """Launches per traced step in ``category``; None when not counted."""
        value = self.run.category_launches.get(category)
        return float(value) if value is not None and math.isfinite(value) else None


@dataclass(frozen=True)
class OpRow:
    """One operator (or several of one kind, summed) in each framework where it was found."""

    category: Category
    key: str  # the normalised name it was matched by
    names: dict[str, tuple[str, ...]]  # framework -> the profiler's names, largest first
    ms_per_step: dict[str, float]
    launches_per_step: dict[str, float]
    share: dict[str, float]  # of the framework's traced step time, 0..1

    def title(self, frameworks: Sequence[str] = (), most: int = NAMES_SHOWN) -> str:
        """The op's names in ``frameworks`` (all of its frameworks by default), each
        framework's first ``most`` and how many more: ``aten::addmm, aten::mm / MatMul``."""
        parts = []
        for fw in frameworks or tuple(self.names):
            names = self.names.get(fw, ())
            if names:
                more = f" +{len(names) - most} more" if len(names) > most else ""
                parts.append(", ".join(names[:most]) + more)
        return " / ".join(dict.fromkeys(parts)) or self.key

    def has(self, framework: str) -> bool:
        """Whether ``framework`` has this op among its top ops."""
        return framework in self.ms_per_step

    @property
    def largest_ms(self) -> float:
        """The op's largest time in any framework (rows sort by it)."""
        return max(self.ms_per_step.values(), default=0.0)


@dataclass(frozen=True)
class Difference:
    """How much one category (or op) adds to the slower framework's step against the faster's."""

    level: Literal["category", "op"]
    category: Category
    label: str
    faster_ms: float | None  # None: no counterpart in the faster framework
    slower_ms: float | None  # None: no counterpart in the slower framework
    faster_launches: float | None
    slower_launches: float | None
    delta_ms: float  # slower minus faster: positive explains the gap, negative narrows it
    share_of_gap: float | None  # delta / gap; None when the gap is too small to explain


@dataclass(frozen=True)
class PairGap:
    """Two frameworks' traced step times and the differences behind the gap, largest first."""

    faster: str
    slower: str
    faster_step_ms: float
    slower_step_ms: float
    categories: tuple[Difference, ...]
    ops: tuple[Difference, ...]
    sentence: str

    @property
    def gap_ms(self) -> float:
        """The slower's traced step time minus the faster's."""
        return self.slower_step_ms - self.faster_step_ms

    @property
    def same_speed(self) -> bool:
        """Whether the gap is too small to explain (under 1% of the slower step)."""
        return _same_speed(self.faster_step_ms, self.slower_step_ms)


@dataclass(frozen=True)
class BreakdownComparison:
    """Everything the Breakdown tab and the report page show, for one session."""

    per_framework: tuple[FrameworkBreakdown, ...]  # in the session's framework order
    categories: tuple[Category, ...]  # taxonomy order; those with time in some framework
    ops: tuple[OpRow, ...]  # largest first
    pairs: tuple[PairGap, ...]  # the fastest against each other framework
    notes: tuple[str, ...]  # truncated traces, frameworks without a trace, profiler notes

    @property
    def frameworks(self) -> tuple[str, ...]:
        """Frameworks with a breakdown, in the session's order."""
        return tuple(b.framework for b in self.per_framework)

    @property
    def empty(self) -> bool:
        """No framework has a breakdown (tracing was off, or every trace failed)."""
        return not self.per_framework

    @property
    def truncated(self) -> bool:
        """Whether some framework's trace was cut short by the size cap."""
        return any(b.run.truncated for b in self.per_framework)

    @property
    def sentence(self) -> str:
        """The pairs' sentences, one after another."""
        return " ".join(p.sentence for p in self.pairs)

    @property
    def sentences(self) -> tuple[str, ...]:
        """What to say first: a sentence per pair, or what one traced framework's step is."""
        if self.pairs or not self.per_framework:
            return tuple(p.sentence for p in self.pairs)
        b = self.per_framework[0]
        largest = max(self.categories, key=b.ms)
        return (
            f"Only {label_of(b.framework)} was traced: {fmt(b.step_ms)} ms per traced step, "
            f"most of it in {_in_words(largest)} ({fmt(b.ms(largest))} ms); nothing to compare "
            "it with.",
        )

    def of(self, framework: str) -> FrameworkBreakdown | None:
        """One framework's breakdown, None when it has none."""
        return next((b for b in self.per_framework if b.framework == framework), None)

    def stacked_ms(self) -> dict[Category, list[float]]:
        """Per category, its ms/step in each framework of ``frameworks`` (0 where absent): the
        stacked bars' segments, bottom (first category) to top."""
        return {c: [b.ms(c) for b in self.per_framework] for c in self.categories}


def compare_breakdowns(
    breakdowns: Iterable[RunBreakdown], order: Sequence[str] = (), *, top: int = 15
) -> BreakdownComparison:
    """Side by side: one run per framework (the median traced step time of its runs), the
    categories, the ``top`` largest matched ops, and each pair's ranked differences.

    ``order`` is the session's framework order (others follow in run order); a framework of
    ``order`` without a breakdown gets a note.
    """
    by_fw: dict[str, list[RunBreakdown]] = {}
    for b in breakdowns:
        by_fw.setdefault(b.framework, []).append(b)
    frameworks = [fw for fw in order if fw in by_fw] + [fw for fw in by_fw if fw not in order]
    per_fw = tuple(FrameworkBreakdown(_median_run(by_fw[fw]), len(by_fw[fw])) for fw in frameworks)
    categories = tuple(c for c in Category if any(b.ms(c) > 0 for b in per_fw))
    ops = _match_ops(per_fw)
    return BreakdownComparison(
        per_fw, categories, tuple(ops[:top]), _pairs(per_fw, ops), _notes(per_fw, order)
    )


def _median_run(runs: Sequence[RunBreakdown]) -> RunBreakdown:
    """The run with the median traced step time (the lower middle one of an even count)."""
    ordered = sorted(runs, key=lambda r: (r.step_ms, r.run_id))
    return ordered[(len(ordered) - 1) // 2]


def _match_ops(per_fw: Sequence[FrameworkBreakdown]) -> list[OpRow]:
    """Rows of ops keyed by (category, normalised name); ops of one key in one framework (e.g.
    ``aten::addmm`` and ``aten::mm``) are summed into its cell."""
    rows: dict[tuple[Category, str], dict[str, list[OpStat]]] = {}
    for b in per_fw:
        for op in b.run.top_ops:
            cells = rows.setdefault((op.category, match_key(op)), {})
            cells.setdefault(b.framework, []).append(op)
    steps = {b.framework: b.step_ms for b in per_fw}
    out = []
    for (category, key), cells in rows.items():
        ms = {fw: sum(o.per_step_ms for o in ops) for fw, ops in cells.items()}
        out.append(
            OpRow(
                category=category,
                key=key,
                names={fw: tuple(dict.fromkeys(o.name for o in ops)) for fw, ops in cells.items()},
                ms_per_step=ms,
                launches_per_step={
                    fw: sum(o.calls_per_step for o in ops) for fw, ops in cells.items()
                },
                share={fw: ms[fw] / steps[fw] if steps[fw] > 0 else math.nan for fw in cells},
            )
        )
    out.sort(key=lambda r: (-r.largest_ms, r.category.value, r.key))
    return out


def _same_speed(faster_ms: float, slower_ms: float) -> bool:
    return slower_ms - faster_ms < SAME_SPEED_SHARE * slower_ms


def _pairs(per_fw: Sequence[FrameworkBreakdown], ops: Sequence[OpRow]) -> tuple[PairGap, ...]:
    """The fastest framework (by traced step time) against each of the others."""
    if len(per_fw) < 2:
        return ()
    fastest = min(per_fw, key=lambda b: b.step_ms)
    return tuple(_pair(fastest, other, ops) for other in per_fw if other is not fastest)


def _by_size(d: Difference) -> tuple[float, str]:
    return (-abs(d.delta_ms), d.label)


def _pair(faster: FrameworkBreakdown, slower: FrameworkBreakdown, ops: Sequence[OpRow]) -> PairGap:
    gap = slower.step_ms - faster.step_ms
    explainable = not _same_speed(faster.step_ms, slower.step_ms)

    def share(delta: float) -> float | None:
        return delta / gap if explainable else None

    categories = []
    for c in Category:
        f, s = faster.ms(c), slower.ms(c)
        if f == 0 and s == 0:
            continue
        categories.append(
            Difference(
                "category",
                c,
                c.label,
                f,
                s,
                faster.launches(c),
                slower.launches(c),
                s - f,
                share(s - f),
            )
        )
    op_diffs = []
    for row in ops:
        f_ms = row.ms_per_step.get(faster.framework)
        s_ms = row.ms_per_step.get(slower.framework)
        if f_ms is None and s_ms is None:
            continue
        delta = (s_ms or 0.0) - (f_ms or 0.0)
        op_diffs.append(
            Difference(
                "op",
                row.category,
                _op_label(row, slower.framework, faster.framework),
                f_ms,
                s_ms,
                row.launches_per_step.get(faster.framework),
                row.launches_per_step.get(slower.framework),
                delta,
                share(delta),
            )
        )
    categories.sort(key=_by_size)
    op_diffs.sort(key=_by_size)
    return PairGap(
        faster.framework,
        slower.framework,
        faster.step_ms,
        slower.step_ms,
        tuple(categories),
        tuple(op_diffs),
        _sentence(faster, slower, categories),
    )


def _op_label(row: OpRow, *frameworks: str) -> str:
    return row.title(frameworks)


def _count(n: float) -> str:
    return f"{n:.0f}" if abs(n - round(n)) < 0.05 else f"{n:.1f}"


def _launch_clause(d: Difference, slower: FrameworkBreakdown) -> str:
    """': one fused op vs 12 separate ops in PyTorch' when the launch counts differ enough."""
    nf, ns = d.faster_launches, d.slower_launches
    if not nf or not ns or max(nf, ns) / min(nf, ns) < LAUNCH_RATIO_WORTH_SAYING:
        return ""
    unit, name = slower.unit, label_of(slower.framework)
    if nf < ns:
        first = f"one fused {unit}" if round(nf) == 1 else f"{_count(nf)} {unit}s"
        return f": {first} vs {_count(ns)} separate {unit}s in {name}"
    return f", with {_count(nf)} {unit}s a step vs {_count(ns)} in {name}"


def _in_words(category: Category) -> str:
    return _IN_WORDS.get(category, category.label)


def _sentence(
    faster: FrameworkBreakdown, slower: FrameworkBreakdown, categories: Sequence[Difference]
) -> str:
    """'TensorFlow's traced step takes 0.52 ms less than PyTorch's (2.10 vs 2.62 ms).
    TensorFlow spends 0.31 ms/step less in optimizer updates (60% of the gap): one fused op vs
    12 separate ops in PyTorch; and 0.12 ms/step less in …'."""
    fast, slow = label_of(faster.framework), label_of(slower.framework)
    times = f"({fmt(faster.step_ms)} vs {fmt(slower.step_ms)} ms)"
    if _same_speed(faster.step_ms, slower.step_ms):
        head = f"{fast} and {slow} take about the same time per traced step {times}"
        biggest = [d for d in categories if d.delta_ms != 0][:1]
        if not biggest:
            return head + "."
        d = biggest[0]
        more = "more" if d.delta_ms > 0 else "less"
        amount = fmt(abs(d.delta_ms))
        return (
            f"{head}; the largest difference: {slow} spends {amount} ms/step {more} "
            f"in {_in_words(d.category)}."
        )
    gap = slower.step_ms - faster.step_ms
    head = f"{fast}'s traced step takes {fmt(gap)} ms less than {slow}'s {times}."
    contributors = [d for d in categories if d.delta_ms > 0][:SENTENCE_CONTRIBUTORS]
    if not contributors:
        return head
    clauses = []
    for d in contributors:
        share = f" ({d.share_of_gap:.0%} of the gap)" if d.share_of_gap is not None else ""
        clauses.append(
            f"{fmt(d.delta_ms)} ms/step less in {_in_words(d.category)}{share}"
            f"{_launch_clause(d, slower)}"
        )
    return f"{head} {fast} spends " + "; and ".join(clauses) + "."


def _notes(per_fw: Sequence[FrameworkBreakdown], order: Sequence[str]) -> tuple[str, ...]:
    notes = []
    traced = {b.framework for b in per_fw}
    missing = [label_of(fw) for fw in order if fw not in traced]
    if missing and per_fw:
        notes.append(f"No trace for {', '.join(missing)}: not traced, or the run failed first.")
    for b in per_fw:
        name = label_of(b.framework)
        if b.run.truncated:
            notes.append(
                f"{name}'s trace was truncated at the size cap: its figures cover the steps "
                "recorded before the cap."
            )
        notes.extend(f"{name}: {note}" for note in b.run.notes)
    return tuple(notes)
