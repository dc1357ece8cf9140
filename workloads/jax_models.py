"""The built-in families as pure JAX functions over pytrees of parameters, from the neutral weights.

No layer library: a model is its parameters, a pytree (nested dicts and lists) of arrays, and a
function ``apply(params, state, x, *, train, rng) -> (outputs, state)``, as one writes JAX without
Flax. ``state`` holds what is not trained (batch norm's running statistics, ``{}`` otherwise);
``rng`` is the step's dropout key (None in eval mode). Layouts are the neutral ones (dense
kernels (in, out), conv kernels HWIO on NHWC images), so the weights load untransposed.

``apply`` computes in the dtype of the parameters and inputs it is given: the workload casts them
to bfloat16 for mixed precision. Normalisation statistics and softmax are computed in float32
whatever that dtype (as Keras's mixed policy and ``torch.autocast`` do); the caller casts the
outputs to float32 for the loss. Imported only by the JAX workload, inside the child.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

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

Array = jax.Array
Params = dict[str, Any]  # a pytree: nested dicts and lists of arrays

ACTIVATIONS: dict[str, Callable[[Array], Array]] = {
    "relu": jax.nn.relu,
    # exact erf GELU, as torch's nn.GELU() and Keras's gelu(approximate=False); JAX's default
    # is the tanh approximation
    "gelu": partial(jax.nn.gelu, approximate=False),
    "tanh": jnp.tanh,
}


class Apply(Protocol):
    """``apply(params, state, x, *, train, rng) -> (outputs, new_state)``."""

    def __call__(
        self, params: Params, state: Params, x: Array, *, train: bool, rng: Array | None
    ) -> tuple[Array, Params]: ...


@dataclass(frozen=True)
class JaxModel:
    """Initial trainable parameters, initial non-trained state (NumPy, float32), the function."""

    params: Params
    state: Params
    apply: Apply


def build_model(spec: BuiltinSpec, weights: ModelWeights, *, cudnn: bool = False) -> JaxModel:
    """The family's parameters (the neutral ``weights``) and its ``apply`` function.

    ``cudnn``: attention in 16-bit runs cuDNN's flash kernel (``cudnn_attention_available``
    said it takes this model's shapes); float32 attention, such as the parity loss's, stays on
    XLA, which cuDNN's kernel does not accept.
    """
    if isinstance(spec, MLPSpec) and isinstance(weights, list):
        params: Params = {"layers": [_dense_params(w) for w in weights]}
        return JaxModel(params, {}, partial(_mlp, spec))
    if isinstance(spec, CNNSpec) and isinstance(weights, CNNWeights):
        return _cnn_model(spec, weights)
    if isinstance(spec, ResNetSpec) and isinstance(weights, ResNetWeights):
        return _resnet_model(spec, weights)
    if isinstance(spec, TransformerSpec) and isinstance(weights, TransformerWeights):
        return JaxModel(_transformer_params(weights), {}, partial(_transformer, spec))
    if isinstance(spec, RNNSpec) and isinstance(weights, RNNWeights):
        params = {
            "embedding": weights.embedding,
            "layers": [
                {"kernel": w.kernel, "recurrent_kernel": w.recurrent_kernel, "bias": w.bias}
                # the LSTM has one bias per gate; the GRU's recurrent bias sits inside the
                # reset gate's product, so it is a parameter of its own (see architectures)
                | ({} if w.recurrent_bias is None else {"recurrent_bias": w.recurrent_bias})
                for w in weights.layers
            ],
            "head": _dense_params(weights.head),
        }
        return JaxModel(params, {}, partial(_rnn, spec))
    if isinstance(spec, GPTSpec) and isinstance(weights, GPTWeights):
        params = {
            "token": weights.token_embedding,
            "position": weights.position_embedding,
            "blocks": [_block_params(w) for w in weights.blocks],
            "final_norm": _norm_params(weights.final_norm),
        }
        return JaxModel(params, {}, partial(_gpt, spec, cudnn=cudnn))
    if isinstance(spec, ViTSpec) and isinstance(weights, ViTWeights):
        assert weights.patch.bias is not None
        params = {
            "patch": {"kernel": weights.patch.kernel, "bias": weights.patch.bias},
            "class_token": weights.class_token,
            "position": weights.position_embedding,
            "blocks": [_block_params(w) for w in weights.blocks],
            "final_norm": _norm_params(weights.final_norm),
            "head": _dense_params(weights.head),
        }
        return JaxModel(params, {}, partial(_vit, spec, cudnn=cudnn))
    if isinstance(spec, BERTSpec) and isinstance(weights, BERTWeights):
        params = {
            "token": weights.token_embedding,
            "position": weights.position_embedding,
            "token_type": weights.token_type_embedding,
            "embedding_norm": _norm_params(weights.embedding_norm),
            "blocks": [_block_params(w) for w in weights.blocks],
            "pooler": _dense_params(weights.pooler),
            "head": _dense_params(weights.head),
        }
        return JaxModel(params, {}, partial(_bert, spec, cudnn=cudnn))
    raise TypeError(f"no {type(weights).__name__} weights for a {spec.family} model")


def param_count(params: Params) -> int:
    """Numbers in every leaf of a parameter pytree."""
    return sum(int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(params))


# --- layers -----------------------------------------------------------------------------------


def _dense_params(w: DenseWeights) -> Params:
    return {"kernel": w.kernel, "bias": w.bias}


def _norm_params(w: NormWeights) -> Params:
    return {"scale": w.gamma, "shift": w.beta}


def _dense(p: Params, x: Array) -> Array:
    y: Array = x @ p["kernel"] + p["bias"]
    return y


def _dropout(x: Array, rate: float, rng: Array | None) -> Array:
    """Inverted dropout; the identity in eval mode (no key) or at rate 0."""
    if rng is None or rate == 0.0:
        return x
    keep = jax.random.bernoulli(rng, 1.0 - rate, x.shape)
    out: Array = jnp.where(keep, x / (1.0 - rate), jnp.zeros_like(x))
    return out


def _split(rng: Array | None, n: int) -> list[Array | None]:
    """``n`` independent dropout keys from ``rng``, or ``n`` Nones in eval mode."""
    return [None] * n if rng is None else list(jax.random.split(rng, n))


def _layer_norm(p: Params, x: Array, eps: float = LAYER_NORM_EPS) -> Array:
    """LayerNorm over the last axis, statistics in float32, the result in ``x``'s dtype."""
    x32 = x.astype(jnp.float32)
    mean = x32.mean(axis=-1, keepdims=True)
    var = jnp.square(x32 - mean).mean(axis=-1, keepdims=True)
    y: Array = (x32 - mean) * lax.rsqrt(var + eps) * p["scale"] + p["shift"]
    return y.astype(x.dtype)


