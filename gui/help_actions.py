"""First-time help: About, the manual (the README), the example configs and new configs from
the bundled templates. Listing and reading the templates run in workers."""

from __future__ import annotations

import html
import platform
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import QMenu, QMessageBox

from gui.prompts import fit_box
from profiler import __version__
from profiler.paths import project_root, resources_dir

if TYPE_CHECKING:
    from gui.main_window import MainWindow


def examples_dir() -> Path:
    """The bundled example configs (one per model family)."""
    return resources_dir() / "configs"


def readme_path() -> Path:
    """The README, the user manual, beside the code (absent from some installs)."""
    return project_root() / "README.md"


def list_help_files() -> tuple[list[Path], bool]:
    """The example configs by name, and whether the README is there (run in a worker)."""
    return sorted(examples_dir().glob("*.yaml")), readme_path().is_file()


class HelpActions:
    """Adds the help actions to ``window``'s File and Help menus."""

    def __init__(self, window: MainWindow, file_menu: QMenu, help_menu: QMenu) -> None:
        self.window = window
        w = window
        self.templates_menu = QMenu("&New config from template", w)
        self.templates_menu.setToolTip("Start a config in the editor from a bundled example")
        self.templates_menu.addAction("Listing the templates…").setEnabled(False)
        self.examples = QAction("Open e&xample configs", w)
        self.examples.setStatusTip("List the bundled example configs, one per model family")
        self.examples.triggered.connect(self.open_examples)
        self.manual = QAction("FrameDuel &manual (README)", w)
        self.manual.setStatusTip("Open the README: the app, the CLI, configs and reports")
        self.manual.triggered.connect(self.open_manual)
        self.manual.setEnabled(False)  # until a worker has seen the README
        self.about = QAction("&About FrameDuel", w)
        self.about.triggered.connect(self.show_about)
        file_menu.insertMenu(file_menu.actions()[0], self.templates_menu)
        file_menu.insertAction(file_menu.actions()[2], self.examples)
        help_menu.addAction(self.manual)
        help_menu.addAction(self.examples)
        help_menu.addSeparator()
        help_menu.addAction(self.about)
        self.about_box: QMessageBox | None = None
        w.runner.submit("list-help-files", list_help_files, self._found)

    def _found(self, found: tuple[list[Path], bool]) -> None:
        paths, has_readme = found
        self.manual.setEnabled(has_readme)
        if not has_readme:
            self.manual.setStatusTip("This installation has no README.md beside the code")
        menu = self.templates_menu
        menu.clear()
        for path in paths:
            action = menu.addAction(path.stem)
            action.setStatusTip(f"A new config in the editor, from {path.name}")
            action.triggered.connect(lambda _=False, p=path: self.new_from_template(p))
        if not paths:
            menu.addAction("No templates found").setEnabled(False)

    def open_examples(self) -> None:
        """Put the example configs in the list (read in a worker)."""
        self.window.configs.load_configs([str(examples_dir())], remember=False)

    def open_manual(self) -> bool:
        """Open the README in the desktop's viewer."""
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(readme_path())))

    def new_from_template(self, template: Path) -> None:
        """Edit a new, unsaved config copied from ``template`` (asking first about unsaved
        edits in the editor)."""
        w = self.window

        def start() -> None:
            w.runner.submit(
                "read-template",
                lambda: template.read_text(encoding="utf-8"),
                lambda text: self._edit_new(text, f"my-{template.name}"),
            )

        w.configs.unless_unsaved_edits("start a new config", start)

    def _edit_new(self, text: str, suggested: str) -> None:
        w = self.window
        w.editor.new_config(text, suggested)
        w.tabs.setCurrentWidget(w.editor)
        w._set_status(f"A new config from a template: edit it, then Save (Ctrl+S) as {suggested}")

    def show_about(self) -> QMessageBox:
        """A non-modal About box: version, Python, Qt, the store and where the manual is."""
        w = self.window
        box = QMessageBox(w)
        box.setWindowTitle("About")
        box.setIconPixmap(w.windowIcon().pixmap(64, 64))
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(
            f"<h3>FrameDuel {__version__}</h3>"
            "<p>Trains the same model in PyTorch, TensorFlow and JAX, each in its own process, "
            "measures speed, CPU, memory and GPU side by side, and keeps every session.</p>"
            f"<p>The manual is the README: {html.escape(str(readme_path()))}</p>"
        )
        box.setInformativeText(
            f"Python {platform.python_version()} · PySide6 {pyside_version}<br>"
            f"Store: {html.escape(w.store_path())}<br>Interpreter: {html.escape(sys.executable)}"
        )
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        fit_box(box)
        self.about_box = box
        box.open()
        return box
