"""Every instant of a traced window attributed once: the categories add up to the step time.

Per thread (or GPU stream) the spans nest; at each instant the innermost one is what that
thread does. Across threads, an instant goes to the work running then (shared equally when
several ops run at once); failing work, to framework host overhead (Python, dispatch); failing
that, to idle. A context span (``Optimizer.step``, a data loader, the closing sync) gives its
category to everything inside it. On a GPU run the device's kernels are the work and host-side
ops count as host overhead (the device waits on them).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from profiler.breakdown import Category, OpStat
from profiler.trace.events import Span
from profiler.trace.taxonomy import STEP_MARKER, SYNC_MARKER, classify, is_marker

# Categories that are not work: an instant goes to them only when no work runs anywhere.
_WAITING = (Category.HOST_OVERHEAD, Category.IDLE)
NO_ACTIVITY = "(nothing running)"
PYTHON_IN_STEP = "(Python in the training step)"
TOP_OPS = 25
# A child may end this much after its parent (clock rounding) and still be its child.
_NEST_SLACK_US = 1.0


class NoStepsTraced(ValueError):
    """A trace without FrameDuel's step markers (the trace phase did not run in it)."""


@dataclass
class Attribution:
    """Totals over a traced window, in microseconds."""

    window_us: float
    steps: int
    category_us: dict[Category, float] = field(default_factory=lambda: defaultdict(float))
    op_us: dict[tuple[str, Category], float] = field(default_factory=lambda: defaultdict(float))
    op_count: dict[tuple[str, Category], int] = field(default_factory=lambda: defaultdict(int))
    launches: dict[Category, int] = field(default_factory=lambda: defaultdict(int))
    window_start_us: float = 0.0

    def top_ops(self, n: int = TOP_OPS) -> tuple[OpStat, ...]:
        """The ``n`` ops that explain the most time, largest first."""
        ranked = sorted(self.op_us.items(), key=lambda kv: kv[1], reverse=True)[:n]
        return tuple(
            OpStat(
                name, cat, total_ms=us / 1000.0, count=self.op_count[(name, cat)], steps=self.steps
            )
            for (name, cat), us in ranked
        )


@dataclass(slots=True)
class _Seg:
    start: float
    end: float
    name: str
    category: Category
    # who wins an instant, lowest first: work; on a GPU run, a host-side context (data input,
    # optimizer) while no kernel runs; framework host overhead; idle
    tier: int


def traced_window(spans: list[Span]) -> tuple[float, float, int]:
    """(start, end, steps): from the first step marker's start to the sync marker's end."""
    steps = [s for s in spans if s.name.startswith(STEP_MARKER) and not s.device]
    if not steps:
        raise NoStepsTraced("the trace holds no frameduel.step marker")
    start = min(s.ts for s in steps)
    syncs = [s for s in spans if s.name.startswith(SYNC_MARKER) and not s.device]
    end = max([s.end for s in syncs] or [max(s.end for s in steps)])
    return start, end, len(steps)


def op_name(name: str) -> str:
    """The name an op is listed under: FrameDuel's step markers as the Python they frame."""
    return PYTHON_IN_STEP if name.startswith(STEP_MARKER) else name


@dataclass(slots=True)
class _Open:
    """A span on a thread's stack: its effective category (None: a marker), whether it
    passes a context category to what it holds, whether work ran inside it."""

    span: Span
    category: Category | None
    context: _Open | None  # the nearest span (this one or an outer one) giving its category
    has_work: bool = False


def _category_of(
    span: Span,
    framework: str,
    device_timeline: bool,
    context: _Open | None,
    ranges: list[tuple[float, float, Category]],
) -> tuple[Category | None, bool]:
    """(effective category, is it a context of its own) of a span under ``context``; a kernel
    inside a context range mirrored onto the GPU (Kineto's ``gpu_user_annotation`` of
    ``Optimizer.step``) takes that range's category, as the host ops inside it do."""
    if span.name.startswith(STEP_MARKER):
        category: Category | None = Category.HOST_OVERHEAD  # Python between ops in a step
        own = False
    elif is_marker(span.name):
        return None, False
    else:
        category, own = classify(framework, span.name, span.scope)
        if device_timeline and not span.device and not own and category not in _WAITING:
            category = Category.HOST_OVERHEAD  # the host only launches: the device works
        elif span.device and ranges and category not in _WAITING:
            middle = (span.ts + span.end) / 2
            category = next((c for a, b, c in ranges if a <= middle < b), category)
    if context is not None and not own:
        category = context.category
    return category, own


