"""The built-in families as idiomatic Keras 3 models, loaded from the neutral weights.

Each model uses Keras's own layers (``Dense``, ``Conv2D``, ``BatchNormalization``,
``MultiHeadAttention``, ``LSTM``/``GRU``); the transformer block, which Keras does not ship, is a
small ``Layer`` subclass mirroring PyTorch's ``TransformerEncoderLayer(norm_first=True)``.
Models are built under the global dtype policy in force; with a mixed policy the logits are cast
back to float32 by a final float32 layer, as Keras's mixed-precision guide does.
Imported only by the TensorFlow workload, inside the child, after it set the Keras backend.
"""
# Typed like tensorflow_workload (see pyproject): Keras and TensorFlow ship no annotations.
# mypy: disallow-untyped-calls=False, disallow-any-generics=False, warn-return-any=False
# mypy: disallow-subclassing-any=False

from __future__ import annotations

import functools
from typing import Any

import keras
import numpy as np

from workloads.architectures import (
    BATCH_NORM_EPS,
    BATCH_NORM_MOMENTUM,
    LAYER_NORM_EPS,
    BuiltinSpec,
    CNNSpec,
    MLPSpec,
    ResNetConv,
    ResNetSpec,
    RNNSpec,
    TransformerSpec,
)
from workloads.weights import (
    CNNWeights,
    ConvWeights,
    DenseWeights,
    ModelWeights,
    NormWeights,
    ResNetWeights,
    RNNWeights,
    TransformerWeights,
)

ACTIVATIONS: dict[str, Any] = {
    "relu": keras.activations.relu,
    # exact erf GELU, as torch's nn.GELU(approximate="none"); Keras's default has changed before
    "gelu": functools.partial(keras.activations.gelu, approximate=False),
    "tanh": keras.activations.tanh,
}


def build_model(spec: BuiltinSpec, weights: ModelWeights) -> keras.Model:
    """The family's Keras model with the neutral ``weights`` loaded."""
    if isinstance(spec, MLPSpec) and isinstance(weights, list):
        return _mlp(spec, weights)
    if isinstance(spec, CNNSpec) and isinstance(weights, CNNWeights):
        return _cnn(spec, weights)
    if isinstance(spec, ResNetSpec) and isinstance(weights, ResNetWeights):
        return _resnet(spec, weights)
    if isinstance(spec, TransformerSpec) and isinstance(weights, TransformerWeights):
        return _transformer(spec, weights)
    if isinstance(spec, RNNSpec) and isinstance(weights, RNNWeights):
        return _rnn(spec, weights)
    raise TypeError(f"no {type(weights).__name__} weights for a {spec.family} model")


def _logits(layers: list[Any]) -> list[Any]:
    """``layers`` ending in float32 logits, whatever the compute dtype of the policy."""
    if keras.config.dtype_policy().compute_dtype != "float32":
        layers.append(keras.layers.Activation("linear", dtype="float32"))
    return layers


def _dense_list(w: DenseWeights) -> list[np.ndarray]:
    # Keras's Dense kernel is (in, out), the neutral layout: no transpose
    return [w.kernel, w.bias]


def _norm_list(w: NormWeights) -> list[np.ndarray]:
    return [w.gamma, w.beta]


def _mlp(spec: MLPSpec, weights: list[DenseWeights]) -> keras.Model:
    activation = ACTIVATIONS[spec.activation]
    layers: list[Any] = [keras.Input(shape=(spec.input_dim,), dtype="float32")]
    dense = []
    for n, w in enumerate(weights):
        last = n == len(weights) - 1
        layer = keras.layers.Dense(w.kernel.shape[1], activation=None if last else activation)
        dense.append(layer)
        layers.append(layer)
        if not last and spec.dropout > 0:
            layers.append(keras.layers.Dropout(spec.dropout))
    model = keras.Sequential(_logits(layers))
    for layer, w in zip(dense, weights, strict=True):
        layer.set_weights(_dense_list(w))
    return model


