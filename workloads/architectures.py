"""The built-in model families as plain data: shapes, analytic parameter counts and FLOPs.

Framework-free: the workloads build their models from these, the tests check each framework's
parameter count against ``param_count``, and ``flops_per_sample`` gives the report's FLOP/s.

FLOPs are the usual training estimate, 6 x multiply-accumulates of the forward pass: each MAC is
2 FLOPs forward and twice that backward (gradients of the input and of the weight). Biases,
activations, normalisation, pooling, softmax, the loss and the optimizer update are left out;
they are linear in the activations and small beside the matrix products.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

Activation = Literal["relu", "gelu", "tanh"]
InputKind = Literal["float", "int"]

# Normalisation constants, the same in every framework.
LAYER_NORM_EPS = 1e-5
BATCH_NORM_EPS = 1e-5
# Fraction of the running mean/variance replaced per step (PyTorch's convention and default;
# Keras's ``momentum`` is the fraction kept: 1 - this).
BATCH_NORM_MOMENTUM = 0.1

# Gates per recurrent cell, and their order in the neutral weights (PyTorch's and, for the LSTM,
# Keras's too; Keras's GRU orders them z, r, h).
LSTM_GATES = ("i", "f", "g", "o")
GRU_GATES = ("r", "z", "n")


@dataclass(frozen=True)
class MLPSpec:
    """A multi-layer perceptron classifier: input -> hidden layers -> logits."""

    input_dim: int
    hidden: tuple[int, ...]
    activation: Activation
    dropout: float
    num_classes: int
    family: ClassVar[Literal["mlp"]] = "mlp"
    input_kind: ClassVar[InputKind] = "float"

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input sample."""
        return (self.input_dim,)

    def layer_sizes(self) -> list[tuple[int, int]]:
        """(in_features, out_features) of every dense layer, input to output."""
        dims = [self.input_dim, *self.hidden, self.num_classes]
        return list(itertools.pairwise(dims))

    def param_count(self) -> int:
        """Trainable parameters: kernel and bias of every dense layer."""
        return sum(i * o + o for i, o in self.layer_sizes())

    def flops_per_sample(self) -> int:
        """Training FLOPs for one sample: 6 x in x out per dense layer."""
        return 6 * sum(i * o for i, o in self.layer_sizes())


@dataclass(frozen=True)
class ConvSpec:
    """One stage: convolution (+ batch norm) + ReLU (+ max pool of ``pool`` x ``pool``)."""

    filters: int
    kernel: int
    stride: int = 1
    padding: Literal["same", "valid"] = "same"
    pool: int | None = None


@dataclass(frozen=True)
class ConvStage:
    """A convolution stage with its shapes worked out: channels and feature map sizes."""

    spec: ConvSpec
    in_channels: int
    conv_hw: tuple[int, int]  # the convolution's output (before pooling)
    out_hw: tuple[int, int]  # after pooling


