"""Reading the child's --spec: the parent's Config dump in, the fields the workloads use out."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.workloads.helpers import make_spec
from workloads.spec import SpecError, parse_spec


def test_reads_a_config_dump() -> None:
    spec = parse_spec(json.dumps(make_spec(device="cpu", model__activation="gelu")))
    assert spec.name == "tiny"
    assert spec.device == "cpu"
    assert spec.threads == 1
    assert spec.seed == 7
    assert spec.model.layer_sizes() == [(16, 8), (8, 5), (5, 3)]
    assert spec.model.activation == "gelu"
    assert (spec.samples, spec.batch_size, spec.steps, spec.warmup_steps) == (64, 8, 30, 5)
    assert spec.measured_steps == 25
    assert spec.window_steps == 4
    assert (spec.optimizer, spec.lr, spec.momentum) == ("sgd", 0.1, 0.9)
    assert spec.flops_per_step() == 6 * (128 + 40 + 15) * 8


CNN = {
    "family": "cnn",
    "input_shape": [6, 5, 2],
    "conv": [{"filters": 3, "kernel": 3}],
    "num_classes": 2,
}
TRANSFORMER = {
    "family": "transformer",
    "vocab_size": 9,
    "seq_len": 4,
    "d_model": 6,
    "heads": 2,
    "layers": 1,
    "ff_dim": 5,
    "num_classes": 3,
}
RNN = {
    "family": "rnn",
    "cell": "gru",
    "vocab_size": 9,
    "seq_len": 4,
    "embed_dim": 3,
    "hidden": 5,
    "layers": 2,
    "num_classes": 3,
}


@pytest.mark.parametrize("model", [CNN, TRANSFORMER, RNN], ids=["cnn", "transformer", "rnn"])
def test_reads_every_family(model: dict[str, Any]) -> None:
    spec = parse_spec(json.dumps(make_spec(model=model)))
    assert spec.model.family == model["family"]
    assert spec.model.num_classes == model["num_classes"]
    assert spec.flops_per_step() == spec.model.flops_per_sample() * spec.batch_size


def test_reads_training_and_data_settings() -> None:
    obj = make_spec(
        train__loss="mse",
        train__precision="bf16",
        train__compile=True,
        train__optimizer={"name": "adamw", "lr": 0.002, "weight_decay": 0.1},
        data__pipeline="native",
    )
    spec = parse_spec(json.dumps(obj))
    assert (spec.loss, spec.precision, spec.compile, spec.pipeline) == (
        "mse",
        "bf16",
        True,
        "native",
    )
    assert (spec.optimizer, spec.lr, spec.weight_decay) == ("adamw", 0.002, 0.1)
    assert spec.config == obj["config"]


def test_custom_models_have_no_flops() -> None:
    obj = make_spec()
    obj["config"]["model"] = {
        "family": "custom",
        "module": "/abs/model.py",
        "input_shape": [4, 2],
        "num_classes": 3,
        "options": {"width": 7},
    }
    spec = parse_spec(json.dumps(obj))
    assert spec.model.input_shape == (4, 2)
    assert spec.model.input_kind == "float"
    assert spec.flops_per_step() is None


def test_default_window_comes_from_the_parent() -> None:
    obj = make_spec(train__window_steps=None)
    assert parse_spec(json.dumps(obj)).window_steps == obj["window_steps"] == 1


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda s: s["config"]["model"].update(family="gan"), "config.model.family"),
        (lambda s: s["config"]["train"].update(warmup_steps=30), "warmup_steps"),
        (lambda s: s["config"]["model"].update(activation="swish"), "activation"),
        (lambda s: s["config"]["model"].update(hidden=[]), "config.model.hidden"),
        (lambda s: s.pop("window_steps"), "window_steps"),
        (lambda s: s.pop("config"), "spec.config"),
        (lambda s: s["config"]["train"].update(precision="fp8"), "config.train.precision"),
        (lambda s: s["config"]["train"].update(loss="hinge"), "config.train.loss"),
        (lambda s: s["config"]["data"].update(kind="npz", path=None), "config.data.path"),
        (lambda s: s["config"]["data"].update(pipeline="mmap"), "config.data.pipeline"),
        (lambda s: s["config"].update(model=TRANSFORMER | {"heads": 5}), "config.model.heads"),
        (lambda s: s["config"].update(model=CNN | {"conv": [{"filters": 2}]}), "conv.0.kernel"),
        (
            lambda s: s["config"].update(
                model={"family": "resnet", "input_shape": [8, 8, 3], "layers": [1, 1]}
                | {"widths": [4], "num_classes": 3}
            ),
            "config.model.widths",
        ),
        (lambda s: s["config"].update(model=RNN | {"cell": "lstmx"}), "config.model.cell"),
        (lambda s: s["config"].update(model={"family": "custom"}), "config.model.module"),
    ],
)
def test_rejects_what_the_workloads_cannot_run(
    mutate: Callable[[dict[str, Any]], object], field: str
) -> None:
    obj = make_spec()
    mutate(obj)
    with pytest.raises(SpecError, match=field):
        parse_spec(json.dumps(obj))


def test_rejects_text_that_is_not_json() -> None:
    with pytest.raises(SpecError, match="not JSON"):
        parse_spec("{config:")
