"""Hostile config files: each gets a clear ConfigError naming the file (and line, where there is
one) in bounded time and memory, never another exception, a hang or a silently changed value.

Files that would hang or exhaust memory without the fix are read by a real `frameduel validate`
subprocess under a timeout, so a regression fails the test instead of taking the suite down.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from profiler.config import (
    MAX_CONFIG_BYTES,
    MAX_DEPTH,
    MAX_VALUES,
    Config,
    ConfigError,
    apply_overrides,
    load_config,
    parse_config,
)
from profiler.config_parse import parse_text
from profiler.config_schema import MAX_BATCH, MAX_STEPS, MAX_THREADS, MAX_WIDTH

VALID_YAML = """\
name: t
frameworks: [torch, tensorflow]
model: {family: mlp, input_dim: 8, hidden: [4], num_classes: 3}
train: {batch_size: 4, steps: 40, warmup_steps: 5}
"""
VALID = {
    "name": "t",
    "frameworks": ["torch", "tensorflow"],
    "model": {"family": "mlp", "input_dim": 8, "hidden": [4], "num_classes": 3},
    "train": {"batch_size": 4, "steps": 40, "warmup_steps": 5},
}
VALID_TOML = """\
name = "t"
frameworks = ["torch", "tensorflow"]
[model]
family = "mlp"
input_dim = 8
hidden = [4]
num_classes = 3
[train]
batch_size = 4
steps = 40
warmup_steps = 5
"""


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def validate(*paths: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`frameduel validate` in a fresh interpreter; a hang fails the test at ``timeout``."""
    return subprocess.run(
        [sys.executable, "-m", "profiler", "validate", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ,
        check=False,
    )


def alias_bomb(levels: int = 9) -> str:
    """The classic "billion laughs": each level lists the one before nine times."""
    names = "abcdefghijklmnopqrstuvwxyz"
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        aliases = ",".join(f"*{names[i - 1]}" for _ in range(9))
        lines.append(f"{names[i]}: &{names[i]} [{aliases}]")
    return "\n".join(lines) + "\n"


def test_the_formats_agree() -> None:
    """The fixtures below are the same valid config in three formats (else the tests lie)."""
    configs = [
        parse_config(VALID_YAML, ".yaml"),
        parse_config(json.dumps(VALID), ".json"),
        parse_config(VALID_TOML, ".toml"),
    ]
    assert configs[0] == configs[1] == configs[2]


def test_an_alias_bomb_fails_fast_with_a_clear_message(tmp_path: Path) -> None:
    bomb = write(tmp_path, "bomb.yaml", alias_bomb(9))
    good = write(tmp_path, "good.yaml", VALID_YAML)
    # Without the bound, expanding 9**9 aliases runs for minutes and out of memory.
    res = validate(bomb, good)
    assert res.returncode == 2
    assert res.stderr == (
        f"frameduel: error: {bomb}:5: more than {MAX_VALUES:,} values "
        "(YAML aliases counted expanded)\n"
    )
    assert res.stdout == f"{good}: ok (t: mlp, torch, tensorflow)\n"


def test_a_small_alias_tree_is_refused_before_its_lines_are_mapped(tmp_path: Path) -> None:
    # 4 levels of nine: 9**4 = 6,561 leaves, 7,381 values in all; 5 levels: 66,430.
    ok = alias_bomb(4).replace("a: &a", "model: {family: mlp, input_dim: 8, hidden: [4], "
                                         "num_classes: 3}\nname: x\na: &a")  # fmt: skip
    with pytest.raises(ConfigError, match="unknown field") as err:
        load_config(write(tmp_path, "four.yaml", ok))
    assert err.value.field in {"a", "b", "c", "d"}
    with pytest.raises(ConfigError, match=f"more than {MAX_VALUES:,} values"):
        load_config(write(tmp_path, "five.yaml", alias_bomb(5)))
    # the line map holds each written node once: 4 keys, 9 items each and the root (an
    # expanding walk made 7,381 entries here, 6 million for seven levels)
    data, lines = parse_text(alias_bomb(4), ".yaml")
    assert len(data["d"]) == 9 and len(lines) == 1 + 4 + 4 * 9


def test_an_alias_that_contains_itself_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"loop.yaml:1: an alias refers to its own anchor"):
        load_config(write(tmp_path, "loop.yaml", "name: &a [*a]\n"))


