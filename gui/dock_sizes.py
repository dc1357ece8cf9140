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
# Below this, the Summary is sized for two frameworks, not three: a 1366-px laptop screen leaves
# about 1010 px below the plots, where a three-framework Summary would squeeze the Runs to a
# third of their live columns; the default 1400-px window (1060) keeps three.
NARROW_BOTTOM_PX = 1040


def arrange_first_launch(
    window: QMainWindow,
    docks: dict[str, QDockWidget],
    width: int,
    summary_px: Callable[[list[str], bool], int],
    runs_px: int = 0,
) -> None:
    """The docks' first arrangement for a window ``width`` wide: the side panel runs the full
    height (its controls fit a 768-line screen); below the plots, Runs, Summary and Log side by
    side when there is room, else Log as a tab beside Runs, so the Summary keeps the width
    ``summary_px(frameworks, True)`` says its columns need (three frameworks, or two in a narrow
    window). The Runs get the ``runs_px`` their live columns need when the Summary can give it
    and keep ``summary_px(frameworks, False)`` (its values uncut, an interval scrolled to)."""
    window.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
    bottom = width - max(docks["configs"].width(), docks["configs"].minimumSizeHint().width())
    frameworks = list(FRAMEWORKS) if bottom >= NARROW_BOTTOM_PX else list(FRAMEWORKS[:2])
    summary_width = summary_px(frameworks, True)
    runs, summary, log = docks["runs"], docks["summary"], docks["log"]
    if bottom < WIDE_BOTTOM_PX:
        window.tabifyDockWidget(runs, log)
        runs.raise_()
        runs_width = bottom - summary_width
        if runs_width < runs_px <= bottom - summary_px(frameworks, False):
            runs_width = runs_px
        sizes = {runs: runs_width, summary: bottom - runs_width}
    else:
        rest = bottom - summary_width
        runs_width = max(rest * 6 // 10, min(runs_px, rest * 7 // 10))
        sizes = {runs: runs_width, summary: summary_width, log: rest - runs_width}
    # Sizes hold once the window is laid out (before, Qt takes them as mere proportions).
    QTimer.singleShot(
        0, lambda: window.resizeDocks(list(sizes), list(sizes.values()), Orientation.Horizontal)
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
