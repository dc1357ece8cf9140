"""The config schema: pydantic models for every field, and the checks that need the files.

``profiler.config`` reads files into these models and turns validation errors into messages that
name the file, line and field.
"""

from __future__ import annotations

import ast
import math
import os
import re
import shlex
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from profiler.node_address import address_problem
from profiler.presets import PresetError, resolve_preset
from profiler.ssh import SshTarget

if TYPE_CHECKING:
    import numpy as np

FRAMEWORKS: tuple[str, ...] = ("torch", "tensorflow", "jax")
CONFIG_SUFFIXES: tuple[str, ...] = (".yaml", ".yml", ".toml", ".json")
MODEL_FAMILIES: tuple[str, ...] = (
    "mlp",
    "cnn",
    "resnet",
    "transformer",
    "rnn",
    "gpt",
    "vit",
    "bert",
    "custom",
    "script",
)
FrameworkName = Literal["torch", "tensorflow", "jax"]
DEFAULT_SYNTHETIC_SAMPLES = 4096
# ...or fewer, so that default synthetic inputs stay within this many bytes (1,783 ImageNet-sized
# 224x224x3 float32 images rather than 2.3 GiB of them, resident on the device).
DEFAULT_SYNTHETIC_BYTES = 2**30

# Upper bounds far above any model this tool can compare, low enough that no framework sees an
# overflowing shape and no typo (10**12 for 10**2) gets as far as a child. Whether a model that
# passes them fits in memory is a separate check.
MAX_WIDTH = 2**20  # a layer's width, an input dimension, vocab_size, seq_len, num_classes
MAX_LAYERS = 1000  # layers of a stack, entries of hidden/dense/conv
MAX_KERNEL = 1024  # kernel, stride and pool of a convolution
MAX_BATCH = 2**20
MAX_SAMPLES = 2**31 - 1
MAX_STEPS = 10**9
MAX_THREADS = 1024
MAX_TIMEOUT_S = 7 * 24 * 3600.0
# Data-parallel worker counts: far above one host's GPUs, low enough that a typo (400 for 4)
# is refused before a launcher forks hundreds of interpreters.
MAX_WORKERS = 256
MAX_WORKER_COUNTS = 12
MAX_HOSTS = 64

Width = Annotated[int, Field(gt=0, le=MAX_WIDTH)]
Layers = Annotated[int, Field(gt=0, le=MAX_LAYERS)]
Kernel = Annotated[int, Field(gt=0, le=MAX_KERNEL)]
Steps = Annotated[int, Field(gt=0, le=MAX_STEPS)]
Vocab = Annotated[int, Field(ge=2, le=MAX_WIDTH)]
Dropout = Annotated[float, Field(ge=0.0, lt=1.0)]
Classes = Annotated[int, Field(ge=2, le=MAX_WIDTH)]


