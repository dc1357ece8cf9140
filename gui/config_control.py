"""The main window's config side: loading (drops, folders, Open…, recent files), the list and
the editor's files.

``ConfigController`` owns the listed configs and the frameworks ticked for each; it drives the
side panel and the editor through ``WindowViews`` and tells the window through its signals when
what can run has changed. Which frameworks each interpreter has is ``FrameworkProbe``'s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import cast

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog, QMenu

from gui.adapter import SessionController
from gui.prompts import unsaved_choices
from gui.side_panel import LoadedConfig, describe_config, describe_error
from gui.window_views import WindowServices, WindowViews
from profiler.config import CONFIG_SUFFIXES, Config, ConfigError, load_config


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


class ConfigController(QObject):
    """The config list and the editor's files (see the module docstring); ``session`` is the
    window's adapter (the ticks of a running session's frameworks are left alone)."""

    configsLoaded = Signal(list)  # list[LoadedConfig]
    controlsChanged = Signal()  # what can run (or be selected) changed: refresh the buttons

    def __init__(
        self,
        views: WindowViews,
        services: WindowServices,
        session: SessionController,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._views = views
        self._services = services
        self._settings = services.settings
        self._runner = services.runner
        self._session = session
        self._configs: dict[str, LoadedConfig] = {}
        self._ticks: dict[str, list[str]] = {}  # frameworks the user ticked, per config path
        # read now: configs given on the command line are listed (and saved) before the restore
        self._saved_config_list = self._settings.config_list
        side = views.side
        side.editRequested.connect(self.edit_current_config)
        side.removeRequested.connect(self.remove_current_config)
        side.clearRequested.connect(self.clear_configs)
        side.frameworksTicked.connect(self._on_frameworks_ticked)
        side.overridesChanged.connect(self._overrides_changed)
        side.config_list.currentItemChanged.connect(self._on_config_selected)
        views.editor.saved.connect(self._on_editor_saved)
        views.window.installEventFilter(self)  # files dropped on the window: see eventFilter

    def config(self, path: str) -> LoadedConfig | None:
        """The listed config read from ``path`` (None when it is not listed)."""
        return self._configs.get(path)

    def replace_config(self, loaded: LoadedConfig) -> None:
        """Use ``loaded`` for its path (an edit saved and validated while it is reloaded)."""
        self._configs[loaded.path] = loaded

    def can_run(self, framework: str) -> bool:
        """False when the probe found ``framework`` missing from its interpreter."""
        return self._views.side.framework_available.get(framework, True)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Config files and folders dragged onto the window: the drop zone lights up while
        they hover, and a drop loads them (taken as a copy, never moved)."""
        if watched is not self._views.window:
            return False
        side = self._views.side
        kind = event.type()
        if kind == QEvent.Type.DragEnter:
            enter = cast(QDragEnterEvent, event)
            if dropped_paths(enter) and accept_as_copy(enter):
                side.set_drop_active(True)
            else:
                enter.ignore()
        elif kind == QEvent.Type.DragMove:
            move = cast(QDragMoveEvent, event)
            if not (dropped_paths(move) and accept_as_copy(move)):
                move.ignore()
        elif kind == QEvent.Type.DragLeave:
            side.set_drop_active(False)
        elif kind == QEvent.Type.Drop:
            drop = cast(QDropEvent, event)
            side.set_drop_active(False)
            paths = dropped_paths(drop)
            if paths and accept_as_copy(drop):
                self.load_configs(paths)
            else:
                drop.ignore()
        else:
            return False
        return True

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

    def restore_config_list(self) -> None:
        """List again the configs listed when the app last ran (files since deleted are left
        out), read in a worker."""
        paths = self._saved_config_list
        if not paths:
            return

        def done(loaded: list[LoadedConfig]) -> None:
            before = self._views.side.current_path()  # configs given on the command line come first
            self._add_loaded(loaded)
            if loaded:
                first = next((c for c in loaded if c.config is not None), loaded[0])
                self.select_config(before or first.path)
                n = len(loaded)
                if not self._session.is_running():
                    self._views.set_status(
                        f"{n} config{'s' if n != 1 else ''} listed as you left them"
                    )
            self.configsLoaded.emit(loaded)

        self._runner.submit(
            "restore-configs",
            lambda: read_configs([p for p in paths if Path(p).is_file()]),
            done,
        )

    def load_configs(self, paths: list[str], remember: bool = True) -> None:
        """Load configs and folders of them in a worker; ``configsLoaded`` follows."""

        def done(loaded: list[LoadedConfig]) -> None:
            if not loaded:
                self._views.banner.show_message(
                    "No config files there: FrameDuel reads .yaml, .yml, .toml and .json", "info"
                )
            self._add_loaded(loaded)
            if remember:
                for item in loaded:
                    self._settings.add_recent(item.path)
            self.configsLoaded.emit(loaded)

        self._runner.submit(
            "load-configs",
            lambda: read_configs(paths),
            done,
            lambda message, details: self._views.banner.show_message(
                f"Cannot load configs: {message}", "error", details
            ),
        )

    def _add_loaded(self, loaded: list[LoadedConfig]) -> None:
        for item in loaded:
            self._configs[item.path] = item
            self._views.side.add_config(item)
        if loaded:
            self._on_config_selected()
            self.say_listed()

    def say_listed(self) -> None:
        """The list changed: remember it for the next start and say what is there."""
        paths = self._views.side.paths()
        self._settings.config_list = paths
        for path in list(self._ticks):
            if path not in paths:
                del self._ticks[path]
        if not self._session.is_running():
            runnable = len(self.runnable_configs())
            if paths:
                self._views.set_status(
                    f"{len(paths)} config{'s' if len(paths) != 1 else ''} listed, "
                    f"{runnable} runnable: Run (Ctrl+R) runs the selected one, Run all every one"
                )
            else:
                self._views.set_status("Ready. Drop a config file on the window or use Open…")

    def open_dialog(self) -> None:
        """Ask for config files (a modal dialog, only on the user's request)."""
        paths, _ = QFileDialog.getOpenFileNames(
            self._views.window, "Open config", "", "FrameDuel configs (*.yaml *.yml *.toml *.json)"
        )
        if paths:
            self.load_configs(paths)

    def fill_recent_menu(self, menu: QMenu) -> None:
        """Rebuild a Recent files menu from the settings."""
        menu.clear()
        recent = self._settings.recent_files
        for path in recent:
            action = menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.setStatusTip(path)
            action.triggered.connect(lambda _=False, p=path: self.load_configs([p]))
        if not recent:
            menu.addAction("No recent configs").setEnabled(False)
        menu.addSeparator()
        menu.addAction("Clear recent", self._settings.clear_recent).setEnabled(bool(recent))

    def select_config(self, path: str) -> None:
        """Select a loaded config in the list."""
        loaded = self._configs.get(path)
        if loaded is not None:
            self._views.side.add_config(loaded)
            self._on_config_selected()

    def current_config(self) -> LoadedConfig | None:
        """The config selected in the list."""
        path = self._views.side.current_path()
        return None if path is None else self._configs.get(path)

    def remove_current_config(self) -> None:
        """Take the selected configs off the list (the files stay)."""
        paths = self._views.side.selected_paths()
        current = self._views.side.current_path()
        if not paths and current is not None:
            paths = [current]
        for path in paths:
            self._configs.pop(path, None)
            self._views.side.remove_config(path)
        self._on_config_selected()
        self.say_listed()

    def clear_configs(self) -> None:
        """Empty the list (the files stay)."""
        for path in self._views.side.paths():
            self._configs.pop(path, None)
            self._views.side.remove_config(path)
        self._on_config_selected()
        self.say_listed()

    def edit_current_config(self) -> None:
        """Open the selected config in the editor tab (asking first when the editor has unsaved
        changes to another file)."""
        path = self._views.side.current_path()
        if path is None:
            return
        if self._views.editor.path == path and self._views.editor.is_modified():
            self._views.tabs.setCurrentWidget(self._views.editor)  # the same file, edits kept
            return
        self.edit_file(path)

    def edit_file(self, path: str) -> None:
        """Edit ``path``; unsaved changes in the editor are saved, discarded or kept as the user
        chooses."""

        def open_it(*_: object) -> None:
            self._views.editor.open_file(path)
            self._views.tabs.setCurrentWidget(self._views.editor)

        self.unless_unsaved_edits(f"open {Path(path).name}", open_it)

    def unless_unsaved_edits(self, doing: str, proceed: Callable[[], None]) -> None:
        """Call ``proceed`` now when the editor has no unsaved changes; else ask Save / Discard
        / Cancel and call it after a successful save, at once on Discard, never on Cancel."""
        if not self._views.editor.is_modified():
            proceed()
            return
        answer = self._services.choose(
            "Save changes?",
            f"The config editor has unsaved changes to {self._views.editor.display_name()}. "
            f"Save them before you {doing}?",
            unsaved_choices(),
        )
        if answer == "save":
            self._views.editor.save(after=lambda _path: proceed())
        elif answer == "discard":
            proceed()

    def _on_config_selected(self, *_: object) -> None:
        loaded = self.current_config()
        self._views.side.set_frameworks_owner(None if loaded is None else loaded.name)
        if loaded is None:
            self._views.side.summary.setText("Drop a config file here or use Open…")
        elif loaded.error is not None:
            self._views.banner.show_message(
                describe_error(loaded.error), "error", str(loaded.error)
            )
            self._views.side.summary.setText("This config has an error: Edit it, or fix the file.")
        else:
            assert loaded.config is not None
            if self._views.banner.kind == "error":
                self._views.banner.hide()
            self._views.side.summary.setText(self._describe_with_overrides(loaded.config))
            if not self._session.is_running():
                self._views.side.set_frameworks(self.frameworks_for(loaded))
        self.controlsChanged.emit()

    def _overrides_changed(self) -> None:
        loaded = self.current_config()
        if loaded is not None and loaded.config is not None and not self._session.is_running():
            self._views.side.summary.setText(self._describe_with_overrides(loaded.config))

    def _describe_with_overrides(self, config: Config) -> str:
        """The config as it would run: its summary with the quick overrides applied, and
        which values they changed (or why they cannot apply)."""
        quick = self._views.side.quick_overrides()
        if not quick:
            return describe_config(config)
        try:
            effective = config.with_overrides(**quick)
        except ValueError as exc:
            first = str(exc).splitlines()[0]
            return f"{describe_config(config)}\nOverrides cannot apply: {first}"
        names = {"batch_size": "batch", "device": "device"}
        changed = ", ".join(f"{names.get(k, k)} {v}" for k, v in quick.items())
        return f"{describe_config(effective)}\nOverridden here: {changed}"

    def frameworks_for(self, loaded: LoadedConfig) -> list[str]:
        """The frameworks ticked for a config: the user's ticks for it, else its file's."""
        if loaded.path in self._ticks:
            return list(self._ticks[loaded.path])
        return list(loaded.config.frameworks) if loaded.config is not None else []

    def _on_frameworks_ticked(self) -> None:
        loaded = self.current_config()
        if loaded is not None and loaded.config is not None:
            self._ticks[loaded.path] = self.checked_frameworks()

    def _on_editor_saved(self, path: str) -> None:
        self.load_configs([path], remember=True)

    def checked_frameworks(self) -> list[str]:
        """The frameworks ticked in the side panel."""
        return self._views.side.checked_frameworks()

    def runnable_configs(self) -> list[LoadedConfig]:
        """The valid configs of the list, top to bottom."""
        listed = [self._configs.get(p) for p in self._views.side.paths()]
        return [c for c in listed if c is not None and c.config is not None]


def accept_as_copy(event: QDragMoveEvent | QDropEvent) -> bool:
    """Accept a drop as Copy (else Link), never Move: a file manager that honours Move would
    delete the user's file once FrameDuel has "taken" it. False when only Move is offered."""
    offered = event.possibleActions()
    for action in (Qt.DropAction.CopyAction, Qt.DropAction.LinkAction):
        if offered & action:
            event.setDropAction(action)
            event.accept()
            return True
    return False


def dropped_paths(event: QDragEnterEvent | QDragMoveEvent | QDropEvent) -> list[str]:
    mime = event.mimeData()
    if mime is None or not mime.hasUrls():
        return []
    paths = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]
    # A name without a suffix is taken for a folder: what is inside is read in a worker (no
    # disk access on the GUI thread, not even a stat).
    return [p for p in paths if Path(p).suffix.lower() in CONFIG_SUFFIXES or not Path(p).suffix]
