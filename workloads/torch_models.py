"""The built-in families as idiomatic PyTorch modules, loaded from the neutral weights.

Each model is what a PyTorch user would write with ``torch.nn``'s own building blocks
(``nn.Sequential``, ``nn.Conv2d``, ``nn.TransformerEncoder``, ``nn.LSTM``/``nn.GRU``); only the
initial values come from FrameDuel, converted from the neutral layout (see ``weights``).
Imported only by the PyTorch workload, inside the child.
"""
# Typed like torch_workload (see pyproject): torch's nn API is only partly annotated.
# mypy: disallow-untyped-calls=False, disallow-any-generics=False, warn-return-any=False

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

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
    ResNetBlock,
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
    ResNetBlockWeights,
    ResNetWeights,
    RNNWeights,
    TransformerWeights,
    ViTWeights,
)

Padding = tuple[tuple[int, int], tuple[int, int]]

ACTIVATIONS: dict[str, Callable[[], nn.Module]] = {
    "relu": nn.ReLU,
    # exact erf GELU, as Keras's gelu(approximate=False)
    "gelu": lambda: nn.GELU(approximate="none"),
    "tanh": nn.Tanh,
}


def build_model(spec: BuiltinSpec, weights: ModelWeights) -> nn.Module:
    """The family's module with the neutral ``weights`` loaded, on the CPU, in train mode."""
    if isinstance(spec, MLPSpec) and isinstance(weights, list):
        return _mlp(spec, weights)
    if isinstance(spec, CNNSpec) and isinstance(weights, CNNWeights):
        return _cnn(spec, weights)
    if isinstance(spec, ResNetSpec) and isinstance(weights, ResNetWeights):
        return ResNet(spec, weights)
    if isinstance(spec, TransformerSpec) and isinstance(weights, TransformerWeights):
        return TransformerClassifier(spec, weights)
    if isinstance(spec, RNNSpec) and isinstance(weights, RNNWeights):
        return RNNClassifier(spec, weights)
    if isinstance(spec, GPTSpec) and isinstance(weights, GPTWeights):
        return GPT(spec, weights)
    if isinstance(spec, ViTSpec) and isinstance(weights, ViTWeights):
        return ViT(spec, weights)
    if isinstance(spec, BERTSpec) and isinstance(weights, BERTWeights):
        return BERT(spec, weights)
    raise TypeError(f"no {type(weights).__name__} weights for a {spec.family} model")


def _tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array))


@torch.no_grad()
def _load_linear(linear: nn.Linear, w: DenseWeights) -> None:
    # torch keeps weight as (out, in); the neutral kernel is (in, out)
    linear.weight.copy_(_tensor(w.kernel.T))
    linear.bias.copy_(_tensor(w.bias))


@torch.no_grad()
def _load_norm(norm: nn.LayerNorm | nn.BatchNorm2d, w: NormWeights) -> None:
    norm.weight.copy_(_tensor(w.gamma))
    norm.bias.copy_(_tensor(w.beta))


def _mlp(spec: MLPSpec, weights: list[DenseWeights]) -> nn.Module:
    layers: list[nn.Module] = []
    for n, w in enumerate(weights):
        linear = nn.Linear(*w.kernel.shape)
        _load_linear(linear, w)
        layers.append(linear)
        if n < len(weights) - 1:
            layers.append(ACTIVATIONS[spec.activation]())
            if spec.dropout > 0:
                layers.append(nn.Dropout(spec.dropout))
    return nn.Sequential(*layers)


def padded_conv(
    in_channels: int, out_channels: int, kernel: int, stride: int, padding: Padding, *, bias: bool
) -> list[nn.Module]:
    """A ``Conv2d`` with TensorFlow's SAME ``padding`` ((top, bottom), (left, right)).

    Symmetric padding is the convolution's own; an asymmetric one (a stride above 1, or an even
    kernel: the extra row/column goes at the end) is an explicit ``nn.ZeroPad2d`` first, since
    ``Conv2d`` pads both sides alike and its ``padding="same"`` refuses strides.
    """
    (top, bottom), (left, right) = padding
    symmetric = top == bottom and left == right
    conv = nn.Conv2d(
        in_channels,
        out_channels,
        kernel,
        stride=stride,
        padding=(top, left) if symmetric else 0,
        bias=bias,
    )
    return [conv] if symmetric else [nn.ZeroPad2d((left, right, top, bottom)), conv]