class FieldError(ValueError):
    """A validator's error about one field below the model it checks (``field`` is dotted).

    Pydantic places a model validator's error on the model itself; ``parse_config`` moves it to
    this field, so the message and the YAML line point at what to change.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class _Strict(BaseModel):
    # strict: `batch_size: true` is not 1 and `compile: "yes"` is not True; finite floats only
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class _ModelBase(_Strict):
    """Fields every model family has: ``preset`` names the preset it started from, if any
    (``profiler.presets``); by validation time its fields are already filled in."""

    preset: str | None = None


class MLPModel(_ModelBase):
    """A multi-layer perceptron classifier."""

    family: Literal["mlp"]
    input_dim: Width
    hidden: list[Width] = Field(min_length=1, max_length=MAX_LAYERS)
    activation: Literal["relu", "gelu", "tanh"] = "relu"
    dropout: Dropout = 0.0
    num_classes: Classes


class ConvLayer(_Strict):
    """One convolution (+ batch norm) + ReLU (+ max pool) stage of a CNN."""

    filters: Width
    kernel: Kernel
    stride: Kernel = 1
    # "same" is TensorFlow's SAME at every stride: ceil(size / stride) outputs, the odd padding
    # row/column at the end; PyTorch and JAX pad explicitly to match
    padding: Literal["same", "valid"] = "same"
    pool: Annotated[int, Field(ge=2, le=MAX_KERNEL)] | None = None


class CNNModel(_ModelBase):
    """Convolution stages on NHWC images, flattened into dense layers and a classifier."""

    family: Literal["cnn"]
    input_shape: list[Width] = Field(min_length=3, max_length=3)
    conv: list[ConvLayer] = Field(min_length=1, max_length=MAX_LAYERS)
    batch_norm: bool = False
    dense: list[Width] = Field(default=[], max_length=MAX_LAYERS)
    num_classes: Classes

    @model_validator(mode="after")
    def _feature_map(self) -> CNNModel:
        height, width = self.input_shape[0], self.input_shape[1]
        for n, layer in enumerate(self.conv):
            if layer.padding == "same":
                height, width = -(-height // layer.stride), -(-width // layer.stride)
            else:
                if layer.kernel > min(height, width):
                    raise FieldError(
                        f"conv.{n}.kernel",
                        f"kernel {layer.kernel} is larger than the {height}x{width} feature "
                        "map it gets (padding valid)",
                    )
                height = (height - layer.kernel) // layer.stride + 1
                width = (width - layer.kernel) // layer.stride + 1
            if layer.pool is not None:
                if layer.pool > min(height, width):
                    raise FieldError(
                        f"conv.{n}.pool",
                        f"pool {layer.pool} is larger than the {height}x{width} feature map",
                    )
                height, width = height // layer.pool, width // layer.pool
        return self


class ResNetModel(_ModelBase):
    """A ResNet (v1.5, as torchvision) on NHWC images; see ``workloads.architectures.ResNetSpec``.

    Presets ``resnet18``/``resnet34``/``resnet50`` (ImageNet) and ``resnet20`` (CIFAR) fill in
    every field; a config usually sets only ``preset`` and what it changes.
    """

    family: Literal["resnet"]
    input_shape: list[Width] = Field(min_length=3, max_length=3)
    block: Literal["basic", "bottleneck"] = "basic"
    layers: list[Layers] = Field(min_length=1, max_length=MAX_LAYERS)
    widths: list[Width] = Field(min_length=1, max_length=MAX_LAYERS)
    stem: Literal["imagenet", "cifar"] = "imagenet"
    stem_width: Width = 64
    num_classes: Classes

    @model_validator(mode="after")
    def _stages(self) -> ResNetModel:
        if len(self.widths) != len(self.layers):
            raise FieldError(
                "widths",
                f"{len(self.widths)} widths for {len(self.layers)} stages in layers: "
                "give one width per stage",
            )
        return self


class TransformerModel(_ModelBase):
    """Encoder classifier: token + learned position embeddings, pre-norm blocks, mean pooling."""

    family: Literal["transformer"]
    vocab_size: Vocab
    seq_len: Width
    d_model: Width
    heads: Width
    layers: Layers
    ff_dim: Width
    dropout: Dropout = 0.0
    num_classes: Classes

    @model_validator(mode="after")
    def _heads(self) -> TransformerModel:
        if self.d_model % self.heads:
            raise FieldError(
                "heads", f"{self.heads} heads do not divide d_model {self.d_model} evenly"
            )
        return self


class RNNModel(_ModelBase):
    """Token embedding, stacked LSTM or GRU layers, a classifier on the last time step."""

    family: Literal["rnn"]
    cell: Literal["lstm", "gru"] = "lstm"
    vocab_size: Vocab
    seq_len: Width
    embed_dim: Width
    hidden: Width
    layers: Layers = 1
    num_classes: Classes


class _AttentionModel(_ModelBase):
    """Fields shared by the gpt, vit and bert families: the transformer blocks' shape."""

    d_model: Width
    heads: Width
    layers: Layers
    dropout: Dropout = 0.0

    @model_validator(mode="after")
    def _heads(self) -> _AttentionModel:
        if self.d_model % self.heads:
            raise FieldError(
                "heads", f"{self.heads} heads do not divide d_model {self.d_model} evenly"
            )
        return self


class _TokenModel(_AttentionModel):
    """A model reading token ids with a learned position table of ``max_positions`` rows."""

    vocab_size: Vocab
    seq_len: Width
    # the position table's rows (GPT-2's n_ctx, BERT's max_position_embeddings); null: seq_len
    max_positions: Width | None = None

    @model_validator(mode="after")
    def _positions(self) -> _TokenModel:
        if self.max_positions is not None and self.max_positions < self.seq_len:
            raise FieldError(
                "max_positions",
                f"a table of {self.max_positions} positions cannot cover seq_len {self.seq_len}",
            )
        return self


class GPTModel(_TokenModel):
    """Decoder-only causal language model (GPT-2's shape): next-token loss, tied LM head."""

    family: Literal["gpt"]
    # null: 4 x d_model, GPT-2's
    ff_dim: Width | None = None


class ViTModel(_AttentionModel):
    """Vision Transformer (torchvision's): patches, class token, pre-norm encoder, head."""

    family: Literal["vit"]
    input_shape: list[Width] = Field(min_length=3, max_length=3)
    patch: Kernel
    ff_dim: Width
    num_classes: Classes

    @model_validator(mode="after")
    def _patch(self) -> ViTModel:
        if self.patch > min(self.input_shape[0], self.input_shape[1]):
            raise FieldError(
                "patch",
                f"patch {self.patch} is larger than the "
                f"{self.input_shape[0]}x{self.input_shape[1]} image",
            )
        return self


class BERTModel(_TokenModel):
    """BERT encoder (post-norm, token types, pooler) with a sequence-classification head."""

    family: Literal["bert"]
    type_vocab_size: Width = 2
    ff_dim: Width
    num_classes: Classes