def _cnn(spec: CNNSpec, weights: CNNWeights) -> keras.Model:
    layers: list[Any] = [keras.Input(shape=spec.input_hwc, dtype="float32")]
    loads: list[tuple[Any, list[np.ndarray]]] = []
    for stage, w in zip(spec.stages(), weights.conv, strict=True):
        c = stage.spec
        conv = keras.layers.Conv2D(
            c.filters,
            c.kernel,
            strides=c.stride,
            padding=c.padding,
            use_bias=w.bias is not None,
            activation=None if w.norm is not None else "relu",
        )
        # the neutral conv kernel (kh, kw, in, out) is Keras's
        loads.append((conv, [w.kernel] if w.bias is None else [w.kernel, w.bias]))
        layers.append(conv)
        if w.norm is not None:
            # Keras's momentum is the fraction of the running statistics kept
            norm = keras.layers.BatchNormalization(
                momentum=1.0 - BATCH_NORM_MOMENTUM, epsilon=BATCH_NORM_EPS
            )
            f = c.filters
            stats = [np.zeros(f, np.float32), np.ones(f, np.float32)]
            loads.append((norm, [*_norm_list(w.norm), *stats]))
            layers += [norm, keras.layers.ReLU()]
        if c.pool is not None:
            layers.append(keras.layers.MaxPooling2D(c.pool))
    layers.append(keras.layers.Flatten())  # (H, W, C) order: the neutral one
    for n, dw in enumerate(weights.dense):
        last = n == len(weights.dense) - 1
        dense = keras.layers.Dense(dw.kernel.shape[1], activation=None if last else "relu")
        loads.append((dense, _dense_list(dw)))
        layers.append(dense)
    model = keras.Sequential(_logits(layers))
    for layer, arrays in loads:
        layer.set_weights(arrays)
    return model


def _batch_norm(w: NormWeights, loads: list[tuple[Any, list[np.ndarray]]]) -> Any:
    """``BatchNormalization`` as PyTorch's (Keras's momentum is the fraction kept), queued to
    load ``w`` with fresh running statistics (mean 0, variance 1)."""
    norm = keras.layers.BatchNormalization(
        momentum=1.0 - BATCH_NORM_MOMENTUM, epsilon=BATCH_NORM_EPS
    )
    f = w.gamma.shape[0]
    loads.append((norm, [*_norm_list(w), np.zeros(f, np.float32), np.ones(f, np.float32)]))
    return norm


def _conv_bn(
    x: Any, conv: ResNetConv, w: ConvWeights, loads: list[tuple[Any, list[np.ndarray]]]
) -> Any:
    """Conv2D (SAME: TensorFlow's own, the odd padding row/column at the end; no bias) + BN."""
    layer = keras.layers.Conv2D(
        conv.out_channels, conv.kernel, strides=conv.stride, padding="same", use_bias=False
    )
    loads.append((layer, [w.kernel]))
    assert w.norm is not None
    return _batch_norm(w.norm, loads)(layer(x))


def _resnet(spec: ResNetSpec, weights: ResNetWeights) -> keras.Model:
    """ResNet v1.5 with Keras's functional API: stem, residual blocks (``Add`` + ReLU),
    ``GlobalAveragePooling2D``, the head."""
    loads: list[tuple[Any, list[np.ndarray]]] = []
    images = keras.Input(shape=spec.input_hwc, dtype="float32")
    x = keras.layers.ReLU()(_conv_bn(images, spec.stem_conv(), weights.stem, loads))
    if spec.pool_hw() is not None:
        # SAME max pooling ignores the padded cells, as padding with -inf does
        x = keras.layers.MaxPooling2D(spec.POOL_KERNEL, strides=2, padding="same")(x)
    for block, w in zip(spec.blocks(), weights.blocks, strict=True):
        out = x
        for n, (conv, cw) in enumerate(zip(block.convs, w.convs, strict=True)):
            out = _conv_bn(out, conv, cw, loads)
            if n < len(block.convs) - 1:
                out = keras.layers.ReLU()(out)
        identity = x
        if block.shortcut is not None and w.shortcut is not None:
            identity = _conv_bn(x, block.shortcut, w.shortcut, loads)
        x = keras.layers.ReLU()(keras.layers.Add()([out, identity]))
    x = keras.layers.GlobalAveragePooling2D()(x)
    head = keras.layers.Dense(spec.num_classes)
    loads.append((head, _dense_list(weights.head)))
    for layer in _logits([head]):
        x = layer(x)
    model = keras.Model(images, x)
    for layer, arrays in loads:
        layer.set_weights(arrays)
    return model


