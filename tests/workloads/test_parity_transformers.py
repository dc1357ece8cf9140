"""The gpt, vit and bert families in every framework, as ``test_parity`` holds the others: the
analytic parameter count equals each framework's, the first-batch loss agrees with PyTorch's to
1e-5 relative (the issue asks 1e-4) and so do the losses of the first updates.

The cases are tiny and oddly sized: odd sequence lengths, position tables longer than the
sequence, head counts that are not powers of two (3, 5), images whose sides do not divide by the
patch (the remainder is dropped). Adam moves every weight by ~lr per step, so a transposed or
misplaced weight that the small published initialisations (N(0, 0.02)) hide in the first loss
shows within a few updates.

BERT trains with SGD here: behind its N(0, 0.02) pooler and head, the encoder's first gradients
are ~1e-7, where Keras's Adam (epsilon added before the bias correction: an effective 3e-7 in
the first step instead of 1e-8) takes visibly smaller steps than PyTorch's. Measured: 1e-3
apart after four Adam updates, a difference of the optimizers, not of the models.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from tests.workloads.helpers import config_spec, probe_all, run_worker
from tests.workloads.test_parity import (
    FRAMEWORKS,
    OTHERS,
    PARITY_RTOL,
    TRAINED_RTOL,
    parity_spec,
    rel_diff,
)
from workloads.spec import parse_spec

pytestmark = pytest.mark.slow

ADAM = {"name": "adam", "lr": 0.01}

# (id, model, optimizer, loss)
CASES: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    (
        "gpt-3heads",
        {
            "family": "gpt",
            "vocab_size": 37,
            "seq_len": 9,
            "max_positions": 11,
            "d_model": 12,
            "heads": 3,
            "layers": 2,
        },
        ADAM,
        "cross_entropy",
    ),
    (
        "gpt-5heads-sgd",
        {
            "family": "gpt",
            "vocab_size": 23,
            "seq_len": 7,
            "d_model": 10,
            "heads": 5,
            "layers": 1,
            "ff_dim": 13,
        },
        {"name": "sgd", "lr": 0.5, "momentum": 0.9},
        "cross_entropy",
    ),
    (
        "vit-13x11-patch4",
        {
            "family": "vit",
            "input_shape": [13, 11, 3],
            "patch": 4,
            "d_model": 12,
            "heads": 3,
            "layers": 2,
            "ff_dim": 7,
            "num_classes": 5,
        },
        ADAM,
        "cross_entropy",
    ),
    (
        "vit-5heads-adamw",
        {
            "family": "vit",
            "input_shape": [10, 7, 2],
            "patch": 3,
            "d_model": 15,
            "heads": 5,
            "layers": 1,
            "ff_dim": 9,
            "num_classes": 3,
        },
        # lr 0.01 measured 6.8e-5 for Keras after six updates (its Adam's epsilon placement,
        # too close to the tolerance); 0.003 measured 2.6e-5 and moves the loss more
        {"name": "adamw", "lr": 0.003, "weight_decay": 0.1},
        "cross_entropy",
    ),
    (
        "bert-3heads",
        {
            "family": "bert",
            "vocab_size": 29,
            "seq_len": 9,
            "max_positions": 13,
            "d_model": 12,
            "heads": 3,
            "layers": 2,
            "ff_dim": 7,
            "num_classes": 3,
        },
        {"name": "sgd", "lr": 0.5, "momentum": 0.9},
        "cross_entropy",
    ),
    (
        "bert-5heads-mse",
        {
            "family": "bert",
            "vocab_size": 17,
            "seq_len": 5,
            "type_vocab_size": 3,
            "d_model": 10,
            "heads": 5,
            "layers": 1,
            "ff_dim": 11,
            "num_classes": 2,
        },
        {"name": "sgd", "lr": 0.2, "momentum": 0.9, "weight_decay": 0.01},
        "mse",
    ),
]


@pytest.fixture(scope="module")
def probes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """Each framework's results for every case, the children running at once."""
    specs = [parity_spec(m, o, loss) for _, m, o, loss in CASES]
    return probe_all(FRAMEWORKS, specs, tmp_path_factory.mktemp("parity"))


