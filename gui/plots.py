"""The dashboard: linked live plots of a session, one curve per run in its framework's colour.

Throughput, step time, loss, CPU, RSS and threads always; GPU utilisation, memory and power once
a run has a GPU sample. The x axis is wall time since the session started, time since each run's
launch (runs start at the same zero) or the training step (runs lie on top of each other). Phases
are shaded, a crosshair reads values, plots can be hidden, reordered, zoomed (mouse wheel, drag)
and maximised (double-click); each plot's right-click menu sets a log scale, smoothing (faint raw
points behind a rolling median or mean) and saves the plot as PNG or SVG. An empty plot says what
will appear in it.

Following pyqtgraph's ``scrollingPlots`` example, pens are one pixel wide and curves are redrawn
at most every ``REDRAW_MS``; each curve gets a peak envelope of its visible range (a few points a
pixel, ``decimate``), and while following the data the axes move in round steps (``ranges``).
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QGridLayout, QMenu, QVBoxLayout, QWidget

from gui.models.catalog import SERIES, SERIES_BY_KEY
from gui.models.live import Batch
from gui.models.ranges import follow_end, log_y_range, nice_y_range
from gui.models.rundata import RunData, SessionData
from gui.models.smoothing import SMOOTHING_KINDS
from gui.overlays import (
    Crosshair,
    DashboardHeader,
    PhaseShading,
    legend_html,
    phase_legend_html,
    readout_html,
)
from gui.plot_curves import PlotCurves
from gui.plot_grid import AXIS_LABELS, PlotGrid
from gui.plot_options import (
    LOG_KEYS,
    EmptyNote,
    PlotOptions,
    PlotViewBox,
    build_menu,
    empty_text,
)
from gui.system_view import SystemView
from gui.theme import LIGHT, Theme
from gui.weak import weakly
from profiler.session import RunInfo

REDRAW_MS = 250
ZOOM_MS = 80
HEADROOM = 0.03  # share of the x range kept free at the right while following
AXIS_MODES = ("time", "launch", "step")  # the order Ctrl+T cycles through


def sparse_log_labels(labels: list[str], values: list[float]) -> list[str]:
    """``labels`` of log10 tick ``values``, kept at 1, 2 and 5 x 10^n only (others blank)."""
    out = []
    for label, value in zip(labels, values, strict=True):
        mantissa = round(10 ** (value - math.floor(value)), 6)
        out.append(label if mantissa in (1.0, 2.0, 5.0) else "")
    return out


class LiveDashboard(QWidget):
    """Linked plots of ``self.data``; feed it batches (``add_points``) or a whole session."""

    layoutChanged = Signal()  # the user hid, showed or reordered plots
    axisModeChanged = Signal(str)  # "time", "launch" or "step"
    saveRequested = Signal(str, str)  # plot key, "png" or "svg"
    optionsChanged = Signal()  # a plot's log scale or smoothing changed

    def __init__(self, parent: QWidget | None = None, theme: Theme = LIGHT) -> None:
        super().__init__(parent)
        self.theme = theme
        self.data = SessionData()
        self._dirty: set[int] = set()
        self.axis_mode = "time"
        self.live = False
        self._following = True
        self._redraw = QTimer(self)
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(REDRAW_MS)
        self._redraw.timeout.connect(self.redraw)
        self._rezoom = QTimer(self)
        self._rezoom.setSingleShot(True)
        self._rezoom.setInterval(ZOOM_MS)
        self._rezoom.timeout.connect(self._rezoomed)
        self._moving = False
        self._shown_end = 0.0
        self._shown: list[str] = []
        self._y_ranges: dict[str, tuple[float, float]] = {}
        self._build_actions()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        header = DashboardHeader(
            (self.time_axis_action, self.launch_axis_action, self.step_axis_action), self
        )
        self.readout, self.phase_legend, self.legend = header.readout, header.phases, header.legend
        for label in (self.readout, self.phase_legend):
            # Rich text that would otherwise widen the window (a long readout): clipped in a
            # narrow window instead. The frameworks' legend keeps its width: it matters more.
            label.setMinimumWidth(1)
        layout.addWidget(header)
        self.system = SystemView(self, theme)
        self.system_action.toggled.connect(self.system.setVisible)
        layout.addWidget(self.system)
        grid = QGridLayout()
        grid.setSpacing(6)
        layout.addLayout(grid, 1)
        self.grid = PlotGrid(self, grid)
        self.plots = self.grid.plots
        self.curves = PlotCurves(self.plots)
        self.options = self.curves.options
        self.order, self.hidden = self.grid.order, self.grid.hidden  # shared, changed in place
        for key, plot in self.plots.items():
            view = plot.getPlotItem().getViewBox()
            view.sigRangeChangedManually.connect(self._stop_following)
            view.sigXRangeChanged.connect(self._view_moved)
            plot.scene().sigMouseClicked.connect(lambda event, k=key: self._clicked(k, event))
            if isinstance(view, PlotViewBox):
                view.menu_for = partial(weakly(self.plot_menu, None), key)
        self.notes = {k: EmptyNote(p, empty_text(SERIES_BY_KEY[k])) for k, p in self.plots.items()}
        self.shading = PhaseShading(self.plots)
        self.crosshair = Crosshair(self.plots, weakly(self.readout_at, ""), self.readout.setText)
        self.apply_theme(theme)
        self._relayout()

    def _build_actions(self) -> None:
        group = QActionGroup(self)
        self.time_axis_action = QAction("Wall time", self, checkable=True, checked=True)
        self.time_axis_action.setToolTip("x axis: seconds since the session started")
        self.launch_axis_action = QAction("Since launch", self, checkable=True)
        self.launch_axis_action.setToolTip(
            "x axis: seconds since each run's launch (runs start at the same zero)"
        )
        self.step_axis_action = QAction("Step", self, checkable=True)
        self.step_axis_action.setToolTip("x axis: training step (runs overlap, step by step)")
        self.axis_actions = {
            "time": self.time_axis_action,
            "launch": self.launch_axis_action,
            "step": self.step_axis_action,
        }
        for mode, action in self.axis_actions.items():
            group.addAction(action)
            action.triggered.connect(lambda _=False, m=mode: self.set_axis_mode(m))
        self.toggle_axis_action = QAction("Cycle x axis: &wall time, since launch, step", self)
        self.toggle_axis_action.triggered.connect(self.cycle_axis_mode)
        self.log_step_action = QAction("&Log scale for step time", self, checkable=True)
        self.log_step_action.setToolTip(
            "A logarithmic y axis for step time (right-click any plot for its own options)"
        )
        self.log_step_action.toggled.connect(lambda on: self.set_log("step_time_ms", on))
        self.reset_zoom_action = QAction("&Reset zoom", self)
        self.reset_zoom_action.setToolTip("Show the whole session again and follow new data")
        self.reset_zoom_action.triggered.connect(self.reset_zoom)
        self.shade_action = QAction("&Shade phases", self, checkable=True, checked=True)
        self.shade_action.toggled.connect(self.set_shading)
        self.system_action = QAction("S&ystem view (cores, memory, GPU)", self, checkable=True)
        self.system_action.setChecked(True)
        self.system_action.setToolTip("The machine's CPU cores, memory and GPU while a run goes")
        self.plot_actions: dict[str, QAction] = {}
        for spec in SERIES:
            action = QAction(spec.label, self, checkable=True, checked=True)
            action.setToolTip(spec.tip)
            action.toggled.connect(lambda on, k=spec.key: self.set_plot_visible(k, on))
            self.plot_actions[spec.key] = action

    def _clicked(self, key: str, event: Any) -> None:
        if event.double():
            self.toggle_maximized(key)

    # -- theme and legends ----------------------------------------------------------------

    def apply_theme(self, theme: Theme) -> None:
        """Recolour backgrounds, axes and titles (framework colours never change)."""
        self.theme = theme
        fg = theme.plot_foreground
        self.grid.apply_theme(theme)
        self.crosshair.set_color(fg)
        self.system.apply_theme(theme)
        for note in self.notes.values():
            note.set_color(fg)
        self.shading.alpha = 56 if theme.dark else 46
        self.shading.update(self.data, self._to_x, force=True)
        self._update_axis_labels()
        self._update_legend()

    def _update_legend(self) -> None:
        fg = self.theme.plot_foreground
        frameworks = list(dict.fromkeys(run.framework for run in self.data.runs.values()))
        self.legend.setText(legend_html(frameworks, fg))
        self.phase_legend.setText(phase_legend_html(fg) if self.shading.enabled else "")

    # -- feeding --------------------------------------------------------------------------

    def add_runs(self, runs: list[RunInfo]) -> None:
        """Register planned runs so each curve knows its framework."""
        self.data.add_runs(runs)
        self._update_legend()

    def add_points(self, batch: Batch) -> None:
        """Store a batch's data; the curves that changed are redrawn by the timer."""
        self.data_changed(self.data.add_batch(batch))
        if batch.system is not None and self.live:
            self.system.show_snapshot(batch.system)

    def data_changed(self, run_ids: set[int]) -> None:
        """Schedule a redraw of these runs' curves (their data in ``self.data`` grew)."""
        self._dirty |= run_ids
        if self.grid.maximized is None and self.data.has_gpu() and self.grid.hidden_gpu():
            self._relayout()
        if self._dirty and not self._redraw.isActive():
            self._redraw.start()

    def set_session(self, data: SessionData) -> None:
        """Show another session's data (a new live one, or one from history) from scratch."""
        self.curves.clear()
        self.shading.clear()
        self.crosshair.hide()
        self.data = data
        self._dirty = set(data.runs)
        self._following = True
        self._shown_end = 0.0
        self._y_ranges.clear()
        self._update_legend()
        self._relayout()
        self._moving = True
        for plot in self.plots.values():  # no range of the previous session stays behind
            plot.setXRange(0.0, 1.0, padding=0.0)
        self._moving = False
        self.redraw()

    def clear(self) -> None:
        """Remove every curve and point (before a new session)."""
        self.set_session(SessionData())

    def redraw(self) -> None:
        """Hand the curves of changed runs their data now (the timer does this on its own).

        Each curve gets a peak envelope of the x range it will show (``decimate.envelope``),
        a few points per pixel, however long the run.
        """
        self._redraw.stop()
        self._rezoom.stop()
        if self._following:
            x0, x1 = 0.0, self._follow_range()
        elif self._shown:
            x0, x1 = self.plots[self._shown[0]].getPlotItem().getViewBox().viewRange()[0]
        else:
            x0, x1 = 0.0, 0.0
        bins = self._bins()
        for run_id in sorted(self._dirty):
            run = self.data.runs.get(run_id)
            if run is None:
                continue
            for key in self._shown:
                x, y = run.series(key, self.axis_mode)
                if len(x) or (run_id, key) in self.curves.raw:
                    self.curves.draw(run, key, x, y, (x0, x1, bins))
        self._dirty.clear()
        self.shading.update(self.data, self._to_x)
        if self._following:
            self._fit_y()
        if self._following and x1 > 0 and x1 != self._shown_end:
            self._moving = True
            self._shown_end = x1
            self.plots[self._shown[0]].setXRange(0.0, x1, padding=0.0)
            self._moving = False

    def _follow_range(self) -> float:
        """The x range's right end while following (``ranges.follow_end``)."""
        planned = self.data.planned_steps() if self.axis_mode == "step" else 0
        end = self.data.x_end(self.axis_mode)
        return follow_end(end, self.live, self._shown_end, planned, HEADROOM)

    def set_live(self, live: bool) -> None:
        """Whether data still arrives (the x range then keeps room ahead); False fits it."""
        if not live:
            self.system.clear()  # the machine now is no longer the session's
        if live != self.live:
            self.live = live
            self._shown_end = 0.0
            self._dirty = set(self.data.runs)
            self.redraw()

    def _fit_y(self) -> None:
        """Give each plot a y range of round numbers that its curves fit in (``ranges``); a
        plot with nothing to show says what will appear there instead."""
        for key in self._shown:
            extent = self.curves.y_extent(key)
            self.notes[key].set_shown(extent is None)
            if extent is None:
                self._y_ranges.pop(key, None)
                continue
            current = self._y_ranges.get(key)
            if self.options[key].log:
                new = log_y_range(*extent)
                new = None if new == current else new
            else:
                new = nice_y_range(*extent, current)
            if new is not None:
                self._y_ranges[key] = new
                self._moving = True
                self.plots[key].setYRange(*new, padding=0.0)
                self._moving = False

    def _bins(self) -> int:
        """One bin per pixel of the plots' width."""
        if not self._shown:
            return 0
        width = self.plots[self._shown[0]].getPlotItem().getViewBox().width()
        return int(width) if width >= 50 else 800

    def _view_moved(self, *_: object) -> None:
        # Zoomed or panned: the curves need an envelope of the new range (soon, once).
        if not self._moving and not self._following and not self._rezoom.isActive():
            self._rezoom.start()

    def _rezoomed(self) -> None:
        self._dirty = set(self.data.runs)
        self.redraw()

    def _to_x(self, run: RunData, ts: np.ndarray) -> np.ndarray:
        return run.to_x(ts, self.axis_mode)

    # -- per-plot options -----------------------------------------------------------------

    def plot_menu(self, key: str) -> QMenu:
        """The right-click menu of plot ``key``: log scale, smoothing, save, reset zoom."""
        menu = build_menu(
            SERIES_BY_KEY[key],
            self.options[key],
            set_log=lambda on: self.set_log(key, on),
            set_smoothing=lambda kind, window: self.set_smoothing(key, kind, window),
            save=lambda fmt: self.saveRequested.emit(key, fmt),
            reset_zoom=self.reset_zoom,
        )
        menu.setParent(self, menu.windowFlags())
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # one is made per right-click
        return menu

    def set_log(self, key: str, on: bool) -> None:
        """A logarithmic (``on``) or linear y axis for plot ``key`` (series that can span
        decades only); the y range is fitted again either way."""
        if key not in LOG_KEYS or self.options[key].log == on:
            return
        self.options[key].log = on
        if key == "step_time_ms":
            self.log_step_action.setChecked(on)
        axis = self.plots[key].getPlotItem().getAxis("left")
        axis.setLogMode(False, on)
        # pyqtgraph labels every log tick (2..9 x 10^n too): on a small plot they overlap into a
        # smudge. A log axis labels decades only when it spans several, else 1, 2 and 5 x 10^n;
        # the other ticks keep their grid lines.
        axis.setStyle(maxTextLevel=0 if on else 2)
        if not hasattr(axis, "_frameduel_log_strings"):
            axis._frameduel_log_strings = axis.logTickStrings
            axis.logTickStrings = lambda values, scale, spacing, a=axis: sparse_log_labels(
                a._frameduel_log_strings(values, scale, spacing), values
            )
        self._refit(key)

    def set_smoothing(self, key: str, kind: str, window: int | None = None) -> None:
        """Smooth plot ``key`` with a rolling ``median`` or ``mean`` (``off``: raw points only);
        the raw points stay, faint, behind the smoothed line."""
        options = self.options[key]
        options.smoothing = kind
        if window is not None:
            options.window = window
        self.curves.restyle(key, self.data.runs)
        self._refit(key)

    def _refit(self, key: str) -> None:
        # The y values changed (log10, smoothed): fit y again, and leave x (a zoom) alone.
        self._y_ranges.pop(key, None)
        self._dirty = set(self.data.runs)
        self.redraw()
        if not self._following:
            self._fit_y()
        self.optionsChanged.emit()

    def options_state(self) -> dict[str, dict[str, object]]:
        """Each plot's log scale and smoothing, where not the default (for the settings)."""
        default = PlotOptions()
        return {k: vars(o).copy() for k, o in self.options.items() if o != default}

    def restore_options(self, state: object) -> None:
        """Take back ``options_state()``; unknown plots and bad values are skipped."""
        if not isinstance(state, dict):
            return
        for key, values in state.items():
            if key not in self.options or not isinstance(values, dict):
                continue
            if values.get("log") is True:
                self.set_log(key, True)
            kind, window = values.get("smoothing"), values.get("window")
            if kind in SMOOTHING_KINDS and kind != "off":
                self.set_smoothing(key, str(kind), window if isinstance(window, int) else None)

    def smoothed_curve(self, run_id: int, key: str) -> pg.PlotCurveItem | None:
        """The smoothed line drawn for a run's series, if smoothing ever drew one."""
        return self.curves.smoothed.get((run_id, key))

    def _stop_following(self, *_: object) -> None:
        # The user zoomed or panned: leave the x axis alone until Reset zoom or a new session.
        self._following = False

    # -- axis, zoom, layout ---------------------------------------------------------------

    def cycle_axis_mode(self) -> None:
        """The next x axis: wall time, then time since each run's launch, then step."""
        self.set_axis_mode(AXIS_MODES[(AXIS_MODES.index(self.axis_mode) + 1) % len(AXIS_MODES)])

    def set_axis_mode(self, mode: str) -> None:
        """``time`` (seconds since the session started), ``launch`` (seconds since each run's
        launch) or ``step`` (training step)."""
        if mode not in AXIS_LABELS or mode == self.axis_mode:
            return
        self.axis_mode = mode
        self.axis_actions[mode].setChecked(True)
        self.crosshair.hide()
        self._update_axis_labels()
        self._dirty = set(self.data.runs)
        self._following = True
        self._shown_end = 0.0
        self.redraw()
        self.axisModeChanged.emit(mode)

    def reset_zoom(self) -> None:
        """Undo zooming and panning: the whole session, y autoscaled, following new data."""
        self._y_ranges.clear()
        self._following = True
        self._shown_end = 0.0
        self._dirty = set(self.data.runs)
        self.redraw()

    def set_shading(self, on: bool) -> None:
        """Shade the phases or not."""
        self.shading.enabled = on
        self.shade_action.setChecked(on)
        self.shading.update(self.data, self._to_x)
        self._update_legend()

    def set_plot_visible(self, key: str, visible: bool) -> None:
        """Show or hide one plot (GPU plots show only when the session has GPU samples)."""
        if (key not in self.hidden) == visible:
            return
        if visible:
            self.hidden.discard(key)
        else:
            self.hidden.add(key)
        self.plot_actions[key].setChecked(visible)
        self._relayout()
        self.layoutChanged.emit()

    def set_layout(self, order: list[str], hidden: set[str] | list[str]) -> None:
        """Reorder and hide plots (unknown keys are ignored, missing ones appended)."""
        self.grid.set_order(order, hidden)
        for key, action in self.plot_actions.items():
            action.blockSignals(True)
            action.setChecked(key not in self.hidden)
            action.blockSignals(False)
        self._relayout()
        self.layoutChanged.emit()

    def toggle_maximized(self, key: str) -> None:
        """Show only plot ``key`` (again: every plot); a double-click does this."""
        self.grid.maximized = None if self.grid.maximized == key else key
        self._relayout()

    def visible_keys(self) -> list[str]:
        """The plots shown, in order."""
        return self.grid.visible_keys(self.data.has_gpu())

    def _relayout(self) -> None:
        gpu = self.data.has_gpu()
        for key, action in self.plot_actions.items():
            action.setEnabled(gpu or not SERIES_BY_KEY[key].gpu)
        newly = self.grid.arrange(gpu)
        self._shown = self.grid.shown
        self._update_axis_labels()
        if newly:
            self._dirty |= set(self.data.runs)
            self.redraw()

    def _update_axis_labels(self) -> None:
        self.grid.label_axes(self.axis_mode, self.theme.plot_foreground)

    # -- reading --------------------------------------------------------------------------

    def readout_at(self, key: str, x: float) -> str:
        """Rich text: each run's value of plot ``key`` nearest to ``x``."""
        where = f"step {x:,.0f}" if self.axis_mode == "step" else f"{x:,.1f} s"
        if self.axis_mode == "launch":
            where += " since launch"
        values = [(run, *run.series(key, self.axis_mode)) for run in self.data.runs.values()]
        return readout_html(SERIES_BY_KEY[key], where, x, values, self.theme.plot_foreground)

    def point_count(self, run_id: int, series: str) -> int:
        """How many points ``series`` (e.g. 'samples_per_s', 'cpu_percent') holds for a run."""
        run = self.data.runs.get(run_id)
        if run is None:
            return 0
        columns = run.windows if SERIES_BY_KEY[series].source == "windows" else run.samples
        return int(np.isfinite(columns.col(series)).sum())

    def curve(self, run_id: int, key: str) -> pg.PlotCurveItem | None:
        """The curve drawn for a run's series, if any."""
        return self.curves.raw.get((run_id, key))
