"""Minimal hand-written training loops of the built-in families, the baseline FrameDuel's own
workloads are held to (``benchmarks/bench_workloads.py``).

Each is what a user would type from the frameworks' tutorials: the model from the framework's
layers, default initialisation, random resident batches, and a plain loop that reads the loss
once at the end. Nothing from ``workloads`` is used. Imported only in the benchmark's child
process, one framework per process.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

Timed = Callable[[int], float]  # run n steps from the step after the last, return seconds


def _data(config: dict[str, Any]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Random batches with the config's shapes: NHWC images, token ids or features."""
    model, batch = config["model"], config["train"]["batch_size"]
    rng = np.random.default_rng(0)
    n = max(1, (config["data"]["samples"] or batch) // batch)
    batches = []
    for _ in range(n):
        if model["family"] in ("transformer", "rnn"):
            x = rng.integers(0, model["vocab_size"], (batch, model["seq_len"]))
        elif model["family"] == "cnn":
            x = rng.standard_normal((batch, *model["input_shape"]), dtype=np.float32)
        else:
            x = rng.standard_normal((batch, model["input_dim"]), dtype=np.float32)
        batches.append((x, rng.integers(0, model["num_classes"], batch)))
    return batches


# --- PyTorch ----------------------------------------------------------------------------------


def torch_loop(config: dict[str, Any]) -> Timed:
    """The config's model in plain PyTorch; returns the timed loop."""
    import torch
    from torch import nn

    model = _torch_model(config["model"], nn, torch)
    opt = config["train"]["optimizer"]
    if opt["name"] == "adamw":
        optimizer: Any = torch.optim.AdamW(
            model.parameters(), lr=opt["lr"], weight_decay=opt["weight_decay"]
        )
    elif opt["name"] == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=opt["lr"])
    else:
        optimizer = torch.optim.SGD(
            model.parameters(),
            lr=opt["lr"],
            momentum=opt["momentum"],
            weight_decay=opt["weight_decay"],
        )
    loss_fn = nn.CrossEntropyLoss()
    nchw = config["model"]["family"] == "cnn"
    batches = [
        (torch.from_numpy(x.transpose(0, 3, 1, 2).copy() if nchw else x), torch.from_numpy(y))
        for x, y in _data(config)
    ]
    model.train()
    state = {"step": 0}

    def timed(steps: int) -> float:
        start = time.perf_counter()
        for i in range(state["step"], state["step"] + steps):
            x, y = batches[i % len(batches)]
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
        loss.item()
        state["step"] += steps
        return time.perf_counter() - start

    return timed


