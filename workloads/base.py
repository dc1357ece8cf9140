"""The training loop every framework shares, so timing means the same thing in each.

A framework subclass only builds its model and runs one step; this class decides when the device
is synchronised and what is timed:

- ``build``: make the model from the neutral weights, put every batch on the device once
  (resident data), compute the first-batch loss before any update (``parity_loss``).
- ``warmup`` then ``measure``: steps in windows of ``window_steps``. The host waits for the
  device only at the end of a window, by reading the window's last loss (plus an explicit device
  synchronise where the framework needs one); ``seconds`` is the wall time from the window's
  first step to that read. Step ``i`` trains on batch ``i mod n_batches`` in every framework.
- The very first step is also synchronised on its own and reported as ``first_step``; it falls
  in warmup unless ``warmup_steps`` is 0, where its one-off costs (tracing, lazy allocation)
  dwarf the extra synchronise anyway.
"""

from __future__ import annotations

import os
import time
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Generic, TypeVar

from workloads.emitter import EventEmitter
from workloads.spec import WorkloadSpec
from workloads.weights import Batch, DenseWeights, make_batches, mlp_weights, synthetic_data

LossT = TypeVar("LossT")


class Workload(ABC, Generic[LossT]):
    """One framework's model and training step behind the shared loop in ``run``.

    ``LossT`` is the framework's handle on a step's loss (a device tensor); the loop never reads
    it back except through ``sync``.
    """

    framework: ClassVar[str]

    def __init__(self, spec: WorkloadSpec) -> None:
        self.spec = spec

    @classmethod
    @abstractmethod
    def framework_version(cls) -> str:
        """The framework's version string."""

    @classmethod
    def is_oom(cls, exc: BaseException) -> bool:
        """Whether ``exc`` means the host or device ran out of memory."""
        return isinstance(exc, MemoryError)

    @abstractmethod
    def setup(self) -> str:
        """Apply threads, device and precision settings before any op; return the device used.

        The device is named ``cpu`` or ``cuda:N`` whatever the framework's own spelling.
        """

    @abstractmethod
    def build(self, weights: list[DenseWeights], batches: list[Batch]) -> None:
        """Build model, loss and optimizer from ``weights``; move ``batches`` to the device."""

    @abstractmethod
    def param_count(self) -> int:
        """Trainable parameters, as the framework counts them."""

    @abstractmethod
    def parity_loss(self) -> float:
        """Mean loss on batch 0 in inference mode (no dropout), before any update."""

    @abstractmethod
    def train_step(self, batch: int) -> LossT:
        """One forward, backward and optimizer step on batch ``batch``; must not sync."""

    @abstractmethod
    def sync(self, loss: LossT) -> float:
        """Wait for the device to finish all queued work and return ``loss`` as a float."""

    @abstractmethod
    def settings(self) -> dict[str, Any]:
        """Settings in effect that bear on a fair comparison (threads, TF32, jit, ...)."""

    def memory(self) -> tuple[int | None, int | None]:
        """(allocated, peak) bytes in the framework's device allocator; None when unknown."""
        return None, None

    def run(self, emitter: EventEmitter) -> None:
        """Build, warm up and measure, emitting phase, model, env, window and memory events."""
        spec = self.spec
        emitter.emit("phase", name="build", state="start")
        weights = mlp_weights(spec.model, spec.seed)
        x, y = synthetic_data(spec.model, spec.samples, spec.seed)
        batches = make_batches(x, y, spec.batch_size)
        self._n_batches = len(batches)
        self.build(weights, batches)
        emitter.emit(
            "model",
            params=self.param_count(),
            parity_loss=self.parity_loss(),
            flops_per_step=spec.flops_per_step(),
        )
        common = {
            "precision": spec.precision,
            "window_steps": spec.window_steps,
            "cpus_available": available_cpus(),
        }
        emitter.emit("env", settings=jsonable({**common, **self.settings()}))
        emitter.emit("phase", name="build", state="end")

        self._run_phase(emitter, "warmup", 0, spec.warmup_steps)
        self._run_phase(emitter, "measure", spec.warmup_steps, spec.steps)
        allocated, peak = self.memory()
        emitter.emit("memory", allocator_bytes=allocated, allocator_peak_bytes=peak)

    def _run_phase(self, emitter: EventEmitter, phase: str, start: int, stop: int) -> None:
        """Run steps ``start`` to ``stop`` - 1 in windows, one ``window`` event each."""
        emitter.emit("phase", name=phase, state="start")
        window = self.spec.window_steps
        n_batches = self._n_batches
        step = start
        while step < stop:
            end = min(step + window, stop)
            t0 = time.perf_counter()
            loss = self.train_step(step % n_batches)
            if step == 0:
                first = self.sync(loss)
                emitter.emit("first_step", step=1, seconds=time.perf_counter() - t0, loss=first)
            for i in range(step + 1, end):
                loss = self.train_step(i % n_batches)
            value = self.sync(loss)
            seconds = time.perf_counter() - t0
            emitter.emit(
                "window",
                phase=phase,
                step=end,
                steps=end - step,
                seconds=seconds,
                loss=value,
                samples=(end - step) * self.spec.batch_size,
            )
            step = end
        emitter.emit("phase", name=phase, state="end")


def available_cpus() -> int | None:
    """CPUs this process may run on (its affinity mask), or None when unknown."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count()


def jsonable(value: Any) -> Any:
    """``value`` with tuples as lists and anything not plain JSON as its ``str()``."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return str(value)
