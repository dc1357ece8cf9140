"""Property-based fuzzing of the config loaders (Hypothesis), all three formats.

Whatever the bytes or the structure, ``load_config`` and ``parse_config`` return a valid Config
or raise a ConfigError naming the file: never another exception, within the per-example
deadline of the Hypothesis profile (see tests/conftest.py; ``HYPOTHESIS_PROFILE=long`` for a
longer search by hand).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from profiler.config import MODEL_FAMILIES, Config, ConfigError, load_config, parse_config

SUFFIXES = (".yaml", ".yml", ".json", ".toml")

VALID_TEXTS = {
    ".yaml": (
        "name: t\nframeworks: [torch, tensorflow]\n"
        "model: {family: mlp, input_dim: 8, hidden: [4], num_classes: 3}\n"
        "train: {batch_size: 4, steps: 40, warmup_steps: 5}\n"
    ),
    ".json": (
        '{"name": "t", "frameworks": ["torch"], "model": {"family": "rnn", "vocab_size": 50, '
        '"seq_len": 6, "embed_dim": 4, "hidden": 5, "num_classes": 3}, '
        '"train": {"batch_size": 4, "steps": 40, "warmup_steps": 5}}'
    ),
    ".toml": (
        'name = "t"\nframeworks = ["torch", "jax"]\n[model]\nfamily = "transformer"\n'
        "vocab_size = 50\nseq_len = 6\nd_model = 8\nheads = 2\nlayers = 1\nff_dim = 16\n"
        "num_classes = 3\n[train]\nbatch_size = 4\nsteps = 40\nwarmup_steps = 5\n"
    ),
}

WORDS = [
    "sgd", "adam", "adamw", "relu", "gelu", "lstm", "gru", "cpu", "auto", "cuda:0", "fp32",
    "bf16", "fp16", "mse", "cross_entropy", "synthetic", "npz", "resident", "native", "same",
    "valid", "cold", "warm", "torch", "tensorflow", "jax", "caffe", *MODEL_FAMILIES,
]  # fmt: skip

TRAIN_FIELDS = [
    "batch_size", "steps", "warmup_steps", "window_steps", "loss", "optimizer", "precision",
    "compile", "compile_cache",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.integers(min_value=-3, max_value=300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(WORDS),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)


def section(*fields: str) -> st.SearchStrategy[dict[str, Any]]:
    """A mapping of some of ``fields`` (and a stray key now and then) to plausible values."""
    keys = st.sampled_from([*fields, "bogus", "learning_rate"])
    return st.dictionaries(keys, values, max_size=6)


models = st.builds(
    lambda family, rest: {"family": family, **rest},
    st.sampled_from([*MODEL_FAMILIES, "lstmx"]),
    section(
        "input_dim", "hidden", "activation", "dropout", "num_classes", "input_shape", "conv",
        "dense", "batch_norm", "vocab_size", "seq_len", "d_model", "heads", "layers", "ff_dim",
        "cell", "embed_dim", "module", "options",
    ),
)  # fmt: skip
configs = st.fixed_dictionaries(
    {},
    optional={
        "name": st.text(max_size=30) | values,
        "frameworks": st.lists(st.sampled_from(WORDS[24:28]), max_size=4) | values,
        "device": st.sampled_from(WORDS) | values,
        "threads": values,
        "seed": values,
        "model": models | values,
        "data": section("kind", "samples", "path", "pipeline") | values,
        "train": section(*TRAIN_FIELDS),
        "run": section("repeats", "timeout_s", "sample_hz", "cooldown_s", "python"),
    },
)
# Tokens repeated thousands of times: deep nesting, 5,000-digit numbers, many aliases.
repeated = st.builds(
    lambda token, n: token * n,
    st.sampled_from(["9", "[", "{", "[[", "- ", "*a, ", "{a: ", '{"a": ', "a = [", "\n  "]),
    st.integers(min_value=0, max_value=6000),
)
# Text rich in what YAML, JSON and TOML give meaning to.
syntax_text = st.text(alphabet="&*!|>-:?[]{},#%@`'\"\n \t<=.aAbB019_\\~+eE", max_size=300)


def to_toml(data: dict[str, Any]) -> str:
    """``data`` as TOML with inline tables; TOML has no null, so None values are left out."""
    lines = [f"{_toml_key(k)} = {_toml(v)}" for k, v in data.items() if v is not None]
    return "\n".join(lines) + "\n"


def _toml_key(key: str) -> str:
    return json.dumps(key, ensure_ascii=False)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value if v is not None) + "]"
    items = (f"{_toml_key(k)} = {_toml(v)}" for k, v in value.items() if v is not None)
    return "{" + ", ".join(items) + "}"


def serialise(data: dict[str, Any], suffix: str) -> str:
    if suffix == ".json":
        return json.dumps(data)
    if suffix == ".toml":
        return to_toml(data)
    return yaml.safe_dump(data, allow_unicode=True)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def check_file(path: Path) -> None:
    """A valid Config or a ConfigError that names the file: nothing else."""
    try:
        config = load_config(path)
    except ConfigError as exc:
        assert exc.path == str(path)
        assert str(exc).startswith(str(path)) and exc.message
    else:
        assert isinstance(config, Config)


def check_text(text: str, suffix: str) -> None:
    try:
        config = parse_config(text, suffix, "<editor>")
    except ConfigError as exc:
        assert str(exc).startswith("<editor>") and exc.message
    else:
        assert isinstance(config, Config)


@given(content=st.binary(max_size=2048), suffix=st.sampled_from(SUFFIXES))
def test_arbitrary_bytes(folder: Path, content: bytes, suffix: str) -> None:
    path = folder / f"bytes{suffix}"
    path.write_bytes(content)
    check_file(path)


@given(data=configs, suffix=st.sampled_from(SUFFIXES))
def test_arbitrary_structures(folder: Path, data: dict[str, Any], suffix: str) -> None:
    path = folder / f"structure{suffix}"
    path.write_text(serialise(data, suffix), encoding="utf-8")
    check_file(path)


VALID_DATA: dict[str, Any] = {
    "name": "t",
    "frameworks": ["torch", "tensorflow"],
    "threads": 2,
    "model": {"family": "mlp", "input_dim": 8, "hidden": [4, 4], "num_classes": 3},
    "data": {"kind": "synthetic", "samples": 64},
    "train": {"batch_size": 4, "steps": 40, "warmup_steps": 5, "optimizer": {"lr": 0.1}},
    "run": {"repeats": 1, "timeout_s": 60.0},
}
FIELD_PATHS = [
    "name", "frameworks", "frameworks.1", "device", "threads", "seed", "model", "model.family",
    "model.input_dim", "model.hidden", "model.hidden.0", "model.num_classes", "model.dropout",
    "data", "data.kind", "data.samples", "data.path", "data.pipeline", "train",
    "train.batch_size", "train.steps", "train.warmup_steps", "train.window_steps",
    "train.optimizer", "train.optimizer.name", "train.optimizer.lr", "train.optimizer.momentum",
    "train.compile", "train.precision", "run", "run.repeats", "run.timeout_s", "run.sample_hz",
    "run.python", "bogus",
]  # fmt: skip


def replaced(path: str, value: Any) -> dict[str, Any]:
    """VALID_DATA with the field at dotted ``path`` set to ``value``."""
    data = json.loads(json.dumps(VALID_DATA))
    *parents, leaf = path.split(".")
    node = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(leaf)] = value
    else:
        node[leaf] = value
    return dict(data)


@given(path=st.sampled_from(FIELD_PATHS), value=values, suffix=st.sampled_from(SUFFIXES))
def test_a_valid_config_with_one_field_replaced(
    folder: Path, path: str, value: Any, suffix: str
) -> None:
    target = folder / f"field{suffix}"
    target.write_text(serialise(replaced(path, value), suffix), encoding="utf-8")
    check_file(target)


@given(
    suffix=st.sampled_from(sorted(VALID_TEXTS)),
    where=st.floats(min_value=0.0, max_value=1.0),
    inserted=syntax_text | st.text(max_size=50) | repeated,
)
def test_valid_configs_with_text_inserted(suffix: str, where: float, inserted: str) -> None:
    text = VALID_TEXTS[suffix]
    at = int(where * len(text))
    check_text(text[:at] + inserted + text[at:], suffix)


@given(text=syntax_text | st.text(max_size=400), suffix=st.sampled_from(SUFFIXES))
def test_arbitrary_editor_text(text: str, suffix: str) -> None:
    check_text(text, suffix)


def test_the_valid_texts_are_valid() -> None:
    """The mutation test starts from valid configs (else it would only test the error path)."""
    for suffix, text in VALID_TEXTS.items():
        assert isinstance(parse_config(text, suffix), Config)
    for suffix in SUFFIXES:
        assert isinstance(parse_config(serialise(VALID_DATA, suffix), suffix), Config)
