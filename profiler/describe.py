"""What a config's model costs, worked out from its architecture alone: ``frameduel describe``.

Per framework: trainable parameters, training FLOPs per step and an estimate of training memory
(weights, gradients, optimizer state, activations at the batch size, the resident data). Nothing
here imports a deep-learning framework: the numbers come from ``workloads.architectures``
through ``workloads.spec.model_spec``, the framework-free family registry the workloads build
their models from (the one exception to "the engine never imports the workloads", named in the
import-linter contracts). Every built-in family gets the same numbers in every framework, by
construction (one neutral weight layout); a custom model's are unknown (None) until it is built.

The same figures check what really happens: a run whose framework reports another parameter
count is flagged (``param_mismatch``), and ``fits_in_memory`` refuses a config whose estimate
exceeds the memory free on the machine that would run it.

The memory estimate is what the framework's allocator should hold for the model, not a
prediction of RSS: it leaves out the framework's own runtime (a few hundred MiB), workspace
buffers and fragmentation. Activations are each family's ``activation_floats_per_sample``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from profiler.config_schema import Config, npz_headers
from profiler.nvml import GpuMonitor, device_index
from workloads.architectures import Architecture, ModelSpec
from workloads.spec import SpecError, model_spec

# Bytes of one number: weights, gradients and optimizer state stay float32 in every precision
# (mixed precision keeps float32 master weights); activations take the compute dtype's width.
FLOAT32_BYTES = 4
COMPUTE_BYTES = {"fp32": 4, "bf16": 2, "fp16": 2}
# Token ids are int64 in every framework's input.
INT_BYTES = 8
GIB = 2**30


@dataclass(frozen=True)
class MemoryEstimate:
    """Training memory by part, in bytes."""

    weights_bytes: int
    gradients_bytes: int
    optimizer_bytes: int
    activations_bytes: int
    data_bytes: int

    @property
    def total_bytes(self) -> int:
        """Every part together."""
        return (
            self.weights_bytes
            + self.gradients_bytes
            + self.optimizer_bytes
            + self.activations_bytes
            + self.data_bytes
        )


@dataclass(frozen=True)
class FrameworkEstimate:
    """One framework's analytic figures; None where the architecture is unknown (custom)."""

    framework: str
    params: int | None
    flops_per_step: int | None
    memory: MemoryEstimate | None


@dataclass(frozen=True)
class Description:
    """A config's model and its cost per framework."""

    name: str
    family: str
    preset: str | None
    batch_size: int
    precision: str
    optimizer: str
    frameworks: tuple[FrameworkEstimate, ...]

    def to_json(self) -> dict[str, Any]:
        """Plain JSON: memory parts in bytes, with ``total_bytes``; unknown values are null."""
        out = asdict(self)
        for fw, est in zip(out["frameworks"], self.frameworks, strict=True):
            if est.memory is not None:
                fw["memory"]["total_bytes"] = est.memory.total_bytes
        return out


def architecture(config: Config) -> ModelSpec:
    """The config's model as a ``workloads.architectures`` spec."""
    try:
        return model_spec(config.model.model_dump(mode="json"))
    except SpecError as exc:  # the schema accepted it, so this is a bug: say so plainly
        raise ValueError(f"the validated model cannot be described: {exc}") from None


def describe(config: Config) -> Description:
    """Parameters, FLOPs per step and training memory of ``config``'s model, per framework."""
    spec = architecture(config)
    params = spec.param_count()
    per_sample = spec.flops_per_sample()
    flops = None if per_sample is None else per_sample * config.train.batch_size
    memory = _memory(config, spec)
    return Description(
        name=config.name,
        family=config.model.family,
        preset=config.model.preset,
        batch_size=config.train.batch_size,
        precision=config.train.precision,
        optimizer=config.train.optimizer.name,
        frameworks=tuple(FrameworkEstimate(fw, params, flops, memory) for fw in config.frameworks),
    )


def _optimizer_slots(config: Config) -> int:
    """float32 numbers of optimizer state per parameter."""
    opt = config.train.optimizer
    if opt.name == "sgd":
        return 1 if opt.momentum else 0
    return 2  # Adam's and AdamW's first and second moments


