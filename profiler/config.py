"""Model configs: YAML, TOML or JSON files checked against one strict schema.

Unknown keys are errors. Every error names the file, the field's dotted path and, for YAML, the
line, so a user can fix the file without guessing. Everything a run cannot honour is rejected
here, before any child starts: heads that do not divide d_model, fp16 on the CPU, an npz file
without arrays ``x`` and ``y`` or of the wrong shape, a custom module without a builder for a
chosen framework. Paths (``data.path``, ``model.module``) are resolved against the config file's
folder and kept absolute, because the child runs in another working directory.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from profiler.config_parse import (
    MAX_CONFIG_BYTES,
    MAX_DEPTH,
    MAX_VALUES,
    ParseError,
    parse_text,
    read_config_text,
)
from profiler.config_schema import (
    CONFIG_SUFFIXES,
    DEFAULT_SYNTHETIC_SAMPLES,
    FRAMEWORKS,
    MODEL_FAMILIES,
    BERTModel,
    CNNModel,
    Config,
    ConvLayer,
    CustomModel,
    DataConfig,
    DistributedConfig,
    FieldError,
    FrameworkName,
    GPTModel,
    MLPModel,
    ModelConfig,
    OptimizerConfig,
    ResNetModel,
    RNNModel,
    RunConfig,
    ScriptModel,
    TrainConfig,
    TransformerModel,
    ViTModel,
    input_signature,
    npz_headers,
)
from profiler.describe import check_memory as memory_problem

# Re-exported: callers import config names from here; the models live in config_schema.
__all__ = [
    "CONFIG_SUFFIXES",
    "DEFAULT_SYNTHETIC_SAMPLES",
    "FRAMEWORKS",
    "MAX_CONFIG_BYTES",
    "MAX_DEPTH",
    "MAX_VALUES",
    "MODEL_FAMILIES",
    "OVERRIDES",
    "BERTModel",
    "CNNModel",
    "Config",
    "ConfigError",
    "ConvLayer",
    "CustomModel",
    "DataConfig",
    "DistributedConfig",
    "FieldError",
    "FrameworkName",
    "GPTModel",
    "MLPModel",
    "ModelConfig",
    "OptimizerConfig",
    "Override",
    "OverrideError",
    "RNNModel",
    "ResNetModel",
    "RunConfig",
    "ScriptModel",
    "TrainConfig",
    "TransformerModel",
    "ViTModel",
    "apply_overrides",
    "input_signature",
    "load_config",
    "npz_headers",
    "parse_config",
]


class ConfigError(ValueError):
    """A config that cannot be used; ``str()`` names the file, line and field."""

    def __init__(self, path: str, message: str, field: str = "", line: int | None = None):
        self.path = path
        self.field = field
        self.line = line
        self.message = message
        where = path if line is None else f"{path}:{line}"
        super().__init__(f"{where}: {field + ': ' if field else ''}{message}")


def load_config(path: str | Path, *, check_memory: bool = True) -> Config:
    """Read and validate a config file (.yaml/.yml/.toml/.json); raise ConfigError on problems.

    Relative ``data.path`` and ``model.module`` are resolved against the file's folder;
    ``check_memory`` as for ``parse_config``.
    """
    p = Path(path)
    if p.suffix.lower() not in CONFIG_SUFFIXES:
        raise ConfigError(str(p), f"unsupported file type {p.suffix!r}; use .yaml, .toml or .json")
    try:
        text = read_config_text(p)
    except OSError as exc:
        raise ConfigError(str(p), f"cannot read the file: {exc.strerror or exc}") from None
    except ParseError as exc:
        raise ConfigError(str(p), exc.message, exc.field, exc.line) from None
    return parse_config(
        text, p.suffix.lower(), str(p), base_dir=p.resolve().parent, check_memory=check_memory
    )


def parse_config(
    text: str,
    suffix: str,
    source: str = "<config>",
    base_dir: Path | None = None,
    *,
    check_memory: bool = True,
) -> Config:
    """Validate config text in the format given by ``suffix``; raise ConfigError on problems.

    Relative paths in the config are resolved against ``base_dir`` (default: the current folder).
    With ``check_memory`` (the default) a config whose training memory estimate (see
    ``profiler.describe``) exceeds the memory free where it would run is refused too.
    """
    try:
        data, lines = parse_text(text, suffix)
    except ParseError as exc:
        raise ConfigError(source, exc.message, exc.field, exc.line) from None
    if not isinstance(data, dict):
        raise ConfigError(source, "the top level must be a mapping of fields (name, model, ...)")
    if isinstance(data.get("$schema"), str):  # an editor's pointer at `frameduel schema`
        data = {k: v for k, v in data.items() if k != "$schema"}
    try:
        config = Config.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise _config_error(exc, source, lines) from None
    if check_memory:
        problem = memory_problem(config)
        if problem is not None:
            field, message = problem
            loc = tuple(field.split("."))
            raise ConfigError(source, message, field, _line_of(lines, loc))
    return config


@dataclass(frozen=True)
class Override:
    """One value a caller may set on a loaded config: the keyword of ``Config.with_overrides``,
    the config field it sets, and the command-line option (the GUI's settings and quick overrides
    set the same keywords)."""

    key: str
    field: str
    option: str


# Every override of a config, in one place: the CLI's flags, the GUI's quick overrides, its
# sample rate and per-framework interpreters all go through ``apply_overrides``.
OVERRIDES: dict[str, Override] = {
    o.key: o
    for o in (
        Override("steps", "train.steps", "--steps"),
        Override("frameworks", "frameworks", "--frameworks"),
        Override("batch_size", "train.batch_size", "--batch-size"),
        Override("repeats", "run.repeats", "--repeats"),
        Override("threads", "threads", "--threads"),
        Override("device", "device", "--device"),
        Override("cooldown_s", "run.cooldown_s", "--cooldown"),
        Override("sample_hz", "run.sample_hz", "--sample-hz"),
        Override("python", "run.python", "--python"),
    )
}


class OverrideError(ConfigError):
    """An override the config refuses, told as a bad config field is, with the option and the
    value given: ``--cooldown -1: run.cooldown_s: Input should be greater than or equal to 0``.
    ``override`` is None when the problem is the overrides together with the config's fields."""

    def __init__(self, override: Override | None, shown: str, message: str, field: str):
        super().__init__(shown, message, field)
        self.override = override


