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


def test_default_window_comes_from_the_parent() -> None:
    obj = make_spec(train__window_steps=None)
    assert parse_spec(json.dumps(obj)).window_steps == obj["window_steps"] == 1


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda s: s["config"]["model"].update(family="cnn"), "config.model.family"),
        (lambda s: s["config"]["train"].update(warmup_steps=30), "warmup_steps"),
        (lambda s: s["config"]["model"].update(activation="swish"), "activation"),
        (lambda s: s["config"]["model"].update(hidden=[]), "config.model.hidden"),
        (lambda s: s.pop("window_steps"), "window_steps"),
        (lambda s: s.pop("config"), "spec.config"),
        (lambda s: s["config"]["train"].update(precision="bf16"), "precision"),
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