def test_aliases_and_merge_keys_still_work(tmp_path: Path) -> None:
    text = (
        "name: t\n"
        "model: {family: mlp, input_dim: &w 8, hidden: [*w, *w], num_classes: 3}\n"
        "base: &base {batch_size: 4, steps: 40}\n"
    ).replace("base: &base", "train: &base")
    config = load_config(write(tmp_path, "alias.yaml", text))
    assert config.model.hidden == [8, 8]
    merged = "x: &d {batch_size: 4, steps: 40, warmup_steps: 5}\n"
    with pytest.raises(ConfigError, match="unknown field") as err:
        load_config(write(tmp_path, "merge.yaml", VALID_YAML + merged))
    assert err.value.field == "x" and err.value.line == 5
    text = VALID_YAML.replace(
        "train: {batch_size: 4, steps: 40, warmup_steps: 5}",
        "train:\n  <<: {batch_size: 4, steps: 40, warmup_steps: 5}\n  steps: 50",
    )
    assert load_config(write(tmp_path, "m.yaml", text)).train.steps == 50


def test_a_config_larger_than_the_cap_is_refused_unread(tmp_path: Path) -> None:
    big = write(tmp_path, "big.yaml", VALID_YAML + "#" * MAX_CONFIG_BYTES + "\n")
    with pytest.raises(ConfigError, match=r"big.yaml: larger than 256 KiB"):
        load_config(big)
    with pytest.raises(ConfigError, match="larger than 256 KiB"):
        parse_config(VALID_YAML + "#" * MAX_CONFIG_BYTES, ".yaml")  # the editor's text
    # just under the cap, comments cost nothing to validate
    fits = VALID_YAML + "#" * (MAX_CONFIG_BYTES - len(VALID_YAML) - 10) + "\n"
    assert load_config(write(tmp_path, "fits.yaml", fits)).name == "t"


def test_a_long_list_stops_at_the_value_cap(tmp_path: Path) -> None:
    many = VALID_YAML.replace("hidden: [4]", "hidden: [" + ", ".join(["4"] * MAX_VALUES) + "]")
    with pytest.raises(ConfigError, match=f"many.yaml:3: more than {MAX_VALUES:,} values"):
        load_config(write(tmp_path, "many.yaml", many))
    data = {**VALID, "model": {**VALID["model"], "hidden": [4] * MAX_VALUES}}
    with pytest.raises(ConfigError, match=f"more than {MAX_VALUES:,} values"):
        load_config(write(tmp_path, "many.json", json.dumps(data)))


def test_fifos_devices_and_folders_are_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.json"
    zero.symlink_to("/dev/zero")
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    good = write(tmp_path, "good.yaml", VALID_YAML)
    # Without the check the FIFO blocks forever and /dev/zero is read until memory runs out.
    res = validate(fifo, zero, folder, good)
    assert res.returncode == 2
    assert res.stderr.splitlines() == [
        f"frameduel: error: {fifo}: not a regular file (a pipe, socket or device); "
        "give the path of a config file",
        f"frameduel: error: {zero}: not a regular file (a pipe, socket or device); "
        "give the path of a config file",
        f"frameduel: error: {folder}: not a regular file (a folder); "
        "give the path of a config file",
    ]
    assert res.stdout == f"{good}: ok (t: mlp, torch, tensorflow)\n"


