"""Framework-neutral initial weights, drawn with NumPy from the config's seed.

Every framework loads the same arrays into its own layout, so a comparison starts from the same
model: the first-batch loss agrees across frameworks up to float32 rounding, and any later
difference comes from the frameworks themselves.

The neutral layout is Keras's where Keras has one, because it is the input-major one:

- dense kernels are (in, out); PyTorch's ``nn.Linear.weight`` is the transpose;
- conv kernels are (kh, kw, in, out) on NHWC images; PyTorch's are (out, in, kh, kw) on NCHW,
  and the first dense layer after a flatten sees (H, W, C)-ordered features (PyTorch flattens
  (C, H, W): its rows are permuted);
- attention projections are (d_model, d_model) dense kernels with the output laid out head by
  head; Keras splits them into (d_model, heads, head_dim), PyTorch stacks q, k, v into one
  ``in_proj_weight`` (3 d_model, d_model);
- recurrent kernels are (in, gates x hidden) and (hidden, gates x hidden) with the gates in
  PyTorch's order (LSTM i, f, g, o, which Keras shares; GRU r, z, n, which Keras orders z, r, n).

Distributions follow PyTorch's defaults, so the models start where a PyTorch user's would.
Arrays are drawn in a fixed order, input to output, each kernel in row-major order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from workloads.architectures import (
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

Float32Array = npt.NDArray[np.float32]

# Standard deviation of the transformer's token and position embeddings (GPT-2's choice).
EMBEDDING_STD = 0.02


@dataclass(frozen=True)
class DenseWeights:
    """One dense layer: ``kernel`` of shape (in, out) and ``bias`` of shape (out,), float32."""

    kernel: Float32Array
    bias: Float32Array


@dataclass(frozen=True)
class NormWeights:
    """A layer or batch norm's scale (``gamma``) and shift (``beta``), shape (features,)."""

    gamma: Float32Array
    beta: Float32Array


@dataclass(frozen=True)
class ConvWeights:
    """A conv stage: kernel (kh, kw, in, out); a bias, or batch norm's scale and shift."""

    kernel: Float32Array
    bias: Float32Array | None
    norm: NormWeights | None


@dataclass(frozen=True)
class CNNWeights:
    """Every conv stage, then every dense layer (the first one's rows in (H, W, C) order)."""

    conv: list[ConvWeights]
    dense: list[DenseWeights]


@dataclass(frozen=True)
class ResNetBlockWeights:
    """A residual block: its convolutions in order (each with batch norm, no bias) and the
    projection shortcut's, or None for an identity shortcut."""

    convs: list[ConvWeights]
    shortcut: ConvWeights | None


@dataclass(frozen=True)
class ResNetWeights:
    """The stem's convolution, every block (first stage first), the head (features, classes)."""

    stem: ConvWeights
    blocks: list[ResNetBlockWeights]
    head: DenseWeights


@dataclass(frozen=True)
class AttentionWeights:
    """Query, key, value and output projections, each (d_model, d_model) with biases."""

    query: DenseWeights
    key: DenseWeights
    value: DenseWeights
    output: DenseWeights


@dataclass(frozen=True)
class BlockWeights:
    """One pre-norm encoder block."""

    norm1: NormWeights
    attention: AttentionWeights
    norm2: NormWeights
    ff1: DenseWeights
    ff2: DenseWeights


@dataclass(frozen=True)
class TransformerWeights:
    """Embeddings (vocab, d) and (seq_len, d), the blocks, the final norm and the head."""

    token_embedding: Float32Array
    position_embedding: Float32Array
    blocks: list[BlockWeights]
    final_norm: NormWeights
    head: DenseWeights


@dataclass(frozen=True)
class RecurrentWeights:
    """One LSTM or GRU layer, gates in the neutral order (see the module docstring).

    ``bias`` is added to the input projection. ``recurrent_bias`` (GRU only) is added to the
    recurrent projection, inside the reset gate's product for the candidate state.
    """

    kernel: Float32Array
    recurrent_kernel: Float32Array
    bias: Float32Array
    recurrent_bias: Float32Array | None


@dataclass(frozen=True)
class RNNWeights:
    """Token embedding (vocab, embed_dim), the recurrent layers bottom to top, the head."""

    embedding: Float32Array
    layers: list[RecurrentWeights]
    head: DenseWeights


