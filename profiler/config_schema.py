"""The config schema: pydantic models for every field, and the checks that need the files.

``profiler.config`` reads files into these models and turns validation errors into messages that
name the file, line and field.
"""

from __future__ import annotations

import ast
import os
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

FRAMEWORKS: tuple[str, ...] = ("torch", "tensorflow", "jax")
CONFIG_SUFFIXES: tuple[str, ...] = (".yaml", ".yml", ".toml", ".json")
MODEL_FAMILIES: tuple[str, ...] = ("mlp", "cnn", "transformer", "rnn", "custom")
FrameworkName = Literal["torch", "tensorflow", "jax"]
DEFAULT_SYNTHETIC_SAMPLES = 4096

PositiveInt = Annotated[int, Field(gt=0)]
Dropout = Annotated[float, Field(ge=0.0, lt=1.0)]
Classes = Annotated[int, Field(ge=2)]


class FieldError(ValueError):
    """A validator's error about one field below the model it checks (``field`` is dotted).

    Pydantic places a model validator's error on the model itself; ``parse_config`` moves it to
    this field, so the message and the YAML line point at what to change.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MLPModel(_Strict):
    """A multi-layer perceptron classifier."""

    family: Literal["mlp"]
    input_dim: PositiveInt
    hidden: list[PositiveInt] = Field(min_length=1)
    activation: Literal["relu", "gelu", "tanh"] = "relu"
    dropout: Dropout = 0.0
    num_classes: Classes


class ConvLayer(_Strict):
    """One convolution (+ batch norm) + ReLU (+ max pool) stage of a CNN."""

    filters: PositiveInt
    kernel: PositiveInt
    stride: PositiveInt = 1
    # "same" only with stride 1: for larger strides the frameworks pad differently
    # (TensorFlow puts the odd row at the bottom, PyTorch pads both sides alike)
    padding: Literal["same", "valid"] = "same"
    pool: Annotated[int, Field(ge=2)] | None = None

    @model_validator(mode="after")
    def _padding(self) -> ConvLayer:
        if self.padding == "same" and self.stride != 1:
            raise FieldError(
                "padding",
                f"'same' padding needs stride 1 (got stride {self.stride}); PyTorch and "
                "TensorFlow pad strided convolutions differently: use padding: valid",
            )
        return self


class CNNModel(_Strict):
    """Convolution stages on NHWC images, flattened into dense layers and a classifier."""

    family: Literal["cnn"]
    input_shape: list[PositiveInt] = Field(min_length=3, max_length=3)
    conv: list[ConvLayer] = Field(min_length=1)
    batch_norm: bool = False
    dense: list[PositiveInt] = []
    num_classes: Classes

    @model_validator(mode="after")
    def _feature_map(self) -> CNNModel:
        height, width = self.input_shape[0], self.input_shape[1]
        for n, layer in enumerate(self.conv):
            if layer.padding == "valid":
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


class TransformerModel(_Strict):
    """Encoder classifier: token + learned position embeddings, pre-norm blocks, mean pooling."""

    family: Literal["transformer"]
    vocab_size: Annotated[int, Field(ge=2)]
    seq_len: PositiveInt
    d_model: PositiveInt
    heads: PositiveInt
    layers: PositiveInt
    ff_dim: PositiveInt
    dropout: Dropout = 0.0
    num_classes: Classes

    @model_validator(mode="after")
    def _heads(self) -> TransformerModel:
        if self.d_model % self.heads:
            raise FieldError(
                "heads", f"{self.heads} heads do not divide d_model {self.d_model} evenly"
            )
        return self


class RNNModel(_Strict):
    """Token embedding, stacked LSTM or GRU layers, a classifier on the last time step."""

    family: Literal["rnn"]
    cell: Literal["lstm", "gru"] = "lstm"
    vocab_size: Annotated[int, Field(ge=2)]
    seq_len: PositiveInt
    embed_dim: PositiveInt
    hidden: PositiveInt
    layers: PositiveInt = 1
    num_classes: Classes


class CustomModel(_Strict):
    """A user's Python file with one ``build_<framework>(config)`` function per framework.

    FrameDuel feeds it batches of shape (batch, *input_shape): float32 features, or int64 token
    ids in [0, vocab_size) when ``vocab_size`` is set. ``options`` is passed through untouched.
    """

    family: Literal["custom"]
    module: str
    input_shape: list[PositiveInt] = Field(min_length=1)
    vocab_size: Annotated[int, Field(ge=2)] | None = None
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


ModelConfig = Annotated[
    MLPModel | CNNModel | TransformerModel | RNNModel | CustomModel,
    Field(discriminator="family"),
]


class DataConfig(_Strict):
    """Where training batches come from and how they reach the model.

    ``synthetic`` draws ``samples`` rows (default 4096) from the seed; ``npz`` reads arrays ``x``
    and ``y`` from ``path`` (its first ``samples`` rows, default all). ``resident`` puts every
    batch on the device once, to time compute alone; ``native`` feeds them through each
    framework's own input pipeline (DataLoader, tf.data).
    """

    kind: Literal["synthetic", "npz"] = "synthetic"
    samples: PositiveInt | None = None
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

    batch_size: PositiveInt = 64
    steps: PositiveInt = 200
    warmup_steps: Annotated[int, Field(ge=0)] = 20
    window_steps: PositiveInt | None = None
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


class RunConfig(_Strict):
    """How the runs are executed and measured."""

    # auto: repeat (A B, B A, ...) until every speed ratio is known to within target_ci, or
    # max_repeats / budget_s is reached; an integer runs exactly that many per framework
    repeats: Annotated[int, Field(ge=1, le=100)] | Literal["auto"] = "auto"
    target_ci: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.02
    max_repeats: Annotated[int, Field(ge=1, le=100)] = 10
    budget_s: Annotated[float, Field(gt=0.0)] | None = None

    @field_validator("repeats", mode="before")
    @classmethod
    def _repeats(cls, value: Any) -> Any:
        # one message for both spellings instead of pydantic's two union errors
        if value == "auto" or (
            isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 100
        ):
            return value
        raise ValueError("must be auto or a number of runs per framework (1 to 100)")

    timeout_s: Annotated[float, Field(gt=0)] | None = None
    sample_hz: Annotated[float, Field(ge=1.0, le=50.0)] = 10.0
    cooldown_s: Annotated[float, Field(ge=0.0, le=3600.0)] = 0.0
    # An interpreter per framework: teams keep PyTorch and TensorFlow in separate environments.
    python: dict[FrameworkName, str] = Field(default_factory=dict)

    @field_validator("python")
    @classmethod
    def _interpreters(cls, value: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        out: dict[str, str] = {}
        for framework, raw in value.items():
            path = _resolve(raw, info)
            if not path.is_file() or not os.access(path, os.X_OK):
                raise FieldError(framework, f"{path} is not an executable Python interpreter")
            out[framework] = str(path)
        return out


class Config(_Strict):
    """One comparison: a model, its data and training loop, and the frameworks to run it in."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    frameworks: list[FrameworkName] = Field(default=["torch", "tensorflow"], min_length=1)
    device: str = "auto"
    threads: PositiveInt | None = None
    seed: Annotated[int, Field(ge=0, lt=2**32)] = 0
    model: ModelConfig
    data: DataConfig = DataConfig()
    train: TrainConfig = TrainConfig()
    run: RunConfig = RunConfig()

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", value):
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
        if self.data.kind == "npz" and self.data.path is not None:
            _check_npz(Path(self.data.path), self)
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
        repeats: int | str | None = None,
    ) -> Config:
        """Return a copy with CLI overrides applied and validated again."""
        data = self.model_dump()
        if repeats is not None:
            data["run"]["repeats"] = repeats
        if steps is not None:
            data["train"]["steps"] = steps
            data["train"]["warmup_steps"] = min(data["train"]["warmup_steps"], max(0, steps // 10))
        if frameworks is not None:
            data["frameworks"] = list(frameworks)
        return Config.model_validate(data)


def input_signature(
    model: MLPModel | CNNModel | TransformerModel | RNNModel | CustomModel,
) -> tuple[tuple[int, ...], str]:
    """Per-sample input shape and kind (``float`` features or ``int`` token ids) of a model."""
    if isinstance(model, MLPModel):
        return (model.input_dim,), "float"
    if isinstance(model, CNNModel):
        return tuple(model.input_shape), "float"
    if isinstance(model, TransformerModel | RNNModel):
        return (model.seq_len,), "int"
    return tuple(model.input_shape), "float" if model.vocab_size is None else "int"


def _resolve(value: str, info: ValidationInfo) -> Path:
    """``value`` as an absolute path, relative ones against the config file's folder."""
    path = Path(value).expanduser()
    if not path.is_absolute():
        base = (info.context or {}).get("base_dir")
        path = (Path(base) if base is not None else Path.cwd()) / path
    return path.resolve()


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
    shape, kind = input_signature(config.model)
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
    classes = config.model.num_classes
    if config.train.loss == "cross_entropy":
        if y_shape != (rows,) or y_dtype.kind not in "iu":
            raise FieldError(
                "data.path",
                f"y has shape {y_shape} and dtype {y_dtype}; cross_entropy needs {rows} "
                f"integer labels in [0, {classes})",
            )
    elif y_shape != (rows, classes) or y_dtype.kind != "f":
        raise FieldError(
            "data.path",
            f"y has shape {y_shape} and dtype {y_dtype}; mse needs floats of shape "
            f"({rows}, {classes})",
        )
    if config.data.samples is not None and config.data.samples > rows:
        raise FieldError("data.samples", f"{path} has only {rows} rows")
