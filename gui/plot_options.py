"""Per-plot options of the dashboard: log scale, smoothing, saving the plot as an image, and the
note an empty plot shows instead of bare 0–1 axes.

pyqtgraph's own context menu offers a raw log mode (an axis from 1e-200 to 1e200 that leaves
-200..250 behind when turned off) and settings that fight the dashboard's ranges; each plot gets
this module's menu instead (``PlotViewBox``), whose entries the dashboard carries out.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyqtgraph as pg
import pyqtgraph.exporters as pg_exporters
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QColor, QTextOption
from PySide6.QtWidgets import QGraphicsTextItem, QMenu

from gui.models.catalog import SeriesSpec
from gui.models.smoothing import SMOOTHING_KINDS

WINDOW_CHOICES = (5, 9, 21)  # points: a quarter, a half and a whole second at 20 Hz
IMAGE_FORMATS: dict[str, str] = {"png": "PNG image (*.png)", "svg": "SVG drawing (*.svg)"}
# Where a log scale helps: quantities that can span decades (a compile step of seconds beside
# steps of milliseconds). Percentages and counts read better on a linear axis.
LOG_KEYS = frozenset(
    {"step_time_ms", "samples_per_s", "loss", "rss_mib", "gpu_mem_mib", "gpu_power_w"}
)


@dataclass
class PlotOptions:
    """How one plot draws its curves: ``log`` y axis, ``smoothing`` (``off``, ``median``,
    ``mean``) of ``window`` points."""

    log: bool = False
    smoothing: str = "off"
    window: int = 9


class PlotViewBox(pg.ViewBox):  # type: ignore[misc]  # pyqtgraph is untyped
    """A ViewBox whose right-click menu is ``menu_for()`` (the dashboard's), not pyqtgraph's."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.menu_for: Callable[[], QMenu | None] | None = None
        self.last_menu: QMenu | None = None

    def raiseContextMenu(self, ev: object) -> None:
        if self.menu_for is None:
            return
        menu = self.menu_for()
        if menu is None:
            return
        self.last_menu = menu
        menu.popup(ev.screenPos().toPoint())  # type: ignore[attr-defined]


def empty_text(spec: SeriesSpec) -> str:
    """What an empty plot will show, in a few words."""
    if spec.gpu:
        when = "once NVML reports the GPU"
    elif spec.source == "windows":
        when = "once a run reports its first timing window"
    else:
        when = "once a run's processes are sampled"
    return f"{spec.title} of each run appears here {when}."


class EmptyNote:
    """A short grey text centred in a plot's view, shown while the plot has no data."""

    def __init__(self, plot: pg.PlotWidget, text: str) -> None:
        self.view = plot.getPlotItem().getViewBox()
        self.axis = plot.getPlotItem().getAxis("left")
        self.bottom = plot.getPlotItem().getAxis("bottom")
        self._grid: object = False
        self.item = QGraphicsTextItem(text, self.view)
        self.item.setZValue(50)
        self.item.document().setDefaultTextOption(QTextOption(Qt.AlignmentFlag.AlignCenter))
        self.view.sigResized.connect(self._place)
        self.shown = False
        self.set_shown(True)

    def text(self) -> str:
        """The note's words."""
        return self.item.toPlainText()

    def set_color(self, color: str) -> None:
        """Text colour (the theme's plot foreground, half transparent)."""
        qcolor = QColor(color)
        qcolor.setAlpha(170)
        self.item.setDefaultTextColor(qcolor)

    def set_shown(self, shown: bool) -> None:
        """Show the note (hiding the axes' meaningless 0–1 values and the grid) or hide it."""
        if shown == self.shown:
            return
        self.shown = shown
        self.item.setVisible(shown)
        self.axis.setStyle(showValues=not shown)
        self.bottom.setStyle(showValues=not shown)
        if shown:
            self._grid = self.axis.grid
            self.axis.setGrid(False)
        else:
            self.axis.setGrid(self._grid)
        if shown:
            self.view.setYRange(0.0, 1.0, padding=0.0)
            self._place()

    def _place(self, *_: object) -> None:
        rect = self.view.boundingRect()
        self.item.setTextWidth(max(80.0, rect.width() - 16.0))
        box = self.item.boundingRect()
        self.item.setPos(rect.center().x() - box.width() / 2, rect.center().y() - box.height() / 2)


def _without_close_path(correct: Callable[..., object]) -> Callable[..., object]:
    """pyqtgraph 0.14's SVG exporter reads path data as ``x,y`` pairs and fails on the ``Z``
    (close path) that Qt 6 writes after rectangles; their last edge is drawn explicitly
    anyway, so the ``Z`` is dropped before pyqtgraph reads the path."""

    def tolerant(node: object, *args: object) -> object:
        for path in node.getElementsByTagName("path"):  # type: ignore[attr-defined]
            d = path.getAttribute("d")
            if "Z" in d:
                path.setAttribute("d", " ".join(t for t in d.split() if t != "Z"))
        return correct(node, *args)

    tolerant.wrapped = correct  # type: ignore[attr-defined]
    return tolerant


pg_svg: Any = sys.modules["pyqtgraph.exporters.SVGExporter"]  # the module: its name is the class's
if not hasattr(pg_svg.correctCoordinates, "wrapped"):
    pg_svg.correctCoordinates = _without_close_path(pg_svg.correctCoordinates)


def plot_image_bytes(plot: pg.PlotWidget, fmt: str) -> bytes:
    """The plot as a PNG or SVG file's bytes, rendered on the GUI thread (writing the bytes to
    a file is a worker's job)."""
    item = plot.getPlotItem()
    if fmt == "svg":
        return bytes(pg_exporters.SVGExporter(item).export(toBytes=True))
    if fmt != "png":
        raise ValueError(f"cannot save a plot as {fmt!r}: use png or svg")
    image = pg_exporters.ImageExporter(item).export(toBytes=True)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


def build_menu(
    spec: SeriesSpec,
    options: PlotOptions,
    *,
    set_log: Callable[[bool], None],
    set_smoothing: Callable[[str, int | None], None],
    save: Callable[[str], None],
    reset_zoom: Callable[[], None],
) -> QMenu:
    """The right-click menu of one plot (made when asked for: its checks show the options)."""
    menu = QMenu()
    menu.setTitle(spec.label)
    if spec.key in LOG_KEYS:
        log = menu.addAction("Log scale (y)")
        log.setCheckable(True)
        log.setChecked(options.log)
        log.setToolTip("A logarithmic y axis: curves that span decades stay readable")
        log.toggled.connect(set_log)
    smooth = menu.addMenu("Smoothing")
    for kind, text in SMOOTHING_KINDS.items():
        label = text if kind == "off" else f"{text} ({options.window} points)"
        action = smooth.addAction(label)
        action.setCheckable(True)
        action.setChecked(options.smoothing == kind)
        action.setData(kind)
        action.triggered.connect(lambda _=False, k=kind: set_smoothing(k, None))
    smooth.addSeparator()
    for points in WINDOW_CHOICES:
        action = smooth.addAction(f"Over {points} points")
        action.setCheckable(True)
        action.setChecked(options.window == points)
        action.setData(points)
        kind = options.smoothing if options.smoothing != "off" else "median"
        action.triggered.connect(lambda _=False, k=kind, n=points: set_smoothing(k, n))
    menu.addSeparator()
    for fmt in IMAGE_FORMATS:
        action = menu.addAction(f"Save plot as {fmt.upper()}…")
        action.setData(fmt)
        action.triggered.connect(lambda _=False, f=fmt: save(f))
    menu.addSeparator()
    menu.addAction("Reset zoom").triggered.connect(reset_zoom)
    return menu