@dataclass(frozen=True)
class CNNSpec:
    """Convolution stages on NHWC images, flattened, dense layers (ReLU), logits.

    Convolutions carry a bias unless batch norm follows them (it would cancel the bias).
    """

    input_hwc: tuple[int, int, int]
    conv: tuple[ConvSpec, ...]
    batch_norm: bool
    dense: tuple[int, ...]
    num_classes: int
    family: ClassVar[Literal["cnn"]] = "cnn"
    input_kind: ClassVar[InputKind] = "float"

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input sample, (H, W, C): the neutral layout is NHWC."""
        return self.input_hwc

    def stages(self) -> list[ConvStage]:
        """Every convolution stage with its input channels and output sizes."""
        h, w, channels = self.input_hwc
        out = []
        for conv in self.conv:
            if conv.padding == "valid":
                h = (h - conv.kernel) // conv.stride + 1
                w = (w - conv.kernel) // conv.stride + 1
            conv_hw = (h, w)
            if conv.pool is not None:
                h, w = h // conv.pool, w // conv.pool
            out.append(ConvStage(conv, channels, conv_hw, (h, w)))
            channels = conv.filters
        return out

    def flat_shape(self) -> tuple[int, int, int]:
        """(H, W, C) of the last feature map, the one that is flattened."""
        last = self.stages()[-1]
        return (*last.out_hw, last.spec.filters)

    def dense_sizes(self) -> list[tuple[int, int]]:
        """(in, out) of every dense layer after the flatten, the classifier last."""
        h, w, c = self.flat_shape()
        return list(itertools.pairwise([h * w * c, *self.dense, self.num_classes]))

    def param_count(self) -> int:
        """Conv kernels (+ bias, or + batch norm's scale and shift), dense kernels and biases."""
        total = 0
        for stage in self.stages():
            k, f = stage.spec.kernel, stage.spec.filters
            total += k * k * stage.in_channels * f + (2 * f if self.batch_norm else f)
        return total + sum(i * o + o for i, o in self.dense_sizes())

    def flops_per_sample(self) -> int:
        """6 x (output pixels x k x k x C_in x C_out per conv + in x out per dense)."""
        macs = 0
        for stage in self.stages():
            k, (h, w) = stage.spec.kernel, stage.conv_hw
            macs += h * w * k * k * stage.in_channels * stage.spec.filters
        return 6 * (macs + sum(i * o for i, o in self.dense_sizes()))


@dataclass(frozen=True)
class TransformerSpec:
    """Encoder classifier: token + learned position embeddings, pre-norm blocks, final layer
    norm, mean over positions, linear head.

    A block is ``x + Dropout(MHA(LN(x)))`` then ``x + Dropout(W2 Dropout(GELU(W1 LN(x))))``,
    with dropout on the attention probabilities too: PyTorch's
    ``TransformerEncoderLayer(norm_first=True, activation="gelu")``.
    """

    vocab_size: int
    seq_len: int
    d_model: int
    heads: int
    layers: int
    ff_dim: int
    dropout: float
    num_classes: int
    family: ClassVar[Literal["transformer"]] = "transformer"
    input_kind: ClassVar[InputKind] = "int"

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input sample: token ids."""
        return (self.seq_len,)

    @property
    def head_dim(self) -> int:
        """Width of one attention head."""
        return self.d_model // self.heads

    def block_params(self) -> int:
        """One block: q, k, v, out projections (+ biases), two layer norms, the feed-forward."""
        d, ff = self.d_model, self.ff_dim
        return (4 * d * d + 4 * d) + 2 * (2 * d) + (d * ff + ff) + (ff * d + d)

    def param_count(self) -> int:
        """Embeddings, blocks, final layer norm and head."""
        d = self.d_model
        embeddings = self.vocab_size * d + self.seq_len * d
        head = d * self.num_classes + self.num_classes
        return embeddings + self.layers * self.block_params() + 2 * d + head

    def flops_per_sample(self) -> int:
        """6 x MACs: per token and block 4 d^2 (projections) + 2 d ff (feed-forward) +
        2 seq d (scores and weighted values); the head once per sample. Lookups are free."""
        d, s = self.d_model, self.seq_len
        per_token = 4 * d * d + 2 * d * self.ff_dim + 2 * s * d
        return 6 * (self.layers * s * per_token + d * self.num_classes)


@dataclass(frozen=True)
class RNNSpec:
    """Token embedding, stacked LSTM or GRU layers, a linear head on the last time step."""

    cell: Literal["lstm", "gru"]
    vocab_size: int
    seq_len: int
    embed_dim: int
    hidden: int
    layers: int
    num_classes: int
    family: ClassVar[Literal["rnn"]] = "rnn"
    input_kind: ClassVar[InputKind] = "int"

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input sample: token ids."""
        return (self.seq_len,)

    @property
    def gates(self) -> int:
        """Gate blocks per cell: 4 for the LSTM, 3 for the GRU."""
        return len(LSTM_GATES) if self.cell == "lstm" else len(GRU_GATES)

    def layer_inputs(self) -> list[int]:
        """Input width of every recurrent layer, bottom to top."""
        return [self.embed_dim] + [self.hidden] * (self.layers - 1)

    def layer_params(self, inputs: int) -> int:
        """One layer: input and recurrent kernels, and the biases.

        The LSTM has one bias per gate (Keras's form; PyTorch's second bias is pinned at zero
        and frozen, see the README). The GRU has two, as both frameworks do: the recurrent one
        sits inside the reset gate's product, so it is not redundant.
        """
        g, h = self.gates, self.hidden
        biases = g * h if self.cell == "lstm" else 2 * g * h
        return g * h * (inputs + h) + biases

    def param_count(self) -> int:
        """Embedding, every recurrent layer, head."""
        recurrent = sum(self.layer_params(i) for i in self.layer_inputs())
        head = self.hidden * self.num_classes + self.num_classes
        return self.vocab_size * self.embed_dim + recurrent + head

    def flops_per_sample(self) -> int:
        """6 x MACs: per time step and layer, gates x hidden x (input + hidden); the head once."""
        g, h = self.gates, self.hidden
        per_step = sum(g * h * (i + h) for i in self.layer_inputs())
        return 6 * (self.seq_len * per_step + h * self.num_classes)


@dataclass(frozen=True)
class CustomSpec:
    """A user's model from ``module`` (an absolute path); FrameDuel only supplies its data."""

    module: str
    input_shape: tuple[int, ...]
    vocab_size: int | None
    num_classes: int
    options: dict[str, Any] = field(default_factory=dict)
    family: ClassVar[Literal["custom"]] = "custom"

    @property
    def input_kind(self) -> InputKind:
        """Token ids when ``vocab_size`` is set, else float features."""
        return "float" if self.vocab_size is None else "int"

    def param_count(self) -> None:
        """Unknown before the framework builds it."""
        return None

    def flops_per_sample(self) -> None:
        """Unknown: the architecture is the user's."""
        return None


# --- the transformer families people benchmark: GPT, ViT, BERT -------------------------------

# LayerNorm epsilon of each published model (GPT-2's 1e-5, torchvision ViT's 1e-6, BERT's 1e-12).
GPT_LAYER_NORM_EPS = 1e-5
VIT_LAYER_NORM_EPS = 1e-6
BERT_LAYER_NORM_EPS = 1e-12


def attention_block_params(d_model: int, ff_dim: int) -> int:
    """One transformer block: q, k, v, out projections with biases, two layer norms, the MLP."""
    d, ff = d_model, ff_dim
    return (4 * d * d + 4 * d) + 2 * (2 * d) + (d * ff + ff) + (ff * d + d)


def attention_block_macs(d_model: int, ff_dim: int, seq_len: int) -> int:
    """Forward multiply-accumulates of one block per token: 4 d^2 (projections) + 2 d ff (MLP)
    + 2 seq d (scores and weighted values, every query against every key)."""
    return 4 * d_model * d_model + 2 * d_model * ff_dim + 2 * seq_len * d_model


@dataclass(frozen=True)
class GPTSpec:
    """Decoder-only causal language model, GPT-2's shape.

    Token + learned position embeddings (a table of ``max_positions``, the first ``seq_len``
    rows used), pre-norm blocks ``x + Dropout(CausalMHA(LN(x)))`` then
    ``x + Dropout(W2 GELU_tanh(W1 LN(x)))``, a final LayerNorm, and an LM head tied to the token
    embedding (no bias). The loss is next-token cross-entropy, averaged over every position:
    the targets are the inputs shifted by one.
    """

    vocab_size: int
    seq_len: int
    max_positions: int
    d_model: int
    heads: int
    layers: int
    ff_dim: int
    dropout: float
    family: ClassVar[Literal["gpt"]] = "gpt"
    input_kind: ClassVar[InputKind] = "int"
    norm_eps: ClassVar[float] = GPT_LAYER_NORM_EPS
    causal: ClassVar[bool] = True
    # GPT-2's gelu_new: the tanh approximation
    gelu_approximate: ClassVar[bool] = True

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input sample: token ids."""
        return (self.seq_len,)

    @property
    def target_shape(self) -> tuple[int, ...]:
        """Shape of one sample's targets: the next token at every position."""
        return (self.seq_len,)

    @property
    def num_classes(self) -> int:
        """Targets are token ids: one class per vocabulary entry."""
        return self.vocab_size

    @property
    def head_dim(self) -> int:
        """Width of one attention head."""
        return self.d_model // self.heads

    def param_count(self) -> int:
        """Token and position tables, the blocks, the final norm; the tied head adds nothing."""
        d = self.d_model
        embeddings = self.vocab_size * d + self.max_positions * d
        return embeddings + self.layers * attention_block_params(d, self.ff_dim) + 2 * d

    def flops_per_sample(self) -> int:
        """6 x MACs: every block at every position (attention over the whole sequence, as
        PaLM's MFU counts it, though a causal kernel may skip the masked half) and the LM head,
        d x vocab per position."""
        s, d = self.seq_len, self.d_model
        blocks = self.layers * attention_block_macs(d, self.ff_dim, s)
        return 6 * s * (blocks + d * self.vocab_size)


@dataclass(frozen=True)
class ViTSpec:
    """Vision Transformer, torchvision's ``VisionTransformer``.

    Patch embedding (a convolution with kernel = stride = ``patch``, valid: a remainder of the
    image that does not fill a patch is dropped), a class token, learned positions, pre-norm
    blocks (exact GELU), a final LayerNorm and a linear head on the class token.
    """

    input_hwc: tuple[int, int, int]
    patch: int
    d_model: int
    heads: int
    layers: int
    ff_dim: int
    dropout: float
    num_classes: int
    family: ClassVar[Literal["vit"]] = "vit"
    input_kind: ClassVar[InputKind] = "float"
    norm_eps: ClassVar[float] = VIT_LAYER_NORM_EPS
    causal: ClassVar[bool] = False
    gelu_approximate: ClassVar[bool] = False

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input sample, (H, W, C): the neutral layout is NHWC."""
        return self.input_hwc

    @property
    def grid(self) -> tuple[int, int]:
        """Patches down and across."""
        h, w, _ = self.input_hwc
        return h // self.patch, w // self.patch

    @property
    def seq_len(self) -> int:
        """Tokens per image: the patches and the class token."""
        gh, gw = self.grid
        return gh * gw + 1

    @property
    def head_dim(self) -> int:
        """Width of one attention head."""
        return self.d_model // self.heads

    def param_count(self) -> int:
        """Patch convolution (kernel + bias), class token, positions, blocks, final norm, head."""
        d, p, c = self.d_model, self.patch, self.input_hwc[2]
        patch = p * p * c * d + d
        embeddings = patch + d + self.seq_len * d
        head = d * self.num_classes + self.num_classes
        return embeddings + self.layers * attention_block_params(d, self.ff_dim) + 2 * d + head

    def flops_per_sample(self) -> int:
        """6 x MACs: the patch convolution (p^2 C d per patch), every block at every token,
        the head once."""
        d, p, c, s = self.d_model, self.patch, self.input_hwc[2], self.seq_len
        patches = (s - 1) * p * p * c * d
        blocks = s * self.layers * attention_block_macs(d, self.ff_dim, s)
        return 6 * (patches + blocks + d * self.num_classes)


@dataclass(frozen=True)
class BERTSpec:
    """BERT encoder with a sequence-classification head, HF's ``BertForSequenceClassification``.

    Token + position (a table of ``max_positions``) + token-type embeddings, an embedding
    LayerNorm, post-norm blocks ``LN(x + Dropout(MHA(x)))`` then ``LN(x + Dropout(W2 GELU(W1
    x)))`` (exact GELU), the pooler (dense + tanh on the first, [CLS], token) and a linear
    classifier. Inputs are one segment: every token has type 0 (the type table still has
    ``type_vocab_size`` rows, all trainable), and there is no padding mask.
    """

    vocab_size: int
    seq_len: int
    max_positions: int
    type_vocab_size: int
    d_model: int
    heads: int
    layers: int
    ff_dim: int
    dropout: float
    num_classes: int
    family: ClassVar[Literal["bert"]] = "bert"
    input_kind: ClassVar[InputKind] = "int"
    norm_eps: ClassVar[float] = BERT_LAYER_NORM_EPS
    causal: ClassVar[bool] = False
    gelu_approximate: ClassVar[bool] = False

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input sample: token ids."""
        return (self.seq_len,)

    @property
    def head_dim(self) -> int:
        """Width of one attention head."""
        return self.d_model // self.heads

    def param_count(self) -> int:
        """Three embedding tables and their norm, the blocks, the pooler, the classifier."""
        d = self.d_model
        embeddings = (self.vocab_size + self.max_positions + self.type_vocab_size) * d + 2 * d
        pooler = d * d + d
        head = d * self.num_classes + self.num_classes
        return embeddings + self.layers * attention_block_params(d, self.ff_dim) + pooler + head

    def flops_per_sample(self) -> int:
        """6 x MACs: every block at every token, the pooler and the classifier once."""
        d, s = self.d_model, self.seq_len
        blocks = s * self.layers * attention_block_macs(d, self.ff_dim, s)
        return 6 * (blocks + d * d + d * self.num_classes)


ModelSpec = (
    MLPSpec | CNNSpec | TransformerSpec | RNNSpec | GPTSpec | ViTSpec | BERTSpec | CustomSpec
)
BuiltinSpec = MLPSpec | CNNSpec | TransformerSpec | RNNSpec | GPTSpec | ViTSpec | BERTSpec
# the families built from attention blocks, sharing each framework's block implementation
AttentionSpec = GPTSpec | ViTSpec | BERTSpec


def vocab_size(model: ModelSpec) -> int | None:
    """The token vocabulary of a model that reads token ids, else None."""
    if isinstance(model, TransformerSpec | RNNSpec | GPTSpec | BERTSpec):
        return model.vocab_size
    if isinstance(model, CustomSpec):
        return model.vocab_size
    return None


def target_shape(model: ModelSpec) -> tuple[int, ...]:
    """Shape of one sample's class targets: () for a label, (seq_len,) for a language model."""
    return model.target_shape if isinstance(model, GPTSpec) else ()
