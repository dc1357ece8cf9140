"""The built-in model families as plain data: shapes, analytic parameter counts and FLOPs.

Framework-free: the workloads build their models from these, the tests check each framework's
parameter count against ``param_count``, and ``flops_per_sample`` gives the report's FLOP/s.

FLOPs are the usual training estimate, 6 x multiply-accumulates of the forward pass: each MAC is
2 FLOPs forward and twice that backward (gradients of the input and of the weight). Biases,
activations, normalisation, pooling, softmax, the loss and the optimizer update are left out;
they are linear in the activations and small beside the matrix products.

``activation_floats_per_sample`` is the rough count of activation values one sample keeps alive
for the backward pass (layer outputs, normalisation and attention intermediates); ``frameduel
describe`` multiplies it by the batch size and the compute dtype's width for its memory estimate.

Adding a family (the registry is these classes plus ``workloads.spec.FAMILY_PARSERS``): a frozen
dataclass here with ``family``, ``input_kind``, ``input_shape``, ``num_classes``,
``param_count()``, ``flops_per_sample()`` and ``activation_floats_per_sample()`` (the
``Architecture`` protocol), added to ``ModelSpec``/``BuiltinSpec``; a parser in
``workloads.spec.FAMILY_PARSERS``; a pydantic model in ``profiler.config_schema``; weights in
``workloads.weights``; builders in the three ``*_models`` modules. ``frameduel describe`` and the
parameter check of every run then work for it with no further change. This module imports only
the standard library (an import-linter contract keeps it so): the parent imports it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol

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
# Bottleneck blocks widen their last 1x1 convolution by this factor (ResNet-50/101/152).
BOTTLENECK_EXPANSION = 4


class Architecture(Protocol):
    """What every family's spec offers the parent (``frameduel describe``) and the workloads."""

    @property
    def family(self) -> str: ...
    @property
    def input_kind(self) -> InputKind: ...
    @property
    def input_shape(self) -> tuple[int, ...]: ...
    @property
    def num_classes(self) -> int: ...
    def param_count(self) -> int | None: ...
    def flops_per_sample(self) -> int | None: ...
    def activation_floats_per_sample(self) -> int | None: ...


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's SAME padding along one axis: (before, after), the odd one at the end.

    The output has ``ceil(size / stride)`` positions; the padding needed to get there is split
    with the extra row (or column) after the input, as ``tf.nn.conv2d`` and XLA's SAME do.
    PyTorch's ``padding="same"`` (stride 1 only) and ``padding=k // 2`` pad both sides alike,
    so the PyTorch and JAX models pad explicitly with these pairs.
    """
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def conv_output_size(size: int, kernel: int, stride: int, padding: Literal["same", "valid"]) -> int:
    """Output positions along one axis of a convolution or pooling window."""
    if padding == "same":
        return -(-size // stride)
    return (size - kernel) // stride + 1


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

    def activation_floats_per_sample(self) -> int:
        """The input, every hidden layer before and after its activation, the logits."""
        return self.input_dim + 2 * sum(self.hidden) + self.num_classes


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
    in_hw: tuple[int, int]  # the convolution's input
    conv_hw: tuple[int, int]  # the convolution's output (before pooling)
    out_hw: tuple[int, int]  # after pooling

    def padding(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """((top, bottom), (left, right)) zero padding of the convolution's input."""
        c = self.spec
        if c.padding == "valid":
            return (0, 0), (0, 0)
        h, w = self.in_hw
        return same_padding(h, c.kernel, c.stride), same_padding(w, c.kernel, c.stride)


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
            in_hw = (h, w)
            h = conv_output_size(h, conv.kernel, conv.stride, conv.padding)
            w = conv_output_size(w, conv.kernel, conv.stride, conv.padding)
            conv_hw = (h, w)
            if conv.pool is not None:
                h, w = h // conv.pool, w // conv.pool
            out.append(ConvStage(conv, channels, in_hw, conv_hw, (h, w)))
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

    def activation_floats_per_sample(self) -> int:
        """The input; per stage the conv output (+ batch norm's), the ReLU's and the pool's;
        the dense layers before and after their ReLU; the logits."""
        h, w, c = self.input_hwc
        total = h * w * c
        for stage in self.stages():
            conv = stage.conv_hw[0] * stage.conv_hw[1] * stage.spec.filters
            total += conv * (3 if self.batch_norm else 2)
            if stage.spec.pool is not None:
                total += stage.out_hw[0] * stage.out_hw[1] * stage.spec.filters
        return total + sum(2 * o for _, o in self.dense_sizes())