# --- families ---------------------------------------------------------------------------------


def _mlp(
    spec: MLPSpec, params: Params, state: Params, x: Array, *, train: bool, rng: Array | None
) -> tuple[Array, Params]:
    layers = params["layers"]
    activation = ACTIVATIONS[spec.activation]
    keys = _split(rng if train else None, len(layers) - 1)
    for n, layer in enumerate(layers[:-1]):
        x = _dropout(activation(_dense(layer, x)), spec.dropout, keys[n])
    return _dense(layers[-1], x), state


def _cnn_model(spec: CNNSpec, weights: CNNWeights) -> JaxModel:
    conv: list[Params] = []
    stats: list[Params] = []
    for w in weights.conv:
        if w.norm is None:
            assert w.bias is not None
            conv.append({"kernel": w.kernel, "bias": w.bias})
        else:
            # a convolution followed by batch norm has no bias (the shift cancels it)
            conv.append({"kernel": w.kernel, **_norm_params(w.norm)})
            f = w.kernel.shape[-1]
            stats.append({"mean": np.zeros(f, np.float32), "var": np.ones(f, np.float32)})
    params: Params = {"conv": conv, "dense": [_dense_params(w) for w in weights.dense]}
    state: Params = {"batch_norm": stats} if spec.batch_norm else {}
    return JaxModel(params, state, partial(_cnn, spec))


def _cnn(
    spec: CNNSpec, params: Params, state: Params, x: Array, *, train: bool, rng: Array | None
) -> tuple[Array, Params]:
    del rng  # no dropout in the CNN family
    stats: list[Params] = []
    for n, (stage, p) in enumerate(zip(spec.stages(), params["conv"], strict=True)):
        c = stage.spec
        # TensorFlow's SAME as explicit (before, after) pairs, the odd one at the end
        x = _conv(x, p["kernel"], c.stride, stage.padding())
        if spec.batch_norm:
            x, s = _batch_norm(p, state["batch_norm"][n], x, train)
            stats.append(s)
        else:
            x = x + p["bias"]
        x = jax.nn.relu(x)
        if c.pool is not None:
            window = (1, c.pool, c.pool, 1)
            x = lax.reduce_window(x, -jnp.inf, lax.max, window, window, "VALID")
    x = x.reshape(x.shape[0], -1)  # (H, W, C) order: the neutral one
    dense = params["dense"]
    for layer in dense[:-1]:
        x = jax.nn.relu(_dense(layer, x))
    return _dense(dense[-1], x), {"batch_norm": stats} if spec.batch_norm else state