@pytest.mark.parametrize("n", range(len(CASES)), ids=[c[0] for c in CASES])
def test_same_params_as_the_formula(probes: dict[str, list[dict[str, Any]]], n: int) -> None:
    _, model, optimizer, loss = CASES[n]
    analytic = parse_spec(json.dumps(parity_spec(model, optimizer, loss))).model.param_count()
    assert {fw: probes[fw][n]["params"] for fw in FRAMEWORKS} == dict.fromkeys(FRAMEWORKS, analytic)


@pytest.mark.parametrize("framework", OTHERS)
@pytest.mark.parametrize("n", range(len(CASES)), ids=[c[0] for c in CASES])
def test_same_first_loss_and_first_updates(
    probes: dict[str, list[dict[str, Any]]], n: int, framework: str
) -> None:
    torch_run, other = probes["torch"][n], probes[framework][n]
    assert rel_diff(torch_run["parity_loss"], other["parity_loss"]) < PARITY_RTOL
    for run in (torch_run, other):
        # no dropout: the first training step's loss is the parity loss
        assert rel_diff(run["losses"][0], run["parity_loss"]) < 1e-6
    for step, (a, b) in enumerate(zip(torch_run["losses"], other["losses"], strict=True)):
        assert rel_diff(a, b) < TRAINED_RTOL, (step, a, b)
    # training moved the loss well beyond the tolerance, so agreement is not about unchanged
    # weights
    assert rel_diff(torch_run["losses"][-1], torch_run["losses"][0]) > 30 * TRAINED_RTOL


def test_dropout_and_bf16_run_and_the_attention_kernel_is_recorded(tmp_path: Path) -> None:
    """A gpt with dropout in bf16 through the real worker: the unfused attention paths run in
    every framework, the env event names the kernel each used, and the model event carries the
    analytic FLOPs (what MFU is computed from)."""
    model = {
        "family": "gpt",
        "vocab_size": 29,
        "seq_len": 7,
        "d_model": 12,
        "heads": 3,
        "layers": 1,
        "dropout": 0.1,
    }
    spec = config_spec(
        {
            "name": "gpt-dropout",
            "threads": 1,
            "seed": 5,
            "model": model,
            "data": {"samples": 16},
            "train": {
                "batch_size": 4,
                "steps": 6,
                "warmup_steps": 1,
                "precision": "bf16",
                "optimizer": {"name": "adamw", "lr": 0.01},
            },
        }
    )
    analytic = parse_spec(json.dumps(spec)).model
    expected = {
        # PyTorch's dispatcher picks its unfused kernel for dropout on the CPU
        "torch": "F.scaled_dot_product_attention(is_causal=True): math",
        "tensorflow": "keras MultiHeadAttention(use_causal_mask=True): einsum + masked softmax "
        "+ dropout",
        "jax": "einsum + softmax (float32) + dropout",
    }
    parity = {}
    for framework in FRAMEWORKS:
        run = run_worker(framework, spec, tmp_path / framework, timeout_s=240)
        assert run.returncode == 0, run.log
        assert run.one("env").get("settings")["attention"] == expected[framework]
        event = run.one("model")
        assert event.get("params") == analytic.param_count()
        assert event.get("flops_per_step") == analytic.flops_per_sample() * 4
        losses = [w.get("loss") for w in run.of("window")]
        assert all(math.isfinite(loss) for loss in losses), losses
        parity[framework] = event.get("parity_loss")
    for framework in OTHERS:
        # dropout is off and weights are float32 for the parity loss
        assert rel_diff(parity["torch"], parity[framework]) < PARITY_RTOL
