"""Minimal hand-written training loops of the built-in families, the baseline FrameDuel's own
workloads are held to (``benchmarks/bench_workloads.py``).

Each is what a user would type from the frameworks' tutorials: the model from the framework's
layers, default initialisation, random resident batches, and a plain loop that reads the loss
once at the end. Nothing from ``workloads`` is used. Imported only in the benchmark's child
process, one framework per process.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Callable
from functools import partial
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
        if model["family"] == "gpt":  # next-token targets: the sequence shifted by one
            tokens = rng.integers(0, model["vocab_size"], (batch, model["seq_len"] + 1))
            batches.append((tokens[:, :-1], tokens[:, 1:]))
            continue
        if model["family"] in ("transformer", "rnn", "bert"):
            x = rng.integers(0, model["vocab_size"], (batch, model["seq_len"]))
        elif model["family"] in ("cnn", "resnet", "vit"):
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
    if config["model"]["family"] == "gpt":  # logits (b, t, vocab) against targets (b, t)
        ce = loss_fn
        loss_fn = lambda logits, y: ce(logits.flatten(0, 1), y.flatten())  # noqa: E731
    nchw = config["model"]["family"] in ("cnn", "resnet", "vit")
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
    if family == "resnet":
        return _torch_resnet(m, nn, torch)
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
    if family in ("gpt", "vit", "bert"):
        return _torch_attention_model(m, nn, torch)

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


def _torch_attention_model(m: dict[str, Any], nn: Any, torch: Any) -> Any:
    """GPT (nanoGPT's), ViT or BERT with F.scaled_dot_product_attention."""
    import torch.nn.functional as F

    d, heads, ff, rate = m["d_model"], m["heads"], m["ff_dim"] or 4 * m["d_model"], m["dropout"]
    family = m["family"]
    eps = {"gpt": 1e-5, "vit": 1e-6, "bert": 1e-12}[family]

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d, eps=eps), nn.LayerNorm(d, eps=eps)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            gelu = nn.GELU(approximate="tanh" if family == "gpt" else "none")
            self.mlp = nn.Sequential(nn.Linear(d, ff), gelu, nn.Linear(ff, d), nn.Dropout(rate))
            self.drop = nn.Dropout(rate)

        def attn(self, x: Any) -> Any:
            b, t, _ = x.shape
            q, k, v = self.qkv(x).view(b, t, 3, heads, -1).permute(2, 0, 3, 1, 4)
            y = F.scaled_dot_product_attention(
                q, k, v, dropout_p=rate if self.training else 0.0, is_causal=family == "gpt"
            )
            return self.drop(self.proj(y.transpose(1, 2).reshape(b, t, d)))

        def forward(self, x: Any) -> Any:
            if family == "bert":  # post-norm
                x = self.ln1(x + self.attn(x))
                return self.ln2(x + self.mlp(x))
            x = x + self.attn(self.ln1(x))
            return x + self.mlp(self.ln2(x))

    class Model(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks = nn.Sequential(*(Block() for _ in range(m["layers"])))
            self.drop = nn.Dropout(rate)
            if family == "vit":
                p = m["patch"]
                h, w, c = m["input_shape"]
                self.patch = nn.Conv2d(c, d, p, stride=p)
                self.cls = nn.Parameter(torch.zeros(1, 1, d))
                self.pos = nn.Parameter(torch.randn(1, (h // p) * (w // p) + 1, d) * 0.02)
                self.ln = nn.LayerNorm(d, eps=eps)
                self.head = nn.Linear(d, m["num_classes"])
                return
            self.tok = nn.Embedding(m["vocab_size"], d)
            self.pos = nn.Embedding(m["max_positions"] or m["seq_len"], d)
            self.ln = nn.LayerNorm(d, eps=eps)
            if family == "bert":
                self.types = nn.Embedding(m["type_vocab_size"], d)
                self.pooler = nn.Linear(d, d)
                self.head = nn.Linear(d, m["num_classes"])

        def forward(self, x: Any) -> Any:
            if family == "vit":
                x = self.patch(x).flatten(2).transpose(1, 2)
                x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.pos
                return self.head(self.ln(self.blocks(self.drop(x)))[:, 0])
            pos = torch.arange(x.shape[1], device=x.device)
            if family == "gpt":
                h = self.ln(self.blocks(self.drop(self.tok(x) + self.pos(pos))))
                return h @ self.tok.weight.T  # tied LM head
            h = self.tok(x) + self.pos(pos) + self.types(torch.zeros_like(x))
            h = self.blocks(self.drop(self.ln(h)))
            return self.head(self.drop(torch.tanh(self.pooler(h[:, 0]))))

    return Model()


def _stages(m: dict[str, Any]) -> list[tuple[int, int, int]]:
    """(in channels, width, stride) of every residual block, first stage first."""
    out, ch = [], m["stem_width"]
    expansion = 4 if m["block"] == "bottleneck" else 1
    for stage, (count, width) in enumerate(zip(m["layers"], m["widths"], strict=True)):
        for n in range(count):
            out.append((ch, width, 2 if stage and not n else 1))
            ch = width * expansion
    return out


def _torch_resnet(m: dict[str, Any], nn: Any, torch: Any) -> Any:
    """torchvision's ResNet as one would write it: symmetric padding k // 2."""
    expansion = 4 if m["block"] == "bottleneck" else 1

    def conv_bn(cin: int, cout: int, k: int, stride: int) -> Any:
        return nn.Sequential(
            nn.Conv2d(cin, cout, k, stride, padding=k // 2, bias=False), nn.BatchNorm2d(cout)
        )

    class Block(nn.Module):
        def __init__(self, cin: int, width: int, stride: int) -> None:
            super().__init__()
            cout = width * expansion
            if m["block"] == "basic":
                convs = [conv_bn(cin, width, 3, stride), conv_bn(width, width, 3, 1)]
            else:
                convs = [
                    conv_bn(cin, width, 1, 1),
                    conv_bn(width, width, 3, stride),
                    conv_bn(width, cout, 1, 1),
                ]
            self.convs = nn.ModuleList(convs)
            self.down = conv_bn(cin, cout, 1, stride) if stride != 1 or cin != cout else None
            self.relu = nn.ReLU(inplace=True)

        def forward(self, x: Any) -> Any:
            out = x
            for n, conv in enumerate(self.convs):
                out = conv(out)
                if n < len(self.convs) - 1:
                    out = self.relu(out)
            return self.relu(out + (x if self.down is None else self.down(x)))

    cin, width = m["input_shape"][2], m["stem_width"]
    stem = [
        conv_bn(
            cin, width, 7 if m["stem"] == "imagenet" else 3, 2 if m["stem"] == "imagenet" else 1
        )
    ]
    stem.append(nn.ReLU(inplace=True))
    if m["stem"] == "imagenet":
        stem.append(nn.MaxPool2d(3, 2, padding=1))
    blocks = [Block(*b) for b in _stages(m)]
    head = [
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(m["widths"][-1] * expansion, m["num_classes"]),
    ]
    return nn.Sequential(*stem, *blocks, *head)


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
    if family == "resnet":
        return _keras_resnet(m, keras)
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
    if family in ("gpt", "vit", "bert"):
        return _keras_attention_model(m, keras)
    cell = layers.LSTM if m["cell"] == "lstm" else layers.GRU
    model = [
        keras.Input((m["seq_len"],), dtype="int64"),
        layers.Embedding(m["vocab_size"], m["embed_dim"]),
    ]
    model += [cell(m["hidden"], return_sequences=n < m["layers"] - 1) for n in range(m["layers"])]
    return keras.Sequential([*model, layers.Dense(m["num_classes"])])


def _keras_attention_model(m: dict[str, Any], keras: Any) -> Any:
    """GPT, ViT or BERT from Keras layers around MultiHeadAttention."""
    layers, ops = keras.layers, keras.ops
    d, heads, ff, rate = m["d_model"], m["heads"], m["ff_dim"] or 4 * m["d_model"], m["dropout"]
    family = m["family"]
    eps = {"gpt": 1e-5, "vit": 1e-6, "bert": 1e-12}[family]

    class AddPosition(layers.Layer):
        def build(self, shape: Any) -> None:
            self.table = self.add_weight(shape=(shape[1], d))

        def call(self, x: Any) -> Any:
            return x + self.table

    def block(x: Any) -> Any:
        mha = layers.MultiHeadAttention(heads, d // heads, dropout=rate)
        gelu = partial(keras.activations.gelu, approximate=family == "gpt")

        def mlp(h: Any) -> Any:
            return layers.Dropout(rate)(layers.Dense(d)(layers.Dense(ff, activation=gelu)(h)))

        if family == "bert":
            x = layers.LayerNormalization(epsilon=eps)(x + layers.Dropout(rate)(mha(x, x)))
            return layers.LayerNormalization(epsilon=eps)(x + mlp(x))
        h = layers.LayerNormalization(epsilon=eps)(x)
        x = x + layers.Dropout(rate)(mha(h, h, use_causal_mask=family == "gpt"))
        return x + mlp(layers.LayerNormalization(epsilon=eps)(x))

    if family == "vit":
        images = keras.Input(tuple(m["input_shape"]))
        p = m["patch"]
        x = layers.Conv2D(d, p, strides=p)(images)
        x = layers.Reshape((-1, d))(x)

        class ClassToken(layers.Layer):
            def build(self, shape: Any) -> None:
                self.cls = self.add_weight(shape=(1, 1, d), initializer="zeros")

            def call(self, x: Any) -> Any:
                return ops.concatenate([ops.tile(self.cls, (ops.shape(x)[0], 1, 1)), x], axis=1)

        x = layers.Dropout(rate)(AddPosition()(ClassToken()(x)))
        for _ in range(m["layers"]):
            x = block(x)
        x = layers.LayerNormalization(epsilon=eps)(x)[:, 0]
        return keras.Model(images, layers.Dense(m["num_classes"])(x))
    tokens = keras.Input((m["seq_len"],), dtype="int64")
    embedding = layers.Embedding(m["vocab_size"], d)
    x = AddPosition()(embedding(tokens))
    if family == "gpt":
        x = layers.Dropout(rate)(x)
        for _ in range(m["layers"]):
            x = block(x)
        x = layers.LayerNormalization(epsilon=eps)(x)

        class TiedHead(layers.Layer):
            def call(self, x: Any) -> Any:
                return ops.matmul(x, ops.transpose(embedding.embeddings))

        return keras.Model(tokens, TiedHead()(x))
    x = x + layers.Embedding(m["type_vocab_size"], d)(ops.zeros_like(tokens))
    x = layers.Dropout(rate)(layers.LayerNormalization(epsilon=eps)(x))
    for _ in range(m["layers"]):
        x = block(x)
    pooled = layers.Dropout(rate)(layers.Dense(d, activation="tanh")(x[:, 0]))
    return keras.Model(tokens, layers.Dense(m["num_classes"])(pooled))


def _keras_resnet(m: dict[str, Any], keras: Any) -> Any:
    """A ResNet with Keras's functional API, as keras.applications writes it."""
    layers = keras.layers
    expansion = 4 if m["block"] == "bottleneck" else 1

    def conv_bn(x: Any, cout: int, k: int, stride: int) -> Any:
        x = layers.Conv2D(cout, k, stride, padding="same", use_bias=False)(x)
        return layers.BatchNormalization(epsilon=1e-5)(x)

    images = keras.Input(tuple(m["input_shape"]))
    imagenet = m["stem"] == "imagenet"
    x = layers.ReLU()(conv_bn(images, m["stem_width"], 7 if imagenet else 3, 2 if imagenet else 1))
    if imagenet:
        x = layers.MaxPooling2D(3, 2, padding="same")(x)
    for cin, width, stride in _stages(m):
        cout = width * expansion
        if m["block"] == "basic":
            out = layers.ReLU()(conv_bn(x, width, 3, stride))
            out = conv_bn(out, width, 3, 1)
        else:
            out = layers.ReLU()(conv_bn(x, width, 1, 1))
            out = layers.ReLU()(conv_bn(out, width, 3, stride))
            out = conv_bn(out, cout, 1, 1)
        short = conv_bn(x, cout, 1, stride) if stride != 1 or cin != cout else x
        x = layers.ReLU()(layers.Add()([out, short]))
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(images, layers.Dense(m["num_classes"])(x))


# --- JAX --------------------------------------------------------------------------------------


def jax_loop(config: dict[str, Any]) -> Timed:
    """The config's model in pure JAX with optax and a jitted, donating step; the timed loop."""
    import jax
    import jax.numpy as jnp
    import optax

    params, stats, apply = _jax_model(config["model"])
    opt = config["train"]["optimizer"]
    if opt["name"] == "adamw":
        tx = optax.adamw(opt["lr"], weight_decay=opt["weight_decay"])
    elif opt["name"] == "adam":
        tx = optax.adam(opt["lr"])
    else:
        tx = optax.sgd(opt["lr"], momentum=opt["momentum"] or None)
        if opt["weight_decay"]:
            tx = optax.chain(optax.add_decayed_weights(opt["weight_decay"]), tx)
    batches = [(jnp.asarray(x), jnp.asarray(y)) for x, y in _data(config)]

    def loss_fn(params: Any, stats: Any, x: Any, y: Any, key: Any) -> Any:
        logits, stats = apply(params, stats, x, key)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), stats

    @partial(jax.jit, donate_argnums=0)
    def step(train: Any, x: Any, y: Any) -> Any:
        params, opt_state, stats, key = train
        key, dropout_key = jax.random.split(key)
        grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
        (loss, stats), grads = grad_fn(params, stats, x, y, dropout_key)
        updates, opt_state = tx.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state, stats, key), loss

    train = jax.device_put((params, tx.init(params), stats, jax.random.key(0)))
    state = {"step": 0, "train": train}

    def timed(steps: int) -> float:
        start = time.perf_counter()
        train = state["train"]
        for i in range(state["step"], state["step"] + steps):
            train, loss = step(train, *batches[i % len(batches)])
        loss.block_until_ready()
        state["train"] = train
        state["step"] += steps
        return time.perf_counter() - start

    return timed


def _jax_resnet(
    m: dict[str, Any], rng: np.random.Generator, dense: Any, linear: Any
) -> tuple[Any, Any, Callable[..., Any]]:
    """A ResNet in pure JAX, SAME padding by name (XLA's)."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    expansion = 4 if m["block"] == "bottleneck" else 1

    def conv_bn(cin: int, cout: int, k: int, stride: int) -> tuple[Any, Any]:
        std = np.sqrt(2 / (cout * k * k))
        p = {
            "w": (rng.standard_normal((k, k, cin, cout)) * std).astype(np.float32),
            "g": np.ones(cout, np.float32),
            "b": np.zeros(cout, np.float32),
        }
        return (p, stride), {"mean": np.zeros(cout, np.float32), "var": np.ones(cout, np.float32)}

    imagenet = m["stem"] == "imagenet"
    layout, params, stats = [], [], []  # layout: static strides; params/stats: pytrees
    stem, stem_stats = conv_bn(
        m["input_shape"][2], m["stem_width"], 7 if imagenet else 3, 2 if imagenet else 1
    )
    for cin, width, stride in _stages(m):
        cout = width * expansion
        if m["block"] == "basic":
            convs = [conv_bn(cin, width, 3, stride), conv_bn(width, width, 3, 1)]
        else:
            convs = [
                conv_bn(cin, width, 1, 1),
                conv_bn(width, width, 3, stride),
                conv_bn(width, cout, 1, 1),
            ]
        short = [conv_bn(cin, cout, 1, stride)] if stride != 1 or cin != cout else []
        layout.append(([c[0][1] for c in convs], [c[0][1] for c in short]))
        params.append({"convs": [c[0][0] for c in convs], "short": [c[0][0] for c in short]})
        stats.append({"convs": [c[1] for c in convs], "short": [c[1] for c in short]})
    net = {
        "stem": stem[0],
        "blocks": params,
        "head": dense(m["widths"][-1] * expansion, m["num_classes"]),
    }
    state = {"stem": stem_stats, "blocks": stats}

    def cbn(p: Any, st: Any, x: Any, stride: int) -> tuple[Any, Any]:
        x = lax.conv_general_dilated(
            x, p["w"], (stride, stride), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
        )
        mean, var = x.mean((0, 1, 2)), x.var((0, 1, 2))
        x = (x - mean) * lax.rsqrt(var + 1e-5) * p["g"] + p["b"]
        return x, {"mean": 0.9 * st["mean"] + 0.1 * mean, "var": 0.9 * st["var"] + 0.1 * var}

    def apply_resnet(p: Any, s: Any, x: Any, key: Any) -> Any:
        x, stem_st = cbn(p["stem"], s["stem"], x, stem[1])
        x = jax.nn.relu(x)
        if imagenet:
            x = lax.reduce_window(x, -jnp.inf, lax.max, (1, 3, 3, 1), (1, 2, 2, 1), "SAME")
        new = []
        for (strides, short_strides), bp, bs in zip(layout, p["blocks"], s["blocks"], strict=True):
            out, st_convs = x, []
            for n, (stride, cp, cs) in enumerate(
                zip(strides, bp["convs"], bs["convs"], strict=True)
            ):
                out, st = cbn(cp, cs, out, stride)
                st_convs.append(st)
                if n < len(strides) - 1:
                    out = jax.nn.relu(out)
            st_short = []
            identity = x
            for stride, cp, cs in zip(short_strides, bp["short"], bs["short"], strict=True):
                identity, st = cbn(cp, cs, x, stride)
                st_short.append(st)
            x = jax.nn.relu(out + identity)
            new.append({"convs": st_convs, "short": st_short})
        return linear(p["head"], x.mean((1, 2))), {"stem": stem_st, "blocks": new}

    return net, state, apply_resnet


def _jax_model(m: dict[str, Any]) -> tuple[Any, Any, Callable[..., Any]]:
    """(params, batch norm stats, apply(params, stats, x, key) -> (logits, stats))."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    rng = np.random.default_rng(0)

    def dense(fan_in: int, fan_out: int) -> dict[str, Any]:
        bound = 1 / np.sqrt(fan_in)
        return {
            "w": rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32),
            "b": np.zeros(fan_out, np.float32),
        }

    def linear(p: Any, x: Any) -> Any:
        return x @ p["w"] + p["b"]

    def dropout(x: Any, rate: float, key: Any) -> Any:
        if not rate:
            return x
        return jnp.where(jax.random.bernoulli(key, 1 - rate, x.shape), x / (1 - rate), 0)

    def norm(x: Any, p: Any) -> Any:
        mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mean) * lax.rsqrt(var + 1e-5) * p["g"] + p["b"]

    family = m["family"]
    if family == "mlp":
        act = {
            "relu": jax.nn.relu,
            "gelu": partial(jax.nn.gelu, approximate=False),
            "tanh": jnp.tanh,
        }[m["activation"]]
        sizes = [m["input_dim"], *m["hidden"], m["num_classes"]]
        mlp = [dense(i, o) for i, o in itertools.pairwise(sizes)]

        def apply_mlp(p: Any, s: Any, x: Any, key: Any) -> Any:
            for n, layer in enumerate(p[:-1]):
                x = dropout(act(linear(layer, x)), m["dropout"], jax.random.fold_in(key, n))
            return linear(p[-1], x), s

        return mlp, {}, apply_mlp
    if family == "cnn":
        h, w, ch = m["input_shape"]
        convs, stats = [], []
        for c in m["conv"]:
            k, f = c["kernel"], c["filters"]
            bound = 1 / np.sqrt(k * k * ch)
            conv = {
                "w": rng.uniform(-bound, bound, (k, k, ch, f)).astype(np.float32),
                "b": np.zeros(f, np.float32),
                "g": np.ones(f, np.float32),
            }
            convs.append(conv)
            stats.append({"mean": np.zeros(f, np.float32), "var": np.ones(f, np.float32)})
            if c["padding"] == "valid":
                h, w = (h - k) // c["stride"] + 1, (w - k) // c["stride"] + 1
            if c["pool"]:
                h, w = h // c["pool"], w // c["pool"]
            ch = f
        sizes = [h * w * ch, *m["dense"], m["num_classes"]]
        cnn = {
            "conv": convs,
            "dense": [dense(i, o) for i, o in itertools.pairwise(sizes)],
        }

        def apply_cnn(p: Any, s: Any, x: Any, key: Any) -> Any:
            new = []
            for c, cp, st in zip(m["conv"], p["conv"], s, strict=True):
                x = lax.conv_general_dilated(
                    x,
                    cp["w"],
                    (c["stride"],) * 2,
                    c["padding"].upper(),
                    dimension_numbers=("NHWC", "HWIO", "NHWC"),
                )
                if m["batch_norm"]:
                    mean, var = x.mean((0, 1, 2)), x.var((0, 1, 2))
                    x = (x - mean) * lax.rsqrt(var + 1e-5) * cp["g"] + cp["b"]
                    new.append(
                        {"mean": 0.9 * st["mean"] + 0.1 * mean, "var": 0.9 * st["var"] + 0.1 * var}
                    )
                else:
                    x = x + cp["b"]
                    new.append(st)
                x = jax.nn.relu(x)
                if c["pool"]:
                    window = (1, c["pool"], c["pool"], 1)
                    x = lax.reduce_window(x, -jnp.inf, lax.max, window, window, "VALID")
            x = x.reshape(x.shape[0], -1)
            for layer in p["dense"][:-1]:
                x = jax.nn.relu(linear(layer, x))
            return linear(p["dense"][-1], x), new

        return cnn, stats, apply_cnn
    if family == "resnet":
        return _jax_resnet(m, rng, dense, linear)
    if family == "transformer":
        d, heads, rate = m["d_model"], m["heads"], m["dropout"]
        layer_norm = {"g": np.ones(d, np.float32), "b": np.zeros(d, np.float32)}
        blocks = [
            {
                "ln1": layer_norm,
                "qkv": dense(d, 3 * d),
                "out": dense(d, d),
                "ln2": layer_norm,
                "ff1": dense(d, m["ff_dim"]),
                "ff2": dense(m["ff_dim"], d),
            }
            for _ in range(m["layers"])
        ]
        tf = {
            "embed": rng.standard_normal((m["vocab_size"], d)).astype(np.float32),
            "pos": (rng.standard_normal((m["seq_len"], d)) * 0.02).astype(np.float32),
            "blocks": blocks,
            "ln": layer_norm,
            "head": dense(d, m["num_classes"]),
        }

        def apply_tf(p: Any, s: Any, x: Any, key: Any) -> Any:
            x = p["embed"][x] + p["pos"]
            b, t, _ = x.shape
            for n, blk in enumerate(p["blocks"]):
                k1, k2, k3, k4 = jax.random.split(jax.random.fold_in(key, n), 4)
                qkv = linear(blk["qkv"], norm(x, blk["ln1"])).reshape(b, t, 3, heads, -1)
                q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
                att = jax.nn.softmax(jnp.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(d // heads))
                att = jnp.einsum("bhqk,bkhd->bqhd", dropout(att, rate, k1), v).reshape(b, t, d)
                x = x + dropout(linear(blk["out"], att), rate, k2)
                hid = jax.nn.gelu(linear(blk["ff1"], norm(x, blk["ln2"])), approximate=False)
                x = x + dropout(linear(blk["ff2"], dropout(hid, rate, k3)), rate, k4)
            return linear(p["head"], norm(x, p["ln"]).mean(1)), s

        return tf, {}, apply_tf
    if family in ("gpt", "vit", "bert"):
        return _jax_attention_model(m, rng, dense, linear, dropout)
    hidden, gates = m["hidden"], 4 if m["cell"] == "lstm" else 3
    inputs = [m["embed_dim"]] + [hidden] * (m["layers"] - 1)
    cells = [{"x": dense(i, gates * hidden), "h": dense(hidden, gates * hidden)} for i in inputs]
    rnn = {
        "embed": rng.standard_normal((m["vocab_size"], m["embed_dim"])).astype(np.float32),
        "cells": cells,
        "head": dense(hidden, m["num_classes"]),
    }

    def lstm(cell: Any, carry: Any, x: Any) -> Any:
        h, c = carry
        i, f, g, o = jnp.split(x + linear(cell["h"], h), 4, axis=-1)
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return (h, c), h

    def gru(cell: Any, h: Any, x: Any) -> Any:
        xr, xz, xn = jnp.split(x, 3, axis=-1)
        hr, hz, hn = jnp.split(linear(cell["h"], h), 3, axis=-1)
        r, z = jax.nn.sigmoid(xr + hr), jax.nn.sigmoid(xz + hz)
        h = (1 - z) * jnp.tanh(xn + r * hn) + z * h
        return h, h

    def apply_rnn(p: Any, s: Any, x: Any, key: Any) -> Any:
        xs = jnp.swapaxes(p["embed"][x], 0, 1)
        for cell in p["cells"]:
            h = jnp.zeros((xs.shape[1], hidden))
            init = (h, h) if m["cell"] == "lstm" else h
            _, xs = lax.scan(
                partial(lstm if m["cell"] == "lstm" else gru, cell), init, linear(cell["x"], xs)
            )
        return linear(p["head"], xs[-1]), s

    return rnn, {}, apply_rnn


def _jax_attention_model(
    m: dict[str, Any], rng: Any, dense: Any, linear: Any, dropout: Any
) -> tuple[Any, Any, Callable[..., Any]]:
    """GPT, ViT or BERT in pure JAX with jax.nn.dot_product_attention."""
    import jax
    import jax.numpy as jnp
    from jax import lax

    d, heads, ff, rate = m["d_model"], m["heads"], m["ff_dim"] or 4 * m["d_model"], m["dropout"]
    family = m["family"]
    causal = family == "gpt"
    ln = {"g": np.ones(d, np.float32), "b": np.zeros(d, np.float32)}

    def table(rows: int) -> Any:
        return (rng.standard_normal((rows, d)) * 0.02).astype(np.float32)

    blocks = [
        {
            "ln1": ln,
            "qkv": dense(d, 3 * d),
            "out": dense(d, d),
            "ln2": ln,
            "ff1": dense(d, ff),
            "ff2": dense(ff, d),
        }
        for _ in range(m["layers"])
    ]
    params: dict[str, Any] = {"blocks": blocks, "ln": ln}
    if family == "vit":
        p = m["patch"]
        h, w, c = m["input_shape"]
        params["patch"] = {
            "w": (rng.standard_normal((p, p, c, d)) / np.sqrt(p * p * c)).astype(np.float32),
            "b": np.zeros(d, np.float32),
        }
        params["cls"] = np.zeros(d, np.float32)
        params["pos"] = table((h // p) * (w // p) + 1)
        params["head"] = dense(d, m["num_classes"])
    else:
        params["tok"] = table(m["vocab_size"])
        params["pos"] = table(m["max_positions"] or m["seq_len"])
    if family == "bert":
        params["types"] = table(m["type_vocab_size"])
        params["pooler"] = dense(d, d)
        params["head"] = dense(d, m["num_classes"])

    def attention(blk: Any, x: Any, key: Any) -> Any:
        b, t, _ = x.shape
        qkv = linear(blk["qkv"], x).reshape(b, t, 3, heads, -1)
        if rate:
            q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
            s = jnp.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(d // heads)
            if causal:
                s = jnp.where(jnp.tril(jnp.ones((t, t), bool)), s, -1e30)
            y = jnp.einsum("bhqk,bkhd->bqhd", dropout(jax.nn.softmax(s), rate, key), v)
        else:
            y = jax.nn.dot_product_attention(
                qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2], is_causal=causal
            )
        return linear(blk["out"], y.reshape(b, t, d))

    def layer_norm(x: Any, p: Any) -> Any:
        eps = {"gpt": 1e-5, "vit": 1e-6, "bert": 1e-12}[family]
        mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mean) * lax.rsqrt(var + eps) * p["g"] + p["b"]

    def run_blocks(p: Any, x: Any, key: Any) -> Any:
        for n, blk in enumerate(p["blocks"]):
            k1, k2, k3 = jax.random.split(jax.random.fold_in(key, n), 3)

            def mlp(h: Any, blk: Any = blk, k3: Any = k3) -> Any:
                h = jax.nn.gelu(linear(blk["ff1"], h), approximate=causal)
                return dropout(linear(blk["ff2"], h), rate, k3)

            if family == "bert":
                x = layer_norm(x + dropout(attention(blk, x, k1), rate, k2), blk["ln1"])
                x = layer_norm(x + mlp(x), blk["ln2"])
            else:
                x = x + dropout(attention(blk, layer_norm(x, blk["ln1"]), k1), rate, k2)
                x = x + mlp(layer_norm(x, blk["ln2"]))
        return x

    def apply(p: Any, s: Any, x: Any, key: Any) -> Any:
        k0, k1, k2 = jax.random.split(key, 3)
        if family == "vit":
            pt = p["patch"]
            stride = (m["patch"],) * 2
            dims = ("NHWC", "HWIO", "NHWC")
            x = lax.conv_general_dilated(x, pt["w"], stride, "VALID", dimension_numbers=dims)
            x = (x + pt["b"]).reshape(x.shape[0], -1, d)
            cls = jnp.broadcast_to(p["cls"], (x.shape[0], 1, d))
            x = jnp.concatenate([cls, x], axis=1) + p["pos"]
            x = layer_norm(run_blocks(p, dropout(x, rate, k0), k1), p["ln"])
            return linear(p["head"], x[:, 0]), s
        t = x.shape[1]
        h = p["tok"][x] + p["pos"][:t]
        if family == "gpt":
            h = layer_norm(run_blocks(p, dropout(h, rate, k0), k1), p["ln"])
            return h @ p["tok"].T, s
        h = layer_norm(h + p["types"][jnp.zeros_like(x)], p["ln"])
        h = run_blocks(p, dropout(h, rate, k0), k1)
        pooled = dropout(jnp.tanh(linear(p["pooler"], h[:, 0])), rate, k2)
        return linear(p["head"], pooled), s

    return params, {}, apply
