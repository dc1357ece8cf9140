"""A FrameDuel custom model: a residual MLP, ``x + W2 relu(W1 x)`` blocks between a stem and a
classifier, which none of the built-in families can express.

FrameDuel calls ``build_torch(config)`` in the PyTorch run, ``build_tensorflow(config)`` in the
TensorFlow run and ``build_jax(config)`` in the JAX run; each returns ``(model, loss_fn,
optimizer)``. ``config`` is the whole config as a dict. FrameDuel supplies the data (batches of
shape (batch, *model.input_shape), labels in [0, num_classes)), puts things on the device, applies
the precision, compiles when asked, times the steps and computes the parity loss.

Three habits make the comparison fair, and this file shows each:

- Import each framework inside its own builder: the PyTorch run must not import TensorFlow.
- Start from the same weights: draw them once with NumPy from ``config["seed"]`` in one layout
  (dense kernels (in, out)) and load them into each framework (PyTorch's ``nn.Linear.weight`` is
  the transpose). The first-batch losses then agree to float32 rounding.
- Declare the parameter count (``param_count``): FrameDuel warns when a framework builds another.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

Dense = tuple[np.ndarray, np.ndarray]  # kernel (in, out), bias (out,)


def _shape(config: dict[str, Any]) -> tuple[int, int, int, int]:
    """(features, width, blocks, classes) from the config."""
    model = config["model"]
    options = model.get("options", {})
    features = math.prod(model["input_shape"])
    return (
        features,
        int(options.get("width", 64)),
        int(options.get("blocks", 2)),
        model["num_classes"],
    )


def param_count(config: dict[str, Any]) -> int:
    """Trainable parameters: stem, two dense layers per block, classifier."""
    features, width, blocks, classes = _shape(config)
    return (features + 1) * width + blocks * 2 * (width + 1) * width + (width + 1) * classes


def _weights(config: dict[str, Any]) -> tuple[Dense, list[tuple[Dense, Dense]], Dense]:
    """Stem, blocks and head, drawn once from the seed: U(+-1/sqrt(fan_in)) like nn.Linear."""
    features, width, blocks, classes = _shape(config)
    rng = np.random.default_rng(config["seed"])

    def dense(fan_in: int, fan_out: int) -> Dense:
        bound = 1.0 / math.sqrt(fan_in)
        kernel = rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32)
        return kernel, rng.uniform(-bound, bound, fan_out).astype(np.float32)

    stem = dense(features, width)
    body = [(dense(width, width), dense(width, width)) for _ in range(blocks)]
    return stem, body, dense(width, classes)


def build_torch(config: dict[str, Any]) -> tuple[Any, Any, Any]:
    """The residual MLP in PyTorch, with CrossEntropyLoss and the configured AdamW."""
    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self, width: int) -> None:
            super().__init__()
            self.inner = nn.Linear(width, width)
            self.outer = nn.Linear(width, width)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x + self.outer(torch.relu(self.inner(x)))

    features, width, blocks, classes = _shape(config)
    model = nn.Sequential(
        nn.Flatten(),
        nn.Linear(features, width),
        *[Block(width) for _ in range(blocks)],
        nn.Linear(width, classes),
    )
    stem, body, head = _weights(config)
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    arrays = [stem, *[d for pair in body for d in pair], head]
    with torch.no_grad():
        for linear, (kernel, bias) in zip(linears, arrays, strict=True):
            linear.weight.copy_(torch.from_numpy(kernel.T.copy()))  # (out, in)
            linear.bias.copy_(torch.from_numpy(bias))
    opt = config["train"]["optimizer"]
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=opt["lr"], weight_decay=opt["weight_decay"], eps=1e-8
    )
    return model, nn.CrossEntropyLoss(), optimizer


def build_tensorflow(config: dict[str, Any]) -> tuple[Any, Any, Any]:
    """The residual MLP in Keras, with SparseCategoricalCrossentropy and the configured AdamW."""
    import keras

    _, width, blocks, classes = _shape(config)
    stem, body, head = _weights(config)
    inputs = keras.Input(shape=tuple(config["model"]["input_shape"]))
    dense_layers = [keras.layers.Dense(width)]
    x = dense_layers[0](keras.layers.Flatten()(inputs))
    for _ in range(blocks):
        inner, outer = keras.layers.Dense(width, activation="relu"), keras.layers.Dense(width)
        dense_layers += [inner, outer]
        x = keras.layers.Add()([x, outer(inner(x))])
    dense_layers.append(keras.layers.Dense(classes))
    # float32 logits under a mixed-precision policy (train.precision bf16/fp16)
    logits = keras.layers.Activation("linear", dtype="float32")(dense_layers[-1](x))
    model = keras.Model(inputs, logits)
    arrays = [stem, *[d for pair in body for d in pair], head]
    for layer, (kernel, bias) in zip(dense_layers, arrays, strict=True):
        layer.set_weights([kernel, bias])  # Keras's kernel is (in, out): no transpose
    opt = config["train"]["optimizer"]
    optimizer = keras.optimizers.AdamW(
        learning_rate=opt["lr"], weight_decay=opt["weight_decay"], epsilon=1e-8
    )
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    return model, loss, optimizer


def build_jax(config: dict[str, Any]) -> tuple[Any, Any, Any]:
    """The residual MLP in pure JAX, with softmax cross-entropy and the configured optax AdamW.

    The model is ``(params, apply)``: a pytree of arrays and ``apply(params, x, *, train, rng)``
    returning the logits (``rng`` is the step's dropout key, None in eval mode). FrameDuel puts
    the parameters on the device, jits the step and, for bf16/fp16, casts parameters and inputs
    to the compute dtype and the logits back to float32.
    """
    import jax
    import optax

    stem, body, head = _weights(config)

    def dense(p: dict[str, Any], x: Any) -> Any:
        return x @ p["kernel"] + p["bias"]  # the (in, out) kernel as drawn: no transpose

    def layer(kernel: np.ndarray, bias: np.ndarray) -> dict[str, np.ndarray]:
        return {"kernel": kernel, "bias": bias}

    params = {
        "stem": layer(*stem),
        "blocks": [{"inner": layer(*inner), "outer": layer(*outer)} for inner, outer in body],
        "head": layer(*head),
    }

    def apply(params: dict[str, Any], x: Any, *, train: bool, rng: Any) -> Any:
        x = dense(params["stem"], x.reshape(x.shape[0], -1))
        for block in params["blocks"]:
            x = x + dense(block["outer"], jax.nn.relu(dense(block["inner"], x)))
        return dense(params["head"], x)

    def loss(logits: Any, labels: Any) -> Any:
        return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()

    opt = config["train"]["optimizer"]
    optimizer = optax.adamw(opt["lr"], eps=1e-8, weight_decay=opt["weight_decay"])
    return (params, apply), loss, optimizer
