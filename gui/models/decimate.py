"""Peak decimation: what a curve needs to look right at the plot's width, and no more.

An hour at 20 Hz is 72,000 points a curve; a plot is a few hundred pixels wide. Handing
pyqtgraph every point made each redraw recompute bounds, finite masks and paths over all of
them. ``envelope`` keeps, per pixel-wide bin of the visible x range, the bin's minimum and maximum
(so spikes stay visible, like pyqtgraph's own ``peak`` mode) and the raw points at the right
edge, where new data arrives.
"""

from __future__ import annotations

import numpy as np

MIN_BINS = 100


def envelope(
    x: np.ndarray, y: np.ndarray, x0: float, x1: float, bins: int
) -> tuple[np.ndarray, np.ndarray]:
    """At most about ``2 * bins`` points drawing ``(x, y)`` over ``[x0, x1]`` (x ascending).

    Points whose x is NaN are left out; y NaNs stay, so gaps stay gaps (a bin of NaNs only is a
    gap). One point beyond each end of the range is kept, so lines run off the plot's edges.
    """
    if len(x) and not (np.isfinite(x[0]) and np.isfinite(x[-1])):
        keep = np.isfinite(x)
        x, y = x[keep], y[keep]
    n_all = len(x)
    i0 = max(0, int(np.searchsorted(x, x0, "left")) - 1)
    i1 = min(n_all, int(np.searchsorted(x, x1, "right")) + 1)
    n = i1 - i0
    bins = max(MIN_BINS, bins)
    if n <= 2 * bins:
        return x[i0:i1], y[i0:i1]
    size = -(-n // bins)  # ceil
    full = ((n - 1) // size) * size  # the last point always stays raw: the newest data
    ys = y[i0 : i0 + full].reshape(-1, size)
    lo = np.fmin.reduce(ys, axis=1)  # fmin/fmax skip NaNs unless a bin has nothing else
    hi = np.fmax.reduce(ys, axis=1)
    xs = x[i0 : i0 + full : size]
    out_x = np.empty(2 * len(xs) + (n - full))
    out_y = np.empty_like(out_x)
    out_x[0 : 2 * len(xs) : 2] = xs
    out_x[1 : 2 * len(xs) : 2] = xs
    out_y[0 : 2 * len(xs) : 2] = lo
    out_y[1 : 2 * len(xs) : 2] = hi
    out_x[2 * len(xs) :] = x[i0 + full : i1]
    out_y[2 * len(xs) :] = y[i0 + full : i1]
    return out_x, out_y
