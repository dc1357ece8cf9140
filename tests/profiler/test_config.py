"""Config files: three formats, one strict schema, errors that name file, line and field."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from profiler.config import Config, ConfigError, load_config
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


@pytest.mark.parametrize(
    ("text", "field", "suggestion"),
    [
        (VALID_YAML.replace("hidden", "hiden"), "model.hiden", "did you mean 'hidden'?"),
        (VALID_YAML.replace("name: t", "nmae: t"), "nmae", "did you mean 'name'?"),
        (
            VALID_YAML.replace("warmup_steps: 5", "warmup_steps: 5, learning_rate: 0.1"),
            "train.learning_rate",
            "",  # not a field of train: lr belongs to train.optimizer, so nothing is suggested
        ),
        (
            VALID_YAML + "run: {repeat: 3}\n",
            "run.repeat",
            "did you mean 'repeats'?",
        ),
        (
            VALID_YAML.replace("warmup_steps: 5", "warmup_steps: 5, optimizer: {learning_rate: 1}"),
            "train.optimizer.learning_rate",
            "did you mean 'lr'?",
        ),
        (
            VALID_YAML.replace(
                "{family: mlp, input_dim: 8, hidden: [4], num_classes: 3}",
                "{family: cnn, input_shape: [8, 8, 1], conv: [{filters: 2, kernal: 3}],"
                " num_classes: 3}",
            ),
            "model.conv.0.kernal",
            "did you mean 'kernel'?",
        ),
        (VALID_YAML + "colour: red\n", "colour", ""),
    ],
)
def test_an_unknown_field_suggests_the_one_meant_in_its_section(
    tmp_path: Path, text: str, field: str, suggestion: str
) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, "typo.yaml", text))
    assert err.value.field == field
    message = str(err.value)
    if suggestion:
        assert suggestion in message
    else:
        assert "did you mean" not in message and "check its spelling" in message


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


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("name: x\n\tmodel: 1\n", 2, "a tab indents this line"),
        ("name: x\nfoo\nmodel: 1\n", 2, "no ':' after its key"),
        ("name: x\ntrain:\n  steps 200\n  batch_size: 4\n", 3, "no ':' after its key"),
        ("name: x\nhidden: [8, 16\nmodel: 1\n", 2, "'[' list opened on this line is not closed"),
        ("model: {family: mlp, input_dim: 3\ntrain: 1\n", 1, "'{' map opened on this line"),
        ("name: x: y\nmodel: 1\n", 1, "quote the value"),
        ("train:\n  steps: 10\n batch: 3\nmodel: 1\n", 3, "indentation does not line up"),
        ("name: 'x\nmodel: 1\n", 1, "a quote opened on this line is never closed"),
    ],
)
def test_yaml_syntax_errors_are_said_in_plain_words_at_the_line_to_fix(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, "bad.yaml", text))
    assert caught.value.line == line
    assert words in caught.value.message
    assert caught.value.message.startswith("invalid YAML: ")


def test_overrides_are_validated(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, "a.yaml", VALID_YAML))
    short = config.with_overrides(steps=10, frameworks=["torch"])
    assert short.train.steps == 10 and short.train.warmup_steps == 1
    assert short.frameworks == ["torch"]
    assert config.window_steps() == 1
    assert config.with_overrides(steps=2000).window_steps() == 50


def test_quick_overrides_change_only_what_they_name(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, "a.yaml", VALID_YAML))
    quick = config.with_overrides(batch_size=16, repeats=3, threads=2, device="cpu")
    assert (quick.train.batch_size, quick.run.repeats, quick.threads, quick.device) == (
        16,
        3,
        2,
        "cpu",
    )
    assert quick.train.steps == config.train.steps and quick.frameworks == config.frameworks
    with pytest.raises(ValueError, match="device"):
        config.with_overrides(device="tpu")
    with pytest.raises(ValueError, match="repeats"):
        config.with_overrides(repeats=0)


# --- the model zoo: every family, cross-field checks, files resolved beside the config ---------

CNN_YAML = """\
name: c
model:
  family: cnn
  input_shape: [8, 8, 3]
  conv:
    - {filters: 4, kernel: 3, pool: 2}
    - {filters: 6, kernel: 3, stride: 1}
  num_classes: 3
"""

TRANSFORMER_YAML = """\
name: t
device: cpu
model:
  family: transformer
  vocab_size: 50
  seq_len: 8
  d_model: 12
  heads: 4
  layers: 1
  ff_dim: 16
  num_classes: 2
train:
  precision: fp32
"""

CUSTOM_YAML = """\
name: custom
frameworks: [torch, tensorflow]
model:
  family: custom
  module: models/net.py
  input_shape: [4]
  num_classes: 2