def padded_max_pool(kernel: int, stride: int, padding: Padding) -> list[nn.Module]:
    """``MaxPool2d`` with TensorFlow's SAME ``padding``: padded cells never win (-inf), as
    TensorFlow ignores them; asymmetric padding is an explicit ``ConstantPad2d(-inf)`` first."""
    (top, bottom), (left, right) = padding
    if top == bottom and left == right:
        return [nn.MaxPool2d(kernel, stride, padding=(top, left))]
    return [
        nn.ConstantPad2d((left, right, top, bottom), float("-inf")),
        nn.MaxPool2d(kernel, stride),
    ]


@torch.no_grad()
def _load_conv(conv: nn.Conv2d, w: ConvWeights) -> None:
    # neutral (kh, kw, in, out) -> torch (out, in, kh, kw)
    conv.weight.copy_(_tensor(w.kernel.transpose(3, 2, 0, 1)))
    if conv.bias is not None and w.bias is not None:
        conv.bias.copy_(_tensor(w.bias))


def _cnn(spec: CNNSpec, weights: CNNWeights) -> nn.Module:
    layers: list[nn.Module] = []
    for stage, w in zip(spec.stages(), weights.conv, strict=True):
        c = stage.spec
        modules = padded_conv(
            stage.in_channels,
            c.filters,
            c.kernel,
            c.stride,
            stage.padding(),
            bias=w.bias is not None,
        )
        conv = modules[-1]
        assert isinstance(conv, nn.Conv2d)
        _load_conv(conv, w)
        layers += modules
        if w.norm is not None:
            norm = nn.BatchNorm2d(c.filters, eps=BATCH_NORM_EPS, momentum=BATCH_NORM_MOMENTUM)
            _load_norm(norm, w.norm)
            layers.append(norm)
        layers.append(nn.ReLU())
        if c.pool is not None:
            layers.append(nn.MaxPool2d(c.pool))
    layers.append(nn.Flatten())
    h, wd, ch = spec.flat_shape()
    for n, dw in enumerate(weights.dense):
        kernel = dw.kernel
        if n == 0:
            # the neutral rows follow a (H, W, C) flatten; torch flattens NCHW as (C, H, W)
            out = kernel.shape[1]
            kernel = kernel.reshape(h, wd, ch, out).transpose(2, 0, 1, 3).reshape(-1, out)
        linear = nn.Linear(*kernel.shape)
        _load_linear(linear, DenseWeights(kernel, dw.bias))
        layers.append(linear)
        if n < len(weights.dense) - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _conv_bn(conv: ResNetConv, w: ConvWeights) -> nn.Sequential:
    """Convolution (SAME, no bias) + ``BatchNorm2d``, loaded from the neutral weights."""
    modules = padded_conv(
        conv.in_channels, conv.out_channels, conv.kernel, conv.stride, conv.padding(), bias=False
    )
    layer = modules[-1]
    assert isinstance(layer, nn.Conv2d) and w.norm is not None
    _load_conv(layer, w)
    norm = nn.BatchNorm2d(conv.out_channels, eps=BATCH_NORM_EPS, momentum=BATCH_NORM_MOMENTUM)
    _load_norm(norm, w.norm)
    return nn.Sequential(*modules, norm)


