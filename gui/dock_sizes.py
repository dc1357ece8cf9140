"""Docks that grow back: when a small window squeezed the docks, they return to the size the
user gave them once the window has room again (Qt hands all new room to the centre).

The size a dock "wants" is the one it had at start-up or after the user dragged its edge; a
window resize by the window manager never changes it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QRect, QSize, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDockWidget, QMainWindow

from profiler.config import FRAMEWORKS

DEFAULT_SIZE = QSize(1400, 900)
FRAME_PX = (16, 40)  # a window manager's frame: borders, and a title bar above the window

Orientation = Qt.Orientation


class DockSizes(QObject):
    """Watches ``window``'s docks; ``wanted`` maps a dock to (orientation, pixels)."""

    def __init__(self, window: QMainWindow, wanted: dict[QDockWidget, tuple[Orientation, int]]):
        super().__init__(window)
        self.window = window
        self.wanted = dict(wanted)
        self._regrowing = False
        window.installEventFilter(self)
        for dock in self.wanted:
            dock.installEventFilter(self)

    @staticmethod
    def _size(dock: QDockWidget, orientation: Orientation) -> int:
        return dock.width() if orientation == Orientation.Horizontal else dock.height()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.Resize:
            return False
        if watched is self.window:
            QTimer.singleShot(0, self.regrow)  # after the layout has placed the docks
        elif isinstance(watched, QDockWidget) and watched in self.wanted:
            # The user drags a dock's edge with the button held inside the window; a window
            # manager's resize is not seen as a pressed button here.
            dragging = QApplication.mouseButtons() & Qt.MouseButton.LeftButton
            if dragging and not self._regrowing and not watched.isFloating():
                orientation, _ = self.wanted[watched]
                self.wanted[watched] = (orientation, self._size(watched, orientation))
        return False

    def remember_current(self) -> None:
        """Take the docks' sizes now as the wanted ones (after a saved layout is restored)."""
        for dock, (orientation, _px) in list(self.wanted.items()):
            if dock.isVisible() and not dock.isFloating():
                self.wanted[dock] = (orientation, self._size(dock, orientation))

    def regrow(self) -> None:
        """Give each squeezed dock back as much of its wanted size as the window allows."""
        self._regrowing = True
        try:
            for dock, (orientation, px) in self.wanted.items():
                squeezed = self._size(dock, orientation) < px
                if squeezed and dock.isVisible() and not dock.isFloating():
                    self.window.resizeDocks([dock], [px], orientation)
        finally:
            self._regrowing = False


WIDE_BOTTOM_PX = 1250  # below this, Runs, Summary and Log side by side cut each other


def arrange_first_launch(
    window: QMainWindow,
    docks: dict[str, QDockWidget],
    width: int,
    summary_px: Callable[[list[str], bool], int],
    runs_px: int = 0,
    *,
    follow_px: int = 0,
) -> None:
    """The docks' first arrangement for a window ``width`` wide: the side panel runs the full
    height (its controls fit a 768-line screen); below the plots, Runs, Summary and Log side by
    side when there is room for all three (the Summary at the width ``summary_px(frameworks,
    True)`` says three frameworks need).

    In a narrower window Log is a tab beside Runs, and the Runs get the ``runs_px`` their
    live columns need before the Summary gets more than its least (``summary_px`` of two
    frameworks without intervals: its values uncut, an interval scrolled to): the Runs are
    what a user follows a session by, and a 1400-px window has room for both. Where even that
    would leave the Runs less than ``follow_px`` (the columns a live run is followed by: a
    1024-px laptop), the Summary is a tab beside them too, each then shown whole."""
    window.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
    bottom = width - max(docks["configs"].width(), docks["configs"].minimumSizeHint().width())
    runs, summary, log = docks["runs"], docks["summary"], docks["log"]
    sizes: dict[QDockWidget, int] = {}
    # side by side first: undoes the tabs of an arrangement for another width
    for dock in (runs, summary, log):
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
    window.splitDockWidget(runs, summary, Orientation.Horizontal)
    window.splitDockWidget(summary, log, Orientation.Horizontal)
    if bottom >= WIDE_BOTTOM_PX:
        rest = bottom - summary_px(list(FRAMEWORKS), True)
        runs_width = max(rest * 6 // 10, min(runs_px, rest * 7 // 10))
        sizes = {runs: runs_width, summary: bottom - rest, log: rest - runs_width}
    else:
        least = summary_px(list(FRAMEWORKS[:2]), False)
        if bottom - least < follow_px:  # tabs in the order Runs, Summary, Log
            window.tabifyDockWidget(runs, summary)
            window.tabifyDockWidget(summary, log)
        else:  # never more to the Summary than three frameworks' intervals can use
            window.tabifyDockWidget(runs, log)
            three = summary_px(list(FRAMEWORKS), True)
            runs_width = max(min(runs_px, bottom - least), bottom - three)
            sizes = {runs: runs_width, summary: bottom - runs_width}
        runs.raise_()
    # Sizes hold once the window is laid out (before, Qt takes them as mere proportions).
    if sizes:
        QTimer.singleShot(
            0,
            lambda: window.resizeDocks(list(sizes), list(sizes.values()), Orientation.Horizontal),
        )


def initial_geometry(available: QRect, least: QSize) -> QRect:
    """The window's first place: 1400×900, or less on a smaller screen (room left for the
    frame and title bar), centred on the screen's available area; never below ``least``."""
    width = max(least.width(), min(DEFAULT_SIZE.width(), available.width() - FRAME_PX[0]))
    height = max(least.height(), min(DEFAULT_SIZE.height(), available.height() - FRAME_PX[1]))
    rect = QRect(0, 0, width, height)
    rect.moveCenter(available.center())
    rect.moveTop(max(available.top() + FRAME_PX[1] - 8, rect.top()))
    rect.moveLeft(max(available.left(), rect.left()))
    return rect
