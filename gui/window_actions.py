"""The window's actions, with their shortcuts and tooltips, in menus and on the toolbar."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMessageBox, QToolBar, QToolButton

from gui.help_actions import HelpActions
from gui.prompts import fit_box
from profiler.report_formats import REPORT_FORMATS

if TYPE_CHECKING:
    from gui.main_window import MainWindow

SHORTCUT_HELP_TITLE = "Keyboard shortcuts"


def _action(
    window: MainWindow,
    text: str,
    slot: Callable[..., object],
    shortcut: str | QKeySequence.StandardKey | None,
    tip: str,
) -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.setToolTip(f"{tip} ({action.shortcut().toString()})" if shortcut else tip)
    action.setStatusTip(tip)
    action.triggered.connect(slot)
    window.addAction(action)  # shortcuts work whatever has the focus, menus hidden or not
    return action


class WindowActions:
    """Builds the actions of ``window`` and puts them in menus and a toolbar."""

    def __init__(self, window: MainWindow) -> None:
        w = window
        dash = w.dashboard
        self.open = _action(
            w,
            "&Open configs…",
            w.configs.open_dialog,
            QKeySequence.StandardKey.Open,
            "Open config files",
        )
        self.save_config = _action(
            w,
            "&Save config",
            w.editor.save,
            QKeySequence.StandardKey.Save,
            "Save the edited config",
        )
        self.run = _action(w, "&Run", w.runs.start_run, "Ctrl+R", "Run the selected config")
        self.run.setShortcuts([QKeySequence("Ctrl+R"), QKeySequence("F5")])
        self.run_all = _action(
            w,
            "Run &all",
            w.runs.run_all,
            "Ctrl+Shift+R",
            "Run every valid config of the list in turn, each with its ticked frameworks",
        )
        self.stop = _action(w, "&Stop", w.runs.stop_run, "Ctrl+.", "Stop the running session")
        # Esc too, as the Stop button's tooltip says (enabled only while a session runs)
        self.stop.setShortcuts(
            [QKeySequence("Ctrl+."), QKeySequence("Shift+F5"), QKeySequence("Esc")]
        )
        self.exports: dict[str, QAction] = {}
        for suffix, fmt in REPORT_FORMATS.items():  # the engine's one registry of formats
            name = fmt.name.upper()
            key = "Ctrl+E" if suffix == ".pdf" else None
            self.exports[suffix] = _action(
                w,
                f"Export {name}…",
                lambda _=False, s=suffix: w.sessions.export_dialog(s),
                key,
                f"Write the shown (or selected) session's report as {name}",
            )
        self.preview = _action(
            w,
            "&Preview PDF",
            w.sessions.preview_pdf,
            "Ctrl+P",
            "Render the PDF report and show it here",
        )
        self.settings = _action(
            w, "Se&ttings…", w.open_settings, "Ctrl+,", "Sampling, frameworks, store, theme"
        )
        self.quit = _action(w, "&Quit", w.close, QKeySequence.StandardKey.Quit, "Quit FrameDuel")
        # View ▸ one action per centre tab, Ctrl+1… in the tabs' order (MainWindow.centre_tabs)
        self.tab_actions = [
            _action(
                w,
                tab.action_text,
                lambda _=False, page=tab.widget: w.tabs.setCurrentWidget(page),
                f"Ctrl+{i + 1}" if i < 9 else None,
                tab.tip,
            )
            for i, tab in enumerate(w.centre_tabs)
        ]
        self.history = self.tab_actions[w.tabs.indexOf(w.history)]
        self.history.setShortcuts([*self.history.shortcuts(), QKeySequence("Ctrl+H")])
        dash.toggle_axis_action.setShortcut(QKeySequence("Ctrl+T"))
        dash.reset_zoom_action.setShortcut(QKeySequence("Ctrl+0"))
        for action in (
            dash.toggle_axis_action,
            dash.reset_zoom_action,
            dash.shade_action,
            dash.log_step_action,
        ):
            w.addAction(action)
        self.arrange = _action(
            w, "&Arrange plots…", w.arrange_plots, None, "Reorder and hide plots"
        )
        self.shortcuts_help = _action(
            w, SHORTCUT_HELP_TITLE, self.show_shortcuts, "F1", "List the keyboard shortcuts"
        )
        self._window = w
        self._build_menus(w)
        self._build_toolbar(w)

    def _build_menus(self, w: MainWindow) -> None:
        bar = w.menuBar()
        file = bar.addMenu("&File")
        file.addAction(self.open)
        self.recent_menu = QMenu("Open &recent", w)
        self.recent_menu.aboutToShow.connect(lambda: w.configs.fill_recent_menu(self.recent_menu))
        file.addMenu(self.recent_menu)
        file.addAction(self.save_config)
        file.addSeparator()
        export = file.addMenu("E&xport")
        for action in self.exports.values():
            export.addAction(action)
        file.addAction(self.preview)
        file.addSeparator()
        file.addAction(self.settings)
        file.addAction(self.quit)
        run = bar.addMenu("&Run")
        for action in (self.run, self.run_all, self.stop):
            run.addAction(action)
        view = bar.addMenu("&View")
        for action in self.tab_actions:
            view.addAction(action)
        view.addSeparator()
        dash = w.dashboard
        for action in (
            dash.toggle_axis_action,
            dash.reset_zoom_action,
            dash.shade_action,
            dash.log_step_action,
            dash.system_action,
        ):
            view.addAction(action)
        plots = view.addMenu("&Plots")
        for action in dash.plot_actions.values():
            plots.addAction(action)
        plots.addSeparator()
        plots.addAction(self.arrange)
        self.runs_columns_menu = view.addMenu("Runs &columns")  # as the Runs header's menu
        self.runs_columns_menu.aboutToShow.connect(
            lambda: w.runs_table.fill_columns_menu(self.runs_columns_menu)
        )
        self.panels_menu = view.addMenu("Pa&nels")
        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self.shortcuts_help)
        self.help = HelpActions(w, file, help_menu)
        w.side.recent_button.setMenu(QMenu(w.side.recent_button))
        side_menu = w.side.recent_button.menu()
        side_menu.aboutToShow.connect(lambda: w.configs.fill_recent_menu(side_menu))

    def _build_toolbar(self, w: MainWindow) -> None:
        bar = QToolBar("Main", w)
        bar.setObjectName("mainToolbar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for action in (self.open, self.run, self.run_all, self.stop):
            bar.addAction(action)
        bar.addSeparator()
        export = QToolButton(bar)
        export.setText("Export")
        export.setToolTip("Export the shown (or selected) session's report: PDF, HTML, JSON, CSV")
        export.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(export)
        for action in self.exports.values():
            menu.addAction(action)
        export.setMenu(menu)
        self.export_button = export
        bar.addWidget(export)
        bar.addAction(self.preview)
        bar.addSeparator()
        bar.addAction(self.history)
        bar.addAction(self.settings)
        w.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.toolbar = bar

    def add_panel(self, toggle: QAction) -> None:
        """List a dock's show/hide action under View ▸ Panels."""
        self.panels_menu.addAction(toggle)

    def set_running(self, running: bool, can_run: bool, can_run_all: bool) -> None:
        """Enable Run, Run all and Stop as the side panel's buttons are."""
        self.run.setEnabled(can_run and not running)
        self.run_all.setEnabled(can_run_all and not running)
        self.stop.setEnabled(running)

    def set_exportable(self, exportable: bool) -> None:
        """Enable Export and Preview when there is a stored session to export."""
        for action in (*self.exports.values(), self.preview):
            action.setEnabled(exportable)
        self.export_button.setEnabled(exportable)

    def shortcut_lines(self) -> list[str]:
        """``Shortcut — what it does`` for every action that has one."""
        lines = []
        for action in self._window.actions():
            keys = ", ".join(
                s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts()
            )
            if keys:
                lines.append(f"{keys} — {action.text().replace('&', '').rstrip('…')}")
        return lines

    def show_shortcuts(self) -> None:
        """A non-modal box listing the shortcuts."""
        box = QMessageBox(self._window)
        box.setWindowTitle(SHORTCUT_HELP_TITLE)
        box.setText("\n".join(self.shortcut_lines()))
        fit_box(box)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
