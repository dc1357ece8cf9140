"""The run spec a child receives on its command line, read without the parent's pydantic models.

``--spec`` is ``{"config": Config.model_dump(), "window_steps": int}``. The parent has already
validated the config; this module only picks out the fields the workloads use and rejects what
they cannot run, so a child started by hand fails with a clear message instead of a KeyError.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

Activation = Literal["relu", "gelu", "tanh"]
OptimizerName = Literal["sgd", "adam"]

_S = TypeVar("_S", bound=str)

_ACTIVATIONS: tuple[Activation, ...] = ("relu", "gelu", "tanh")
_OPTIMIZERS: tuple[OptimizerName, ...] = ("sgd", "adam")


class SpecError(ValueError):
    """A spec the workloads cannot run; the message names the field."""


@dataclass(frozen=True)
class MLPSpec:
    """A multi-layer perceptron classifier: input -> hidden layers -> logits."""

    input_dim: int
    hidden: tuple[int, ...]
    activation: Activation
    dropout: float
    num_classes: int

    def layer_sizes(self) -> list[tuple[int, int]]:
        """(in_features, out_features) of every dense layer, input to output."""
        dims = [self.input_dim, *self.hidden, self.num_classes]
        return list(itertools.pairwise(dims))

    def param_count(self) -> int:
        """Trainable parameters: kernel and bias of every dense layer."""
        return sum(i * o + o for i, o in self.layer_sizes())

    def flops_per_sample(self) -> int:
        """Training FLOPs for one sample, the usual 6 x multiply-accumulates estimate.

        Each dense layer does in*out multiply-adds (2 FLOPs each) forward and twice that
        backward (gradients of the input and of the kernel): 6 * in * out. Biases,
        activations, dropout, the loss and the optimizer update are left out; they are
        O(out) per layer and small beside the matrix products.
        """
        return 6 * sum(i * o for i, o in self.layer_sizes())


@dataclass(frozen=True)
class WorkloadSpec:
    """Everything a workload needs to build its model and run the training loop."""

    name: str
    device: str
    threads: int | None
    seed: int
    model: MLPSpec
    samples: int
    batch_size: int
    steps: int
    warmup_steps: int
    window_steps: int
    optimizer: OptimizerName
    lr: float
    momentum: float
    precision: str

    @property
    def measured_steps(self) -> int:
        """Steps in the measure phase (after warmup)."""
        return self.steps - self.warmup_steps

    def flops_per_step(self) -> int:
        """Approximate training FLOPs of one step (see MLPSpec.flops_per_sample)."""
        return self.model.flops_per_sample() * self.batch_size


def parse_spec(text: str) -> WorkloadSpec:
    """Read the ``--spec`` JSON text; raise SpecError naming the first unusable field."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"--spec is not JSON: {exc.msg}") from None
    cfg = _mapping(obj, "config", "spec")
    model = _mapping(cfg, "model", "config")
    train = _mapping(cfg, "train", "config")
    data = _mapping(cfg, "data", "config")
    opt = _mapping(train, "optimizer", "config.train")
    if model.get("family") != "mlp":
        raise SpecError(f"config.model.family: unsupported model family {model.get('family')!r}")
    if data.get("kind", "synthetic") != "synthetic":
        raise SpecError(f"config.data.kind: unsupported data kind {data.get('kind')!r}")
    precision = str(train.get("precision", "fp32"))
    if precision != "fp32":
        raise SpecError(f"config.train.precision: unsupported precision {precision!r}")
    threads = cfg.get("threads")
    spec = WorkloadSpec(
        name=str(cfg.get("name", "")),
        device=str(cfg.get("device", "auto")),
        threads=None if threads is None else _int(threads, "config.threads", 1),
        seed=_int(cfg.get("seed", 0), "config.seed", 0),
        model=MLPSpec(
            input_dim=_int(model.get("input_dim"), "config.model.input_dim", 1),
            hidden=tuple(_int(h, "config.model.hidden", 1) for h in _list(model, "hidden")),
            activation=_choice(model.get("activation", "relu"), _ACTIVATIONS, "activation"),
            dropout=float(model.get("dropout", 0.0)),
            num_classes=_int(model.get("num_classes"), "config.model.num_classes", 2),
        ),
        samples=_int(data.get("samples"), "config.data.samples", 1),
        batch_size=_int(train.get("batch_size"), "config.train.batch_size", 1),
        steps=_int(train.get("steps"), "config.train.steps", 1),
        warmup_steps=_int(train.get("warmup_steps"), "config.train.warmup_steps", 0),
        window_steps=_int(obj.get("window_steps"), "window_steps", 1),
        optimizer=_choice(opt.get("name", "sgd"), _OPTIMIZERS, "optimizer.name"),
        lr=float(opt.get("lr", 0.01)),
        momentum=float(opt.get("momentum", 0.0)),
        precision=precision,
    )
    if spec.warmup_steps >= spec.steps:
        raise SpecError("config.train.warmup_steps must be below config.train.steps")
    if not 0.0 <= spec.model.dropout < 1.0:
        raise SpecError("config.model.dropout must be in [0, 1)")
    return spec


def _mapping(obj: Any, key: str, where: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise SpecError(f"{where} must be a JSON object")
    value = obj.get(key)
    if not isinstance(value, dict):
        raise SpecError(f"{where}.{key} must be a JSON object")
    return value


def _list(obj: dict[str, Any], key: str) -> list[Any]:
    value = obj.get(key)
    if not isinstance(value, list) or not value:
        raise SpecError(f"config.model.{key} must be a non-empty list")
    return value


def _int(value: Any, where: str, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise SpecError(f"{where} must be an integer >= {minimum}, got {value!r}")
    return value


def _choice(value: Any, choices: tuple[_S, ...], where: str) -> _S:
    for choice in choices:
        if value == choice:
            return choice
    raise SpecError(f"{where} must be one of {', '.join(choices)}, got {value!r}")
