"""The main window's config side: loading (drops, folders, Open…, recent files), the list, the
editor, and which frameworks this machine (and each configured interpreter) can run.

A mixin of ``MainWindow``: it uses the window's widgets, settings, runner and signals.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from PySide6.QtGui import QDragEnterEvent, QDragLeaveEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog, QMenu

from gui.side_panel import LoadedConfig, describe_config, describe_error
from profiler.config import CONFIG_SUFFIXES, FRAMEWORKS, ConfigError, load_config


def expand_config_paths(paths: Iterable[str | Path]) -> list[str]:
    """Config files among ``paths``, folders replaced by the configs inside them (recursively,
    sorted); absolute, each once, in order."""
    out: list[str] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in CONFIG_SUFFIXES
            )
        else:
            found = [path] if path.suffix.lower() in CONFIG_SUFFIXES else []
        for p in found:
            full = str(p.resolve())
            if full not in out:
                out.append(full)
    return out


def read_configs(paths: Iterable[str | Path]) -> list[LoadedConfig]:
    """Load and validate each config (folders expanded); errors are kept, never raised."""
    loaded = []
    for path in expand_config_paths(paths):
        try:
            loaded.append(LoadedConfig(path, load_config(path), None))
        except ConfigError as exc:
            loaded.append(LoadedConfig(path, None, exc))
    return loaded


class ConfigsMixin:
    """Config loading, the list and the frameworks' probe (see the module docstring)."""

    # -- loading --------------------------------------------------------------------------

    def load_config_files(self, paths: Iterable[str | Path]) -> list[LoadedConfig]:
        """Load configs and folders of them now (start-up and scripts; the window's own paths
        use a worker). A path that holds no config is listed with that error."""
        loaded: list[LoadedConfig] = []
        for path in paths:
            found = read_configs([path])
            loaded += found or [
                LoadedConfig(str(path), None, ConfigError(str(path), "no config file there"))
            ]
        self._add_loaded(loaded)
        return loaded

    def load_config_file(self, path: str | Path) -> LoadedConfig:
        """Load one config file now; for a folder, the first config in it."""
        return self.load_config_files([path])[0]

    def load_configs(self, paths: list[str], remember: bool = True) -> None:
        """Load configs and folders of them in a worker; ``configsLoaded`` follows."""

        def done(loaded: list[LoadedConfig]) -> None:
            if not loaded:
                self.banner.show_message(
                    "No config files there: FrameDuel reads .yaml, .yml, .toml and .json", "info"
                )
            self._add_loaded(loaded)
            if remember:
                for item in loaded:
                    self.settings.add_recent(item.path)
            self.configsLoaded.emit(loaded)

        self.runner.submit(
            "load-configs",
            lambda: read_configs(paths),
            done,
            lambda message, details: self.banner.show_message(
                f"Cannot load configs: {message}", "error", details
            ),
        )

    def _add_loaded(self, loaded: list[LoadedConfig]) -> None:
        for item in loaded:
            self._configs[item.path] = item
            self.side.add_config(item)
        if loaded:
            self._on_config_selected()

    def open_dialog(self) -> None:
        """Ask for config files (a modal dialog, only on the user's request)."""
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Open config", "", "FrameDuel configs (*.yaml *.yml *.toml *.json)"
        )
        if paths:
            self.load_configs(paths)

    def fill_recent_menu(self, menu: QMenu) -> None:
        """Rebuild a Recent files menu from the settings."""
        menu.clear()
        recent = self.settings.recent_files
        for path in recent:
            action = menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.setStatusTip(path)
            action.triggered.connect(lambda _=False, p=path: self.load_configs([p]))
        if not recent:
            menu.addAction("No recent configs").setEnabled(False)
        menu.addSeparator()
        menu.addAction("Clear recent", self.settings.clear_recent).setEnabled(bool(recent))

    def select_config(self, path: str) -> None:
        """Select a loaded config in the list."""
        loaded = self._configs.get(path)
        if loaded is not None:
            self.side.add_config(loaded)
            self._on_config_selected()

    def current_config(self) -> LoadedConfig | None:
        """The config selected in the list."""
        path = self.side.current_path()
        return None if path is None else self._configs.get(path)

    def remove_current_config(self) -> None:
        """Take the selected config off the list."""
        path = self.side.current_path()
        if path is not None:
            self._configs.pop(path, None)
            self.side.remove_config(path)
            self._on_config_selected()

    def edit_current_config(self) -> None:
        """Open the selected config in the editor tab."""
        path = self.side.current_path()
        if path is not None:
            self.editor.open_file(path)
            self.tabs.setCurrentWidget(self.editor)

    def _on_config_selected(self, *_: object) -> None:
        loaded = self.current_config()
        if loaded is None:
            self.side.summary.setText("Drop a config file here or use Open…")
        elif loaded.error is not None:
            self.banner.show_message(describe_error(loaded.error), "error", str(loaded.error))
            self.side.summary.setText("This config has an error: Edit it, or fix the file.")
        else:
            assert loaded.config is not None
            if self.banner.kind == "error":
                self.banner.hide()
            self.side.summary.setText(describe_config(loaded.config))
            if not self.controller.is_running():
                self.side.set_frameworks(list(loaded.config.frameworks))
        self._refresh_controls()

    def _on_editor_saved(self, path: str) -> None:
        self.load_configs([path], remember=True)

    def checked_frameworks(self) -> list[str]:
        """The frameworks ticked in the side panel."""
        return self.side.checked_frameworks()

    def runnable_configs(self) -> list[LoadedConfig]:
        """The valid configs of the list, top to bottom."""
        listed = [self._configs.get(p) for p in self.side.paths()]
        return [c for c in listed if c is not None and c.config is not None]

    # -- drag and drop --------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if _dropped_paths(event):
            event.acceptProposedAction()
            self.side.set_drop_active(True)
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if _dropped_paths(event):
            event.acceptProposedAction()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self.side.set_drop_active(False)

    def dropEvent(self, event: QDropEvent) -> None:
        self.side.set_drop_active(False)
        paths = _dropped_paths(event)
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        self.load_configs(paths)

    # -- frameworks on this machine -------------------------------------------------------

    def probe_frameworks(self) -> None:
        """Ask each interpreter in use which frameworks it has (a worker per interpreter)."""
        if self._probe is None:
            return
        pythons = self.settings.pythons
        self._probed_pythons = dict(pythons)
        for fw in FRAMEWORKS:
            self.side.set_framework_info(fw, None)
        interpreters = sorted({pythons.get(fw, "") for fw in FRAMEWORKS})
        for python in interpreters:
            probe = self._probe
            self.runner.submit(
                "probe-frameworks",
                lambda p=python, probe=probe: probe(p or None, self._probe_cancel),
                lambda result, p=python: self._probed(p, result),
                lambda message, _details, p=python: self._probed(p, {"error": message}),
            )

    def _probed(self, python: str, result: dict[str, Any]) -> None:
        pythons = self.settings.pythons
        shown = python or sys.executable
        for fw in FRAMEWORKS:
            if pythons.get(fw, "") != python:
                continue
            info = result.get(fw)
            if not isinstance(info, dict):
                info = {"available": False, "error": result.get("error") or "no answer"}
            self.side.set_framework_info(fw, {**info, "python": shown})
        self.frameworks_info[python] = result
        self._refresh_controls()
        self.frameworksProbed.emit(python)


def _dropped_paths(event: QDragEnterEvent | QDragMoveEvent | QDropEvent) -> list[str]:
    mime = event.mimeData()
    if mime is None or not mime.hasUrls():
        return []
    paths = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]
    # A name without a suffix is taken for a folder: what is inside is read in a worker (no
    # disk access on the GUI thread, not even a stat).
    return [p for p in paths if Path(p).suffix.lower() in CONFIG_SUFFIXES or not Path(p).suffix]
