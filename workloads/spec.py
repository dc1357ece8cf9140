"""The run spec a child receives, read without the parent's pydantic models.

The spec (in the file ``--spec-file`` names, or ``--spec`` itself when a worker is run by hand) is
``{"config": Config.model_dump(mode="json"), "window_steps": int}``. The parent has
already validated the config (and made its paths absolute); this module only picks out the
fields the workloads use and rejects what they cannot run, so a child started by hand fails with
a clear message instead of a KeyError.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from workloads.architectures import (
    Activation,
    BERTSpec,
    CNNSpec,
    ConvSpec,
    CustomSpec,
    GPTSpec,
    MLPSpec,
    ModelSpec,
    ResNetSpec,
    RNNSpec,
    TransformerSpec,
    ViTSpec,
)

OptimizerName = Literal["sgd", "adam", "adamw"]
LossName = Literal["cross_entropy", "mse"]
Precision = Literal["fp32", "bf16", "fp16"]
Pipeline = Literal["resident", "native"]

_S = TypeVar("_S", bound=str)

_ACTIVATIONS: tuple[Activation, ...] = ("relu", "gelu", "tanh")
_OPTIMIZERS: tuple[OptimizerName, ...] = ("sgd", "adam", "adamw")
_LOSSES: tuple[LossName, ...] = ("cross_entropy", "mse")
_PRECISIONS: tuple[Precision, ...] = ("fp32", "bf16", "fp16")
_PIPELINES: tuple[Pipeline, ...] = ("resident", "native")


class SpecError(ValueError):
    """A spec the workloads cannot run; the message names the field."""


@dataclass(frozen=True)
class WorkloadSpec:
    """Everything a workload needs to build its model and run the training loop."""

    name: str
    device: str
    threads: int | None
    seed: int
    model: ModelSpec
    samples: int | None  # None: every row of the npz file
    batch_size: int
    steps: int
    warmup_steps: int
    window_steps: int
    optimizer: OptimizerName
    lr: float
    momentum: float
    precision: Precision
    weight_decay: float = 0.0
    loss: LossName = "cross_entropy"
    compile: bool = False
    # cold: this run's compile cache started empty; warm: caches persist between runs
    compile_cache: Literal["cold", "warm"] = "cold"
    data_kind: Literal["synthetic", "npz"] = "synthetic"
    data_path: str | None = None
    pipeline: Pipeline = "resident"
    # step: FrameDuel's loop around each framework's step; fit: Keras's model.fit (TensorFlow)
    loop: Literal["step", "fit"] = "step"
    # train.window_steps left to FrameDuel: measure windows may grow to last MIN_WINDOW_S
    window_auto: bool = False
    # train.allow_nonfinite_loss: a NaN/inf loss is recorded instead of failing the run
    allow_nonfinite_loss: bool = False
    # the trace phase after measure (``run.trace``): steps under the framework's own profiler,
    # its native files written into trace_dir (a folder the parent made for this run); 0: none
    trace_steps: int = 0
    trace_dir: str | None = None
    # run.affinity: auto, off or CPU numbers (workloads.affinity); ``cpus`` the CPUs the worker
    # pinned itself to before the framework started, None when the scheduler places it
    affinity: str | tuple[int, ...] = "auto"
    cpus: tuple[int, ...] | None = None
    # the whole config as the parent sent it: what a custom model's builders receive
    config: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def measured_steps(self) -> int:
        """Steps in the measure phase (after warmup)."""
        return self.steps - self.warmup_steps

    def flops_per_step(self) -> int | None:
        """Approximate training FLOPs of one step; None for a custom model."""
        per_sample = self.model.flops_per_sample()
        return None if per_sample is None else per_sample * self.batch_size


def parse_spec(text: str) -> WorkloadSpec:
    """Read the ``--spec`` JSON text; raise SpecError naming the first unusable field."""
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"--spec is not JSON: {exc.msg}") from None
    cfg = _mapping(obj, "config", "spec")
    train = _mapping(cfg, "train", "config")
    data = _mapping(cfg, "data", "config")
    opt = _mapping(train, "optimizer", "config.train")
    kind = data.get("kind", "synthetic")
    if kind not in ("synthetic", "npz"):
        raise SpecError(f"config.data.kind: unsupported data kind {kind!r}")
    path = data.get("path")
    if kind == "npz" and not isinstance(path, str):
        raise SpecError("config.data.path: kind npz needs the path of a .npz file")
    samples = data.get("samples")
    threads = cfg.get("threads")
    spec = WorkloadSpec(
        name=str(cfg.get("name", "")),
        device=str(cfg.get("device", "auto")),
        threads=None if threads is None else _int(threads, "config.threads", 1),
        seed=_int(cfg.get("seed", 0), "config.seed", 0),
        model=model_spec(_mapping(cfg, "model", "config")),
        samples=None if samples is None else _int(samples, "config.data.samples", 1),
        batch_size=_int(train.get("batch_size"), "config.train.batch_size", 1),
        steps=_int(train.get("steps"), "config.train.steps", 1),
        warmup_steps=_int(train.get("warmup_steps"), "config.train.warmup_steps", 0),
        window_steps=_int(obj.get("window_steps"), "window_steps", 1),
        window_auto=train.get("window_steps") is None,
        optimizer=_choice(opt.get("name", "sgd"), _OPTIMIZERS, "config.train.optimizer.name"),
        lr=float(opt.get("lr", 0.01)),
        momentum=float(opt.get("momentum", 0.0)),
        weight_decay=float(opt.get("weight_decay", 0.0)),
        precision=_choice(train.get("precision", "fp32"), _PRECISIONS, "config.train.precision"),
        loss=_choice(train.get("loss", "cross_entropy"), _LOSSES, "config.train.loss"),
        compile=bool(train.get("compile", False)),
        allow_nonfinite_loss=train.get("allow_nonfinite_loss", False) is True,
        compile_cache="warm" if train.get("compile_cache") == "warm" else "cold",
        data_kind="npz" if kind == "npz" else "synthetic",
        data_path=path if kind == "npz" else None,
        pipeline=_choice(data.get("pipeline", "resident"), _PIPELINES, "config.data.pipeline"),
        loop=_choice(train.get("loop", "step"), ("step", "fit"), "config.train.loop"),
        **_trace(obj.get("trace")),
        affinity=_affinity(cfg.get("run", {}).get("affinity", "auto")),
        config=cfg,
    )
    if spec.data_kind == "synthetic" and spec.samples is None:
        raise SpecError("config.data.samples: synthetic data needs a number of samples")
    if spec.warmup_steps >= spec.steps:
        raise SpecError("config.train.warmup_steps must be below config.train.steps")
    if isinstance(spec.model, GPTSpec) and spec.loss != "cross_entropy":
        raise SpecError("config.train.loss: a gpt model trains on next-token cross_entropy")
    return spec


def _affinity(value: Any) -> str | tuple[int, ...]:
    """``run.affinity``: auto, off (also false/null) or a list of CPU numbers."""
    if value is None or value is False or value == "off":
        return "off"
    if value == "auto":
        return "auto"
    if (
        isinstance(value, list)
        and value
        and all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in value)
    ):
        return tuple(value)
    raise SpecError("config.run.affinity: must be auto, off or a list of CPU numbers")


def _trace(trace: Any) -> dict[str, Any]:
    """``trace_steps``/``trace_dir`` from the spec's ``trace`` ({"steps", "dir"} or absent)."""
    if trace is None:
        return {}
    if not isinstance(trace, dict) or not isinstance(trace.get("dir"), str):
        raise SpecError("trace: must be an object with steps and dir (a folder)")
    return {"trace_steps": _int(trace.get("steps"), "trace.steps", 1), "trace_dir": trace["dir"]}


