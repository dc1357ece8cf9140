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


ModelSpec = MLPSpec | CNNSpec | TransformerSpec | RNNSpec | CustomSpec
BuiltinSpec = MLPSpec | CNNSpec | TransformerSpec | RNNSpec


def vocab_size(model: ModelSpec) -> int | None:
    """The token vocabulary of a model that reads token ids, else None."""
    if isinstance(model, TransformerSpec | RNNSpec):
        return model.vocab_size
    if isinstance(model, CustomSpec):
        return model.vocab_size
    return None