def test_a_symlink_to_a_config_is_read(tmp_path: Path) -> None:
    link = tmp_path / "link.yaml"
    link.symlink_to(write(tmp_path, "real.yaml", VALID_YAML))
    assert load_config(link).name == "t"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("bad.yaml", VALID_YAML.encode().replace(b"name: t", b"name: t\xff\xfe")),
        ("bad.json", json.dumps(VALID).encode().replace(b'"t"', b'"t\xe9"')),
        ("bad.toml", VALID_TOML.encode().replace(b'"t"', b'"\xc3\x28"')),
    ],
)
def test_non_utf8_bytes_are_a_clear_error(tmp_path: Path, name: str, content: bytes) -> None:
    path = write(tmp_path, name, content)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}:1: not UTF-8 text (byte 0x")
    assert "save the file as UTF-8" in str(err.value)


def test_a_byte_order_mark_is_allowed(tmp_path: Path) -> None:
    path = write(tmp_path, "bom.json", b"\xef\xbb\xbf" + json.dumps(VALID).encode())
    assert load_config(path).name == "t"


def _deep(suffix: str, depth: int) -> str:
    nested = "[" * depth + "]" * depth
    if suffix == ".toml":
        return VALID_TOML.replace('name = "t"\n', f'name = "t"\ndeep = {nested}\n')
    if suffix == ".json":
        return json.dumps(VALID)[:-1] + f', "deep": {nested}}}'
    return VALID_YAML + f"deep: {nested}\n"


@pytest.mark.parametrize("suffix", [".yaml", ".json", ".toml"])
def test_deep_nesting_is_a_clear_error(tmp_path: Path, suffix: str) -> None:
    path = write(tmp_path, "deep" + suffix, _deep(suffix, 5000))
    with pytest.raises(ConfigError, match=f"nested more than {MAX_DEPTH} levels deep"):
        load_config(path)
    # just within the limit, the file is read and the unknown key named
    path = write(tmp_path, "ok" + suffix, _deep(suffix, MAX_DEPTH - 1))
    with pytest.raises(ConfigError, match="unknown field"):
        load_config(path)


@pytest.mark.parametrize("suffix", [".yaml", ".json", ".toml"])
def test_a_100000_digit_integer_is_a_clear_error(tmp_path: Path, suffix: str) -> None:
    digits = "9" * 100_000
    text = {
        ".yaml": VALID_YAML.replace("batch_size: 4", f"batch_size: {digits}"),
        ".json": json.dumps(VALID).replace('"batch_size": 4', f'"batch_size": {digits}'),
        ".toml": VALID_TOML.replace("batch_size = 4", f"batch_size = {digits}"),
    }[suffix]
    path = write(tmp_path, "big" + suffix, text)
    with pytest.raises(ConfigError, match=r"a number of 100,000 digits \(at most 4,300\)") as err:
        load_config(path)
    assert err.value.line == {".yaml": 4, ".json": 1, ".toml": 9}[suffix]


def test_duplicate_yaml_keys_name_both_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "dup.yaml", VALID_YAML + "name: other\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == (
        f"{path}:5: name: duplicate key 'name' (lines 1 and 5); keep one of them"
    )
    inline = VALID_YAML.replace("batch_size: 4,", "batch_size: 4, batch_size: 8,")
    with pytest.raises(ConfigError, match=r"train.batch_size: duplicate key 'batch_size' \(tw"):
        load_config(write(tmp_path, "inline.yaml", inline))


