"""Every built-in family in every framework: same parameter count (= the analytic formula), same
first-batch loss as PyTorch, and losses that stay together over the first updates.

Each case is tiny and oddly sized, so a transposed kernel, a swapped gate or a misplaced head
shows up as a different loss or count. All cases run in one child process per framework.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.workloads.helpers import config_spec, probe_all
from workloads.spec import parse_spec

pytestmark = pytest.mark.slow

FRAMEWORKS = ("torch", "tensorflow", "jax")
# each compared with PyTorch, the reference for the update rules
OTHERS = FRAMEWORKS[1:]
STEPS = 6

# Measured here: parity agrees to <= 1.2e-7 and six updates to <= 3e-7 (float32 rounding in
# different kernels), Adam's a little more: up to 2.1e-5 for Keras (it adds epsilon before the
# bias correction), 1.5e-6 for JAX, 2e-5 for JAX's AdamW after batch norm (a batch norm shift
# whose gradient is rounding noise, ~1e-9, moves by lr * g / (|g| + eps) in Adam's first step).
# A semantic mismatch (a transposed kernel, swapped gates, another optimizer rule) moves the
# loss by 1e-3 or more.
PARITY_RTOL = 1e-5
TRAINED_RTOL = 1e-4


def _mlp(input_dim: int, hidden: list[int], classes: int, activation: str) -> dict[str, Any]:
    return {
        "family": "mlp",
        "input_dim": input_dim,
        "hidden": hidden,
        "activation": activation,
        "num_classes": classes,
    }


def _cnn(
    shape: list[int], conv: list[dict[str, Any]], *, bn: bool, dense: list[int], classes: int
) -> dict[str, Any]:
    return {
        "family": "cnn",
        "input_shape": shape,
        "conv": conv,
        "batch_norm": bn,
        "dense": dense,
        "num_classes": classes,
    }


def _resnet(
    shape: list[int],
    block: str,
    layers: list[int],
    widths: list[int],
    *,
    stem: str,
    stem_width: int,
    classes: int,
) -> dict[str, Any]:
    return {
        "family": "resnet",
        "input_shape": shape,
        "block": block,
        "layers": layers,
        "widths": widths,
        "stem": stem,
        "stem_width": stem_width,
        "num_classes": classes,
    }


def _transformer(
    vocab: int, seq: int, d: int, *, heads: int, layers: int, ff: int, classes: int
) -> dict[str, Any]:
    return {
        "family": "transformer",
        "vocab_size": vocab,
        "seq_len": seq,
        "d_model": d,
        "heads": heads,
        "layers": layers,
        "ff_dim": ff,
        "num_classes": classes,
    }


def _rnn(
    cell: str, vocab: int, seq: int, *, embed: int, hidden: int, layers: int, classes: int
) -> dict[str, Any]:
    return {
        "family": "rnn",
        "cell": cell,
        "vocab_size": vocab,
        "seq_len": seq,
        "embed_dim": embed,
        "hidden": hidden,
        "layers": layers,
        "num_classes": classes,
    }


SGD = {"name": "sgd", "lr": 0.1, "momentum": 0.9}

# (id, model, optimizer, loss): several odd shapes per family, every optimizer and loss.
CASES: list[tuple[str, dict[str, Any], dict[str, Any], str]] = [
    ("mlp-relu", _mlp(16, [8, 5], 3, "relu"), SGD, "cross_entropy"),
    ("mlp-gelu-adam", _mlp(7, [13], 2, "gelu"), {"name": "adam", "lr": 0.01}, "cross_entropy"),
    ("mlp-tanh-mse", _mlp(5, [3, 9, 4], 4, "tanh"), SGD, "mse"),
    (
        "cnn-bn-adamw",
        _cnn(
            [9, 7, 3],
            [
                {"filters": 4, "kernel": 3, "pool": 2},
                {"filters": 5, "kernel": 2, "stride": 2, "padding": "valid"},
            ],
            bn=True,
            dense=[6],
            classes=3,
        ),
        {"name": "adamw", "lr": 0.01, "weight_decay": 0.1},
        "cross_entropy",
    ),
    (
        "cnn-even-kernel",
        _cnn([8, 8, 1], [{"filters": 3, "kernel": 2}], bn=False, dense=[], classes=2),
        SGD,
        "mse",
    ),
    (
        "cnn-valid-pool3-wd",
        _cnn(
            [11, 10, 2],
            [{"filters": 6, "kernel": 5, "padding": "valid", "pool": 3}],
            bn=False,
            dense=[5, 4],
            classes=5,
        ),
        {**SGD, "weight_decay": 0.05},
        "cross_entropy",
    ),
    (
        # TensorFlow's SAME at strides 2 and 3 on odd sizes: asymmetric padding in torch and JAX
        "cnn-strided-same",
        _cnn(
            [11, 9, 2],
            [
                {"filters": 4, "kernel": 3, "stride": 2},
                {"filters": 3, "kernel": 4, "stride": 3},
                {"filters": 5, "kernel": 2, "stride": 1, "pool": 2},
            ],
            bn=False,
            dense=[],
            classes=3,
        ),
        SGD,
        "cross_entropy",
    ),
    (
        "resnet-basic",
        _resnet([13, 11, 3], "basic", [1, 2], [4, 6], stem="imagenet", stem_width=5, classes=3),
        SGD,
        "cross_entropy",
    ),
    (
        "resnet-bottleneck-adamw",
        _resnet(
            [17, 15, 2],
            "bottleneck",
            [2, 1, 1],
            [2, 3, 5],
            stem="imagenet",
            stem_width=4,
            classes=4,
        ),
        {"name": "adamw", "lr": 0.01, "weight_decay": 0.1},
        "cross_entropy",
    ),
    (
        "resnet-cifar-mse",
        _resnet([9, 7, 3], "basic", [1, 1], [3, 5], stem="cifar", stem_width=3, classes=2),
        SGD,
        "mse",
    ),
    (
        "transformer",
        _transformer(11, 5, 12, heads=3, layers=2, ff=7, classes=3),
        SGD,
        "cross_entropy",
    ),
    (
        "transformer-1head",
        _transformer(7, 3, 6, heads=1, layers=1, ff=5, classes=2),
        {"name": "adam", "lr": 0.003},
        "mse",
    ),
    (
        "transformer-5heads-wd",
        _transformer(13, 9, 10, heads=5, layers=3, ff=11, classes=4),
        {"name": "adam", "lr": 0.003, "weight_decay": 0.01},
        "cross_entropy",
    ),
    ("lstm-2", _rnn("lstm", 11, 5, embed=6, hidden=7, layers=2, classes=3), SGD, "cross_entropy"),
    ("gru-2", _rnn("gru", 11, 5, embed=6, hidden=7, layers=2, classes=3), SGD, "cross_entropy"),
    (
        "lstm-1-adamw",
        _rnn("lstm", 5, 7, embed=3, hidden=5, layers=1, classes=2),
        {"name": "adamw", "lr": 0.01},
        "cross_entropy",
    ),
    ("gru-3-mse", _rnn("gru", 9, 4, embed=5, hidden=3, layers=3, classes=4), SGD, "mse"),
]


def parity_spec(model: dict[str, Any], optimizer: dict[str, Any], loss: str) -> dict[str, Any]:
    """The worker spec of one parity case: a tiny fixed data set and training loop."""
    return config_spec(
        {
            "name": "parity",
            "threads": 1,
            "seed": 11,
            "model": model,
            "data": {"samples": 40},  # 5 batches of 8
            "train": {
                "batch_size": 8,
                "steps": STEPS,
                "warmup_steps": 1,
                "loss": loss,
                "optimizer": optimizer,
            },
        }
    )


@pytest.fixture(scope="module")
def probes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """Each framework's results for every case, the children running at once."""
    specs = [parity_spec(m, o, loss) for _, m, o, loss in CASES]
    return probe_all(FRAMEWORKS, specs, tmp_path_factory.mktemp("parity"))


def rel_diff(a: float, b: float) -> float:
    """|a - b| relative to the larger magnitude."""
    return abs(a - b) / max(abs(a), abs(b))


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
    model = CASES[n][1]
    if not model.get("batch_norm") and model["family"] != "resnet":
        # no dropout, no batch statistics: the first training step's loss is the parity loss
        for run in (torch_run, other):
            assert rel_diff(run["losses"][0], run["parity_loss"]) < 1e-6
    for step, (a, b) in enumerate(zip(torch_run["losses"], other["losses"], strict=True)):
        assert rel_diff(a, b) < TRAINED_RTOL, (step, a, b)
    # and training moved the loss, so agreement is not about unchanged weights
    assert torch_run["losses"][-1] != torch_run["losses"][0]