def _rows(config: Config) -> int:
    """Rows of training data the run keeps: whole batches of the data set (see make_batches)."""
    samples = config.data.samples
    if samples is None and config.data.path is not None:
        try:
            samples = npz_headers(Path(config.data.path))["x"][0][0]
        except (OSError, KeyError, IndexError, ValueError):
            samples = config.train.batch_size
    batch = config.train.batch_size
    return max(1, (samples or batch) // batch) * batch


def _memory(config: Config, spec: Architecture) -> MemoryEstimate | None:
    params = spec.param_count()
    activations = spec.activation_floats_per_sample()
    if params is None or activations is None:
        return None
    batch = config.train.batch_size
    sample = math.prod(spec.input_shape) * (INT_BYTES if spec.input_kind == "int" else 4)
    target = spec.num_classes * 4 if config.train.loss == "mse" else INT_BYTES
    return MemoryEstimate(
        weights_bytes=params * FLOAT32_BYTES,
        gradients_bytes=params * FLOAT32_BYTES,
        optimizer_bytes=params * FLOAT32_BYTES * _optimizer_slots(config),
        activations_bytes=activations * batch * COMPUTE_BYTES[config.train.precision],
        data_bytes=_rows(config) * (sample + target),
    )


def param_mismatch(expected: int | None, framework: str, params: Any) -> str | None:
    """A warning when a run's reported trainable parameters differ from the architecture's."""
    if expected is None or not isinstance(params, int) or params == expected:
        return None
    return (
        f"{framework} built {params:,} trainable parameters but the architecture has "
        f"{expected:,}: the frameworks may not be training the same model (a FrameDuel bug; "
        "please report it)"
    )


def fits_in_memory(
    estimate: MemoryEstimate, available_bytes: int, where: str
) -> tuple[str, str] | None:
    """None when ``estimate`` fits in ``available_bytes``; else (field to change, message)."""
    if estimate.total_bytes <= available_bytes:
        return None
    batch_part = estimate.activations_bytes + estimate.data_bytes
    field = "train.batch_size" if batch_part > estimate.total_bytes / 2 else "model"
    return field, (
        f"training needs about {format_bytes(estimate.total_bytes)} ({memory_parts(estimate)}) "
        f"but {where} has {format_bytes(available_bytes)} free; lower train.batch_size or "
        "data.samples, shrink the model, or run it on a larger machine "
        "(`frameduel describe` shows the estimate)"
    )


def available_memory(config: Config, gpu: GpuMonitor | None = None) -> tuple[int, str] | None:
    """(free bytes, what they are) where ``config`` would train: the GPU's free memory (NVML)
    for ``cuda``, or for ``auto`` when NVML sees a GPU; else the host's available memory
    (psutil). None when the GPU cannot say."""
    if config.device != "cpu":
        monitor = gpu if gpu is not None else GpuMonitor(device_index(config.device))
        try:
            free = monitor.free_memory_bytes()
            if free is not None:
                return free, f"GPU {monitor.device_index}"
            if config.device.startswith("cuda"):
                return None
        finally:
            if gpu is None:
                monitor.close()
    return int(psutil.virtual_memory().available), "this machine's memory"


def check_memory(config: Config, gpu: GpuMonitor | None = None) -> tuple[str, str] | None:
    """None when ``config``'s training memory estimate fits where it would run (or is
    unknown); else (field to change, message naming the estimate and the free memory)."""
    estimate = _memory(config, architecture(config))
    if estimate is None:
        return None
    free = available_memory(config, gpu)
    if free is None:
        return None
    return fits_in_memory(estimate, *free)


def memory_parts(m: MemoryEstimate) -> str:
    """The estimate's parts in words."""
    return (
        f"weights {format_bytes(m.weights_bytes)}, gradients {format_bytes(m.gradients_bytes)}, "
        f"optimizer {format_bytes(m.optimizer_bytes)}, activations "
        f"{format_bytes(m.activations_bytes)}, data {format_bytes(m.data_bytes)}"
    )


def format_bytes(n: int) -> str:
    """Bytes in the largest binary unit that keeps the number above 1 (``1.5 GiB``)."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def _count(n: int | None) -> str:
    return "unknown" if n is None else f"{n:,}"


def _flops(n: int | None) -> str:
    return "unknown" if n is None else f"{n / 1e9:,.3f} GFLOP"


def render_text(d: Description) -> str:
    """The description as the lines ``frameduel describe`` prints."""
    preset = f", preset {d.preset}" if d.preset else ""
    lines = [
        f"{d.name}: {d.family} model{preset}; batch {d.batch_size}, {d.precision}, {d.optimizer}",
        f"{'framework':<11} {'params':>14} {'FLOPs/step':>18} {'memory':>11}  (parts)",
    ]
    for fw in d.frameworks:
        memory = "unknown" if fw.memory is None else format_bytes(fw.memory.total_bytes)
        parts = "" if fw.memory is None else f"  ({memory_parts(fw.memory)})"
        lines.append(
            f"{fw.framework:<11} {_count(fw.params):>14} {_flops(fw.flops_per_step):>18} "
            f"{memory:>11}{parts}"
        )
    lines.append(
        "FLOPs: 6 x forward multiply-accumulates; memory: float32 weights, gradients and "
        "optimizer state, activations in the compute dtype, resident data (the framework's "
        "runtime and workspaces not included)"
    )
    return "\n".join(lines)