def _conv(
    x: Array, kernel: Array, stride: int, padding: tuple[tuple[int, int], tuple[int, int]]
) -> Array:
    """NHWC convolution with an HWIO kernel and explicit ((top, bottom), (left, right))."""
    y: Array = lax.conv_general_dilated(
        x,
        kernel,
        window_strides=(stride, stride),
        padding=padding,
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
    )
    return y


def _conv_bn_params(w: ConvWeights) -> tuple[Params, Params]:
    """A bias-free convolution + batch norm: its parameters and its running statistics."""
    assert w.norm is not None
    f = w.kernel.shape[-1]
    stats = {"mean": np.zeros(f, np.float32), "var": np.ones(f, np.float32)}
    return {"kernel": w.kernel, **_norm_params(w.norm)}, stats


def _resnet_model(spec: ResNetSpec, weights: ResNetWeights) -> JaxModel:
    stem, stem_stats = _conv_bn_params(weights.stem)
    blocks: list[Params] = []
    block_stats: list[Params] = []
    for w in weights.blocks:
        convs = [_conv_bn_params(c) for c in w.convs]
        p: Params = {"convs": [c[0] for c in convs]}
        s: Params = {"convs": [c[1] for c in convs]}
        if w.shortcut is not None:
            p["shortcut"], s["shortcut"] = _conv_bn_params(w.shortcut)
        blocks.append(p)
        block_stats.append(s)
    params: Params = {"stem": stem, "blocks": blocks, "head": _dense_params(weights.head)}
    state: Params = {"stem": stem_stats, "blocks": block_stats}
    return JaxModel(params, state, partial(_resnet, spec))


def _resnet(
    spec: ResNetSpec, params: Params, state: Params, x: Array, *, train: bool, rng: Array | None
) -> tuple[Array, Params]:
    """ResNet v1.5: stem, residual blocks, global average pool, head; new running stats."""
    del rng  # no dropout in a ResNet

    def conv_bn(conv: ResNetConv, p: Params, s: Params, x: Array) -> tuple[Array, Params]:
        return _batch_norm(p, s, _conv(x, p["kernel"], conv.stride, conv.padding()), train)

    x, stem_stats = conv_bn(spec.stem_conv(), params["stem"], state["stem"], x)
    x = jax.nn.relu(x)
    if spec.pool_hw() is not None:
        k = spec.POOL_KERNEL
        # padded cells are -inf, the reduction's identity: they never win, as in TensorFlow
        pad = ((0, 0), *spec.pool_padding(), (0, 0))
        x = lax.reduce_window(x, -jnp.inf, lax.max, (1, k, k, 1), (1, 2, 2, 1), pad)
    new_blocks = []
    for block, p, s in zip(spec.blocks(), params["blocks"], state["blocks"], strict=True):
        out, conv_stats = x, []
        for n, (conv, cp, cs) in enumerate(zip(block.convs, p["convs"], s["convs"], strict=True)):
            out, new = conv_bn(conv, cp, cs, out)
            conv_stats.append(new)
            if n < len(block.convs) - 1:
                out = jax.nn.relu(out)
        stats: Params = {"convs": conv_stats}
        identity = x
        if block.shortcut is not None:
            identity, stats["shortcut"] = conv_bn(block.shortcut, p["shortcut"], s["shortcut"], x)
        x = jax.nn.relu(out + identity)
        new_blocks.append(stats)
    logits = _dense(params["head"], x.mean(axis=(1, 2)))
    return logits, {"stem": stem_stats, "blocks": new_blocks}