def _thread_segments(
    spans: list[Span],
    framework: str,
    device_timeline: bool,
    attr: Attribution,
    ranges: list[tuple[float, float, Category]],
) -> list[_Seg]:
    """One thread's innermost-span segments, each with its effective category; counts each
    op, and as a launch each work span with no work span inside it (an op or kernel, never a
    Python frame: JAX's tracer names those ``$file:line function``)."""
    spans.sort(key=lambda s: (s.ts, -s.end))
    out: list[_Seg] = []
    stack: list[_Open] = []
    cursor = -math.inf

    def emit(a: float, b: float, entry: _Open) -> None:
        if b > a and entry.category is not None:
            cat = entry.category
            if cat in _WAITING:
                tier = 2 if cat is Category.HOST_OVERHEAD else 3
            else:
                tier = 1 if device_timeline and not entry.span.device else 0
            out.append(_Seg(a, b, op_name(entry.span.name), cat, tier))

    def pop() -> None:
        nonlocal cursor
        entry = stack.pop()
        emit(max(cursor, entry.span.ts), entry.span.end, entry)
        cursor = max(cursor, entry.span.end)
        cat = entry.category
        if cat is None:
            return
        attr.op_count[(op_name(entry.span.name), cat)] += 1
        work = cat not in _WAITING
        # on a GPU run the launches are the kernels; on the CPU the innermost ops
        launched = entry.span.device or not device_timeline
        if work and launched and not entry.has_work and not entry.span.name.startswith("$"):
            attr.launches[cat] += 1
        if stack and (work or entry.has_work):
            stack[-1].has_work = True

    for span in spans:
        while stack and stack[-1].span.end <= span.ts:
            pop()
        # Two tracers (Python frames, TraceMes) can overlap without nesting: an open span that
        # ends well before this one does is cut where this one starts, not this one at its end.
        while stack and stack[-1].span.end + _NEST_SLACK_US < span.end:
            stack[-1].span.end = span.ts
            pop()
        if stack:
            parent = stack[-1]
            emit(max(cursor, parent.span.ts), span.ts, parent)
            span.end = min(span.end, parent.span.end)  # a child never outlives its parent
        cursor = max(cursor, span.ts)
        context = stack[-1].context if stack else None
        category, own = _category_of(span, framework, device_timeline, context, ranges)
        entry = _Open(span, category, context)
        if own:
            entry.context = entry
        stack.append(entry)
    while stack:
        pop()
    return out


def attribute(spans: list[Span], framework: str) -> Attribution:
    """Attribute the traced window of ``spans`` (one run's trace) to categories and ops."""
    start, end, steps = traced_window(spans)
    device_timeline = any(s.device for s in spans)
    attr = Attribution(window_us=end - start, steps=steps, window_start_us=start)
    by_thread: dict[tuple[object, object, bool], list[Span]] = defaultdict(list)
    annotations: list[tuple[float, float, Category]] = []
    for s in spans:
        if s.end <= start or s.ts >= end:
            continue
        if s.annotation:
            category, context = classify(framework, s.name, s.scope)
            if context:
                annotations.append((s.ts, s.end, category))
            continue
        by_thread[(s.pid, s.tid, s.device)].append(  # clipped to the window, on a copy
            Span(s.name, s.scope, s.pid, s.tid, max(s.ts, start), min(s.end, end), s.device)
        )
    segments: list[_Seg] = []
    for thread_spans in by_thread.values():
        segments.extend(
            _thread_segments(thread_spans, framework, device_timeline, attr, annotations)
        )
    _sweep(segments, start, end, attr)
    return attr


def _sweep(segments: list[_Seg], start: float, end: float, attr: Attribution) -> None:
    """Share each elementary interval between the segments active in it (work first)."""
    points: list[tuple[float, int, int]] = []  # (time, 0 end / 1 start, segment index)
    for i, seg in enumerate(segments):
        points.append((seg.start, 1, i))
        points.append((seg.end, 0, i))
    points.sort()
    active: set[int] = set()
    t = start
    for when, kind, i in points:
        if when > t:
            _share(t, when, active, segments, attr)
            t = when
        if kind:
            active.add(i)
        else:
            active.discard(i)
    if end > t:
        _share(t, end, active, segments, attr)


def _share(a: float, b: float, active: set[int], segs: list[_Seg], attr: Attribution) -> None:
    dt = b - a
    if active:
        tier = min(segs[i].tier for i in active)
        group = [segs[i] for i in active if segs[i].tier == tier]
    else:
        group = []
    if not group:
        attr.category_us[Category.IDLE] += dt
        attr.op_us[(NO_ACTIVITY, Category.IDLE)] += dt
        return
    part = dt / len(group)
    for seg in group:
        attr.category_us[seg.category] += part
        attr.op_us[(seg.name, seg.category)] += part
