"""Python's cyclic garbage collector, run on the GUI thread only.

The window's Qt objects sit in reference cycles: pyqtgraph builds each plot's context menus and
control panels (QMenu, QCheckBox, QSpinBox … about 1,400 wrappers for one main window) with
cycles of its own, beyond the reach of FrameDuel's code. Left to itself, the collector runs in
whichever thread happens to allocate: a worker thread (a store read, the session's event
readers) then frees Qt objects, and Qt's object mutex against the GIL deadlocks the process
(seen as a CI run that hung). pyqtgraph's ``util.garbage_collector`` answers it the same way:
automatic collection is switched off, and a timer on the GUI thread collects each generation
when its count passes the usual threshold, so cycles are freed there and nowhere else.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

CHECK_INTERVAL_MS = 500


class GuiThreadCollector(QObject):
    """While started, collects reference cycles on the thread that owns it (the GUI thread)
    every ``interval_ms``, as Python's automatic collection would have, which is off."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = CHECK_INTERVAL_MS) -> None:
        super().__init__(parent)
        self._threshold = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)

    def start(self) -> None:
        """Switch automatic collection off and collect from the timer instead."""
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        """Collect once more, here, and give collection back to Python as it was."""
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()

    def check(self) -> int:
        """Collect the youngest generation (cheap), and the older ones when their counts
        passed their thresholds, as Python would; returns the objects found unreachable.

        The youngest is collected at every tick, not only past its threshold: objects freed
        since (a worker's temporary lists) lower the count, and a cycle dropped in a worker
        thread would otherwise wait for the next burst of allocations."""
        count0, count1, count2 = gc.get_count()
        _t0, t1, t2 = self._threshold
        if count0 <= 0:
            return 0
        found = gc.collect(0)
        if count1 > t1:
            found += gc.collect(1)
            if count2 > t2:
                found += gc.collect(2)
        return found