class ResidualBlock(nn.Module):
    """torchvision's ``BasicBlock``/``Bottleneck`` (v1.5: the stride on the 3x3 convolution):
    ``relu(BN(conv_n(... relu(BN(conv_1(x))))) + shortcut(x))``."""

    def __init__(self, block: ResNetBlock, w: ResNetBlockWeights) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            _conv_bn(c, cw) for c, cw in zip(block.convs, w.convs, strict=True)
        )
        self.shortcut = (
            None
            if block.shortcut is None or w.shortcut is None
            else _conv_bn(block.shortcut, w.shortcut)
        )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The block on (batch, C, H, W)."""
        out = x
        for n, conv in enumerate(self.convs):
            out = conv(out)
            if n < len(self.convs) - 1:
                out = self.relu(out)
        identity = x if self.shortcut is None else self.shortcut(x)
        return self.relu(out + identity)


class ResNet(nn.Module):
    """Stem (conv + BN + ReLU, and a 3x3/2 max pool for ImageNet), residual blocks, global
    average pool, linear head: torchvision's ``ResNet`` with TensorFlow's SAME padding."""

    def __init__(self, spec: ResNetSpec, weights: ResNetWeights) -> None:
        super().__init__()
        stem: list[nn.Module] = [_conv_bn(spec.stem_conv(), weights.stem), nn.ReLU(inplace=True)]
        if spec.pool_hw() is not None:
            stem += padded_max_pool(spec.POOL_KERNEL, 2, spec.pool_padding())
        self.stem = nn.Sequential(*stem)
        self.blocks = nn.Sequential(
            *(ResidualBlock(b, w) for b, w in zip(spec.blocks(), weights.blocks, strict=True))
        )
        self.head = nn.Linear(spec.features, spec.num_classes)
        _load_linear(self.head, weights.head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (batch, num_classes) for images (batch, C, H, W)."""
        x = self.blocks(self.stem(x))
        return self.head(torch.flatten(x.mean(dim=(2, 3)), 1))


class TransformerClassifier(nn.Module):
    """Token + learned position embeddings, ``nn.TransformerEncoder`` (pre-norm, GELU), final
    LayerNorm, mean over positions, linear head."""

    def __init__(self, spec: TransformerSpec, weights: TransformerWeights) -> None:
        super().__init__()
        d = spec.d_model
        self.token = nn.Embedding(spec.vocab_size, d)
        self.position = nn.Parameter(_tensor(weights.position_embedding).clone())
        layer = nn.TransformerEncoderLayer(
            d,
            spec.heads,
            spec.ff_dim,
            spec.dropout,
            activation="gelu",  # exact erf GELU
            layer_norm_eps=LAYER_NORM_EPS,
            batch_first=True,
            norm_first=True,
        )
        # the nested-tensor fast path only applies to post-norm layers with a padding mask
        self.encoder = nn.TransformerEncoder(
            layer,
            spec.layers,
            norm=nn.LayerNorm(d, eps=LAYER_NORM_EPS),
            enable_nested_tensor=False,
        )
        self.head = nn.Linear(d, spec.num_classes)
        self._load(weights)

    @torch.no_grad()
    def _load(self, weights: TransformerWeights) -> None:
        self.token.weight.copy_(_tensor(weights.token_embedding))
        for block, w in zip(self.encoder.layers, weights.blocks, strict=True):
            attention = block.self_attn
            a = w.attention
            # q, k, v stacked as rows of one (3d, d) matrix; heads are contiguous row blocks,
            # as the neutral kernels' output columns are
            attention.in_proj_weight.copy_(
                _tensor(np.concatenate([a.query.kernel.T, a.key.kernel.T, a.value.kernel.T]))
            )
            attention.in_proj_bias.copy_(
                _tensor(np.concatenate([a.query.bias, a.key.bias, a.value.bias]))
            )
            _load_linear(attention.out_proj, a.output)
            _load_norm(block.norm1, w.norm1)
            _load_norm(block.norm2, w.norm2)
            _load_linear(block.linear1, w.ff1)
            _load_linear(block.linear2, w.ff2)
        assert isinstance(self.encoder.norm, nn.LayerNorm)
        _load_norm(self.encoder.norm, weights.final_norm)
        _load_linear(self.head, weights.head)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits (batch, num_classes) for token ids (batch, seq_len)."""
        x = self.token(tokens) + self.position
        return self.head(self.encoder(x).mean(dim=1))


class RNNClassifier(nn.Module):
    """Token embedding, ``nn.LSTM``/``nn.GRU`` (batch_first), linear head on the last step.

    The LSTM's ``bias_hh`` is pinned at zero and frozen: PyTorch adds two bias vectors to the
    same gate pre-activations where Keras has one, so the second is redundant. Freezing it keeps
    the same function and the same trainable parameters as Keras while still using
    ``nn.LSTM``'s fused kernels (``bias=False`` would drop both biases).
    """

    def __init__(self, spec: RNNSpec, weights: RNNWeights) -> None:
        super().__init__()
        self.embedding = nn.Embedding(spec.vocab_size, spec.embed_dim)
        cell = nn.LSTM if spec.cell == "lstm" else nn.GRU
        self.rnn = cell(spec.embed_dim, spec.hidden, num_layers=spec.layers, batch_first=True)
        self.head = nn.Linear(spec.hidden, spec.num_classes)
        self._load(weights)

    @torch.no_grad()
    def _load(self, weights: RNNWeights) -> None:
        self.embedding.weight.copy_(_tensor(weights.embedding))
        for n, w in enumerate(weights.layers):
            # neutral gate order is torch's: only the (in, gates*h) -> (gates*h, in) transpose
            getattr(self.rnn, f"weight_ih_l{n}").copy_(_tensor(w.kernel.T))
            getattr(self.rnn, f"weight_hh_l{n}").copy_(_tensor(w.recurrent_kernel.T))
            getattr(self.rnn, f"bias_ih_l{n}").copy_(_tensor(w.bias))
            bias_hh = getattr(self.rnn, f"bias_hh_l{n}")
            if w.recurrent_bias is None:
                bias_hh.zero_()
                bias_hh.requires_grad_(False)
            else:
                bias_hh.copy_(_tensor(w.recurrent_bias))
        _load_linear(self.head, weights.head)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits (batch, num_classes) for token ids (batch, seq_len)."""
        out, _ = self.rnn(self.embedding(tokens))
        return self.head(out[:, -1])


