"""Which frameworks this machine can run: each interpreter in use (FrameDuel's own, or one set
per framework in Settings ▸ Interpreters) is asked in a worker, and the side panel's framework
boxes say what it found (version, devices, or why not)."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from gui.window_views import WindowServices, WindowViews
from profiler.config import FRAMEWORKS

Probe = Callable[[str | None, threading.Event], dict[str, Any]]


def default_probe(python: str | None, cancel: threading.Event) -> dict[str, Any]:
    """``profiler.doctor.probe_frameworks`` (imported when first needed: it is slow anyway);
    setting ``cancel`` kills the probing child."""
    from profiler.doctor import probe_frameworks

    return probe_frameworks(python, cancel=cancel)


class FrameworkProbe(QObject):
    """Probes the interpreters in use; ``probe(python, cancel)`` answers for one (None: never
    probe). ``frameworksProbed(python)`` follows each answer."""

    frameworksProbed = Signal(str)  # the interpreter ("" = FrameDuel's own)
    probed = Signal()  # what can run may have changed: refresh the buttons

    def __init__(
        self,
        views: WindowViews,
        services: WindowServices,
        probe: Probe | None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._probe = probe
        self._settings = services.settings
        self._runner = services.runner
        self._side = views.side
        self._banner = views.banner
        self._probe_cancel = threading.Event()
        self.frameworks_info: dict[str, dict[str, Any]] = {}  # each interpreter's answer
        self.framework_probe: dict[str, dict[str, Any]] = {}  # what each framework's probe said
        self._probed_pythons: dict[str, str] | None = None  # None: not probed yet

    def cancel(self) -> None:
        """Kill the probing children (application exit)."""
        self._probe_cancel.set()

    def pythons_changed(self) -> bool:
        """True when the settings' interpreters are not those last probed (or none was)."""
        return self._settings.pythons != self._probed_pythons

    def devices(self, framework: str) -> list[str] | None:
        """The devices the probe found for ``framework`` (None: not probed, or no answer)."""
        devices = (self.framework_probe.get(framework) or {}).get("devices")
        return list(devices) if isinstance(devices, list) else None

    def probe(self) -> None:
        """Ask each interpreter in use which frameworks it has (a worker per interpreter)."""
        if self._probe is None:
            return
        pythons = self._settings.pythons
        self._probed_pythons = dict(pythons)
        for fw in FRAMEWORKS:
            self._side.set_framework_info(fw, None)
            self.framework_probe.pop(fw, None)
        interpreters = sorted({pythons.get(fw, "") for fw in FRAMEWORKS})
        for python in interpreters:
            self._submit_probe(self._probe, python)

    def _submit_probe(self, probe: Probe, python: str) -> None:
        def failed(message: str, _details: str) -> None:
            self._probed(python, {"error": message})

        self._runner.submit(
            "probe-frameworks",
            lambda: probe(python or None, self._probe_cancel),
            lambda result: self._probed(python, result),
            failed,
        )

    def _probed(self, python: str, result: dict[str, Any]) -> None:
        pythons = self._settings.pythons
        shown = python or sys.executable
        for fw in FRAMEWORKS:
            if pythons.get(fw, "") != python:
                continue
            info = result.get(fw)
            if not isinstance(info, dict):
                info = {"available": False, "error": result.get("error") or "no answer"}
            self._side.set_framework_info(fw, {**info, "python": shown})
            self.framework_probe[fw] = info
        self.frameworks_info[python] = result
        self.probed.emit()
        self._say_when_nothing_can_run()
        self.frameworksProbed.emit(python)

    def _say_when_nothing_can_run(self) -> None:
        """Once every interpreter in use has answered: if none can run any framework, say so
        on the window, with the fix (not only in the checkboxes' tooltips)."""
        probed = self._probed_pythons or {}
        interpreters = {probed.get(fw, "") for fw in FRAMEWORKS}
        if any(p not in self.frameworks_info for p in interpreters):
            return
        if any(
            isinstance(info, dict) and info.get("available")
            for info in self.framework_probe.values()
        ):
            return
        self._banner.show_message(
            "No framework can run: PyTorch, TensorFlow and JAX are all missing (or fail to "
            "import) in the interpreters FrameDuel would use. Install one beside FrameDuel "
            "(pip install 'frameduel[torch]'), or point FrameDuel at the environment that has it "
            "in Settings ▸ Interpreters.",
            "error",
            "\n".join(
                f"{fw}: {info.get('error') or 'not available'}"
                for fw, info in self.framework_probe.items()
                if isinstance(info, dict)
            ),
        )