def test_duplicate_json_keys_name_both_lines(tmp_path: Path) -> None:
    text = json.dumps(VALID, indent=2).replace(
        '"steps": 40,', '"steps": 40,\n    "steps": 4000000,'
    )
    path = write(tmp_path, "dup.json", text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == (
        f"{path}:18: train.steps: duplicate key 'steps' (lines 17 and 18); keep one of them"
    )
    # the same key in two different objects is fine
    assert load_config(write(tmp_path, "ok.json", json.dumps(VALID, indent=2))).name == "t"


def test_duplicate_toml_keys_are_refused_too(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_config(write(tmp_path, "dup.toml", VALID_TOML + "[train]\nsteps = 3\n"))


def test_json_errors_name_the_line(tmp_path: Path) -> None:
    text = json.dumps(VALID, indent=2).replace('"input_dim": 8', '"input_dim": -8')
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, "neg.json", text))
    assert (err.value.field, err.value.line) == ("model.input_dim", 9)


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        ("batch_size: 4", "batch_size: true", "train.batch_size", "must be a number, not true"),
        ("steps: 40,", "steps: 40, compile: 'yes',", "train.compile", "true or false (unquoted)"),
        ("steps: 40,", "steps: 40, compile: 1,", "train.compile", "true or false"),
        ("input_dim: 8", "input_dim: 8.0", "model.input_dim", "valid integer"),
        ("input_dim: 8", "input_dim: '8'", "model.input_dim", "valid integer"),
    ],
)
def test_types_are_strict(tmp_path: Path, old: str, new: str, field: str, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, "t.yaml", VALID_YAML.replace(old, new)))
    assert err.value.field == field
    assert words in err.value.message


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("batch_size: 4", "batch_size: 1000000000000", "train.batch_size"),
        ("hidden: [4]", "hidden: [1000000000]", "model.hidden.0"),
        ("input_dim: 8", "input_dim: 1000000000", "model.input_dim"),
        ("steps: 40", "steps: 1000000000000000", "train.steps"),
        ("name: t", "name: t\nthreads: 4096", "threads"),
        ("name: t", "name: t\nrun: {timeout_s: 1.0e300}", "run.timeout_s"),
        ("name: t", "name: t\ndata: {samples: 100000000000000}", "data.samples"),
        ("num_classes: 3", "num_classes: 10000000000", "model.num_classes"),
        ("name: t", "name: t\ndevice: 'cuda:123456789012'", "device"),
    ],
)
def test_upper_bounds(tmp_path: Path, old: str, new: str, field: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, "t.yaml", VALID_YAML.replace(old, new)))
    assert err.value.field == field


def test_the_bounds_themselves_are_allowed(tmp_path: Path) -> None:
    text = (
        VALID_YAML.replace("batch_size: 4", f"batch_size: {MAX_BATCH}")
        .replace("hidden: [4]", f"hidden: [{MAX_WIDTH}]")
        .replace("steps: 40", f"steps: {MAX_STEPS}")
        .replace("name: t", f"name: t\nthreads: {MAX_THREADS}")
    )
    # Within the schema's bounds; whether it fits this machine's memory is the next check,
    # which refuses it (8 TiB of activations), naming the batch size.
    path = write(tmp_path, "max.yaml", text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.field == "train.batch_size" and "training needs about" in err.value.message
    config = load_config(path, check_memory=False)
    assert (config.train.batch_size, config.model.hidden, config.threads) == (
        MAX_BATCH,
        [MAX_WIDTH],
        MAX_THREADS,
    )


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan", "1e400"])
def test_floats_are_finite(tmp_path: Path, value: str) -> None:
    text = VALID_YAML.replace("warmup_steps: 5", f"warmup_steps: 5, optimizer: {{lr: {value}}}")
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, "t.yaml", text))
    assert err.value.field == "train.optimizer.lr"
    assert err.value.line == 4


def test_json_infinity_is_refused(tmp_path: Path) -> None:
    text = json.dumps({**VALID, "run": {"sample_hz": float("inf")}})
    with pytest.raises(ConfigError, match="finite number") as err:
        load_config(write(tmp_path, "inf.json", text))
    assert err.value.field == "run.sample_hz"


def test_override_errors_name_the_field_on_one_line(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "t.yaml", VALID_YAML))
    with pytest.raises(ConfigError) as err:
        apply_overrides(config, "t.yaml", frameworks=["torch", "torch"])
    assert str(err.value) == "--frameworks torch,torch: frameworks: lists a framework twice"
    with pytest.raises(ConfigError) as err:
        apply_overrides(config, "t.yaml", steps=10**26)
    assert err.value.field == "train.steps" and "\n" not in str(err.value)
    assert isinstance(apply_overrides(config, "t.yaml", steps=MAX_STEPS), Config)