class CustomModel(_ModelBase):
    """A user's Python file with one ``build_<framework>(config)`` function per framework.

    FrameDuel feeds it batches of shape (batch, *input_shape): float32 features, or int64 token
    ids in [0, vocab_size) when ``vocab_size`` is set. ``options`` is passed through untouched.
    """

    family: Literal["custom"]
    module: str
    input_shape: list[Width] = Field(min_length=1, max_length=8)
    vocab_size: Vocab | None = None
    num_classes: Classes
    options: dict[str, Any] = {}

    @field_validator("module")
    @classmethod
    def _module(cls, value: str, info: ValidationInfo) -> str:
        path = _resolve(value, info)
        if path.suffix != ".py":
            raise ValueError(f"must be a Python file (.py), got {value!r}")
        if not path.is_file():
            raise ValueError(f"no such file: {path}")
        return str(path)


class ScriptModel(_ModelBase):
    """The user's own training script per framework (``run.commands``): FrameDuel runs and
    measures each command as a run, but builds no model, so nothing here describes one."""

    family: Literal["script"]
    description: Annotated[str, Field(max_length=500)] | None = None


AnyModel = (
    MLPModel
    | CNNModel
    | ResNetModel
    | TransformerModel
    | RNNModel
    | GPTModel
    | ViTModel
    | BERTModel
    | CustomModel
    | ScriptModel
)
ModelConfig = Annotated[AnyModel, Field(discriminator="family")]


