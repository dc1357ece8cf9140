"""The app's persisted settings (QSettings): sampling, frameworks, interpreters, store, theme,
recent files, the window's layout and the Runs table's columns.

``AppSettings`` wraps one QSettings object, so tests hand it an INI file in a temporary folder
and never touch the user's settings. Lists and maps are stored as JSON text: INI files keep
neither empty lists nor nested maps reliably.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

from profiler.config import FRAMEWORKS, Config, apply_overrides
from profiler.session import RunOptions

ORGANIZATION = "FrameDuel"
APPLICATION = "FrameDuel"
MAX_RECENT = 10
SAMPLE_HZ_RANGE = (1.0, 50.0)  # what the config schema accepts for run.sample_hz


class AppSettings:
    """Typed access to FrameDuel's settings; writes go to ``self.q`` at once."""

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self.q = qsettings if qsettings is not None else QSettings(ORGANIZATION, APPLICATION)

    # -- helpers --------------------------------------------------------------------------

    def _get_json(self, key: str, default: Any) -> Any:
        raw = self.q.value(key, None)
        if raw is None or raw == "":
            return default
        try:
            value = json.loads(str(raw))
        except json.JSONDecodeError:
            return default
        return value if isinstance(value, type(default)) else default

    def _set_json(self, key: str, value: Any) -> None:
        self.q.setValue(key, json.dumps(value))

    def _get_str(self, key: str, default: str) -> str:
        raw = self.q.value(key, default)
        return str(raw) if raw is not None else default

    # -- measuring ------------------------------------------------------------------------

    @property
    def sample_hz(self) -> float:
        """Sampling rate for new runs in Hz; 0 means "as the config says"."""
        try:
            value = float(self._get_str("run/sample_hz", "0"))
        except ValueError:
            return 0.0
        return value if SAMPLE_HZ_RANGE[0] <= value <= SAMPLE_HZ_RANGE[1] else 0.0

    @sample_hz.setter
    def sample_hz(self, value: float) -> None:
        self.q.setValue("run/sample_hz", str(float(value)))

    def apply_overrides(self, config: Config) -> Config:
        """``config`` with the settings' sample rate (unless 0: as the config says) and
        interpreters per framework, through the config's one override path (raises
        profiler.config.OverrideError naming the field when one is invalid)."""
        return apply_overrides(
            config,
            "the settings",
            sample_hz=self.sample_hz or None,
            python=dict(self.pythons) or None,
        )

    @property
    def default_frameworks(self) -> list[str]:
        """Frameworks ticked at start-up, before any config is loaded."""
        value = self._get_json("frameworks/default", ["torch", "tensorflow"])
        return [fw for fw in FRAMEWORKS if fw in value]

    @default_frameworks.setter
    def default_frameworks(self, value: list[str]) -> None:
        self._set_json("frameworks/default", [fw for fw in FRAMEWORKS if fw in value])

    @property
    def baseline(self) -> str:
        """The framework the summary's ratios are computed against."""
        value = self._get_str("frameworks/baseline", "torch")
        return value if value in FRAMEWORKS else "torch"

    @baseline.setter
    def baseline(self, value: str) -> None:
        self.q.setValue("frameworks/baseline", value)

    @property
    def pythons(self) -> dict[str, str]:
        """The interpreter per framework (absent: the one running FrameDuel)."""
        value = self._get_json("frameworks/pythons", {})
        return {fw: str(p) for fw, p in value.items() if fw in FRAMEWORKS and p}

    @pythons.setter
    def pythons(self, value: dict[str, str]) -> None:
        self._set_json("frameworks/pythons", {fw: p for fw, p in value.items() if p})

    def run_options(self) -> RunOptions:
        """The session's RunOptions (the interpreters go on the config: ``apply_overrides``)."""
        return RunOptions()

    @property
    def store_path(self) -> str:
        """The SQLite store's path; empty means the default ($FRAMEDUEL_STORE or XDG)."""
        return self._get_str("store/path", "")

    @store_path.setter
    def store_path(self, value: str) -> None:
        self.q.setValue("store/path", value)

    # -- looks ----------------------------------------------------------------------------

    @property
    def theme(self) -> str:
        """``system``, ``light`` or ``dark``."""
        value = self._get_str("ui/theme", "system")
        return value if value in ("system", "light", "dark") else "system"

    @theme.setter
    def theme(self, value: str) -> None:
        self.q.setValue("ui/theme", value)

    @property
    def recent_files(self) -> list[str]:
        """Config files opened lately, newest first."""
        return [str(p) for p in self._get_json("ui/recent", [])][:MAX_RECENT]

    def add_recent(self, path: str) -> None:
        """Put ``path`` first in the recent files."""
        recent = [path] + [p for p in self.recent_files if p != path]
        self._set_json("ui/recent", recent[:MAX_RECENT])

    def clear_recent(self) -> None:
        """Forget the recent files."""
        self._set_json("ui/recent", [])

    @property
    def config_list(self) -> list[str]:
        """The configs listed in the side panel when the app last changed it, top to bottom."""
        return [str(p) for p in self._get_json("ui/configs", [])]

    @config_list.setter
    def config_list(self, paths: list[str]) -> None:
        self._set_json("ui/configs", list(paths))

    # -- layout ---------------------------------------------------------------------------

    def window_layout(self) -> tuple[QByteArray | None, QByteArray | None]:
        """The main window's saved geometry and dock/toolbar state."""
        geometry = self.q.value("window/geometry", None)
        state = self.q.value("window/state", None)
        return (
            geometry if isinstance(geometry, QByteArray) else None,
            state if isinstance(state, QByteArray) else None,
        )

    def save_window_layout(self, geometry: QByteArray, state: QByteArray) -> None:
        """Remember the main window's geometry and dock/toolbar state."""
        self.q.setValue("window/geometry", geometry)
        self.q.setValue("window/state", state)

    def plot_layout(self) -> tuple[list[str], list[str], str]:
        """Plot order, hidden plots and the x axis mode (``time``, ``launch`` or ``step``)."""
        order = [str(k) for k in self._get_json("plots/order", [])]
        hidden = [str(k) for k in self._get_json("plots/hidden", [])]
        axis = self._get_str("plots/axis", "time")
        return order, hidden, axis if axis in ("time", "launch", "step") else "time"

    def save_plot_layout(self, order: list[str], hidden: list[str], axis: str) -> None:
        """Remember the plot order, hidden plots and x axis mode."""
        self._set_json("plots/order", order)
        self._set_json("plots/hidden", sorted(hidden))
        self.q.setValue("plots/axis", axis)

    @property
    def runs_columns(self) -> dict[str, Any]:
        """The Runs table's column choices (``gui.models.columns``: shown, order, widths);
        empty when none are saved or the value is unreadable (the defaults)."""
        value: dict[str, Any] = self._get_json("runs/columns", {})
        return value

    @runs_columns.setter
    def runs_columns(self, value: dict[str, Any]) -> None:
        self._set_json("runs/columns", value)

    def sync(self) -> None:
        """Write everything to disk now."""
        self.q.sync()


def isolated_settings(path: str) -> AppSettings:
    """Settings kept in an INI file of their own (tests, screenshots, benchmarks)."""
    return AppSettings(QSettings(path, QSettings.Format.IniFormat))
