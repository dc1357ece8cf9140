"""Background work for the window: store reads, report rendering, framework probes, validation.

Following napari's ``qthreading``: a task is a plain function run in a worker thread; it talks
back only through a Qt signal on an object that lives in the GUI thread, so its result reaches
the callbacks there, queued, and the event loop never waits. Tasks are Python threads (daemons,
named ``frameduel-task-<name>``) so the tests' leak checks see them like any other thread.

At exit the runner is shut down (``shutdown``, also from an ``atexit`` hook): from then on no task
thread touches a Qt object, since one that emitted while the interpreter tore the window down
would use freed C++ memory (a segfault at exit, seen under load).
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
import traceback
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Qt, Signal

Callback = Callable[[Any], object]
ErrorCallback = Callable[[str, str], object]
T = TypeVar("T")


class TaskRunner(QObject):
    """Runs functions in worker threads; callbacks run later on the GUI thread.

    ``taskFinished(name)`` follows each task's callback, whatever its outcome (tests wait on it).
    Outcomes travel through one queued signal of the runner itself: no QObject is made or
    deleted per task, so no deferred deletion can outlive its parent.
    """

    taskFinished = Signal(str)
    # task id, succeeded, the result or (message in words, details)
    _outcome = Signal(int, bool, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pending: dict[int, tuple[str, Callback | None, ErrorCallback | None]] = {}
        self._next_id = 0
        self._threads: list[threading.Thread] = []
        # Held while a task emits and while shutting down, so no emit races the teardown.
        self._emit_lock = threading.Lock()
        self._closed = False
        self._outcome.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        atexit.register(_shutdown_at_exit, weakref.ref(self))

    def submit(
        self,
        name: str,
        work: Callable[[], T],
        on_done: Callable[[T], object] | None = None,
        on_error: ErrorCallback | None = None,
    ) -> threading.Thread | None:
        """Run ``work()`` in a new thread; ``on_done(result)`` or ``on_error(message, details)``
        are called on the GUI thread afterwards. After ``shutdown`` nothing runs (None)."""
        if self._closed:
            return None
        self._next_id += 1
        task_id = self._next_id
        self._pending[task_id] = (name, on_done, on_error)

        def body() -> None:
            try:
                result = work()
            except Exception as exc:  # reported in words, never raised into Qt
                outcome = (describe_exception(exc), traceback.format_exc())
                self._emit(task_id, False, outcome)
                return
            self._emit(task_id, True, result)

        thread = threading.Thread(target=body, name=f"frameduel-task-{name}", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)
        thread.start()
        return thread

    def _deliver(self, task_id: int, succeeded: bool, payload: Any) -> None:
        name, on_done, on_error = self._pending.pop(task_id)
        try:
            if succeeded:
                if on_done is not None:
                    on_done(payload)
            elif on_error is not None:
                on_error(*payload)
        finally:
            self.taskFinished.emit(name)

    def busy(self) -> bool:
        """True while a task's thread is still running."""
        return any(t.is_alive() for t in self._threads)

    def join(self, timeout_s: float = 10.0) -> None:
        """Wait for running tasks (application exit and tests only: this blocks)."""
        for thread in list(self._threads):
            thread.join(timeout_s)

    def shutdown(self, timeout_s: float = 2.0) -> None:
        """Take no more tasks and silence the running ones (their callbacks never come), then
        wait up to ``timeout_s`` in all for their threads. Idempotent; blocks (exit only)."""
        with self._emit_lock:
            self._closed = True
        deadline = time.monotonic() + timeout_s
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))

    def _emit(self, task_id: int, succeeded: bool, payload: Any) -> None:
        with self._emit_lock:
            if self._closed:
                return
            # The window (and the runner with it) may be gone by now: then nobody is to be told.
            with contextlib.suppress(RuntimeError):
                self._outcome.emit(task_id, succeeded, payload)


def _shutdown_at_exit(runner: weakref.ref[TaskRunner]) -> None:
    # atexit runs hooks in reverse order, so this comes before PySide's own teardown.
    alive = runner()
    if alive is not None:
        with contextlib.suppress(RuntimeError):
            alive.shutdown(timeout_s=0.0)


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
