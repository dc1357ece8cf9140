"""Which operators of different frameworks are the same one: ``op_key`` normalises a profiler's
op name (``aten::addmm``, ``_MklNativeFusedMatMul``, ``dot_general`` → ``matmul``) and
``match_key`` adds the category-level rules (one optimizer update row, a compiler's fusion as its
category's operator). Used by ``breakdown_compare`` to put ops side by side.
"""

from __future__ import annotations

import re

from profiler.breakdown import Category, OpStat

# Canonical names of the operators every framework has under its own name. Keys are normalised
# names (lower case, letters and digits only); the table is small on purpose: an op it misses
# still matches a counterpart of the same normalised name, and otherwise says "no counterpart".
_SYNONYMS: dict[str, str] = {
    **dict.fromkeys(
        (
            "mm",
            "addmm",
            "bmm",
            "baddbmm",
            "matmul",
            "linear",
            "dot",
            "dotgeneral",
            "batchmatmul",
            "batchmatmulv2",
            "batchmatmulv3",
            "fusedmatmul",
            "gemm",
            "dense",
            "einsum",
        ),
        "matmul",
    ),
    **dict.fromkeys(
        (
            "conv",
            "conv1d",
            "conv2d",
            "conv3d",
            "convolution",
            "cudnnconvolution",
            "mkldnnconvolution",
            "convgeneraldilated",
            "convolutionbackward",
            "conv2dbackpropinput",
            "conv2dbackpropfilter",
            "fusedconv2d",
        ),
        "convolution",
    ),
    **dict.fromkeys(("relu", "relugrad", "thresholdbackward", "threshold"), "relu"),
    **dict.fromkeys(("gelu", "gelubackward", "gelugrad"), "gelu"),
    **dict.fromkeys(("tanh", "tanhbackward", "tanhgrad"), "tanh"),
    **dict.fromkeys(("sigmoid", "sigmoidbackward", "sigmoidgrad", "logistic"), "sigmoid"),
    **dict.fromkeys(
        (
            "softmax",
            "logsoftmax",
            "softmaxbackwarddata",
            "logsoftmaxbackwarddata",
            "softmaxbackward",
            "logsoftmaxbackward",
        ),
        "softmax",
    ),
    **dict.fromkeys(
        (
            "nllloss",
            "nlllossforward",
            "nlllossbackward",
            "crossentropyloss",
            "crossentropy",
            "sparsesoftmaxcrossentropywithlogits",
            "softmaxcrossentropywithlogits",
            "mseloss",
            "mselossbackward",
        ),
        "loss",
    ),
    **dict.fromkeys(("add", "addv2", "addn", "biasadd", "biasaddgrad"), "add"),
    **dict.fromkeys(("mul", "multiply"), "mul"),
    **dict.fromkeys(("sum", "reducesum", "reduce", "mean", "reducemean"), "sum"),
    **dict.fromkeys(
        (
            "layernorm",
            "nativelayernorm",
            "nativelayernormbackward",
            "fusedlayernorm",
            "layernormalization",
        ),
        "layer_norm",
    ),
    **dict.fromkeys(
        (
            "batchnorm",
            "nativebatchnorm",
            "nativebatchnormbackward",
            "fusedbatchnormv3",
            "fusedbatchnormgradv3",
            "cudnnbatchnorm",
        ),
        "batch_norm",
    ),
    **dict.fromkeys(
        ("copy", "to", "copyto", "memcpyhtod", "memcpyh2d", "devicecopy", "transfer"), "copy"
    ),
}
_NAMESPACE = re.compile(r"^(aten::|xla::|tf\.|_+)+", re.IGNORECASE)
_VENDOR = re.compile(r"^(mklnative|mkl|onednn|cudnn|ynn)")
# What an XLA (or XNNPACK) fusion of a category is matched as: a fused matmul is the matmul.
_FUSED_AS = {
    Category.MATMUL: "matmul",
    Category.CONVOLUTION: "convolution",
    Category.ATTENTION: "attention",
    Category.NORMALISATION: "normalisation",
}


def op_key(name: str) -> str:
    """The name an op is matched by across frameworks: ``aten::addmm`` → ``matmul``,
    ``_FusedMatMul`` → ``matmul``, ``fusion.12`` → ``fusion``, ``aten::add_`` → ``add``.

    Namespaces, scopes, numbering, in-place and backward markers are dropped, then a small
    synonym table names the common operators the same in every framework.
    """
    text = name.strip().split("#", 1)[0]  # torch's record_function "Optimizer.step#SGD.step"
    text = text.rsplit("/", 1)[-1]  # scoped names: "sequential/dense/MatMul", "jit(f)/dot"
    text = _NAMESPACE.sub("", text)
    text = re.sub(r"[.:_-]\d+$", "", text).rstrip("_")  # "fusion.12", in-place "add_"
    compact = re.sub(r"[^a-z0-9]", "", text.lower())
    compact = _VENDOR.sub("", compact) or compact  # oneDNN's "_MklNativeFusedMatMul"
    if compact in _SYNONYMS:
        return _SYNONYMS[compact]
    base = re.sub(r"(backward|grad)\d*$", "", compact)
    return _SYNONYMS.get(base, base or compact or name.strip())


def match_key(op: OpStat) -> str:
    """The key an op is matched by across frameworks (within its category)."""
    # One optimizer step is one logical operation however a framework splits it (12 foreach
    # kernels, one fused apply op, an XLA fusion): its ops are one row, so the launch counts
    # compare side by side. A compiler's fusion is matched as its category's operator.
    if op.category is Category.OPTIMIZER:
        return "optimizer update"
    key = op_key(op.name)
    if key.endswith("fusion") and op.category in _FUSED_AS:
        return _FUSED_AS[op.category]
    return key