def _torch_model(m: dict[str, Any], nn: Any, torch: Any) -> Any:
    family = m["family"]
    if family == "mlp":
        act = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh}[m["activation"]]
        layers, width = [], m["input_dim"]
        for h in m["hidden"]:
            layers += [nn.Linear(width, h), act()]
            if m["dropout"]:
                layers.append(nn.Dropout(m["dropout"]))
            width = h
        return nn.Sequential(*layers, nn.Linear(width, m["num_classes"]))
    if family == "cnn":
        layers, ch = [], m["input_shape"][2]
        h, w = m["input_shape"][:2]
        for c in m["conv"]:
            same = c["padding"] == "same"
            layers.append(
                nn.Conv2d(
                    ch,
                    c["filters"],
                    c["kernel"],
                    c["stride"],
                    padding="same" if same else 0,
                    bias=not m["batch_norm"],
                )
            )
            if not same:
                h, w = (h - c["kernel"]) // c["stride"] + 1, (w - c["kernel"]) // c["stride"] + 1
            if m["batch_norm"]:
                layers.append(nn.BatchNorm2d(c["filters"]))
            layers.append(nn.ReLU())
            if c["pool"]:
                layers.append(nn.MaxPool2d(c["pool"]))
                h, w = h // c["pool"], w // c["pool"]
            ch = c["filters"]
        layers.append(nn.Flatten())
        width = h * w * ch
        for d in m["dense"]:
            layers += [nn.Linear(width, d), nn.ReLU()]
            width = d
        return nn.Sequential(*layers, nn.Linear(width, m["num_classes"]))
    if family == "transformer":

        class Classifier(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                d = m["d_model"]
                self.embed = nn.Embedding(m["vocab_size"], d)
                self.pos = nn.Parameter(torch.randn(m["seq_len"], d) * 0.02)
                layer = nn.TransformerEncoderLayer(
                    d,
                    m["heads"],
                    m["ff_dim"],
                    m["dropout"],
                    activation="gelu",
                    batch_first=True,
                    norm_first=True,
                )
                self.encoder = nn.TransformerEncoder(
                    layer, m["layers"], norm=nn.LayerNorm(d), enable_nested_tensor=False
                )
                self.head = nn.Linear(d, m["num_classes"])

            def forward(self, x: Any) -> Any:
                return self.head(self.encoder(self.embed(x) + self.pos).mean(dim=1))

        return Classifier()

    class RNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(m["vocab_size"], m["embed_dim"])
            cell = nn.LSTM if m["cell"] == "lstm" else nn.GRU
            self.rnn = cell(m["embed_dim"], m["hidden"], m["layers"], batch_first=True)
            self.head = nn.Linear(m["hidden"], m["num_classes"])

        def forward(self, x: Any) -> Any:
            out, _ = self.rnn(self.embed(x))
            return self.head(out[:, -1])

    return RNN()


# --- TensorFlow / Keras -----------------------------------------------------------------------


def tensorflow_loop(config: dict[str, Any]) -> Timed:
    """The config's model in plain Keras 3 with a tf.function step; returns the timed loop."""
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import keras
    import tensorflow as tf

    model = _keras_model(config["model"], keras)
    opt = config["train"]["optimizer"]
    if opt["name"] == "adamw":
        optimizer = keras.optimizers.AdamW(opt["lr"], weight_decay=opt["weight_decay"])
    elif opt["name"] == "adam":
        optimizer = keras.optimizers.Adam(opt["lr"])
    else:
        optimizer = keras.optimizers.SGD(opt["lr"], momentum=opt["momentum"])
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    batches = [(tf.constant(x), tf.constant(y)) for x, y in _data(config)]

    @tf.function
    def step(x: Any, y: Any) -> Any:
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    state = {"step": 0}

    def timed(steps: int) -> float:
        start = time.perf_counter()
        for i in range(state["step"], state["step"] + steps):
            loss = step(*batches[i % len(batches)])
        loss.numpy()
        state["step"] += steps
        return time.perf_counter() - start

    return timed


def _keras_model(m: dict[str, Any], keras: Any) -> Any:
    family, layers = m["family"], keras.layers
    if family == "mlp":
        model = [keras.Input((m["input_dim"],))]
        for h in m["hidden"]:
            model.append(layers.Dense(h, activation=m["activation"]))
            if m["dropout"]:
                model.append(layers.Dropout(m["dropout"]))
        return keras.Sequential([*model, layers.Dense(m["num_classes"])])
    if family == "cnn":
        model = [keras.Input(tuple(m["input_shape"]))]
        for c in m["conv"]:
            bn = m["batch_norm"]
            model.append(
                layers.Conv2D(
                    c["filters"],
                    c["kernel"],
                    c["stride"],
                    padding=c["padding"],
                    use_bias=not bn,
                    activation=None if bn else "relu",
                )
            )
            if bn:
                model += [layers.BatchNormalization(), layers.ReLU()]
            if c["pool"]:
                model.append(layers.MaxPooling2D(c["pool"]))
        model.append(layers.Flatten())
        model += [layers.Dense(d, activation="relu") for d in m["dense"]]
        return keras.Sequential([*model, layers.Dense(m["num_classes"])])
    if family == "transformer":
        d, p = m["d_model"], m["dropout"]
        tokens = keras.Input((m["seq_len"],), dtype="int64")

        class AddPosition(layers.Layer):
            def build(self, shape: Any) -> None:
                self.table = self.add_weight(shape=(m["seq_len"], d))

            def call(self, x: Any) -> Any:
                return x + self.table

        x = AddPosition()(layers.Embedding(m["vocab_size"], d)(tokens))
        for _ in range(m["layers"]):
            h = layers.LayerNormalization()(x)
            h = layers.MultiHeadAttention(m["heads"], d // m["heads"], dropout=p)(h, h)
            x = x + layers.Dropout(p)(h)
            h = layers.Dense(m["ff_dim"], activation="gelu")(layers.LayerNormalization()(x))
            x = x + layers.Dropout(p)(layers.Dense(d)(layers.Dropout(p)(h)))
        x = layers.GlobalAveragePooling1D()(layers.LayerNormalization()(x))
        return keras.Model(tokens, layers.Dense(m["num_classes"])(x))
    cell = layers.LSTM if m["cell"] == "lstm" else layers.GRU
    model = [
        keras.Input((m["seq_len"],), dtype="int64"),
        layers.Embedding(m["vocab_size"], m["embed_dim"]),
    ]
    model += [cell(m["hidden"], return_sequences=n < m["layers"] - 1) for n in range(m["layers"])]
    return keras.Sequential([*model, layers.Dense(m["num_classes"])])