class Block(nn.Module):
    """One transformer block around ``F.scaled_dot_product_attention`` (PyTorch's fused kernels:
    flash or memory-efficient on CUDA, a flash kernel on the CPU), as nanoGPT writes it.

    Pre-norm (GPT, ViT): ``x + Dropout(Attn(LN(x)))``, ``x + Dropout(MLP(LN(x)))``; post-norm
    (BERT): ``LN(x + Dropout(Attn(x)))``, ``LN(x + Dropout(MLP(x)))``. Dropout also on the
    attention probabilities (inside the kernel).
    """

    def __init__(self, spec: AttentionSpec, w: BlockWeights) -> None:
        super().__init__()
        d = spec.d_model
        self.heads, self.causal, self.dropout = spec.heads, spec.causal, spec.dropout
        self.norm_first = not isinstance(spec, BERTSpec)
        self.norm1 = nn.LayerNorm(d, eps=spec.norm_eps)
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.norm2 = nn.LayerNorm(d, eps=spec.norm_eps)
        self.ff1 = nn.Linear(d, spec.ff_dim)
        self.act = nn.GELU(approximate="tanh" if spec.gelu_approximate else "none")
        self.ff2 = nn.Linear(spec.ff_dim, d)
        self.drop = nn.Dropout(spec.dropout)
        a = w.attention
        # q, k, v as one (d, 3d) projection; heads are contiguous column blocks in each third
        qkv = DenseWeights(
            np.concatenate([a.query.kernel, a.key.kernel, a.value.kernel], axis=1),
            np.concatenate([a.query.bias, a.key.bias, a.value.bias]),
        )
        _load_linear(self.qkv, qkv)
        _load_linear(self.out, a.output)
        _load_norm(self.norm1, w.norm1)
        _load_norm(self.norm2, w.norm2)
        _load_linear(self.ff1, w.ff1)
        _load_linear(self.ff2, w.ff2)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """Multi-head self-attention on (batch, seq, d)."""
        b, s, d = x.shape
        q, k, v = self.qkv(x).view(b, s, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        y = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=self.causal
        )
        return self.drop(self.out(y.transpose(1, 2).reshape(b, s, d)))

    def mlp(self, x: torch.Tensor) -> torch.Tensor:
        """The feed-forward branch."""
        return self.drop(self.ff2(self.act(self.ff1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """One block on (batch, seq, d)."""
        if self.norm_first:
            x = x + self.attention(self.norm1(x))
            return x + self.mlp(self.norm2(x))
        x = self.norm1(x + self.attention(x))
        return self.norm2(x + self.mlp(x))


def _embedding(table: np.ndarray) -> nn.Embedding:
    embedding = nn.Embedding(*table.shape)
    with torch.no_grad():
        embedding.weight.copy_(_tensor(table))
    return embedding


def _layer_norm(spec: AttentionSpec, w: NormWeights) -> nn.LayerNorm:
    norm = nn.LayerNorm(spec.d_model, eps=spec.norm_eps)
    _load_norm(norm, w)
    return norm


def _linear(w: DenseWeights) -> nn.Linear:
    linear = nn.Linear(*w.kernel.shape)
    _load_linear(linear, w)
    return linear


class GPT(nn.Module):
    """GPT-2: token + position embeddings, pre-norm causal blocks, final LayerNorm, the LM head
    tied to the token embedding (``F.linear`` with its weight, no bias)."""

    def __init__(self, spec: GPTSpec, weights: GPTWeights) -> None:
        super().__init__()
        self.token = _embedding(weights.token_embedding)
        self.position = _embedding(weights.position_embedding)
        self.register_buffer("positions", torch.arange(spec.seq_len), persistent=False)
        self.drop = nn.Dropout(spec.dropout)
        self.blocks = nn.Sequential(*(Block(spec, w) for w in weights.blocks))
        self.norm = _layer_norm(spec, weights.final_norm)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Next-token logits (batch, seq_len, vocab) for token ids (batch, seq_len)."""
        x = self.drop(self.token(tokens) + self.position(self.positions))
        return F.linear(self.norm(self.blocks(x)), self.token.weight)


class ViT(nn.Module):
    """torchvision's VisionTransformer: patch convolution, class token, learned positions,
    pre-norm blocks, final LayerNorm, head on the class token."""

    def __init__(self, spec: ViTSpec, weights: ViTWeights) -> None:
        super().__init__()
        p, c, d = spec.patch, spec.input_hwc[2], spec.d_model
        self.patch = nn.Conv2d(c, d, p, stride=p)
        with torch.no_grad():
            # neutral (kh, kw, in, out) -> torch (out, in, kh, kw)
            self.patch.weight.copy_(_tensor(weights.patch.kernel.transpose(3, 2, 0, 1)))
            assert weights.patch.bias is not None and self.patch.bias is not None
            self.patch.bias.copy_(_tensor(weights.patch.bias))
        self.class_token = nn.Parameter(_tensor(weights.class_token).clone().view(1, 1, d))
        self.position = nn.Parameter(_tensor(weights.position_embedding).clone().unsqueeze(0))
        self.drop = nn.Dropout(spec.dropout)
        self.blocks = nn.Sequential(*(Block(spec, w) for w in weights.blocks))
        self.norm = _layer_norm(spec, weights.final_norm)
        self.head = _linear(weights.head)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Logits (batch, num_classes) for NCHW images."""
        x = self.patch(images).flatten(2).transpose(1, 2)  # (batch, patches, d), rows first
        x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)
        x = self.norm(self.blocks(self.drop(x + self.position)))
        return self.head(x[:, 0])


class BERT(nn.Module):
    """BertForSequenceClassification: token + position + token-type embeddings, LayerNorm,
    post-norm blocks, pooler (dense + tanh on [CLS]), dropout, classifier."""

    def __init__(self, spec: BERTSpec, weights: BERTWeights) -> None:
        super().__init__()
        self.token = _embedding(weights.token_embedding)
        self.position = _embedding(weights.position_embedding)
        self.token_type = _embedding(weights.token_type_embedding)
        self.register_buffer("positions", torch.arange(spec.seq_len), persistent=False)
        self.norm = _layer_norm(spec, weights.embedding_norm)
        self.drop = nn.Dropout(spec.dropout)
        self.blocks = nn.Sequential(*(Block(spec, w) for w in weights.blocks))
        self.pooler = _linear(weights.pooler)
        self.head = _linear(weights.head)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits (batch, num_classes) for token ids (batch, seq_len), one segment (type 0)."""
        x = self.token(tokens) + self.position(self.positions)
        x = self.drop(self.norm(x + self.token_type(torch.zeros_like(tokens))))
        pooled = torch.tanh(self.pooler(self.blocks(x)[:, 0]))
        return self.head(self.drop(pooled))


def trainable_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The parameters the optimizer updates (not the LSTM's frozen second bias)."""
    return [p for p in model.parameters() if p.requires_grad]
