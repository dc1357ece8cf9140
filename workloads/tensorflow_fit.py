"""``train.loop: fit``: the TensorFlow run trains with Keras's own ``model.fit``.

Most Keras users train with ``fit``, whose loop differs from FrameDuel's ``tf.function`` step:
Keras's ``train_step`` and metrics, its callbacks, and a host sync every step (the callbacks'
logs are turned into Python floats). One ``fit`` call runs every step of the run; a callback
cuts it into the same phases and windows as the shared loop, so the report compares them alike.
Imported only by the TensorFlow workload, inside the child.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import keras
import tensorflow as tf

from workloads.allocator import page_faults
from workloads.data import Batch, stacked
from workloads.emitter import EventEmitter

if TYPE_CHECKING:
    from workloads.tensorflow_workload import TensorFlowWorkload


@dataclass(frozen=True)
class PhasePlan:
    """Steps ``start`` to ``stop`` - 1 form phase ``name``."""

    name: str
    start: int
    stop: int


def phase_plan(steps: int, warmup_steps: int, compile_first: bool) -> list[PhasePlan]:
    """The phases of a run as the shared loop has them: (compile,) warmup, measure."""
    plan = []
    start = 0
    if compile_first:
        plan.append(PhasePlan("compile", 0, 1))
        start = 1
    if warmup_steps > start:
        plan.append(PhasePlan("warmup", start, warmup_steps))
    plan.append(PhasePlan("measure", max(start, warmup_steps), steps))
    return plan


class WindowCallback(keras.callbacks.Callback):  # type: ignore[misc]
    """Emits phase, first_step and window events from inside ``model.fit``.

    A window runs from the start of its first batch to the end of its last, and the logs Keras
    hands to ``on_train_batch_end`` are already Python floats (Keras synchronised to make them),
    so no extra sync is added. ``fit`` logs the running mean of the loss over the epoch (one
    epoch is the whole run): each step's own loss is recovered from two consecutive means.
    """

    def __init__(
        self, workload: TensorFlowWorkload, emitter: EventEmitter, plan: list[PhasePlan]
    ) -> None:
        super().__init__()
        self._workload = workload
        self._emitter = emitter
        self._plan = plan
        self._phase = plan[0]
        self._window = 1
        self._window_start: int | None = None
        self._t0 = 0.0
        self._faults: tuple[int, int] | None = None
        self._mean = 0.0

    def _phase_of(self, step: int) -> PhasePlan:
        return next(p for p in self._plan if p.start <= step < p.stop)

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        """Open the phase and the window this step starts."""
        phase = self._phase_of(batch)
        if batch == phase.start:
            self._phase = phase
            self._emitter.emit("phase", name=phase.name, state="start")
            spec = self._workload.spec
            if phase.name == "measure":
                self._window = self._workload.measure_window(phase.stop - phase.start)
            else:
                self._window = 1 if phase.name == "compile" else spec.window_steps
        if self._window_start is None:
            self._window_start = batch
            self._faults = page_faults()
            self._t0 = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
        """Close the window (and the phase) this step ends."""
        mean = float((logs or {}).get("loss", float("nan")))
        loss = (batch + 1) * mean - batch * self._mean
        self._mean = mean
        if batch == 0:
            self._emitter.emit(
                "first_step", step=1, seconds=time.perf_counter() - self._t0, loss=loss
            )
        start = self._window_start
        assert start is not None
        end = batch + 1
        if end - start >= self._window or end == self._phase.stop:
            seconds = time.perf_counter() - self._t0
            self._workload.emit_window(
                self._emitter,
                self._phase.name,
                start=start,
                end=end,
                seconds=seconds,
                loss=loss,
                faults_before=self._faults,
            )
            self._window_start = None
        if end == self._phase.stop:
            self._emitter.emit("phase", name=self._phase.name, state="end")


def fit_dataset(batches: list[Batch], batch_size: int) -> tf.data.Dataset:
    """Batch ``i mod n`` at step ``i``, through tf.data as ``fit`` users feed it."""
    x, y = stacked(batches)
    return (
        tf.data.Dataset.from_tensor_slices((x, y))
        .batch(batch_size, drop_remainder=True)
        .repeat()
        .prefetch(tf.data.AUTOTUNE)
    )


def run_fit(workload: TensorFlowWorkload, emitter: EventEmitter, batches: list[Batch]) -> None:
    """Compile the Keras model with the run's loss and optimizer and ``fit`` every step.

    ``jit_compile`` follows ``train.compile`` (Keras's ``"auto"`` would pick XLA on a GPU only);
    ``verbose=0``: a progress bar would print a line per step into the run's log.
    """
    spec = workload.spec
    model = workload.model
    model.compile(
        optimizer=workload.optimizer,
        loss=workload.loss_fn,
        jit_compile=spec.compile,
        steps_per_execution=1,
    )
    plan = phase_plan(spec.steps, spec.warmup_steps, spec.compile)
    callback = WindowCallback(workload, emitter, plan)
    model.fit(
        fit_dataset(batches, spec.batch_size),
        epochs=1,
        steps_per_epoch=spec.steps,
        verbose=0,
        callbacks=[callback],
    )