def _batch_norm(p: Params, s: Params, x: Array, train: bool) -> tuple[Array, Params]:
    """BatchNorm2d over (N, H, W), statistics in float32; PyTorch's running-stat update:
    ``running = (1 - momentum) * running + momentum * batch``, the variance unbiased."""
    x32 = x.astype(jnp.float32)
    if train:
        mean = x32.mean(axis=(0, 1, 2))
        var = jnp.square(x32 - mean).mean(axis=(0, 1, 2))  # biased: normalises the batch
        n = x.size // x.shape[-1]
        m = BATCH_NORM_MOMENTUM
        s = {
            "mean": (1.0 - m) * s["mean"] + m * mean,
            "var": (1.0 - m) * s["var"] + m * var * (n / max(n - 1, 1)),
        }
    else:
        mean, var = s["mean"], s["var"]
    y = (x32 - mean) * lax.rsqrt(var + BATCH_NORM_EPS) * p["scale"] + p["shift"]
    return y.astype(x.dtype), s


def _block_params(w: BlockWeights) -> Params:
    a = w.attention
    # q, k and v in one (d, 3d) projection, as torch's in_proj: heads stay contiguous column
    # blocks within each third
    qkv = DenseWeights(
        np.concatenate([a.query.kernel, a.key.kernel, a.value.kernel], axis=1),
        np.concatenate([a.query.bias, a.key.bias, a.value.bias]),
    )
    return {
        "norm1": _norm_params(w.norm1),
        "qkv": _dense_params(qkv),
        "out": _dense_params(a.output),
        "norm2": _norm_params(w.norm2),
        "ff1": _dense_params(w.ff1),
        "ff2": _dense_params(w.ff2),
    }


def _transformer_params(weights: TransformerWeights) -> Params:
    return {
        "token": weights.token_embedding,
        "position": weights.position_embedding,
        "blocks": [_block_params(w) for w in weights.blocks],
        "final_norm": _norm_params(weights.final_norm),
        "head": _dense_params(weights.head),
    }


def _transformer(
    spec: TransformerSpec,
    params: Params,
    state: Params,
    tokens: Array,
    *,
    train: bool,
    rng: Array | None,
) -> tuple[Array, Params]:
    x = params["token"][tokens] + params["position"]
    keys = _split(rng if train else None, len(params["blocks"]))
    for block, key in zip(params["blocks"], keys, strict=True):
        x = _encoder_block(spec, block, x, key)
    x = _layer_norm(params["final_norm"], x).mean(axis=1)
    return _dense(params["head"], x), state


def _encoder_block(spec: TransformerSpec, p: Params, x: Array, rng: Array | None) -> Array:
    """Pre-norm block, torch's ``TransformerEncoderLayer(norm_first=True, activation="gelu")``:
    ``x + Dropout(MHA(LN(x)))``, then ``x + Dropout(W2 Dropout(GELU(W1 LN(x))))``."""
    rate = spec.dropout
    k_attention, k_residual1, k_ff, k_residual2 = _split(rng, 4)
    h = _attention(spec, p, _layer_norm(p["norm1"], x), k_attention)
    x = x + _dropout(h, rate, k_residual1)
    h = ACTIVATIONS["gelu"](_dense(p["ff1"], _layer_norm(p["norm2"], x)))
    return x + _dropout(_dense(p["ff2"], _dropout(h, rate, k_ff)), rate, k_residual2)


def _attention(spec: TransformerSpec, p: Params, x: Array, rng: Array | None) -> Array:
    """Multi-head self-attention, dropout on the attention probabilities."""
    b, s, d = x.shape
    qkv = _dense(p["qkv"], x).reshape(b, s, 3, spec.heads, spec.head_dim)
    q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
    scores = jnp.einsum("bqhd,bkhd->bhqk", q / math.sqrt(spec.head_dim), k)
    probs = jax.nn.softmax(scores.astype(jnp.float32), axis=-1).astype(x.dtype)
    probs = _dropout(probs, spec.dropout, rng)
    out = jnp.einsum("bhqk,bkhd->bqhd", probs, v).reshape(b, s, d)
    return _dense(p["out"], out)


def cudnn_attention_available(spec: BuiltinSpec, platform: str, compute: Any) -> bool:
    """Whether cuDNN's flash kernel takes this model's attention in ``compute`` dtype here.

    ``jax.nn.dot_product_attention`` uses XLA unless asked for ``implementation="cudnn"``
    (JAX 0.10 does not choose it by itself); the kernel wants a GPU, 16-bit inputs and head
    sizes it supports, and no dropout, so it is tried once on this model's shapes.
    """
    if not isinstance(spec, AttentionSpec) or spec.dropout > 0 or platform != "gpu":
        return False
    if jnp.dtype(compute) == jnp.float32:
        return False
    try:
        q = jnp.zeros((1, spec.seq_len, spec.heads, spec.head_dim), compute)
        jax.nn.dot_product_attention(q, q, q, is_causal=spec.causal, implementation="cudnn")
    except Exception:  # any refusal (shape, cuDNN version, no cuDNN) means XLA
        return False
    return True