@dataclass(frozen=True)
class GPTWeights:
    """Token (vocab, d) and position (max_positions, d) tables, the blocks, the final norm; the
    LM head is the token table (tied)."""

    token_embedding: Float32Array
    position_embedding: Float32Array
    blocks: list[BlockWeights]
    final_norm: NormWeights


@dataclass(frozen=True)
class ViTWeights:
    """Patch convolution (p, p, C, d) with bias, class token (d,), positions (seq_len, d) with
    the class token's first, the blocks, the final norm and the head."""

    patch: ConvWeights
    class_token: Float32Array
    position_embedding: Float32Array
    blocks: list[BlockWeights]
    final_norm: NormWeights
    head: DenseWeights


@dataclass(frozen=True)
class BERTWeights:
    """Token, position and token-type tables, their norm, the (post-norm) blocks, the pooler
    (d, d) and the classifier."""

    token_embedding: Float32Array
    position_embedding: Float32Array
    token_type_embedding: Float32Array
    embedding_norm: NormWeights
    blocks: list[BlockWeights]
    pooler: DenseWeights
    head: DenseWeights


AttentionWeightsT = GPTWeights | ViTWeights | BERTWeights
ModelWeights = (
    list[DenseWeights]
    | CNNWeights
    | ResNetWeights
    | TransformerWeights
    | RNNWeights
    | GPTWeights
    | ViTWeights
    | BERTWeights
)


def initial_weights(model: BuiltinSpec, seed: int) -> ModelWeights:
    """The initial weights of a built-in model, from ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    if isinstance(model, MLPSpec):
        return [_dense(rng, i, o) for i, o in model.layer_sizes()]
    if isinstance(model, CNNSpec):
        return _cnn(rng, model)
    if isinstance(model, ResNetSpec):
        return _resnet(rng, model)
    if isinstance(model, TransformerSpec):
        return _transformer(rng, model)
    if isinstance(model, GPTSpec):
        return _gpt(rng, model)
    if isinstance(model, ViTSpec):
        return _vit(rng, model)
    if isinstance(model, BERTSpec):
        return _bert(rng, model)
    return _rnn(rng, model)


def mlp_weights(model: MLPSpec, seed: int) -> list[DenseWeights]:
    """Initial weights of every dense layer of an MLP, input to output.

    Kernel and bias are drawn from U(-1/sqrt(in), 1/sqrt(in)), PyTorch's default for
    ``nn.Linear`` (kaiming_uniform with a=sqrt(5) works out to that bound).
    """
    rng = np.random.default_rng(seed)
    return [_dense(rng, i, o) for i, o in model.layer_sizes()]


def _uniform(rng: np.random.Generator, bound: float, shape: tuple[int, ...]) -> Float32Array:
    return rng.uniform(-bound, bound, size=shape).astype(np.float32)


def _dense(rng: np.random.Generator, fan_in: int, fan_out: int, bias: bool = True) -> DenseWeights:
    """PyTorch's ``nn.Linear`` default; ``bias=False`` gives a zero bias (attention's)."""
    bound = 1.0 / math.sqrt(fan_in)
    kernel = _uniform(rng, bound, (fan_in, fan_out))
    b = _uniform(rng, bound, (fan_out,)) if bias else np.zeros(fan_out, np.float32)
    return DenseWeights(kernel, b)


def _norm(features: int) -> NormWeights:
    return NormWeights(np.ones(features, np.float32), np.zeros(features, np.float32))


def _cnn(rng: np.random.Generator, model: CNNSpec) -> CNNWeights:
    conv = []
    for stage in model.stages():
        k, f = stage.spec.kernel, stage.spec.filters
        # PyTorch's Conv2d default: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in x k x k
        bound = 1.0 / math.sqrt(stage.in_channels * k * k)
        kernel = _uniform(rng, bound, (k, k, stage.in_channels, f))
        if model.batch_norm:
            conv.append(ConvWeights(kernel, None, _norm(f)))
        else:
            conv.append(ConvWeights(kernel, _uniform(rng, bound, (f,)), None))
    dense = [_dense(rng, i, o) for i, o in model.dense_sizes()]
    return CNNWeights(conv, dense)


def _resnet_conv(rng: np.random.Generator, conv: ResNetConv) -> ConvWeights:
    # torchvision's ResNet init: kaiming_normal_(mode="fan_out", nonlinearity="relu"),
    # std = sqrt(2 / (out x k x k)); batch norm's scale 1 and shift 0
    k, out = conv.kernel, conv.out_channels
    std = math.sqrt(2.0 / (out * k * k))
    kernel = (rng.standard_normal((k, k, conv.in_channels, out)) * std).astype(np.float32)
    return ConvWeights(kernel, None, _norm(out))


def _resnet(rng: np.random.Generator, model: ResNetSpec) -> ResNetWeights:
    """Drawn in torchvision's module order: stem, then per block its convolutions and its
    projection shortcut; the head is ``nn.Linear``'s default."""
    stem = _resnet_conv(rng, model.stem_conv())
    blocks = []
    for block in model.blocks():
        convs = [_resnet_conv(rng, c) for c in block.convs]
        shortcut = None if block.shortcut is None else _resnet_conv(rng, block.shortcut)
        blocks.append(ResNetBlockWeights(convs, shortcut))
    return ResNetWeights(stem, blocks, _dense(rng, model.features, model.num_classes))