class DataConfig(_Strict):
    """Where training batches come from and how they reach the model.

    ``synthetic`` draws ``samples`` rows (default 4096, fewer for large inputs: at most
    DEFAULT_SYNTHETIC_BYTES of them) from the seed; ``npz`` reads arrays ``x``
    and ``y`` from ``path`` (its first ``samples`` rows, default all). ``resident`` puts every
    batch on the device once, to time compute alone; ``native`` feeds them through each
    framework's own input pipeline (DataLoader, tf.data).
    """

    kind: Literal["synthetic", "npz"] = "synthetic"
    samples: Annotated[int, Field(gt=0, le=MAX_SAMPLES)] | None = None
    path: str | None = None
    pipeline: Literal["resident", "native"] = "resident"

    @model_validator(mode="before")
    @classmethod
    def _default_samples(cls, data: Any) -> Any:
        synthetic = isinstance(data, dict) and data.get("kind", "synthetic") == "synthetic"
        if synthetic and data.get("samples") is None:
            return {**data, "samples": DEFAULT_SYNTHETIC_SAMPLES}
        return data

    @field_validator("path")
    @classmethod
    def _path(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        path = _resolve(value, info)
        if not path.is_file():
            raise ValueError(f"no such file: {path}")
        return str(path)

    @model_validator(mode="after")
    def _kind(self) -> DataConfig:
        if self.kind == "npz" and self.path is None:
            raise FieldError("path", "kind npz needs a path to a .npz file with arrays x and y")
        if self.kind == "synthetic" and self.path is not None:
            raise FieldError("path", "only kind npz reads a file; remove path or set kind: npz")
        return self


class OptimizerConfig(_Strict):
    """The optimizer, with the same update rule in every framework (see the README)."""

    name: Literal["sgd", "adam", "adamw"] = "sgd"
    lr: Annotated[float, Field(gt=0.0)] = 0.01
    momentum: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    weight_decay: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0

    @model_validator(mode="after")
    def _momentum(self) -> OptimizerConfig:
        if self.name != "sgd" and self.momentum:
            raise FieldError(
                "momentum", f"only sgd has momentum; {self.name} uses betas (0.9, 0.999)"
            )
        return self


class TrainConfig(_Strict):
    """The training loop: steps, warmup steps (not measured), loss, optimizer and precision."""

    batch_size: Annotated[int, Field(gt=0, le=MAX_BATCH)] = 64
    steps: Steps = 200
    warmup_steps: Annotated[int, Field(ge=0, le=MAX_STEPS)] = 20
    window_steps: Steps | None = None
    loss: Literal["cross_entropy", "mse"] = "cross_entropy"
    optimizer: OptimizerConfig = OptimizerConfig()
    # bf16/fp16: mixed precision (float32 weights, 16-bit compute; fp16 with loss scaling)
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    # the framework's own compiler: torch.compile, tf.function(jit_compile=True)
    compile: bool = False
    # cold: every run compiles from scratch (a fresh torch.compile cache per run, no JAX
    # persistent cache), as TensorFlow's XLA always does; warm: compile caches persist across
    # runs and sessions in the store's cache folder (torch.compile's and JAX's)
    compile_cache: Literal["cold", "warm"] = "cold"
    # false: a loss that becomes NaN or infinite fails the run ("loss diverged at step N");
    # true: the run goes on and records null losses (to time a run that is known to diverge)
    allow_nonfinite_loss: bool = False
    # step: FrameDuel's loop around each framework's own step; fit: TensorFlow trains with
    # Keras's model.fit (the other frameworks keep their step: they have no fit)
    loop: Literal["step", "fit"] = "step"

    @model_validator(mode="after")
    def _steps(self) -> TrainConfig:
        if self.warmup_steps >= self.steps:
            raise ValueError(
                f"warmup_steps ({self.warmup_steps}) must be below steps ({self.steps}) "
                "so some steps are measured"
            )
        return self


# The trace phase: at most this many steps, and each run's native traces at most this large.
MAX_TRACE_STEPS = 100
DEFAULT_TRACE_STEPS = 5
DEFAULT_TRACE_MAX_MIB = 50.0


class TraceConfig(_Strict):
    """The trace phase (``run.trace``): after measure, ``steps`` more steps run under the
    framework's own profiler (only in each framework's first run, so repeats stay quick); its
    native traces are kept beside the store, cut to ``max_mib`` per run."""

    steps: Annotated[int, Field(ge=1, le=MAX_TRACE_STEPS)] = DEFAULT_TRACE_STEPS
    max_mib: Annotated[float, Field(gt=0.0, le=4096.0)] = DEFAULT_TRACE_MAX_MIB


class DistributedConfig(_Strict):
    """Data-parallel scaling (``run.distributed``): each framework runs once per worker count.

    Every count runs with the framework's own engine (``profiler.distributed``): PyTorch DDP under
    torchrun, TensorFlow MultiWorkerMirroredStrategy with TF_CONFIG, JAX multi-process with
    jax.distributed. ``weak`` keeps ``train.batch_size`` per worker (the global batch grows with
    N); ``strong`` keeps it as the global batch (batch_size / N per worker, so N must divide it).
    Efficiency at N is throughput at N / (N x throughput at 1), hence 1 is always measured.
    """

    workers: list[Annotated[int, Field(ge=1, le=MAX_WORKERS)]] = Field(
        default=[1, 2], min_length=1, max_length=MAX_WORKER_COUNTS
    )
    scaling: Literal["weak", "strong"] = "weak"
    # Multi-node: the address the other hosts reach a host of run.hosts at (profiler.node_address);
    # a host not listed is reached at the hostname its ssh config gives it (ssh -G).
    addresses: Annotated[dict[str, str], Field(max_length=MAX_HOSTS)] = Field(default_factory=dict)

    @field_validator("addresses")
    @classmethod
    def _addresses(cls, value: dict[str, str]) -> dict[str, str]:
        for host, address in value.items():
            problem = address_problem(address)
            if problem is not None:
                raise FieldError(host, problem)
        return value

    @field_validator("workers")
    @classmethod
    def _workers(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError("lists a worker count twice")
        if 1 not in value:
            raise ValueError(
                "must include 1: scaling efficiency is throughput at N / (N x throughput at 1), "
                f"so add 1 (e.g. [1, {', '.join(map(str, sorted(value)))}])"
            )
        return sorted(value)


# An interpreter on a host: not checked here (it is not a local file), but by the host check.
RemotePython = Annotated[str, Field(min_length=1, max_length=4096, pattern=r"^[^\x00\n\r]+$")]


class RunConfig(_Strict):
    """How the runs are executed and measured."""

    # auto: repeat (A B, B A, ...) until every speed ratio is known to within target_ci, or
    # max_repeats / budget_s is reached; an integer runs exactly that many per framework
    repeats: Annotated[int, Field(ge=1, le=100)] | Literal["auto"] = "auto"
    target_ci: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.02
    max_repeats: Annotated[int, Field(ge=1, le=100)] = 10
    budget_s: Annotated[float, Field(gt=0.0, le=MAX_TIMEOUT_S)] | None = None

    @field_validator("repeats", mode="before")
    @classmethod
    def _repeats(cls, value: Any) -> Any:
        # one message for both spellings instead of pydantic's two union errors
        if value == "auto" or (
            isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 100
        ):
            return value
        raise ValueError("must be auto or a number of runs per framework (1 to 100)")

    timeout_s: Annotated[float, Field(gt=0, le=MAX_TIMEOUT_S)] | None = None
    sample_hz: Annotated[float, Field(ge=1.0, le=50.0)] = 10.0
    cooldown_s: Annotated[float, Field(ge=0.0, le=3600.0)] = 0.0
    # An interpreter per framework: teams keep PyTorch and TensorFlow in separate environments.
    python: dict[FrameworkName, str] = Field(default_factory=dict)
    # Bring your own script (with model: {family: script}): the command line of each
    # framework's run, run in `workdir` (default: the config's folder).
    commands: dict[FrameworkName, Annotated[str, Field(min_length=1, max_length=4000)]] = Field(
        default_factory=dict
    )
    workdir: str | None = None
    # off (or false, or null): no trace phase; on (or true): the defaults
    trace: TraceConfig | None = TraceConfig()

    @field_validator("trace", mode="before")
    @classmethod
    def _trace(cls, value: Any) -> Any:
        # YAML 1.1 reads a bare off/on as false/true: both spellings mean the same here
        if value is None or value is False or value == "off":
            return None
        if value is True or value == "on":
            return {}
        if not isinstance(value, dict | TraceConfig):
            raise ValueError("must be off, on, or {steps: N, max_mib: M} (steps 1 to 100)")
        return value

    # CPUs each run is pinned to (workloads.affinity): auto pins a run that uses fewer threads
    # than there are CPUs to the same highest-numbered ones for every framework; off never pins;
    # a list pins every run to exactly those CPUs. A user's own script (run.commands) is never
    # pinned.
    affinity: (
        Literal["auto", "off"]
        | Annotated[
            list[Annotated[int, Field(ge=0, le=65535)]], Field(min_length=1, max_length=4096)
        ]
    ) = "auto"

    @field_validator("affinity", mode="before")
    @classmethod
    def _affinity(cls, value: Any) -> Any:
        # YAML 1.1 reads a bare off as false; null means the same
        if value is None or value is False or value == "off":
            return "off"
        if value == "auto" or (
            isinstance(value, list)
            and value
            and all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in value)
        ):
            return sorted(set(value)) if isinstance(value, list) else value
        raise ValueError("must be auto, off, or a list of CPU numbers such as [2, 3]")

    # Data-parallel scaling over worker counts (null: one process per framework, as ever).
    distributed: DistributedConfig | None = None

    # Run on other machines over the user's own ssh (profiler.remote): aliases from
    # ~/.ssh/config or user@host[:port].
    hosts: Annotated[list[str], Field(max_length=MAX_HOSTS)] = Field(default_factory=list)
    # Each host's interpreter (default python3), one path or one per framework; written as
    # run.python's keys that name a host, and moved here when the config is read.
    host_python: dict[str, RemotePython | dict[FrameworkName, RemotePython]] = Field(
        default_factory=dict
    )

    @model_validator(mode="before")
    @classmethod
    def _host_interpreters(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        hosts, python = data.get("hosts"), data.get("python")
        if not isinstance(hosts, list) or not isinstance(python, dict):
            return data
        named = {h for h in hosts if isinstance(h, str)}
        moved = {k: v for k, v in python.items() if k in named}
        if not moved:
            return data
        kept = {k: v for k, v in python.items() if k not in named}
        earlier = data.get("host_python")
        return {
            **data,
            "python": kept,
            "host_python": {**(earlier if isinstance(earlier, dict) else {}), **moved},
        }

    @field_validator("hosts")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        for i, name in enumerate(value):
            if name in FRAMEWORKS:
                raise FieldError(str(i), f"{name!r} is a framework's name; give the host's")
            try:
                SshTarget.parse(name)
            except ValueError as exc:
                raise FieldError(str(i), str(exc)) from None
        if len(set(value)) != len(value):
            raise ValueError("lists a host twice")
        return value

    @field_validator("commands")
    @classmethod
    def _commands(cls, value: dict[str, str]) -> dict[str, str]:
        for framework, line in value.items():
            try:
                words = shlex.split(line)
            except ValueError as exc:
                raise FieldError(framework, f"cannot split the command line: {exc}") from None
            if not words:
                raise FieldError(framework, "the command is empty")
        return value

    @field_validator("workdir")
    @classmethod
    def _workdir(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        path = _resolve(value, info)
        if not path.is_dir():
            raise ValueError(f"no such folder: {path}")
        return str(path)

    @field_validator("python")
    @classmethod
    def _interpreters(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        out: dict[str, str] = {}
        for framework, raw in value.items():
            # Never follow symlinks: a virtualenv's python is a link to the base interpreter,
            # and only the link's path makes Python find the venv (pyvenv.cfg beside it).
            path = _resolve(raw, info, follow_links=False)
            if not path.is_file() or not os.access(path, os.X_OK):
                raise FieldError(framework, f"{path} is not an executable Python interpreter")
            out[framework] = str(path)
        return out


class Config(_Strict):
    """One comparison: a model, its data and training loop, and the frameworks to run it in."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    frameworks: list[FrameworkName] = Field(default=["torch", "tensorflow"], min_length=1)
    device: str = "auto"
    threads: Annotated[int, Field(gt=0, le=MAX_THREADS)] | None = None
    seed: Annotated[int, Field(ge=0, lt=2**32)] = 0
    model: ModelConfig
    data: DataConfig = DataConfig()
    train: TrainConfig = TrainConfig()
    run: RunConfig = RunConfig()

    @model_validator(mode="before")
    @classmethod
    def _preset(cls, data: Any) -> Any:
        """Fill in ``model.preset``'s fields before anything is checked."""
        if isinstance(data, dict) and isinstance(data.get("model"), dict):
            try:
                model = resolve_preset(data["model"])
            except PresetError as exc:
                raise FieldError("model.preset", str(exc)) from None
            return {**data, "model": model, "data": _default_samples(data.get("data"), model)}
        return data

    @model_validator(mode="before")
    @classmethod
    def _script_workdir(cls, data: Any, info: ValidationInfo) -> Any:
        """A script config's commands run in its own folder unless ``run.workdir`` says."""
        base = (info.context or {}).get("base_dir")
        if not isinstance(data, dict) or base is None:
            return data
        model, run = data.get("model"), data.get("run")
        if not isinstance(model, dict) or model.get("family") != "script":
            return data
        if run is None:
            run = {}
        if not isinstance(run, dict) or run.get("workdir") is not None:
            return data
        return {**data, "run": {**run, "workdir": str(Path(base).resolve())}}

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        if not re.fullmatch(r"auto|cpu|cuda(:\d{1,4})?", value):
            raise ValueError("must be auto, cpu, cuda or cuda:N")
        return value

    @field_validator("frameworks")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("lists a framework twice")
        return value

    @model_validator(mode="after")
    def _combinations(self) -> Config:
        # fp16 needs loss scaling and fast fp16 kernels, which only CUDA has; with device auto
        # the parent cannot know (it imports no framework): the child then fails by name
        if self.train.precision == "fp16" and self.device == "cpu":
            raise FieldError(
                "train.precision", "fp16 needs a CUDA device; on the CPU use bf16 or fp32"
            )
        if self.train.loop == "fit":
            _check_fit(self)
        if isinstance(self.model, CustomModel):
            _check_builders(Path(self.model.module), self.frameworks)
        if isinstance(self.model, GPTModel) and self.train.loss != "cross_entropy":
            raise FieldError(
                "train.loss", "a gpt model trains on the next-token loss: use cross_entropy"
            )
        commands = self.run.commands
        if isinstance(self.model, ScriptModel):
            missing = [fw for fw in self.frameworks if fw not in commands]
            if missing:
                raise FieldError(
                    "run.commands",
                    f"model family 'script' runs a command per framework: give one for "
                    f"{', '.join(missing)} (e.g. {missing[0]}: python train_{missing[0]}.py)",
                )
            if self.data.kind == "npz":
                raise FieldError("data.kind", "a script reads its own data: leave data out")
        elif commands:
            raise FieldError(
                "run.commands",
                "commands are your own scripts: use them with model: {family: script}",
            )
        if self.data.kind == "npz" and self.data.path is not None:
            _check_npz(Path(self.data.path), self)
        if self.run.distributed is not None:
            _check_distributed(self, self.run.distributed)
        _check_hosts(self)
        return self

    def window_steps(self) -> int:
        """Steps per timing window: the child synchronises the device only at window ends."""
        if self.train.window_steps is not None:
            return self.train.window_steps
        measured = self.train.steps - self.train.warmup_steps
        return max(1, min(50, measured // 20))

    def with_overrides(
        self,
        *,
        steps: int | None = None,
        frameworks: Iterable[str] | None = None,
        batch_size: int | None = None,
        repeats: int | str | None = None,
        threads: int | None = None,
        device: str | None = None,
        cooldown_s: float | None = None,
        sample_hz: float | None = None,
        python: Mapping[str, str] | None = None,
    ) -> Config:
        """Return a copy with overrides (the CLI's flags, the app's quick overrides and
        settings) applied and validated again, as a config file's fields are; None leaves a
        value as the config has it (0 is a value: ``cooldown_s=0`` removes a config's pause).
        ``python`` adds or replaces interpreters per framework (``run.python``)."""
        data = self.model_dump()
        if steps is not None:
            data["train"]["steps"] = steps
            data["train"]["warmup_steps"] = min(data["train"]["warmup_steps"], max(0, steps // 10))
        if frameworks is not None:
            data["frameworks"] = list(frameworks)
        if batch_size is not None:
            data["train"]["batch_size"] = batch_size
        if repeats is not None:
            data["run"]["repeats"] = repeats
        if threads is not None:
            data["threads"] = threads
        if device is not None:
            data["device"] = device
        if cooldown_s is not None:
            data["run"]["cooldown_s"] = cooldown_s
        if sample_hz is not None:
            data["run"]["sample_hz"] = sample_hz
        if python:
            data["run"]["python"] = {**data["run"]["python"], **python}
        return Config.model_validate(data)


def _default_samples(data: Any, model: dict[str, Any]) -> Any:
    """``data`` with ``samples`` set when synthetic data leaves it out: 4096 rows, or as many
    as fit in DEFAULT_SYNTHETIC_BYTES of float32 inputs when that is fewer."""
    data = {} if data is None else data
    if not isinstance(data, dict) or data.get("kind", "synthetic") != "synthetic":
        return data
    if data.get("samples") is not None:
        return data
    shape = model.get("input_shape") or [model.get("input_dim") or model.get("seq_len") or 1]
    try:
        floats = max(1, math.prod(int(v) for v in shape))
    except (TypeError, ValueError):
        return data  # the schema reports the bad shape
    samples = max(1, min(DEFAULT_SYNTHETIC_SAMPLES, DEFAULT_SYNTHETIC_BYTES // (4 * floats)))
    return {**data, "samples": samples}


def input_signature(model: AnyModel) -> tuple[tuple[int, ...], str]:
    """Per-sample input shape and kind (``float`` features or ``int`` token ids) of a model."""
    if isinstance(model, MLPModel):
        return (model.input_dim,), "float"
    if isinstance(model, CNNModel | ResNetModel | ViTModel):
        return tuple(model.input_shape), "float"
    if isinstance(model, TransformerModel | RNNModel | GPTModel | BERTModel):
        return (model.seq_len,), "int"
    if isinstance(model, ScriptModel):
        return (), "float"  # the script reads its own data
    return tuple(model.input_shape), "float" if model.vocab_size is None else "int"


def _resolve(value: str, info: ValidationInfo, follow_links: bool = True) -> Path:
    """``value`` as an absolute path, relative ones against the config file's folder."""
    path = Path(value).expanduser()
    if not path.is_absolute():
        base = (info.context or {}).get("base_dir")
        path = (Path(base) if base is not None else Path.cwd()) / path
    return path.resolve() if follow_links else Path(os.path.normpath(path))


def _check_fit(config: Config) -> None:
    """``train.loop: fit`` is Keras's model.fit: it needs TensorFlow and Keras's own update."""
    if "tensorflow" not in config.frameworks:
        raise FieldError(
            "train.loop",
            "fit is Keras's model.fit and applies to tensorflow only; add tensorflow to "
            "frameworks or use loop: step",
        )
    opt = config.train.optimizer
    if opt.weight_decay and opt.name != "adamw":
        raise FieldError(
            "train.loop",
            f"fit runs Keras's own {opt.name} update, whose weight decay is decoupled, not "
            "PyTorch's L2: use optimizer adamw, weight_decay 0, or loop: step",
        )


def _check_distributed(config: Config, dist: DistributedConfig) -> None:
    """What data-parallel runs need: a model FrameDuel builds, FrameDuel's own step loop, a
    global batch every worker count splits evenly (strong scaling), data for the largest one."""
    if isinstance(config.model, ScriptModel | CustomModel):
        raise FieldError(
            "run.distributed",
            f"model family {config.model.family!r} builds its own model: data-parallel runs "
            "need one FrameDuel builds (the same initial weights on every rank); remove "
            "run.distributed",
        )
    if config.train.loop == "fit":
        raise FieldError(
            "run.distributed",
            "data-parallel runs use FrameDuel's step loop in every framework: use train.loop: "
            "step (Keras's fit under MultiWorkerMirroredStrategy is not supported)",
        )
    batch = config.train.batch_size
    if dist.scaling == "strong":
        uneven = [n for n in dist.workers if batch % n]
        if uneven:
            raise FieldError(
                "train.batch_size",
                f"strong scaling splits the global batch {batch} over {uneven[0]} workers, "
                f"which does not divide it: use a batch_size divisible by "
                f"{math.lcm(*dist.workers)} or scaling: weak",
            )
    global_batch = batch * max(dist.workers) if dist.scaling == "weak" else batch
    samples = config.data.samples
    if samples is not None and samples < global_batch:
        raise FieldError(
            "data.samples",
            f"{samples} samples cannot fill one global batch of {global_batch} "
            f"({dist.scaling} scaling at {max(dist.workers)} workers): raise data.samples",
        )


def _check_builders(module: Path, frameworks: Iterable[str]) -> None:
    """The module defines ``build_<framework>`` for each framework, read without running it."""
    try:
        tree = ast.parse(module.read_text(encoding="utf-8"), filename=str(module))
    except (OSError, SyntaxError, ValueError) as exc:
        raise FieldError("model.module", f"cannot read {module}: {exc}") from None
    defined = {
        node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }
    missing = [f"build_{fw}" for fw in frameworks if f"build_{fw}" not in defined]
    if missing:
        raise FieldError(
            "model.module",
            f"{module} defines no {', '.join(missing)} (a top-level function per chosen "
            "framework; see the README's Custom models)",
        )


def npz_headers(path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype[Any]]]:
    """Shape and dtype of every array in an .npz file, read from headers, without the data."""
    import numpy as np  # here: a config without npz data (and describe) loads faster without it

    out: dict[str, tuple[tuple[int, ...], np.dtype[Any]]] = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if not member.endswith(".npy"):
                continue
            with archive.open(member) as f:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(f)
                else:
                    shape, _, dtype = np.lib.format.read_array_header_2_0(f)
            out[member.removesuffix(".npy")] = (tuple(shape), dtype)
    return out


def _check_npz(path: Path, config: Config) -> None:
    """Arrays ``x`` and ``y`` exist and fit the model, the loss and ``data.samples``."""
    model = config.model
    if isinstance(model, ScriptModel):  # refused before: a script reads its own data
        return
    try:
        arrays = npz_headers(path)
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise FieldError("data.path", f"cannot read {path} as .npz: {exc}") from None
    missing = [k for k in ("x", "y") if k not in arrays]
    if missing:
        raise FieldError(
            "data.path",
            f"{path} has no array {' or '.join(missing)} (it has: {', '.join(arrays) or 'none'})",
        )
    (x_shape, x_dtype), (y_shape, y_dtype) = arrays["x"], arrays["y"]
    shape, kind = input_signature(model)
    rows = x_shape[0] if x_shape else 0
    if x_shape[1:] != shape or rows == 0:
        raise FieldError(
            "data.path",
            f"x has shape {x_shape}; the model needs (N > 0, {', '.join(map(str, shape))})",
        )
    want_int = kind == "int"
    if want_int != (x_dtype.kind in "iu") or (not want_int and x_dtype.kind != "f"):
        raise FieldError(
            "data.path",
            f"x has dtype {x_dtype}; the model needs {'token ids (int)' if want_int else 'floats'}",
        )
    if isinstance(model, GPTModel):
        if y_shape != x_shape or y_dtype.kind not in "iu":
            raise FieldError(
                "data.path",
                f"y has shape {y_shape} and dtype {y_dtype}; a gpt model needs the next token "
                f"at every position: integers in [0, {model.vocab_size}) of shape "
                f"{x_shape}",
            )
    elif config.train.loss == "cross_entropy":
        classes = model.num_classes
        if y_shape != (rows,) or y_dtype.kind not in "iu":
            raise FieldError(
                "data.path",
                f"y has shape {y_shape} and dtype {y_dtype}; cross_entropy needs {rows} "
                f"integer labels in [0, {classes})",
            )
    elif y_shape != (rows, model.num_classes) or y_dtype.kind != "f":
        raise FieldError(
            "data.path",
            f"y has shape {y_shape} and dtype {y_dtype}; mse needs floats of shape "
            f"({rows}, {model.num_classes})",
        )
    if config.data.samples is not None and config.data.samples > rows:
        raise FieldError("data.samples", f"{path} has only {rows} rows")


SCHEMA_ID = "urn:frameduel:config"


def json_schema() -> dict[str, Any]:
    """The config's JSON Schema (draft 2020-12), as ``frameduel schema`` prints it.

    Point an editor at it: ``"$schema": "<file>"`` at the top of a JSON config, or a
    ``# yaml-language-server: $schema=<file>`` first line in YAML; both are accepted by the loader.
    """
    schema = Config.model_json_schema()
    # Presets are resolved before validation: `{preset: resnet50, num_classes: 10}` needs no
    # family, and its other fields override the preset's (checked once resolved).
    from profiler.presets import PRESETS

    by_preset = {
        "type": "object",
        "required": ["preset"],
        "properties": {"preset": {"enum": sorted(PRESETS)}},
        "description": "a named preset, with fields of its family overriding the preset's",
    }
    schema["properties"]["model"] = {"anyOf": [schema["properties"]["model"], by_preset]}
    # run.trace: off/on (a YAML 1.2 editor reads them as strings) or true/false too
    trace = schema["$defs"]["RunConfig"]["properties"]["trace"]
    trace["anyOf"].append({"enum": ["off", "on", False, True]})
    schema["properties"] = {
        "$schema": {"type": "string", "description": "this schema's location, for editors"},
        **schema["properties"],
    }
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID, **schema}


def _check_hosts(config: Config) -> None:
    """run.hosts combined with the rest: what runs on a host, and each host's interpreter."""
    run = config.run
    for name in run.host_python:
        if name not in run.hosts:
            raise FieldError(f"run.python.{name}", "not a framework nor a host in run.hosts")
    for name in run.distributed.addresses if run.distributed is not None else ():
        if name not in run.hosts:
            raise FieldError(
                f"run.distributed.addresses.{name}",
                "not a host in run.hosts: addresses are where the other hosts of a multi-node "
                "run reach each one, keyed by the host as run.hosts names it",
            )
    if not run.hosts:
        return
    if run.commands:
        raise FieldError(
            "run.hosts", "your own scripts (run.commands) run on this machine only; drop run.hosts"
        )
    if len(run.hosts) > 1 and run.distributed is None:
        raise FieldError(
            "run.hosts",
            "several hosts are a multi-node data-parallel run: add run.distributed "
            "(e.g. {workers: [1, 2]}), or list one host",
        )
    if run.distributed is not None:
        hosts = len(run.hosts)
        uneven = [n for n in run.distributed.workers if n > hosts and n % hosts]
        if uneven:
            raise FieldError(
                "run.distributed.workers",
                f"{uneven[0]} workers do not split evenly over the {hosts} host(s) of "
                f"run.hosts: use counts up to {hosts} (one worker per host) or multiples of "
                f"{hosts} (the same number on every host)",
            )