def attention_implementation(spec: BuiltinSpec, cudnn: bool) -> str | None:
    """How this model's training step computes attention; None without attention blocks."""
    if not isinstance(spec, AttentionSpec):
        return None
    if spec.dropout > 0:
        # jax.nn.dot_product_attention has no dropout: the probabilities are materialised
        return "einsum + softmax (float32) + dropout"
    call = f"jax.nn.dot_product_attention(is_causal={spec.causal})"
    return f"{call}: cudnn (flash)" if cudnn else f"{call}: xla"


# a masked score: exp() of it is 0 in float32, and it stays finite (no inf - inf = nan)
_MASKED = float(np.finfo(np.float32).min)


def _self_attention(
    spec: AttentionSpec, p: Params, x: Array, rng: Array | None, cudnn: bool
) -> Array:
    """Multi-head self-attention: ``jax.nn.dot_product_attention`` (XLA, or cuDNN's flash
    kernel for 16-bit inputs when ``cudnn``); with dropout, the probabilities written out."""
    b, s, d = x.shape
    qkv = _dense(p["qkv"], x).reshape(b, s, 3, spec.heads, spec.head_dim)
    q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
    if spec.dropout == 0.0 or rng is None:
        flash = cudnn and q.dtype != jnp.float32
        out = jax.nn.dot_product_attention(
            q, k, v, is_causal=spec.causal, implementation="cudnn" if flash else "xla"
        )
    else:
        scores = jnp.einsum("bqhd,bkhd->bhqk", q / math.sqrt(spec.head_dim), k)
        scores = scores.astype(jnp.float32)
        if spec.causal:
            mask = jnp.tril(jnp.ones((s, s), bool))
            scores = jnp.where(mask, scores, _MASKED)
        probs = _dropout(jax.nn.softmax(scores, axis=-1).astype(x.dtype), spec.dropout, rng)
        out = jnp.einsum("bhqk,bkhd->bqhd", probs, v)
    return _dense(p["out"], out.reshape(b, s, d))


def _block(spec: AttentionSpec, p: Params, x: Array, rng: Array | None, cudnn: bool) -> Array:
    """Pre-norm (GPT, ViT) ``x + Dropout(Attn(LN(x)))``, ``x + Dropout(MLP(LN(x)))``, or
    post-norm (BERT) ``LN(x + Dropout(Attn(x)))``, ``LN(x + Dropout(MLP(x)))``."""
    rate = spec.dropout
    k_attention, k_residual1, k_residual2 = _split(rng, 3)

    def mlp(h: Array) -> Array:
        h = jax.nn.gelu(_dense(p["ff1"], h), approximate=spec.gelu_approximate)
        return _dropout(_dense(p["ff2"], h), rate, k_residual2)

    if isinstance(spec, BERTSpec):
        h = _dropout(_self_attention(spec, p, x, k_attention, cudnn), rate, k_residual1)
        x = _layer_norm(p["norm1"], x + h, spec.norm_eps)
        return _layer_norm(p["norm2"], x + mlp(x), spec.norm_eps)
    h = _self_attention(spec, p, _layer_norm(p["norm1"], x, spec.norm_eps), k_attention, cudnn)
    x = x + _dropout(h, rate, k_residual1)
    return x + mlp(_layer_norm(p["norm2"], x, spec.norm_eps))


def _blocks(spec: AttentionSpec, params: Params, x: Array, rng: Array | None, cudnn: bool) -> Array:
    keys = _split(rng, len(params["blocks"]))
    for block, key in zip(params["blocks"], keys, strict=True):
        x = _block(spec, block, x, key, cudnn)
    return x


def _gpt(
    spec: GPTSpec,
    params: Params,
    state: Params,
    tokens: Array,
    *,
    train: bool,
    rng: Array | None,
    cudnn: bool = False,
) -> tuple[Array, Params]:
    rng = rng if train else None
    k_embedding, k_blocks = _split(rng, 2)
    x = params["token"][tokens] + params["position"][: spec.seq_len]
    x = _blocks(spec, params, _dropout(x, spec.dropout, k_embedding), k_blocks, cudnn)
    x = _layer_norm(params["final_norm"], x, spec.norm_eps)
    # the LM head is the token table (tied), no bias
    return x @ params["token"].T, state