def _transformer(rng: np.random.Generator, model: TransformerSpec) -> TransformerWeights:
    d = model.d_model
    token = (rng.standard_normal((model.vocab_size, d)) * EMBEDDING_STD).astype(np.float32)
    position = (rng.standard_normal((model.seq_len, d)) * EMBEDDING_STD).astype(np.float32)
    blocks = []
    for _ in range(model.layers):
        # PyTorch's MultiheadAttention: xavier_uniform over the stacked (3d, d) q/k/v matrix,
        # zero biases; the output projection keeps nn.Linear's kernel with a zero bias
        bound = math.sqrt(6.0 / (d + 3 * d))
        q, k, v = (
            DenseWeights(_uniform(rng, bound, (d, d)), np.zeros(d, np.float32)) for _ in "qkv"
        )
        attention = AttentionWeights(q, k, v, output=_dense(rng, d, d, bias=False))
        ff1 = _dense(rng, d, model.ff_dim)
        ff2 = _dense(rng, model.ff_dim, d)
        blocks.append(BlockWeights(_norm(d), attention, _norm(d), ff1, ff2))
    head = _dense(rng, d, model.num_classes)
    return TransformerWeights(token, position, blocks, _norm(d), head)


def _normal(rng: np.random.Generator, std: float, shape: tuple[int, ...]) -> Float32Array:
    return (rng.standard_normal(shape) * std).astype(np.float32)


def _normal_dense(rng: np.random.Generator, fan_in: int, fan_out: int, std: float) -> DenseWeights:
    """N(0, std) kernel, zero bias: GPT-2's and BERT's initialisation of every linear layer."""
    return DenseWeights(_normal(rng, std, (fan_in, fan_out)), np.zeros(fan_out, np.float32))


def _normal_block(
    rng: np.random.Generator, d: int, ff: int, std: float, residual_std: float
) -> BlockWeights:
    """A block with N(0, std) kernels and zero biases; the two projections that feed the
    residual stream (attention output, second MLP layer) get ``residual_std``."""
    q, k, v = (_normal_dense(rng, d, d, std) for _ in "qkv")
    attention = AttentionWeights(q, k, v, output=_normal_dense(rng, d, d, residual_std))
    ff1 = _normal_dense(rng, d, ff, std)
    ff2 = _normal_dense(rng, ff, d, residual_std)
    return BlockWeights(_norm(d), attention, _norm(d), ff1, ff2)


def _gpt(rng: np.random.Generator, model: GPTSpec) -> GPTWeights:
    """GPT-2's initialisation (as nanoGPT and Hugging Face write it): N(0, 0.02) embeddings and
    kernels, zero biases, the residual projections scaled down to 0.02 / sqrt(2 layers)."""
    d = model.d_model
    token = _normal(rng, EMBEDDING_STD, (model.vocab_size, d))
    position = _normal(rng, EMBEDDING_STD, (model.max_positions, d))
    residual = EMBEDDING_STD / math.sqrt(2 * model.layers)
    blocks = [
        _normal_block(rng, d, model.ff_dim, EMBEDDING_STD, residual) for _ in range(model.layers)
    ]
    return GPTWeights(token, position, blocks, _norm(d))


