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
    AttentionSpec,
    BERTSpec,
    BuiltinSpec,
    CNNSpec,
    GPTSpec,
    MLPSpec,
    ResNetConv,
    ResNetSpec,
    RNNSpec,
    TransformerSpec,
    ViTSpec,
)
from workloads.weights import (
    BERTWeights,
    BlockWeights,
    CNNWeights,
    ConvWeights,
    DenseWeights,
    GPTWeights,
    ModelWeights,
    NormWeights,
    ResNetWeights,
    RNNWeights,
    TransformerWeights,
    ViTWeights,
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
    if isinstance(spec, GPTSpec) and isinstance(weights, GPTWeights):
        return _gpt(spec, weights)
    if isinstance(spec, ViTSpec) and isinstance(weights, ViTWeights):
        return _vit(spec, weights)
    if isinstance(spec, BERTSpec) and isinstance(weights, BERTWeights):
        return _bert(spec, weights)
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
    """Adds a learned position embedding to the token embeddings: a (max_positions, d_model)
    table (``max_positions`` defaults to ``seq_len``) whose first ``seq_len`` rows are used."""

    def __init__(
        self, seq_len: int, d_model: int, max_positions: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.seq_len, self.d_model = seq_len, d_model
        self.max_positions = max_positions or seq_len

    def build(self, input_shape: Any) -> None:
        """Create the embedding table."""
        shape = (self.max_positions, self.d_model)
        self.embedding = self.add_weight(shape=shape, name="embedding")

    def call(self, x: Any) -> Any:
        """``x`` plus the embedding of each position."""
        table = self.embedding
        if self.max_positions != self.seq_len:
            table = table[: self.seq_len]
        return x + keras.ops.cast(table, x.dtype)


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

    def load(self, w: BlockWeights) -> None:
        """Set the neutral block weights (call once the block is built)."""
        _load_block(self, w)


def _load_block(block: Any, w: BlockWeights) -> None:
    """Neutral block weights into a block with ``attention``, ``norm1/2`` and ``ff1/2``."""
    a = w.attention
    heads, head_dim = block.attention.num_heads, block.attention.key_dim
    d = heads * head_dim
    attention = []
    for proj in (a.query, a.key, a.value):
        # (d, d) with head-major output columns -> (d, heads, head_dim)
        attention += [proj.kernel.reshape(d, heads, head_dim), proj.bias.reshape(heads, -1)]
    attention += [a.output.kernel.reshape(heads, head_dim, d), a.output.bias]
    block.attention.set_weights(attention)
    block.norm1.set_weights(_norm_list(w.norm1))
    block.norm2.set_weights(_norm_list(w.norm2))
    block.ff1.set_weights(_dense_list(w.ff1))
    block.ff2.set_weights(_dense_list(w.ff2))


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


def attention_implementation(spec: BuiltinSpec) -> str | None:
    """How Keras's ``MultiHeadAttention`` computes this model's attention on this backend;
    None for families without attention blocks."""
    if not isinstance(spec, AttentionSpec):
        return None
    layer = f"keras MultiHeadAttention(use_causal_mask={spec.causal})"
    if spec.dropout > 0:
        # dropout on the probabilities needs them materialised: the layer's own einsum path
        return f"{layer}: einsum + masked softmax + dropout"
    flash = keras.config.is_flash_attention_enabled()
    if keras.config.backend() == "tensorflow":
        # the TensorFlow backend has no flash kernel (Keras raises if asked for one)
        return f"{layer}: ops.dot_product_attention (XLA-style composed softmax, no flash)"
    return f"{layer}: ops.dot_product_attention(flash_attention={flash})"


class AttentionBlock(keras.layers.Layer):
    """One block of the gpt, vit and bert families around Keras's ``MultiHeadAttention``.

    Pre-norm (GPT, ViT): ``x + Dropout(MHA(LN(x)))``, ``x + Dropout(W2 GELU(W1 LN(x)))``;
    post-norm (BERT): ``LN(x + Dropout(MHA(x)))``, ``LN(x + Dropout(W2 GELU(W1 x)))``.
    """

    def __init__(self, spec: AttentionSpec, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        d, p = spec.d_model, spec.dropout
        self.norm_first = not isinstance(spec, BERTSpec)
        self.causal = spec.causal
        self.norm1 = keras.layers.LayerNormalization(epsilon=spec.norm_eps)
        self.attention = keras.layers.MultiHeadAttention(spec.heads, spec.head_dim, dropout=p)
        self.dropout1 = keras.layers.Dropout(p)
        self.norm2 = keras.layers.LayerNormalization(epsilon=spec.norm_eps)
        gelu = functools.partial(keras.activations.gelu, approximate=spec.gelu_approximate)
        self.ff1 = keras.layers.Dense(spec.ff_dim, activation=gelu)
        self.ff2 = keras.layers.Dense(d)
        self.dropout2 = keras.layers.Dropout(p)

    def _attend(self, x: Any, training: bool | None) -> Any:
        h = self.attention(x, x, use_causal_mask=self.causal, training=training)
        return self.dropout1(h, training=training)

    def _mlp(self, x: Any, training: bool | None) -> Any:
        return self.dropout2(self.ff2(self.ff1(x)), training=training)

    def call(self, x: Any, training: bool | None = None) -> Any:
        """One block on (batch, seq_len, d_model)."""
        if self.norm_first:
            x = x + self._attend(self.norm1(x), training)
            return x + self._mlp(self.norm2(x), training)
        x = self.norm1(x + self._attend(x, training))
        return self.norm2(x + self._mlp(x, training))

    def load(self, w: BlockWeights) -> None:
        """Set the neutral block weights (call once the block is built)."""
        _load_block(self, w)


class ReversibleEmbedding(keras.layers.Embedding):
    """An ``Embedding`` that also projects back onto the vocabulary with its own table, for a
    tied LM head (keras_hub's ``ReversibleEmbedding``): ``call(x, reverse=True)`` is
    ``x @ table.T``."""

    def call(self, inputs: Any, reverse: bool = False) -> Any:
        """Look up token ids, or with ``reverse`` give logits over the vocabulary."""
        if not reverse:
            return super().call(inputs)
        table = keras.ops.cast(self.embeddings, inputs.dtype)
        return keras.ops.matmul(inputs, keras.ops.transpose(table))

    def compute_output_spec(self, inputs: Any, reverse: bool = False) -> Any:
        """(..., d_model) embeddings of ids, or (..., vocab) logits with ``reverse``."""
        shape = list(inputs.shape)
        if reverse:
            shape[-1] = self.input_dim
        else:
            shape.append(self.output_dim)
        return keras.KerasTensor(shape, dtype=self.compute_dtype)


class ClassToken(keras.layers.Layer):
    """Prepends a learned (d_model,) class token to a (batch, patches, d_model) sequence."""

    def __init__(self, d_model: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.d_model = d_model

    def build(self, input_shape: Any) -> None:
        """Create the token."""
        self.token = self.add_weight(shape=(self.d_model,), name="token", initializer="zeros")

    def call(self, x: Any) -> Any:
        """``x`` with the class token in front."""
        token = keras.ops.cast(self.token, x.dtype)
        token = keras.ops.broadcast_to(token, (keras.ops.shape(x)[0], 1, self.d_model))
        return keras.ops.concatenate([token, x], axis=1)


def _blocks(spec: AttentionSpec, x: Any) -> tuple[Any, list[AttentionBlock]]:
    blocks = [AttentionBlock(spec) for _ in range(spec.layers)]
    for block in blocks:
        x = block(x)
    return x, blocks


def _finish(model: keras.Model, blocks: list[AttentionBlock], weights: Any) -> keras.Model:
    for block, w in zip(blocks, weights.blocks, strict=True):
        block.load(w)
    return model


def _gpt(spec: GPTSpec, weights: GPTWeights) -> keras.Model:
    tokens = keras.Input(shape=(spec.seq_len,), dtype="int64")
    embedding = ReversibleEmbedding(spec.vocab_size, spec.d_model)
    position = PositionEmbedding(spec.seq_len, spec.d_model, spec.max_positions)
    x = keras.layers.Dropout(spec.dropout)(position(embedding(tokens)))
    x, blocks = _blocks(spec, x)
    norm = keras.layers.LayerNormalization(epsilon=spec.norm_eps)
    x = embedding(norm(x), reverse=True)
    for layer in _logits([]):
        x = layer(x)
    model = keras.Model(tokens, x)
    embedding.set_weights([weights.token_embedding])
    position.set_weights([weights.position_embedding])
    norm.set_weights(_norm_list(weights.final_norm))
    return _finish(model, blocks, weights)


def _vit(spec: ViTSpec, weights: ViTWeights) -> keras.Model:
    images = keras.Input(shape=spec.input_hwc, dtype="float32")
    d = spec.d_model
    patch = keras.layers.Conv2D(d, spec.patch, strides=spec.patch, padding="valid")
    gh, gw = spec.grid
    x = keras.layers.Reshape((gh * gw, d))(patch(images))  # (H, W) row-major, as torch's
    class_token = ClassToken(d)
    position = PositionEmbedding(spec.seq_len, d)
    x = keras.layers.Dropout(spec.dropout)(position(class_token(x)))
    x, blocks = _blocks(spec, x)
    norm = keras.layers.LayerNormalization(epsilon=spec.norm_eps)
    head = keras.layers.Dense(spec.num_classes)
    x = head(norm(x)[:, 0])
    for layer in _logits([]):
        x = layer(x)
    model = keras.Model(images, x)
    # the neutral conv kernel (kh, kw, in, out) is Keras's
    patch.set_weights([weights.patch.kernel, weights.patch.bias])
    class_token.set_weights([weights.class_token])
    position.set_weights([weights.position_embedding])
    norm.set_weights(_norm_list(weights.final_norm))
    head.set_weights(_dense_list(weights.head))
    return _finish(model, blocks, weights)


def _bert(spec: BERTSpec, weights: BERTWeights) -> keras.Model:
    tokens = keras.Input(shape=(spec.seq_len,), dtype="int64")
    d = spec.d_model
    embedding = keras.layers.Embedding(spec.vocab_size, d)
    position = PositionEmbedding(spec.seq_len, d, spec.max_positions)
    token_type = keras.layers.Embedding(spec.type_vocab_size, d)
    # one segment: every token has type 0, as BertModel without token_type_ids
    x = position(embedding(tokens)) + token_type(keras.ops.zeros_like(tokens))
    embedding_norm = keras.layers.LayerNormalization(epsilon=spec.norm_eps)
    x = keras.layers.Dropout(spec.dropout)(embedding_norm(x))
    x, blocks = _blocks(spec, x)
    pooler = keras.layers.Dense(d, activation="tanh")
    head = keras.layers.Dense(spec.num_classes)
    x = head(keras.layers.Dropout(spec.dropout)(pooler(x[:, 0])))
    for layer in _logits([]):
        x = layer(x)
    model = keras.Model(tokens, x)
    embedding.set_weights([weights.token_embedding])
    position.set_weights([weights.position_embedding])
    token_type.set_weights([weights.token_type_embedding])
    embedding_norm.set_weights(_norm_list(weights.embedding_norm))
    pooler.set_weights(_dense_list(weights.pooler))
    head.set_weights(_dense_list(weights.head))
    return _finish(model, blocks, weights)


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
