"""Model configs: YAML, TOML or JSON files checked against one strict schema.

Unknown keys are errors. Every error names the file, the field's dotted path and, for YAML, the
line, so a user can fix the file without guessing.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

FRAMEWORKS: tuple[str, ...] = ("torch", "tensorflow", "jax")
CONFIG_SUFFIXES: tuple[str, ...] = (".yaml", ".yml", ".toml", ".json")
FrameworkName = Literal["torch", "tensorflow", "jax"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MLPModel(_Strict):
    """A multi-layer perceptron classifier."""

    family: Literal["mlp"]
    input_dim: Annotated[int, Field(gt=0)]
    hidden: list[Annotated[int, Field(gt=0)]] = Field(min_length=1)
    activation: Literal["relu", "gelu", "tanh"] = "relu"
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0
    num_classes: Annotated[int, Field(ge=2)]


ModelConfig = MLPModel


class DataConfig(_Strict):
    """Where training batches come from."""

    kind: Literal["synthetic"] = "synthetic"
    samples: Annotated[int, Field(gt=0)] = 4096


class OptimizerConfig(_Strict):
    """The optimizer, with semantics matched across frameworks."""

    name: Literal["sgd", "adam"] = "sgd"
    lr: Annotated[float, Field(gt=0.0)] = 0.01
    momentum: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0


class TrainConfig(_Strict):
    """The training loop: steps, warmup steps (not measured) and the optimizer."""

    batch_size: Annotated[int, Field(gt=0)] = 64
    steps: Annotated[int, Field(gt=0)] = 200
    warmup_steps: Annotated[int, Field(ge=0)] = 20
    window_steps: Annotated[int, Field(gt=0)] | None = None
    optimizer: OptimizerConfig = OptimizerConfig()
    precision: Literal["fp32"] = "fp32"

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

    repeats: Annotated[int, Field(ge=1, le=100)] = 1
    timeout_s: Annotated[float, Field(gt=0)] | None = None
    sample_hz: Annotated[float, Field(ge=1.0, le=50.0)] = 10.0


class Config(_Strict):
    """One comparison: a model, its data and training loop, and the frameworks to run it in."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    frameworks: list[FrameworkName] = Field(default=["torch", "tensorflow"], min_length=1)
    device: str = "auto"
    threads: Annotated[int, Field(gt=0)] | None = None
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

    def window_steps(self) -> int:
        """Steps per timing window: the child synchronises the device only at window ends."""
        if self.train.window_steps is not None:
            return self.train.window_steps
        measured = self.train.steps - self.train.warmup_steps
        return max(1, min(50, measured // 20))

    def with_overrides(
        self, *, steps: int | None = None, frameworks: Iterable[str] | None = None
    ) -> Config:
        """Return a copy with CLI overrides applied and validated again."""
        data = self.model_dump()
        if steps is not None:
            data["train"]["steps"] = steps
            data["train"]["warmup_steps"] = min(data["train"]["warmup_steps"], max(0, steps // 10))
        if frameworks is not None:
            data["frameworks"] = list(frameworks)
        return Config.model_validate(data)


class ConfigError(ValueError):
    """A config that cannot be used; ``str()`` names the file, line and field."""

    def __init__(self, path: str, message: str, field: str = "", line: int | None = None):
        self.path = path
        self.field = field
        self.line = line
        self.message = message
        where = path if line is None else f"{path}:{line}"
        super().__init__(f"{where}: {field + ': ' if field else ''}{message}")


def load_config(path: str | Path) -> Config:
    """Read and validate a config file (.yaml/.yml/.toml/.json); raise ConfigError on problems."""
    p = Path(path)
    if p.suffix.lower() not in CONFIG_SUFFIXES:
        raise ConfigError(str(p), f"unsupported file type {p.suffix!r}; use .yaml, .toml or .json")
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(p), f"cannot read the file: {exc.strerror or exc}") from None
    return parse_config(text, p.suffix.lower(), str(p))


def parse_config(text: str, suffix: str, source: str = "<config>") -> Config:
    """Validate config text in the format given by ``suffix``; raise ConfigError on problems."""
    data, lines = _parse(text, suffix, source)
    if not isinstance(data, dict):
        raise ConfigError(source, "the top level must be a mapping of fields (name, model, ...)")
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        # An unknown key usually explains the "missing" error beside it: report it first.
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        loc = tuple(str(x) for x in err["loc"] if not _is_union_tag(x))
        field = ".".join(loc)
        message = _describe(err)
        raise ConfigError(source, message, field, _line_of(lines, loc)) from None


def _is_union_tag(part: Any) -> bool:
    return isinstance(part, str) and (part in {"mlp"} or part.startswith("function-"))


def _describe(err: Any) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown field; check its spelling against the documented schema"
    if kind == "missing":
        return "required field is missing"
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def _parse(text: str, suffix: str, source: str) -> tuple[Any, dict[tuple[str, ...], int]]:
    if suffix in (".yaml", ".yml"):
        try:
            node = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            problem = getattr(exc, "problem", None) or str(exc)
            raise ConfigError(source, f"invalid YAML: {problem}", line=line) from None
        lines: dict[tuple[str, ...], int] = {}
        if node is not None:
            _yaml_lines(node, (), lines)
        return data, lines
    if suffix == ".toml":
        try:
            return tomllib.loads(text), {}
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(source, f"invalid TOML: {exc}") from None
    if suffix == ".json":
        try:
            return json.loads(text), {}
        except json.JSONDecodeError as exc:
            raise ConfigError(source, f"invalid JSON: {exc.msg}", line=exc.lineno) from None
    raise ConfigError(source, f"unsupported file type {suffix!r}; use .yaml, .toml or .json")


def _yaml_lines(node: yaml.Node, path: tuple[str, ...], out: dict[tuple[str, ...], int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, str(key.value))
            out[child] = key.start_mark.line + 1
            _yaml_lines(value, child, out)
            out[child] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _yaml_lines(item, (*path, str(i)), out)


def _line_of(lines: dict[tuple[str, ...], int], loc: tuple[str, ...]) -> int | None:
    """The line of the deepest part of ``loc`` present in the file (YAML only)."""
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines and (n > 0 or not loc):
            return lines[loc[:n]]
    return None
