"""The training loop every framework shares, so timing means the same thing in each.

A framework subclass only builds its model and runs one step; this class decides when the device
is synchronised and what is timed:

- ``build``: make the model from the neutral weights (or the user's builder), put the data on
  the device (``resident``) or behind the framework's input pipeline (``native``), compute the
  first-batch loss before any update (``parity_loss``).
- ``compile`` (only with ``train.compile``): step 1 runs here, synchronised, so tracing and
  compilation by the framework's compiler are timed as a phase of their own and never leak into
  the steady-state numbers. Its window event carries ``phase: compile``.
- ``warmup`` then ``measure``: steps in windows of ``window_steps``. The host waits for the
  device only at the end of a window, by reading the window's last loss (plus an explicit device
  synchronise where the framework needs one); ``seconds`` is the wall time from the window's
  first step to that read. Step ``i`` trains on batch ``i mod n_batches`` in every framework.
- The very first step is also synchronised on its own and reported as ``first_step``; without
  compile it falls in warmup unless ``warmup_steps`` is 0, where its one-off costs (tracing,
  lazy allocation) dwarf the extra synchronise anyway.
- ``trace`` (only when the parent asks, ``run.trace``): after ``measure``, so no measured window
  ever runs under a profiler, a few more steps run under the framework's own profiler, each in
  a ``frameduel.step`` marker and the closing sync in ``frameduel.sync``; its one window carries
  ``phase: trace`` and a ``trace`` event lists the native files written. A profiler that fails
  is a warning, never a failed run: the measured numbers are already out.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from workloads.allocator import allocator_settings, page_faults
from workloads.architectures import CustomSpec
from workloads.custom import declared_params
from workloads.data import Batch, make_batches, training_data
from workloads.distributed import RankContext, weights_digest
from workloads.emitter import EventEmitter
from workloads.peak_flops import peak_flops_per_s
from workloads.spec import WorkloadSpec
from workloads.weights import ModelWeights, initial_weights

LossT = TypeVar("LossT")
# Measured windows last at least this long when their size is left to FrameDuel (seconds)...
MIN_WINDOW_S = 0.05
# ...unless that would leave fewer windows than this for the statistics.
MIN_WINDOWS = 20


class LossDiverged(ArithmeticError):
    """The training loss became NaN or infinite."""


class Workload(ABC, Generic[LossT]):
    """One framework's model and training step behind the shared loop in ``run``.

    ``LossT`` is the framework's handle on a step's loss (a device tensor); the loop never reads
    it back except through ``sync``.
    """

    framework: ClassVar[str]

    def __init__(self, spec: WorkloadSpec) -> None:
        self.spec = spec
        self._n_batches = 1
        self._flops_per_step = spec.flops_per_step()
        self._peak: float | None = None
        self._last_step_s: float | None = None
        # set in a data-parallel rank (workloads.distributed): its engine, rank and batch share
        self.dist = RankContext.from_env()
        self._weights_digest: str | None = None
        # seconds in gradient all-reduce since the last window, where the engine lets it be
        # timed apart from the step (DDP's communication hook); None: not measured
        self.comm_s: float | None = None

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
    def build(self, weights: ModelWeights | None, batches: list[Batch]) -> None:
        """Build model, loss and optimizer (from ``weights``, or the custom module's builder
        when None) and make ``batches`` available to ``train_step`` in order."""

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

    def compile(self) -> None:
        """Wrap the step in the framework's compiler (``train.compile``); the first step, run
        right after in the same phase, traces and compiles it."""

    def device_name(self) -> str | None:
        """The accelerator's marketing name (for its peak FLOP/s); None on the CPU."""
        return None

    def trace_start(self, folder: Path) -> None:
        """Start the framework's own profiler, writing into ``folder``."""
        raise NotImplementedError(f"{self.framework} has no profiler hook")

    def trace_stop(self, folder: Path) -> tuple[str, list[Path]]:
        """Stop the profiler and write its files: (format, the files in ``folder``)."""
        raise NotImplementedError(f"{self.framework} has no profiler hook")

    def trace_converter(self) -> tuple[str | None, str | None]:
        """(what converted the native profile into the Chrome trace the parent reads, why a
        fallback converted it, or None); (None, None) where the profiler writes that trace."""
        return None, None

    def trace_marker(
        self, name: str, step: int | None = None
    ) -> contextlib.AbstractContextManager[Any]:
        """A named span on the profiler's host timeline (``step``: a step annotation)."""
        return contextlib.nullcontext()

    def memory(self) -> tuple[int | None, int | None]:
        """(allocated, peak) bytes in the framework's device allocator; None when unknown."""
        return None, None

    @property
    def n_batches(self) -> int:
        """Batches in one pass over the data: step ``i`` trains on batch ``i mod n_batches``."""
        return self._n_batches

    def prepare(self) -> list[Batch]:
        """Draw the weights, load the data and ``build``; return the batches in step order."""
        spec = self.spec
        model = spec.model
        weights = None if isinstance(model, CustomSpec) else initial_weights(model, spec.seed)
        x, y = training_data(spec)
        if self.dist is None:
            batches = make_batches(x, y, spec.batch_size)
        else:
            # cut the global batches, then keep this rank's rows of each: the global batch
            # is the same rows at every worker count
            batches = self.dist.shard(make_batches(x, y, self.dist.global_batch))
            self._weights_digest = None if weights is None else weights_digest(weights)
        self._n_batches = len(batches)
        self.build(weights, batches)
        return batches

    def run(self, emitter: EventEmitter) -> None:
        """Build, (compile,) warm up and measure, emitting phase, model, env, window events."""
        spec = self.spec
        emitter.emit("phase", name="build", state="start")
        self.prepare()
        params = self.param_count()
        self._peak = peak_flops_per_s(self.device_name(), spec.precision)
        model: dict[str, Any] = {
            "params": params,
            "parity_loss": self.parity_loss(),
            "flops_per_step": self._flops_per_step,
        }
        if self._peak is not None:
            model["peak_flops_per_s"] = self._peak
        emitter.emit("model", **model)
        if self.dist is not None:
            emitter.emit(
                "rank",
                pid=os.getpid(),
                weights_digest=self._weights_digest,
                comm=self.comm_description(),
                **self.dist.record(),
            )
        self._check_custom_params(emitter, params)
        common = {
            "family": spec.model.family,
            "precision": spec.precision,
            "compile": spec.compile,
            "compile_cache": spec.compile_cache if spec.compile else None,
            "loss": spec.loss,
            "data": spec.data_kind,
            "pipeline": spec.pipeline,
            "window_steps": spec.window_steps,
            "cpus_available": available_cpus(),
            "cpu_affinity": list(spec.cpus) if spec.cpus is not None else None,
            "train_loop": self.loop_name(),
            "allocator": allocator_settings(),
        }
        emitter.emit("env", settings=jsonable({**common, **self.settings()}))
        emitter.emit("phase", name="build", state="end")
        self.train_loop(emitter)
        allocated, peak = self.memory()
        emitter.emit("memory", allocator_bytes=allocated, allocator_peak_bytes=peak)

    def loop_name(self) -> str:
        """What drives the steps, as the report labels it (``train.loop``)."""
        return "step"

    def comm_description(self) -> str:
        """How this rank's time in collective communication is measured, or why it is not."""
        return "not measured"

    def train_loop(self, emitter: EventEmitter) -> None:
        """(Compile,) warm up and measure: the phases and windows every framework reports."""
        spec = self.spec
        start = 0
        if spec.compile:
            emitter.emit("phase", name="compile", state="start")
            self.compile()
            self._run_steps(emitter, "compile", 0, 1)
            emitter.emit("phase", name="compile", state="end")
            start = 1
        self._run_phase(emitter, "warmup", start, spec.warmup_steps)
        first = max(start, spec.warmup_steps)
        window = self.measure_window(spec.steps - first)
        self._run_phase(emitter, "measure", first, spec.steps, window)
        if spec.trace_steps and spec.trace_dir:
            self.run_trace(emitter, Path(spec.trace_dir))

    def run_trace(self, emitter: EventEmitter, folder: Path) -> None:
        """The trace phase: ``trace_steps`` steps after measure under the framework's profiler,
        one ``window`` (phase trace) and one ``trace`` event naming the files written."""
        start, stop = self.spec.steps, self.spec.steps + self.spec.trace_steps
        emitter.emit("phase", name="trace", state="start")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self.trace_start(folder)
            faults = page_faults()
            t0 = time.perf_counter()
            with self.trace_marker("frameduel.step", start):
                loss = self.train_step(start % self._n_batches)
            for i in range(start + 1, stop):
                with self.trace_marker("frameduel.step", i):
                    loss = self.train_step(i % self._n_batches)
            with self.trace_marker("frameduel.sync"):
                value = self.sync(loss)
            seconds = time.perf_counter() - t0
            fmt, files = self.trace_stop(folder)
            converter, fallback = self.trace_converter()
        except Exception as exc:
            # the measured numbers are out already: a profiler that fails costs only its trace
            emitter.emit(
                "log", level="warning", message=f"tracing failed: {type(exc).__name__}: {exc}"
            )
            emitter.emit("phase", name="trace", state="end")
            return
        self.emit_window(
            emitter,
            "trace",
            start=start,
            end=stop,
            seconds=seconds,
            loss=value,
            faults_before=faults,
        )
        if fallback:
            emitter.emit(
                "log", level="warning", message=f"trace converted by {converter} ({fallback})"
            )
        emitter.emit(
            "trace",
            format=fmt,
            steps=stop - start,
            seconds=seconds,
            files=[str(f.relative_to(folder)) for f in files],
            **({"converter": converter} if converter else {}),
            **({"fallback": fallback} if fallback else {}),
        )
        emitter.emit("phase", name="trace", state="end")

    def _check_custom_params(self, emitter: EventEmitter, params: int) -> None:
        """Warn when a custom model's count differs from the one its module declares."""
        model = self.spec.model
        if not isinstance(model, CustomSpec):
            return
        declared = declared_params(model.module, self.spec.config)
        if declared is not None and declared != params:
            emitter.emit(
                "log",
                level="warning",
                message=(
                    f"{self.framework} builds {params} trainable parameters but "
                    f"{model.module} declares {declared}: the frameworks train different models"
                ),
            )

    def measure_window(self, measured_steps: int) -> int:
        """Steps per measured window.

        With ``train.window_steps`` left to FrameDuel, windows of very short steps grow until they
        last MIN_WINDOW_S (judged from the last warmup window), so the closing sync and the event
        cost well under 1% of the window, but never so far that fewer than MIN_WINDOWS remain.
        """
        base = self.spec.window_steps
        if self.dist is not None:
            # every rank must cut the same windows, so the parent can line them up
            return base
        if not self.spec.window_auto or self._last_step_s is None or self._last_step_s <= 0:
            return base
        by_time = math.ceil(MIN_WINDOW_S / self._last_step_s)
        return max(base, min(by_time, measured_steps // MIN_WINDOWS))

    def _run_phase(
        self, emitter: EventEmitter, phase: str, start: int, stop: int, window: int | None = None
    ) -> None:
        """Run steps ``start`` to ``stop`` - 1 as one phase."""
        emitter.emit("phase", name=phase, state="start")
        self._run_steps(emitter, phase, start, stop, window)
        emitter.emit("phase", name=phase, state="end")

    def _run_steps(
        self, emitter: EventEmitter, phase: str, start: int, stop: int, window: int | None = None
    ) -> None:
        """Run steps ``start`` to ``stop`` - 1 in windows, one ``window`` event each."""
        window = window or self.spec.window_steps
        n_batches = self._n_batches
        step = start
        while step < stop:
            end = min(step + window, stop)
            faults = page_faults()
            t0 = time.perf_counter()
            loss = self.train_step(step % n_batches)
            if step == 0:
                first = self.sync(loss)
                emitter.emit("first_step", step=1, seconds=time.perf_counter() - t0, loss=first)
                self._check_loss(first, 1)
            for i in range(step + 1, end):
                loss = self.train_step(i % n_batches)
            value = self.sync(loss)
            seconds = time.perf_counter() - t0
            self.emit_window(
                emitter,
                phase,
                start=step,
                end=end,
                seconds=seconds,
                loss=value,
                faults_before=faults,
            )
            step = end

    def emit_window(
        self,
        emitter: EventEmitter,
        phase: str,
        *,
        start: int,
        end: int,
        seconds: float,
        loss: float,
        faults_before: tuple[int, int] | None,
    ) -> None:
        """One ``window`` event for steps ``start`` to ``end`` - 1, with the page faults taken
        since ``faults_before`` (read just before the window's first step)."""
        steps = end - start
        event: dict[str, Any] = {
            "phase": phase,
            "step": end,
            "steps": steps,
            "seconds": seconds,
            "loss": loss,
            "samples": steps
            * (self.spec.batch_size if self.dist is None else self.dist.local_batch),
        }
        if self.comm_s is not None:
            event["comm_s"] = self.comm_s
            self.comm_s = 0.0
        faults_after = page_faults()
        if faults_before is not None and faults_after is not None:
            event["minor_faults"] = faults_after[0] - faults_before[0]
            event["major_faults"] = faults_after[1] - faults_before[1]
        if self._peak is not None and self._flops_per_step is not None:
            event["mfu"] = self._flops_per_step * steps / seconds / self._peak
        emitter.emit("window", **event)
        self._check_loss(loss, end)
        self._last_step_s = seconds / steps

    def _check_loss(self, loss: float, step: int) -> None:
        """Fail the run on a NaN/inf loss unless the config allows it. Only the loss a window
        already synchronised on is checked, so the check costs no extra device sync."""
        if not math.isfinite(loss) and not self.spec.allow_nonfinite_loss:
            raise LossDiverged(
                f"loss diverged at step {step}: it is {loss} (checked at the end of each window; "
                "set train.allow_nonfinite_loss: true to record such a run anyway)"
            )


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
