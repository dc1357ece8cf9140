"""Small formatting helpers of the window (durations).

The summary's figures (medians, means, peaks, ratios) are not computed here: the one summary
model, ``profiler.report.summary``, computes them for every surface.
"""

from __future__ import annotations

import math


def format_duration(seconds: float) -> str:
    """``42 s``, ``3 min 05 s``, ``1 h 02 min``; empty when unknown."""
    if math.isnan(seconds):
        return ""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"