def model_spec(model: dict[str, Any]) -> ModelSpec:
    """The architecture of a ``config.model`` mapping (a preset already resolved), by family.

    Also what ``frameduel describe`` reads: it is framework-free, like ``architectures``.
    """
    family = model.get("family")
    parser = FAMILY_PARSERS.get(family) if isinstance(family, str) else None
    if parser is None:
        raise SpecError(
            f"config.model.family: unsupported model family {family!r} "
            f"(one of {', '.join(FAMILY_PARSERS)})"
        )
    return parser(model)


def _mlp(model: dict[str, Any]) -> MLPSpec:
    where = "config.model"
    dropout = float(model.get("dropout", 0.0))
    if not 0.0 <= dropout < 1.0:
        raise SpecError("config.model.dropout must be in [0, 1)")
    return MLPSpec(
        input_dim=_int(model.get("input_dim"), f"{where}.input_dim", 1),
        hidden=tuple(_int(h, f"{where}.hidden", 1) for h in _list(model, "hidden")),
        activation=_choice(model.get("activation", "relu"), _ACTIVATIONS, "activation"),
        dropout=dropout,
        num_classes=_int(model.get("num_classes"), f"{where}.num_classes", 2),
    )


def _image_shape(model: dict[str, Any]) -> tuple[int, int, int]:
    shape = tuple(_int(v, "config.model.input_shape", 1) for v in _list(model, "input_shape"))
    if len(shape) != 3:
        raise SpecError("config.model.input_shape must be [H, W, C]")
    return shape[0], shape[1], shape[2]