def _shown(value: Any) -> str:
    if isinstance(value, Mapping):
        return ",".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def apply_overrides(config: Config, source: str, **overrides: Any) -> Config:
    """``config.with_overrides(**overrides)`` (None values left out), validated as a config file
    is; raises OverrideError naming the option, its value and the field it sets. ``source``
    (the config's file) is named when the problem lies between an override and the file."""
    given = {k: v for k, v in overrides.items() if v is not None}
    unknown = sorted(set(given) - set(OVERRIDES))
    if unknown:
        raise TypeError(f"not an override: {', '.join(unknown)}")
    try:
        return config.with_overrides(**given)
    except ValidationError as exc:
        err = _config_error(exc, source, {})
    for key, value in given.items():
        o = OVERRIDES[key]
        if err.field == o.field or err.field.startswith(o.field + "."):
            raise OverrideError(o, f"{o.option} {_shown(value)}", err.message, err.field) from None
    options = ", ".join(OVERRIDES[k].option for k in given)
    raise OverrideError(None, f"{source}: with {options}", err.message, err.field) from None


def _config_error(
    exc: ValidationError, source: str, lines: dict[tuple[str, ...], int]
) -> ConfigError:
    errors = exc.errors()
    # An unknown key usually explains the "missing" error beside it: report it first.
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    loc = _clean_loc(err)
    return ConfigError(source, _describe(err), ".".join(loc), _line_of(lines, loc))


def _clean_loc(err: Any) -> tuple[str, ...]:
    """The error's dotted path as the user wrote it: union tags out, FieldError's field in."""
    parts = [str(x) for x in err["loc"]]
    loc = [p for i, p in enumerate(parts) if not _is_union_tag(p, parts[i - 1] if i else None)]
    if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
        loc.append("family")
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, FieldError):
        loc.extend(cause.field.split("."))
    return tuple(loc)


def _is_union_tag(part: str, parent: str | None) -> bool:
    """Pydantic puts the chosen union member's tag in error paths; the file has no such key."""
    return (parent == "model" and part in MODEL_FAMILIES) or part.startswith("function-")


def _describe(err: Any) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(err["loc"][-1])
        allowed = _fields_beside(err["loc"])
        synonym = _SYNONYMS.get(key.lower())
        close = [synonym] if synonym in allowed else []
        close = close or difflib.get_close_matches(key, sorted(allowed), n=1, cutoff=0.6)
        if close:
            return f"unknown field; did you mean {close[0]!r}? (see the documented schema)"
        return "unknown field; check its spelling against the documented schema"
    if kind == "missing":
        return "required field is missing"
    given = err.get("input")
    if kind in ("int_type", "float_type") and isinstance(given, bool):
        return f"must be a number, not {str(given).lower()}"
    if kind == "bool_type":
        return f"must be true or false (unquoted), not {given!r}"
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


# Names other tools use for fields of ours (Keras, Hugging Face, PyTorch): suggested by meaning.
_SYNONYMS: dict[str, str] = {
    "learning_rate": "lr",
    "num_heads": "heads",
    "n_heads": "heads",
    "num_layers": "layers",
    "n_layers": "layers",
    "epochs": "steps",
    "max_steps": "steps",
    "warmup": "warmup_steps",
    "hidden_size": "hidden",
    "dtype": "precision",
    "mixed_precision": "precision",
    "optim": "optimizer",
    "repeat": "repeats",
    "timeout": "timeout_s",
    "jit": "compile",
}


def _fields_beside(loc: tuple[Any, ...]) -> set[str]:
    """The field names allowed where the error's last key stands, found by walking the schema
    along ``loc`` (union tags such as ``mlp`` pick the family's model; list indices are skipped)."""
    models: list[type[BaseModel]] = [Config]
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        inner = [
            found
            for m in models
            if part in m.model_fields
            for found in _models_in(m.model_fields[part].annotation)
        ]
        if inner:
            models = inner
        elif part in MODEL_FAMILIES:
            models = [m for m in models if part in _literal_family(m)] or models
    return {name for m in models for name in m.model_fields}


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _literal_family(model: type[BaseModel]) -> tuple[Any, ...]:
    field = model.model_fields.get("family")
    return typing.get_args(field.annotation) if field is not None else ()


def _line_of(lines: dict[tuple[str, ...], int], loc: tuple[str, ...]) -> int | None:
    """The line of the deepest part of ``loc`` present in the file (YAML only)."""
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines and (n > 0 or not loc):
            return lines[loc[:n]]
    return None