def _bert(rng: np.random.Generator, model: BERTSpec) -> BERTWeights:
    """BERT's initialisation (Hugging Face's ``_init_weights``): N(0, 0.02) tables and kernels,
    zero biases."""
    d, std = model.d_model, EMBEDDING_STD
    token = _normal(rng, std, (model.vocab_size, d))
    position = _normal(rng, std, (model.max_positions, d))
    token_type = _normal(rng, std, (model.type_vocab_size, d))
    blocks = [_normal_block(rng, d, model.ff_dim, std, std) for _ in range(model.layers)]
    pooler = _normal_dense(rng, d, d, std)
    head = _normal_dense(rng, d, model.num_classes, std)
    return BERTWeights(token, position, token_type, _norm(d), blocks, pooler, head)


def _vit(rng: np.random.Generator, model: ViTSpec) -> ViTWeights:
    """torchvision's ``VisionTransformer`` initialisation, but for the head: the patch
    convolution N(0, 1/sqrt(fan_in)) (torchvision truncates at 2 std) with a zero bias, a zero
    class token, N(0, 0.02) positions, attention as ``nn.MultiheadAttention`` (xavier over the
    stacked q/k/v, zero biases), MLP kernels xavier-uniform with N(0, 1e-6) biases. torchvision
    zeroes the head; here it keeps ``nn.Linear``'s default, so the first loss depends on the
    whole model (a zero head makes it log(num_classes) whatever the rest computes)."""
    d, p, c = model.d_model, model.patch, model.input_hwc[2]
    fan_in = p * p * c
    patch = ConvWeights(
        _normal(rng, math.sqrt(1.0 / fan_in), (p, p, c, d)), np.zeros(d, np.float32), None
    )
    class_token = np.zeros(d, np.float32)
    position = _normal(rng, EMBEDDING_STD, (model.seq_len, d))
    blocks = []
    for _ in range(model.layers):
        bound = math.sqrt(6.0 / (d + 3 * d))
        q, k, v = (
            DenseWeights(_uniform(rng, bound, (d, d)), np.zeros(d, np.float32)) for _ in "qkv"
        )
        attention = AttentionWeights(q, k, v, output=_dense(rng, d, d, bias=False))
        ff = model.ff_dim
        xavier = math.sqrt(6.0 / (d + ff))
        ff1 = DenseWeights(_uniform(rng, xavier, (d, ff)), _normal(rng, 1e-6, (ff,)))
        ff2 = DenseWeights(_uniform(rng, xavier, (ff, d)), _normal(rng, 1e-6, (d,)))
        blocks.append(BlockWeights(_norm(d), attention, _norm(d), ff1, ff2))
    head = _dense(rng, d, model.num_classes)
    return ViTWeights(patch, class_token, position, blocks, _norm(d), head)


def _rnn(rng: np.random.Generator, model: RNNSpec) -> RNNWeights:
    embedding = rng.standard_normal((model.vocab_size, model.embed_dim)).astype(np.float32)
    h, width = model.hidden, model.gates * model.hidden
    # PyTorch's LSTM/GRU default: everything U(-1/sqrt(hidden), 1/sqrt(hidden))
    bound = 1.0 / math.sqrt(h)
    layers = []
    for inputs in model.layer_inputs():
        kernel = _uniform(rng, bound, (inputs, width))
        recurrent = _uniform(rng, bound, (h, width))
        bias = _uniform(rng, bound, (width,))
        recurrent_bias = _uniform(rng, bound, (width,)) if model.cell == "gru" else None
        layers.append(RecurrentWeights(kernel, recurrent, bias, recurrent_bias))
    head = _dense(rng, h, model.num_classes)
    return RNNWeights(embedding, layers, head)


def count_params(weights: ModelWeights) -> int:
    """Trainable numbers in a set of neutral weights (batch norm's running stats are not)."""
    total = 0
    for array in _arrays(weights):
        total += array.size
    return total


def _arrays(value: object) -> list[Float32Array]:
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, list):
        return [a for item in value for a in _arrays(item)]
    if value is None:
        return []
    fields = getattr(value, "__dataclass_fields__", None)
    if fields is None:
        raise TypeError(f"not a weights object: {type(value).__name__}")
    return [a for name in fields for a in _arrays(getattr(value, name))]
