"""Axis ranges that change seldom: round numbers with room to spare.

Every change of a plot's range lays its axis out again (tick values, labels), which was most of a
live redraw's cost; pyqtgraph's autorange changed the y range with nearly every new point of a
noisy curve. These ranges move only when the data leaves them (or shrinks well inside them).
"""

from __future__ import annotations

import math

NICE_STEPS = (1.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)
Y_PADDING = 0.06  # share of the data's span kept free above and below


def nice_above(value: float) -> float:
    """The smallest 1, 1.5, 2, 3, 4, 5, 6 or 8 times a power of ten that is >= ``value``."""
    if value <= 0:
        return 0.0
    scale = 10.0 ** math.floor(math.log10(value))
    return next(step * scale for step in NICE_STEPS if step * scale >= value * (1 - 1e-12))


def follow_end(
    end: float, live: bool, shown_end: float, planned: float = 0.0, headroom: float = 0.03
) -> float:
    """The x range's right end while following data that ends at ``end`` (0 with none).

    A finished session fits its data. While data arrives, the end is ``planned`` (the steps the
    runs will take, on the step axis) when the data has not passed it, else it grows in round
    steps (``nice_above``) and keeps ``shown_end`` while that still fits and is not too wide, so
    most redraws keep the axes, whose ticks are costly to lay out again.
    """
    if end <= 0:
        return 0.0
    if not live:
        return end * (1 + headroom)
    if planned >= end:
        return planned * (1 + headroom)
    if end * (1 + headroom) <= shown_end <= end * 2.5:
        return shown_end
    return nice_above(end * (1 + headroom))


def nice_y_range(
    lo: float, hi: float, current: tuple[float, float] | None
) -> tuple[float, float] | None:
    """A y range for data spanning ``[lo, hi]``: ``current`` while it still fits (None: keep
    it), else one with padding, rounded outwards to a step of about a fifth of the span.

    A range that no longer fits, or that is more than three times the padded span, changes.
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    span = hi - lo
    pad = span * Y_PADDING if span > 0 else max(abs(hi) * 0.05, 1e-9)
    want_lo, want_hi = lo - pad, hi + pad
    if lo >= 0 and want_lo < 0:
        want_lo = 0.0  # no negative axis for quantities that cannot be negative
    if current is not None:
        c_lo, c_hi = current
        fits = c_lo <= lo and hi <= c_hi
        if fits and (c_hi - c_lo) <= 3 * (want_hi - want_lo):
            return None
    step = nice_above((want_hi - want_lo) / 5)
    new = (math.floor(want_lo / step) * step, math.ceil(want_hi / step) * step)
    return None if current is not None and new == current else new


def log_y_range(lo: float, hi: float) -> tuple[float, float] | None:
    """A y range in log10 units for log10 data spanning ``[lo, hi]``: whole or half decades
    around it (``(-0.5, 1.0)`` shows 0.3 to 10), never narrower than half a decade."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    low = math.floor(lo * 2) / 2
    high = math.ceil(hi * 2) / 2
    if high - low < 0.5:
        high = low + 0.5
    return low, high
