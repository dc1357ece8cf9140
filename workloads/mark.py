"""Mark the steps of your own training script, so FrameDuel measures it as it measures its own.

Two lines in a script that FrameDuel runs with ``run.commands`` (or ``frameduel run --cmd``)::

    from workloads import mark                        # shipped with FrameDuel; stdlib only

    for batch in loader:
        loss = train_step(batch)
        mark.step(batch_size=len(batch), loss=loss)   # loss optional

Each call counts one training step. The first ``FRAMEDUEL_WARMUP_STEPS`` steps are the warmup
phase, the rest are measured, in timing windows of ``FRAMEDUEL_WINDOW_STEPS`` steps (or about
``MIN_WINDOW_S`` when unset). At each window's end the loss is turned into a Python float, which
waits for the device (a PyTorch, TensorFlow or JAX tensor): pass the loss, or asynchronous
frameworks are timed when they queue work, not when they finish it. The loss is read only there,
never per step. Outside FrameDuel (no ``FRAMEDUEL_EVENT_FD``) every call does nothing.

Events go on the same pipe, in the same protocol, as FrameDuel's own workloads; the framework's
version is read from the modules the script imported.
"""

from __future__ import annotations

import atexit
import math
import os
import sys
import threading
import time
from typing import Any

from workloads.emitter import EventEmitter

MIN_WINDOW_S = 0.05
_VERSIONS = {"torch": "torch", "tensorflow": "tensorflow", "jax": "jax"}


def _env_int(name: str, default: int | None) -> int | None:
    try:
        return int(os.environ[name])
    except (KeyError, ValueError):
        return default


def _as_float(loss: Any) -> float | None:
    """The loss as a float (a device sync for a framework tensor); None when it is not one."""
    if loss is None:
        return None
    try:
        value = float(loss.item() if hasattr(loss, "item") else loss)
    except (TypeError, ValueError, RuntimeError):
        return None
    return value if math.isfinite(value) else math.nan


class Marker:
    """Counts steps and sends phase, window and done events; a no-op without an event pipe."""

    def __init__(self) -> None:
        fd = _env_int("FRAMEDUEL_EVENT_FD", None)
        self._emitter = EventEmitter(fd) if fd is not None else None
        self.framework = os.environ.get("FRAMEDUEL_FRAMEWORK", "")
        self.warmup_steps = _env_int("FRAMEDUEL_WARMUP_STEPS", 0) or 0
        self.window_steps = _env_int("FRAMEDUEL_WINDOW_STEPS", None)
        self._created = time.perf_counter()
        self._lock = threading.Lock()
        self.steps = 0
        self._window_start: float | None = None
        self._window_steps = 0
        self._window_samples = 0
        self._phase: str | None = None
        self._last_loss: Any = None
        if self._emitter is not None:
            atexit.register(self.done)

    def _emit(self, kind: str, **payload: Any) -> None:
        if self._emitter is not None:
            self._emitter.emit(kind, **payload)

    def _hello(self) -> None:
        module = sys.modules.get(_VERSIONS.get(self.framework, ""))
        self._emit(
            "hello",
            pid=os.getpid(),
            framework=self.framework,
            # the protocol wants strings: what a script does not say is "unknown"
            framework_version=str(getattr(module, "__version__", "unknown")),
            device="unknown",
            python=sys.version.split()[0],
            source="script",
        )

    def _start(self, phase: str) -> None:
        if self._phase is not None:
            self._emit("phase", name=self._phase, state="end")
        self._phase = phase
        self._emit("phase", name=phase, state="start")

    def step(self, batch_size: int, loss: Any = None) -> None:
        """One training step of ``batch_size`` samples is done; ``loss`` is its loss, if any."""
        if self._emitter is None:
            return
        now = time.perf_counter()
        with self._lock:
            self._last_loss = loss
            if self.steps == 0:
                self._hello()
                first = _as_float(loss)  # once, as FrameDuel's own workloads do at step 1
                seconds = time.perf_counter() - self._created
                self._emit("first_step", step=1, seconds=seconds, loss=first)
                self._start("warmup" if self.warmup_steps > 0 else "measure")
                self._window_start = self._created
            self.steps += 1
            self._window_steps += 1
            self._window_samples += int(batch_size)
            if self._phase == "warmup" and self.steps >= self.warmup_steps:
                self._close(loss, time.perf_counter())
                self._start("measure")
                return
            full = (
                self._window_steps >= self.window_steps
                if self.window_steps
                else now - (self._window_start or now) >= MIN_WINDOW_S
            )
            if full:
                self._close(loss, time.perf_counter())

    def _close(self, loss: Any, now: float) -> None:
        value = _as_float(loss)  # waits for the device: the window ends when the work is done
        end = time.perf_counter() if value is not None else now
        start = self._window_start if self._window_start is not None else end
        self._emit(
            "window",
            phase=self._phase,
            step=self.steps,
            steps=self._window_steps,
            seconds=end - start,
            loss=value,
            samples=self._window_samples,
        )
        self._window_start = end
        self._window_steps = 0
        self._window_samples = 0

    def done(self) -> None:
        """Close the last window and say the run finished (called at exit on its own)."""
        if self._emitter is None:
            return
        with self._lock:
            if self.steps and self._window_steps:
                self._close(self._last_loss, time.perf_counter())
            if self._phase is not None:
                self._emit("phase", name=self._phase, state="end")
                self._phase = None
            self._emit("done", steps=self.steps, source="script")
            self._emitter.close()
            self._emitter = None


_MARKERS: list[Marker] = []  # the process's one marker, made at the first call


def _marker() -> Marker:
    if not _MARKERS:
        _MARKERS.append(Marker())
    return _MARKERS[0]


def step(batch_size: int, loss: Any = None) -> None:
    """Mark one training step of ``batch_size`` samples (see the module's docstring)."""
    _marker().step(batch_size, loss)


def done() -> None:
    """Mark the end of training early (otherwise the end of the process marks it)."""
    _marker().done()