@dataclass(frozen=True)
class ResNetConv:
    """One convolution of a ResNet with its shapes; batch norm follows it, so it has no bias."""

    in_channels: int
    out_channels: int
    kernel: int
    stride: int
    in_hw: tuple[int, int]

    @property
    def out_hw(self) -> tuple[int, int]:
        """Output (H, W): SAME padding, ``ceil(size / stride)``."""
        h, w = self.in_hw
        return conv_output_size(h, self.kernel, self.stride, "same"), conv_output_size(
            w, self.kernel, self.stride, "same"
        )

    def padding(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """((top, bottom), (left, right)): TensorFlow's SAME, the odd row/column at the end."""
        h, w = self.in_hw
        return same_padding(h, self.kernel, self.stride), same_padding(w, self.kernel, self.stride)

    def params(self) -> int:
        """Kernel (k, k, in, out) and batch norm's scale and shift."""
        k = self.kernel
        return k * k * self.in_channels * self.out_channels + 2 * self.out_channels

    def macs(self) -> int:
        """Multiply-accumulates for one sample."""
        h, w = self.out_hw
        return h * w * self.kernel * self.kernel * self.in_channels * self.out_channels


@dataclass(frozen=True)
class ResNetBlock:
    """A residual block: ``relu(BN(conv_n(... relu(BN(conv_1(x))))) + shortcut(x))``.

    ``convs`` are 3x3, 3x3 (basic) or 1x1, 3x3, 1x1 (bottleneck), the stride on the 3x3 (v1.5,
    as torchvision). ``shortcut`` is a 1x1 strided projection + batch norm where the shape
    changes, else None (identity).
    """

    convs: tuple[ResNetConv, ...]
    shortcut: ResNetConv | None


@dataclass(frozen=True)
class ResNetSpec:
    """A ResNet on NHWC images: stem, stages of residual blocks, global average pool, linear head.

    ``stem`` "imagenet" is a 7x7/2 convolution + batch norm + ReLU + 3x3/2 max pool (ResNet-18
    to 152); "cifar" is a 3x3/1 convolution + batch norm + ReLU (ResNet-20/32/56 of He et al.,
    with projection shortcuts). Stage ``i`` has ``layers[i]`` blocks of width ``widths[i]``
    (times 4 at the output of a bottleneck); every stage after the first starts with stride 2.
    Every convolution and pool pads SAME (TensorFlow's: the odd row/column at the end).
    """

    input_hwc: tuple[int, int, int]
    block: Literal["basic", "bottleneck"]
    layers: tuple[int, ...]
    widths: tuple[int, ...]
    stem: Literal["imagenet", "cifar"]
    stem_width: int
    num_classes: int
    family: ClassVar[Literal["resnet"]] = "resnet"
    input_kind: ClassVar[InputKind] = "float"

    # the ImageNet stem's convolution and max pool
    STEM_KERNEL: ClassVar[int] = 7
    POOL_KERNEL: ClassVar[int] = 3

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input sample, (H, W, C): the neutral layout is NHWC."""
        return self.input_hwc

    def stem_conv(self) -> ResNetConv:
        """The stem's convolution."""
        h, w, c = self.input_hwc
        if self.stem == "imagenet":
            return ResNetConv(c, self.stem_width, self.STEM_KERNEL, 2, (h, w))
        return ResNetConv(c, self.stem_width, 3, 1, (h, w))

    def pool_hw(self) -> tuple[tuple[int, int], tuple[int, int]] | None:
        """(input, output) (H, W) of the ImageNet stem's 3x3/2 max pool; None for CIFAR."""
        if self.stem != "imagenet":
            return None
        h, w = self.stem_conv().out_hw
        return (h, w), (conv_output_size(h, 3, 2, "same"), conv_output_size(w, 3, 2, "same"))

    def pool_padding(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """((top, bottom), (left, right)) padding of the max pool (with -inf: never the max)."""
        hw = self.pool_hw()
        assert hw is not None, "only the ImageNet stem pools"
        (h, w), _ = hw
        k = self.POOL_KERNEL
        return same_padding(h, k, 2), same_padding(w, k, 2)

    def blocks(self) -> list[ResNetBlock]:
        """Every residual block, first stage first, with its shapes worked out."""
        pool = self.pool_hw()
        hw = pool[1] if pool is not None else self.stem_conv().out_hw
        channels = self.stem_width
        out: list[ResNetBlock] = []
        expansion = BOTTLENECK_EXPANSION if self.block == "bottleneck" else 1
        for stage, (count, width) in enumerate(zip(self.layers, self.widths, strict=True)):
            for n in range(count):
                stride = 2 if stage > 0 and n == 0 else 1
                convs: tuple[ResNetConv, ...]
                if self.block == "basic":
                    first = ResNetConv(channels, width, 3, stride, hw)
                    convs = (first, ResNetConv(width, width, 3, 1, first.out_hw))
                else:
                    reduce = ResNetConv(channels, width, 1, 1, hw)
                    middle = ResNetConv(width, width, 3, stride, hw)
                    convs = (
                        reduce,
                        middle,
                        ResNetConv(width, width * expansion, 1, 1, middle.out_hw),
                    )
                shortcut = None
                if stride != 1 or channels != width * expansion:
                    shortcut = ResNetConv(channels, width * expansion, 1, stride, hw)
                out.append(ResNetBlock(convs, shortcut))
                channels, hw = width * expansion, convs[-1].out_hw
        return out

    def convs(self) -> list[ResNetConv]:
        """Every convolution, stem and shortcuts included."""
        out = [self.stem_conv()]
        for block in self.blocks():
            out += [*block.convs, *([block.shortcut] if block.shortcut else [])]
        return out

    @property
    def features(self) -> int:
        """Channels of the last feature map: the head's input width."""
        expansion = BOTTLENECK_EXPANSION if self.block == "bottleneck" else 1
        return self.widths[-1] * expansion

    def param_count(self) -> int:
        """Every convolution's kernel and batch norm, and the head's kernel and bias."""
        head = self.features * self.num_classes + self.num_classes
        return sum(c.params() for c in self.convs()) + head

    def flops_per_sample(self) -> int:
        """6 x (every convolution's MACs + the head's)."""
        return 6 * (sum(c.macs() for c in self.convs()) + self.features * self.num_classes)

    def activation_floats_per_sample(self) -> int:
        """The input; per convolution its output and batch norm's (the ReLU runs in place, as
        torchvision's); the pooled map; the features and logits."""
        h, w, c = self.input_hwc
        total = h * w * c
        for conv in self.convs():
            oh, ow = conv.out_hw
            total += 2 * oh * ow * conv.out_channels
        pool = self.pool_hw()
        if pool is not None:
            total += pool[1][0] * pool[1][1] * self.stem_width
        return total + self.features + self.num_classes


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

    def activation_floats_per_sample(self) -> int:
        """Per token and block: two norms' inputs and outputs, q/k/v, the attention output and
        projection (8 d), the feed-forward's hidden before and after GELU (2 ff), and the
        attention scores and probabilities (2 heads x seq); the embeddings once."""
        d, s = self.d_model, self.seq_len
        per_token = 8 * d + 2 * self.ff_dim + 2 * self.heads * s
        return s * d + self.layers * s * per_token + self.num_classes


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

    def activation_floats_per_sample(self) -> int:
        """The embeddings; per step and layer the gates and the hidden (and cell) state."""
        g, h = self.gates, self.hidden
        per_step = self.layers * (g * h + 2 * h)
        return self.seq_len * (self.embed_dim + per_step) + self.num_classes


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

    def activation_floats_per_sample(self) -> None:
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


def attention_block_activations(d_model: int, ff_dim: int, heads: int, seq_len: int) -> int:
    """Activation values one block keeps per token for the backward pass, as the transformer
    family counts them: norms' inputs and outputs, q/k/v, attention output and projection
    (8 d), the MLP hidden before and after GELU (2 ff), scores and probabilities (2 heads x
    seq; a flash kernel keeps only a row statistic, so this over-counts there)."""
    return 8 * d_model + 2 * ff_dim + 2 * heads * seq_len


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

    def activation_floats_per_sample(self) -> int:
        """Embeddings, the blocks, the final norm, and the logits with their softmax (2 x
        vocab per position: at GPT-2's sizes the largest single activation)."""
        d, s = self.d_model, self.seq_len
        blocks = self.layers * attention_block_activations(d, self.ff_dim, self.heads, s)
        return s * (2 * d + blocks + 2 * self.vocab_size)


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

    def activation_floats_per_sample(self) -> int:
        """The image and the patch embeddings, the blocks, the final norm, the logits."""
        d, s = self.d_model, self.seq_len
        h, w, c = self.input_hwc
        blocks = self.layers * attention_block_activations(d, self.ff_dim, self.heads, s)
        return h * w * c + s * (2 * d + blocks) + self.num_classes


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

    def activation_floats_per_sample(self) -> int:
        """Embeddings and their norm, the blocks, the pooler and the logits."""
        d, s = self.d_model, self.seq_len
        blocks = self.layers * attention_block_activations(d, self.ff_dim, self.heads, s)
        return s * (2 * d + blocks) + d + self.num_classes


ModelSpec = (
    MLPSpec
    | CNNSpec
    | ResNetSpec
    | TransformerSpec
    | RNNSpec
    | GPTSpec
    | ViTSpec
    | BERTSpec
    | CustomSpec
)
BuiltinSpec = (
    MLPSpec | CNNSpec | ResNetSpec | TransformerSpec | RNNSpec | GPTSpec | ViTSpec | BERTSpec
)
# the families built from attention blocks, sharing each framework's block implementation
AttentionSpec = GPTSpec | ViTSpec | BERTSpec


def reads_images(model: ModelSpec) -> bool:
    """Whether the model reads NHWC images (PyTorch's workload transposes them to NCHW once)."""
    return isinstance(model, CNNSpec | ResNetSpec | ViTSpec)


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