def _cnn(model: dict[str, Any]) -> CNNSpec:
    where = "config.model"
    return CNNSpec(
        input_hwc=_image_shape(model),
        conv=tuple(_conv(c, f"{where}.conv.{n}") for n, c in enumerate(_list(model, "conv"))),
        batch_norm=bool(model.get("batch_norm", False)),
        dense=tuple(_int(h, f"{where}.dense", 1) for h in model.get("dense") or []),
        num_classes=_int(model.get("num_classes"), f"{where}.num_classes", 2),
    )


def _resnet(model: dict[str, Any]) -> ResNetSpec:
    where = "config.model"
    layers = tuple(_int(v, f"{where}.layers", 1) for v in _list(model, "layers"))
    widths = tuple(_int(v, f"{where}.widths", 1) for v in _list(model, "widths"))
    if len(layers) != len(widths):
        raise SpecError(f"{where}.widths must have one width per stage in {where}.layers")
    return ResNetSpec(
        input_hwc=_image_shape(model),
        block=_choice(model.get("block", "basic"), ("basic", "bottleneck"), f"{where}.block"),
        layers=layers,
        widths=widths,
        stem=_choice(model.get("stem", "imagenet"), ("imagenet", "cifar"), f"{where}.stem"),
        stem_width=_int(model.get("stem_width", 64), f"{where}.stem_width", 1),
        num_classes=_int(model.get("num_classes"), f"{where}.num_classes", 2),
    )


def _transformer(model: dict[str, Any]) -> TransformerSpec:
    where = "config.model"
    t = _ints(model, ("vocab_size", "seq_len", "d_model", "heads", "layers", "ff_dim"))
    dropout = float(model.get("dropout", 0.0))
    if not 0.0 <= dropout < 1.0:
        raise SpecError(f"{where}.dropout must be in [0, 1)")
    if t["d_model"] % t["heads"]:
        raise SpecError(f"{where}.heads must divide {where}.d_model")
    return TransformerSpec(
        vocab_size=t["vocab_size"],
        seq_len=t["seq_len"],
        d_model=t["d_model"],
        heads=t["heads"],
        layers=t["layers"],
        ff_dim=t["ff_dim"],
        dropout=dropout,
        num_classes=_int(model.get("num_classes"), f"{where}.num_classes", 2),
    )


def _rnn(model: dict[str, Any]) -> RNNSpec:
    where = "config.model"
    r = _ints(model, ("vocab_size", "seq_len", "embed_dim", "hidden", "layers"))
    return RNNSpec(
        cell=_choice(model.get("cell", "lstm"), ("lstm", "gru"), f"{where}.cell"),
        vocab_size=r["vocab_size"],
        seq_len=r["seq_len"],
        embed_dim=r["embed_dim"],
        hidden=r["hidden"],
        layers=r["layers"],
        num_classes=_int(model.get("num_classes"), f"{where}.num_classes", 2),
    )


