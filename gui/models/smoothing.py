"""Rolling smoothing of a plotted series: a centred mean or median over a few points.

At 20 Hz a noisy CPU curve is a solid band; a centred rolling median (robust to spikes) or mean
shows its trend while the raw points stay drawn, faint, behind it. NaNs are gaps in the data:
a window of NaNs only gives NaN, so gaps stay gaps.
"""

from __future__ import annotations

import warnings

import numpy as np

SMOOTHING_KINDS: dict[str, str] = {"off": "Off", "median": "Rolling median", "mean": "Rolling mean"}
DEFAULT_WINDOW = 9  # points: about half a second at 20 Hz


def rolling(y: np.ndarray, kind: str, window: int = DEFAULT_WINDOW) -> np.ndarray:
    """``y`` smoothed by a centred rolling ``median`` or ``mean`` of ``window`` points
    (``off``: ``y`` itself); NaNs are skipped inside a window, which shrinks at the ends."""
    if kind == "off" or window <= 1 or len(y) < 2:
        return y
    if kind not in SMOOTHING_KINDS:
        raise ValueError(f"unknown smoothing {kind!r}: use one of {', '.join(SMOOTHING_KINDS)}")
    half = window // 2
    padded = np.concatenate((np.full(half, np.nan), y, np.full(window - 1 - half, np.nan)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, window)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows: NaN, as wanted
        smoothed: np.ndarray = (
            np.nanmedian(windows, axis=1) if kind == "median" else np.nanmean(windows, axis=1)
        )
    return smoothed
