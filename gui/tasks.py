"""Background work for the window: store reads, report rendering, framework probes, validation.

Following napari's ``qthreading``: a task is a plain function run in a worker thread; it talks
back only through a Qt signal on an object that lives in the GUI thread, so its result reaches
the callbacks there, queued, and the event loop never waits. Tasks are Python threads (daemons,
named ``frameduel-task-<name>``) so the tests' leak checks see them like any other thread.
"""

from __future__ import annotations

import contextlib
import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

Callback = Callable[[Any], None]
ErrorCallback = Callable[[str, str], None]


class _Relay(QObject):
    """Carries one task's outcome from its thread to the GUI thread."""

    succeeded = Signal(object)
    errored = Signal(str, str)  # message in words, details (traceback)


class TaskRunner(QObject):
    """Runs functions in worker threads; callbacks run later on the GUI thread.

    ``taskFinished(name)`` follows each task's callback, whatever its outcome (tests wait on it).
    """

    taskFinished = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._relays: set[_Relay] = set()
        self._threads: list[threading.Thread] = []

    def submit(
        self,
        name: str,
        work: Callable[[], Any],
        on_done: Callback | None = None,
        on_error: ErrorCallback | None = None,
    ) -> threading.Thread:
        """Run ``work()`` in a new thread; ``on_done(result)`` or ``on_error(message, details)``
        are called on the GUI thread afterwards."""
        relay = _Relay(self)
        self._relays.add(relay)

        def finish() -> None:
            self._relays.discard(relay)
            relay.deleteLater()
            self.taskFinished.emit(name)

        def done(result: Any) -> None:
            try:
                if on_done is not None:
                    on_done(result)
            finally:
                finish()

        def failed(message: str, details: str) -> None:
            try:
                if on_error is not None:
                    on_error(message, details)
            finally:
                finish()

        relay.succeeded.connect(done)
        relay.errored.connect(failed)

        def body() -> None:
            try:
                result = work()
            except Exception as exc:  # reported in words, never raised into Qt
                _emit(relay.errored, describe_exception(exc), traceback.format_exc())
                return
            _emit(relay.succeeded, result)

        thread = threading.Thread(target=body, name=f"frameduel-task-{name}", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)
        thread.start()
        return thread

    def busy(self) -> bool:
        """True while a task's thread is still running."""
        return any(t.is_alive() for t in self._threads)

    def join(self, timeout_s: float = 10.0) -> None:
        """Wait for running tasks (application exit and tests only: this blocks)."""
        for thread in list(self._threads):
            thread.join(timeout_s)


def _emit(signal: Any, *args: Any) -> None:
    # The window (and the relay with it) may be gone by now: then there is nobody to tell.
    with contextlib.suppress(RuntimeError):
        signal.emit(*args)


def describe_exception(exc: BaseException) -> str:
    """An exception in plain words: its message, prefixed by its type unless self-explanatory."""
    text = str(exc).strip()
    if isinstance(exc, OSError) and not text:
        text = exc.strerror or ""
    name = type(exc).__name__
    if name in {"StoreError", "ConfigError"} and text:
        return text
    if isinstance(exc, KeyError):
        return f"not found: {text}"
    return f"{name}: {text}" if text else name