def _attention_model(family: str, model: dict[str, Any]) -> GPTSpec | ViTSpec | BERTSpec:
    """A gpt, vit or bert model; ``max_positions`` defaults to ``seq_len``, gpt's ``ff_dim`` to
    4 x ``d_model``."""
    where = "config.model"
    t = _ints(model, ("d_model", "heads", "layers"))
    d = t["d_model"]
    if d % t["heads"]:
        raise SpecError(f"{where}.heads must divide {where}.d_model")
    dropout = float(model.get("dropout", 0.0))
    if not 0.0 <= dropout < 1.0:
        raise SpecError(f"{where}.dropout must be in [0, 1)")
    ff = model.get("ff_dim")
    ff_dim = 4 * d if ff is None and family == "gpt" else _int(ff, f"{where}.ff_dim", 1)
    if family == "vit":
        shape = tuple(_int(v, f"{where}.input_shape", 1) for v in _list(model, "input_shape"))
        patch = _int(model.get("patch"), f"{where}.patch", 1)
        if len(shape) != 3:
            raise SpecError(f"{where}.input_shape must be [H, W, C]")
        if patch > min(shape[0], shape[1]):
            raise SpecError(f"{where}.patch is larger than the image")
        return ViTSpec(
            input_hwc=(shape[0], shape[1], shape[2]),
            patch=patch,
            d_model=d,
            heads=t["heads"],
            layers=t["layers"],
            ff_dim=ff_dim,
            dropout=dropout,
            num_classes=_int(model.get("num_classes"), f"{where}.num_classes", 2),
        )
    vocab = _int(model.get("vocab_size"), f"{where}.vocab_size", 2)
    seq_len = _int(model.get("seq_len"), f"{where}.seq_len", 1)
    positions = model.get("max_positions")
    max_positions = seq_len if positions is None else _int(positions, f"{where}.max_positions", 1)
    if max_positions < seq_len:
        raise SpecError(f"{where}.max_positions must be at least {where}.seq_len")
    if family == "gpt":
        return GPTSpec(
            vocab_size=vocab,
            seq_len=seq_len,
            max_positions=max_positions,
            d_model=d,
            heads=t["heads"],
            layers=t["layers"],
            ff_dim=ff_dim,
            dropout=dropout,
        )
    return BERTSpec(
        vocab_size=vocab,
        seq_len=seq_len,
        max_positions=max_positions,
        type_vocab_size=_int(model.get("type_vocab_size", 2), f"{where}.type_vocab_size", 1),
        d_model=d,
        heads=t["heads"],
        layers=t["layers"],
        ff_dim=ff_dim,
        dropout=dropout,
        num_classes=_int(model.get("num_classes"), f"{where}.num_classes", 2),
    )


def _custom(model: dict[str, Any]) -> CustomSpec:
    where = "config.model"
    module = model.get("module")
    if not isinstance(module, str):
        raise SpecError(f"{where}.module must be the path of a Python file")
    vocab = model.get("vocab_size")
    options = model.get("options") or {}
    if not isinstance(options, dict):
        raise SpecError(f"{where}.options must be a JSON object")
    return CustomSpec(
        module=module,
        input_shape=tuple(_int(v, f"{where}.input_shape", 1) for v in _list(model, "input_shape")),
        vocab_size=None if vocab is None else _int(vocab, f"{where}.vocab_size", 2),
        num_classes=_int(model.get("num_classes"), f"{where}.num_classes", 2),
        options=options,
    )


# The family registry: ``config.model.family`` -> the parser of its mapping into a spec of
# ``workloads.architectures``. A new family adds its parser here (see architectures' docstring).
FAMILY_PARSERS: dict[str, Callable[[dict[str, Any]], ModelSpec]] = {
    "mlp": _mlp,
    "cnn": _cnn,
    "resnet": _resnet,
    "transformer": _transformer,
    "rnn": _rnn,
    "gpt": functools.partial(_attention_model, "gpt"),
    "vit": functools.partial(_attention_model, "vit"),
    "bert": functools.partial(_attention_model, "bert"),
    "custom": _custom,
}


def _ints(model: dict[str, Any], keys: tuple[str, ...]) -> dict[str, int]:
    return {key: _int(model.get(key), f"config.model.{key}", 1) for key in keys}


def _conv(obj: Any, where: str) -> ConvSpec:
    if not isinstance(obj, dict):
        raise SpecError(f"{where} must be a JSON object")
    pool = obj.get("pool")
    return ConvSpec(
        filters=_int(obj.get("filters"), f"{where}.filters", 1),
        kernel=_int(obj.get("kernel"), f"{where}.kernel", 1),
        stride=_int(obj.get("stride", 1), f"{where}.stride", 1),
        padding=_choice(obj.get("padding", "same"), ("same", "valid"), f"{where}.padding"),
        pool=None if pool is None else _int(pool, f"{where}.pool", 2),
    )


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