def _vit(
    spec: ViTSpec,
    params: Params,
    state: Params,
    images: Array,
    *,
    train: bool,
    rng: Array | None,
    cudnn: bool = False,
) -> tuple[Array, Params]:
    rng = rng if train else None
    k_embedding, k_blocks = _split(rng, 2)
    p = spec.patch
    x = lax.conv_general_dilated(
        images,
        params["patch"]["kernel"],
        window_strides=(p, p),
        padding="VALID",
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
    )
    x = x + params["patch"]["bias"]
    b, gh, gw, d = x.shape
    x = x.reshape(b, gh * gw, d)  # (H, W) row-major, as torch's flatten
    token = jnp.broadcast_to(params["class_token"].astype(x.dtype), (b, 1, d))
    x = jnp.concatenate([token, x], axis=1) + params["position"]
    x = _blocks(spec, params, _dropout(x, spec.dropout, k_embedding), k_blocks, cudnn)
    x = _layer_norm(params["final_norm"], x, spec.norm_eps)
    return _dense(params["head"], x[:, 0]), state


def _bert(
    spec: BERTSpec,
    params: Params,
    state: Params,
    tokens: Array,
    *,
    train: bool,
    rng: Array | None,
    cudnn: bool = False,
) -> tuple[Array, Params]:
    rng = rng if train else None
    k_embedding, k_blocks, k_pooled = _split(rng, 3)
    # one segment: every token has type 0
    x = params["token"][tokens] + params["position"][: spec.seq_len]
    x = x + params["token_type"][jnp.zeros_like(tokens)]
    x = _layer_norm(params["embedding_norm"], x, spec.norm_eps)
    x = _blocks(spec, params, _dropout(x, spec.dropout, k_embedding), k_blocks, cudnn)
    pooled = jnp.tanh(_dense(params["pooler"], x[:, 0]))
    return _dense(params["head"], _dropout(pooled, spec.dropout, k_pooled)), state


def _rnn(
    spec: RNNSpec, params: Params, state: Params, tokens: Array, *, train: bool, rng: Array | None
) -> tuple[Array, Params]:
    del train, rng  # no dropout in the RNN family
    # time-major, so lax.scan runs over the leading axis
    xs = jnp.swapaxes(params["embedding"][tokens], 0, 1)
    layer = _lstm_layer if spec.cell == "lstm" else _gru_layer
    for p in params["layers"]:
        xs = layer(p, xs)
    return _dense(params["head"], xs[-1]), state


def _lstm_layer(p: Params, xs: Array) -> Array:
    """One LSTM layer over (seq, batch, in): gates i, f, g, o; one bias per gate."""
    # the input projection of every step at once (one large matmul), as cuDNN and Keras do
    projected = xs @ p["kernel"] + p["bias"]
    recurrent = p["recurrent_kernel"]
    zeros = jnp.zeros((xs.shape[1], recurrent.shape[0]), projected.dtype)

    def step(carry: tuple[Array, Array], x_t: Array) -> tuple[tuple[Array, Array], Array]:
        h, c = carry
        i, f, g, o = jnp.split(x_t + h @ recurrent, 4, axis=-1)
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return (h, c), h

    _, hs = lax.scan(step, (zeros, zeros), projected)
    return hs


def _gru_layer(p: Params, xs: Array) -> Array:
    """One GRU layer over (seq, batch, in), torch's formulation (Keras's ``reset_after=True``):
    ``n = tanh(x_n + b_in + r * (h W_hn + b_hn))``, ``h' = (1 - z) n + z h``; gates r, z, n."""
    projected = xs @ p["kernel"] + p["bias"]
    recurrent, recurrent_bias = p["recurrent_kernel"], p["recurrent_bias"]
    zeros = jnp.zeros((xs.shape[1], recurrent.shape[0]), projected.dtype)

    def step(h: Array, x_t: Array) -> tuple[Array, Array]:
        x_r, x_z, x_n = jnp.split(x_t, 3, axis=-1)
        h_r, h_z, h_n = jnp.split(h @ recurrent + recurrent_bias, 3, axis=-1)
        r = jax.nn.sigmoid(x_r + h_r)
        z = jax.nn.sigmoid(x_z + h_z)
        n = jnp.tanh(x_n + r * h_n)
        h = (1.0 - z) * n + z * h
        return h, h

    _, hs = lax.scan(step, zeros, projected)
    return hs