class PositionEmbedding(keras.layers.Layer):
    """Adds a learned (seq_len, d_model) position embedding to the token embeddings."""

    def __init__(self, seq_len: int, d_model: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seq_len, self.d_model = seq_len, d_model

    def build(self, input_shape: Any) -> None:
        """Create the embedding table."""
        self.embedding = self.add_weight(shape=(self.seq_len, self.d_model), name="embedding")

    def call(self, x: Any) -> Any:
        """``x`` plus the embedding of each position."""
        return x + keras.ops.cast(self.embedding, x.dtype)


class EncoderBlock(keras.layers.Layer):
    """Pre-norm encoder block, PyTorch's ``TransformerEncoderLayer(norm_first=True)``:
    ``x + Dropout(MHA(LN(x)))``, then ``x + Dropout(W2 Dropout(GELU(W1 LN(x))))``."""

    def __init__(self, spec: TransformerSpec, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        d, p = spec.d_model, spec.dropout
        self.norm1 = keras.layers.LayerNormalization(epsilon=LAYER_NORM_EPS)
        self.attention = keras.layers.MultiHeadAttention(spec.heads, spec.head_dim, dropout=p)
        self.dropout1 = keras.layers.Dropout(p)
        self.norm2 = keras.layers.LayerNormalization(epsilon=LAYER_NORM_EPS)
        self.ff1 = keras.layers.Dense(spec.ff_dim, activation=ACTIVATIONS["gelu"])
        self.dropout = keras.layers.Dropout(p)
        self.ff2 = keras.layers.Dense(d)
        self.dropout2 = keras.layers.Dropout(p)

    def call(self, x: Any, training: bool | None = None) -> Any:
        """One block on (batch, seq_len, d_model)."""
        h = self.norm1(x)
        x = x + self.dropout1(self.attention(h, h, training=training), training=training)
        h = self.ff1(self.norm2(x))
        h = self.ff2(self.dropout(h, training=training))
        return x + self.dropout2(h, training=training)

    def load(self, w: Any) -> None:
        """Set the neutral block weights (call once the block is built)."""
        a = w.attention
        heads, head_dim = self.attention.num_heads, self.attention.key_dim
        d = heads * head_dim
        attention = []
        for proj in (a.query, a.key, a.value):
            # (d, d) with head-major output columns -> (d, heads, head_dim)
            attention += [proj.kernel.reshape(d, heads, head_dim), proj.bias.reshape(heads, -1)]
        attention += [a.output.kernel.reshape(heads, head_dim, d), a.output.bias]
        self.attention.set_weights(attention)
        self.norm1.set_weights(_norm_list(w.norm1))
        self.norm2.set_weights(_norm_list(w.norm2))
        self.ff1.set_weights(_dense_list(w.ff1))
        self.ff2.set_weights(_dense_list(w.ff2))


def _transformer(spec: TransformerSpec, weights: TransformerWeights) -> keras.Model:
    tokens = keras.Input(shape=(spec.seq_len,), dtype="int64")
    embedding = keras.layers.Embedding(spec.vocab_size, spec.d_model)
    position = PositionEmbedding(spec.seq_len, spec.d_model)
    x = position(embedding(tokens))
    blocks = [EncoderBlock(spec) for _ in range(spec.layers)]
    for block in blocks:
        x = block(x)
    norm = keras.layers.LayerNormalization(epsilon=LAYER_NORM_EPS)
    x = keras.layers.GlobalAveragePooling1D()(norm(x))
    head = keras.layers.Dense(spec.num_classes)
    for layer in _logits([head]):
        x = layer(x)
    model = keras.Model(tokens, x)
    embedding.set_weights([weights.token_embedding])
    position.set_weights([weights.position_embedding])
    for block, w in zip(blocks, weights.blocks, strict=True):
        block.load(w)
    norm.set_weights(_norm_list(weights.final_norm))
    head.set_weights(_dense_list(weights.head))
    return model


def _gru_gates(array: np.ndarray) -> np.ndarray:
    """Neutral (PyTorch) GRU gate blocks r, z, n along the last axis -> Keras's z, r, n."""
    r, z, n = np.split(array, 3, axis=-1)
    return np.concatenate([z, r, n], axis=-1)


def _rnn(spec: RNNSpec, weights: RNNWeights) -> keras.Model:
    layers: list[Any] = [keras.Input(shape=(spec.seq_len,), dtype="int64")]
    embedding = keras.layers.Embedding(spec.vocab_size, spec.embed_dim)
    layers.append(embedding)
    recurrent = []
    for n in range(spec.layers):
        more = n < spec.layers - 1
        if spec.cell == "lstm":
            # one bias per gate, like PyTorch's two summed (its second is pinned at zero)
            layer = keras.layers.LSTM(spec.hidden, return_sequences=more)
        else:
            # reset_after=True: the recurrent bias inside the reset gate's product, as PyTorch
            layer = keras.layers.GRU(spec.hidden, return_sequences=more, reset_after=True)
        recurrent.append(layer)
        layers.append(layer)
    head = keras.layers.Dense(spec.num_classes)
    layers.append(head)
    model = keras.Sequential(_logits(layers))
    embedding.set_weights([weights.embedding])
    for layer, w in zip(recurrent, weights.layers, strict=True):
        if w.recurrent_bias is None:  # LSTM: gate order i, f, c, o is the neutral one
            layer.set_weights([w.kernel, w.recurrent_kernel, w.bias])
        else:
            bias = np.stack([_gru_gates(w.bias), _gru_gates(w.recurrent_bias)])
            layer.set_weights([_gru_gates(w.kernel), _gru_gates(w.recurrent_kernel), bias])
    head.set_weights(_dense_list(weights.head))
    return model


def trainable_count(model: keras.Model) -> int:
    """Trainable numbers (batch norm's moving statistics are not)."""
    return int(sum(np.prod(v.shape) for v in model.trainable_weights))
