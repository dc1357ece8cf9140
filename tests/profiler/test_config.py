"""Config files: three formats, one strict schema, errors that name file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from profiler.config import ConfigError, load_config
from profiler.paths import resources_dir

VALID_YAML = """\
name: t
frameworks: [torch, tensorflow]
model: {family: mlp, input_dim: 8, hidden: [4], num_classes: 3}
train: {batch_size: 4, steps: 40, warmup_steps: 5}
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_demo_config_is_valid() -> None:
    config = load_config(resources_dir() / "configs" / "demo-mlp.yaml")
    assert config.frameworks == ["torch", "tensorflow"]
    assert config.model.hidden == [256, 128]
    assert config.train.optimizer.momentum == 0.9


def test_same_config_in_three_formats(tmp_path: Path) -> None:
    yaml_cfg = load_config(_write(tmp_path, "a.yaml", VALID_YAML))
    data = yaml_cfg.model_dump()
    json_cfg = load_config(_write(tmp_path, "a.json", json.dumps(data)))
    toml = (
        'name = "t"\nframeworks = ["torch", "tensorflow"]\n'
        '[model]\nfamily = "mlp"\ninput_dim = 8\nhidden = [4]\nnum_classes = 3\n'
        "[train]\nbatch_size = 4\nsteps = 40\nwarmup_steps = 5\n"
    )
    toml_cfg = load_config(_write(tmp_path, "a.toml", toml))
    assert yaml_cfg == json_cfg == toml_cfg


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        (VALID_YAML.replace("hidden", "hiden"), 3, "model.hiden", "unknown field"),
        (VALID_YAML + "colour: red\n", 5, "colour", "unknown field"),
        (VALID_YAML.replace("input_dim: 8", "input_dim: -8"), 3, "model.input_dim", "greater"),
        (VALID_YAML.replace("mlp", "lstmx"), 3, "model.family", "'mlp'"),
        (VALID_YAML.replace("tensorflow]", "caffe]"), 2, "frameworks.1", "torch"),
        (VALID_YAML.replace("warmup_steps: 5", "warmup_steps: 40"), 4, "train", "below steps"),
        (VALID_YAML + "device: tpu\n", 5, "device", "cuda:N"),
    ],
)
def test_invalid_yaml_names_line_and_field(
    tmp_path: Path, text: str, line: int, field: str, words: str
) -> None:
    path = _write(tmp_path, "bad.yaml", text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.path == str(path)
    assert err.value.field == field
    assert err.value.line == line
    assert words in str(err.value)
    assert str(err.value).startswith(f"{path}:{line}: {field}: ")


def test_malformed_files_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"bad.yaml:2: invalid YAML"):
        load_config(_write(tmp_path, "bad.yaml", "name: x\n\tmodel: 1\n"))
    with pytest.raises(ConfigError, match=r"bad.json:1: invalid JSON"):
        load_config(_write(tmp_path, "bad.json", "{nope"))
    with pytest.raises(ConfigError, match=r"invalid TOML"):
        load_config(_write(tmp_path, "bad.toml", "name = \n"))
    with pytest.raises(ConfigError, match=r"unsupported file type '.txt'"):
        load_config(_write(tmp_path, "bad.txt", "x"))
    with pytest.raises(ConfigError, match=r"cannot read the file"):
        load_config(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match=r"top level must be a mapping"):
        load_config(_write(tmp_path, "list.yaml", "- a\n- b\n"))


def test_overrides_are_validated(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, "a.yaml", VALID_YAML))
    short = config.with_overrides(steps=10, frameworks=["torch"])
    assert short.train.steps == 10 and short.train.warmup_steps == 1
    assert short.frameworks == ["torch"]
    assert config.window_steps() == 1
    assert config.with_overrides(steps=2000).window_steps() == 50