"""

NPZ_YAML = """\
name: n
model: {family: mlp, input_dim: 4, hidden: [3], num_classes: 3}
data:
  kind: npz
  path: data/d.npz
"""


@pytest.mark.parametrize(
    "path", sorted((resources_dir() / "configs").glob("*.yaml")), ids=lambda p: p.name
)
def test_shipped_examples_are_valid(path: Path) -> None:
    config = load_config(path)
    assert config.name == path.stem
    # PyTorch vs TensorFlow in every example; the newer families' add JAX
    assert config.frameworks[:2] == ["torch", "tensorflow"]


def test_one_shipped_example_per_family() -> None:
    families = {load_config(p).model.family for p in (resources_dir() / "configs").glob("*.yaml")}
    assert families == {
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
    }


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        (TRANSFORMER_YAML.replace("heads: 4", "heads: 5"), 8, "model.heads", "do not divide"),
        (TRANSFORMER_YAML.replace("fp32", "fp16"), 13, "train.precision", "CUDA"),
        (
            TRANSFORMER_YAML.replace("family: transformer", "family: gan"),
            4,
            "model.family",
            "'rnn'",
        ),
        (TRANSFORMER_YAML.replace("ff_dim", "ffdim"), 10, "model.ffdim", "unknown field"),
        (
            CNN_YAML.replace("filters: 6, kernel: 3", "filters: 6, kernel: 5, padding: valid"),
            7,
            "model.conv.1.kernel",
            "4x4",
        ),
        (CNN_YAML.replace("pool: 2", "pool: 9"), 6, "model.conv.0.pool", "larger"),
        (CNN_YAML.replace("filters: 4", "filters: -4"), 6, "model.conv.0.filters", "greater"),
        (CNN_YAML.replace("[8, 8, 3]", "[8, 8]"), 4, "model.input_shape", "at least 3"),
        (VALID_YAML + "data: {kind: npz}\n", 5, "data.path", "needs a path"),
        (VALID_YAML + "data: {path: x.npz}\n", 5, "data.path", "no such file"),
        (
            VALID_YAML.replace("warmup_steps: 5", "optimizer: {name: adam, momentum: 0.9}"),
            4,
            "train.optimizer.momentum",
            "only sgd",
        ),
        # an unknown key explains the missing ones beside it: it comes first
        (VALID_YAML.replace("mlp", "rnn"), 3, "model.input_dim", "unknown field"),
        (
            VALID_YAML.replace("mlp, input_dim: 8, hidden: [4]", "rnn, vocab_size: 9, hidden: 4"),
            3,
            "model.seq_len",
            "missing",
        ),
    ],
)
def test_combinations_that_cannot_run_are_rejected(
    tmp_path: Path, text: str, line: int, field: str, words: str
) -> None:
    path = _write(tmp_path, "bad.yaml", text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert (err.value.field, err.value.line) == (field, line), str(err.value)
    assert words in err.value.message


def test_fp16_with_device_auto_is_left_to_the_child(tmp_path: Path) -> None:
    # the parent imports no framework, so it cannot know whether auto finds a GPU
    text = TRANSFORMER_YAML.replace("fp32", "fp16").replace("device: cpu", "device: auto")
    assert load_config(_write(tmp_path, "a.yaml", text)).train.precision == "fp16"


def _module(tmp_path: Path, source: str) -> None:
    (tmp_path / "models").mkdir(exist_ok=True)
    (tmp_path / "models" / "net.py").write_text(source)


def test_custom_module_is_resolved_beside_the_config(tmp_path: Path) -> None:
    _module(tmp_path, "def build_torch(config):\n    pass\n\ndef build_tensorflow(config): ...\n")
    config = load_config(_write(tmp_path, "c.yaml", CUSTOM_YAML))
    assert config.model.family == "custom"
    assert config.model.module == str((tmp_path / "models" / "net.py").resolve())
    # what the child gets runs from any working directory
    assert config.model_dump(mode="json")["model"]["module"] == config.model.module


def test_custom_module_needs_a_builder_per_framework(tmp_path: Path) -> None:
    # a nested or assigned build_tensorflow is not a top-level function: it does not count
    _module(tmp_path, "import torch\ndef build_torch(config): ...\nbuild_tensorflow = None\n")
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, "c.yaml", CUSTOM_YAML))
    assert (err.value.field, err.value.line) == ("model.module", 5)
    assert "build_tensorflow" in err.value.message
    assert "build_torch" not in err.value.message.split("defines no")[1]
    ok = load_config(_write(tmp_path, "t.yaml", CUSTOM_YAML.replace(", tensorflow", "")))
    with pytest.raises(ValueError, match="build_tensorflow"):
        ok.with_overrides(frameworks=["torch", "tensorflow"])


@pytest.mark.parametrize(
    ("source", "words"),
    [(None, "no such file"), ("def build_torch(:\n", "cannot read")],
)
def test_custom_module_must_exist_and_parse(tmp_path: Path, source: str | None, words: str) -> None:
    if source is not None:
        _module(tmp_path, source)
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, "c.yaml", CUSTOM_YAML))
    assert err.value.field == "model.module"
    assert words in err.value.message


def _npz(tmp_path: Path, **arrays: object) -> None:
    (tmp_path / "data").mkdir(exist_ok=True)
    np.savez(tmp_path / "data" / "d.npz", **arrays)  # type: ignore[arg-type]


def test_npz_is_resolved_beside_the_config_and_read_lazily(tmp_path: Path) -> None:
    _npz(tmp_path, x=np.zeros((10, 4), np.float32), y=np.zeros(10, np.int64))
    config = load_config(_write(tmp_path, "n.yaml", NPZ_YAML))
    assert config.data.path == str((tmp_path / "data" / "d.npz").resolve())
    assert config.data.samples is None  # every row
    assert load_config(_write(tmp_path, "s.yaml", VALID_YAML)).data.samples == 4096
    explicit_null = VALID_YAML + "data: {samples: null}\n"
    assert load_config(_write(tmp_path, "z.yaml", explicit_null)).data.samples == 4096


@pytest.mark.parametrize(
    ("arrays", "extra", "field", "words"),
    [
        ({"x": np.zeros((10, 4), np.float32)}, "", "data.path", "has no array y"),
        ({"x": np.zeros((10, 5)), "y": np.zeros(10, int)}, "", "data.path", "x has shape (10, 5)"),
        ({"x": np.zeros((10, 4), int), "y": np.zeros(10, int)}, "", "data.path", "floats"),
        ({"x": np.zeros((10, 4)), "y": np.zeros(10)}, "", "data.path", "integer labels"),
        ({"x": np.zeros((10, 4)), "y": np.zeros(9, int)}, "", "data.path", "10 integer labels"),
        ({"x": np.zeros((10, 4)), "y": np.zeros(10, int)}, "  samples: 11\n", "data.samples", "10"),
        (
            {"x": np.zeros((10, 4)), "y": np.zeros((10, 2))},
            "train: {loss: mse}\n",
            "data.path",
            "mse needs floats of shape (10, 3)",
        ),
    ],
)
def test_npz_arrays_must_fit_the_model(
    tmp_path: Path, arrays: dict[str, object], extra: str, field: str, words: str
) -> None:
    _npz(tmp_path, **arrays)
    text = NPZ_YAML + extra
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, "n.yaml", text))
    assert err.value.field == field
    assert words in err.value.message


def test_not_an_npz_file(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "d.npz").write_text("not a zip")
    with pytest.raises(ConfigError, match=r"n.yaml:5: data.path: cannot read"):
        load_config(_write(tmp_path, "n.yaml", NPZ_YAML))


def test_interpreter_per_framework_and_cooldown(tmp_path: Path) -> None:
    import sys

    text = VALID_YAML + f"run: {{cooldown_s: 2, python: {{tensorflow: {sys.executable}}}}}\n"
    config = load_config(_write(tmp_path, "a.yaml", text))
    assert config.run.cooldown_s == 2
    # The path as given: a virtualenv's python is a symlink, and resolving it would run the
    # base interpreter, outside the venv.
    assert config.run.python == {"tensorflow": sys.executable}
    bad = VALID_YAML + "run:\n  python:\n    torch: envs/none/bin/python\n"
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, "b.yaml", bad))
    assert err.value.field == "run.python.torch"
    assert err.value.line == 7
    assert "is not an executable Python interpreter" in str(err.value)


def test_strided_same_padding_is_accepted_and_shapes_follow_tensorflow(tmp_path: Path) -> None:
    # 8x8 -> pool 2 -> 4x4 -> 5x5/2 SAME -> ceil(4 / 2) = 2x2 (valid would refuse kernel 5 > 4)
    text = CNN_YAML.replace("filters: 6, kernel: 3, stride: 1", "filters: 6, kernel: 5, stride: 2")
    config = load_config(_write(tmp_path, "c.yaml", text))
    assert config.model.conv[1].stride == 2 and config.model.conv[1].padding == "same"


def test_default_synthetic_data_stays_within_a_gibibyte() -> None:
    small = Config.model_validate({"name": "s", "model": {"preset": "resnet20"}})
    large = Config.model_validate({"name": "l", "model": {"preset": "resnet50"}})
    given = Config.model_validate(
        {"name": "g", "model": {"preset": "resnet50"}, "data": {"samples": 4096}}
    )
    assert small.data.samples == 4096  # 32x32x3 images: 48 MiB
    assert large.data.samples == 2**30 // (4 * 224 * 224 * 3) == 1783
    assert given.data.samples == 4096
