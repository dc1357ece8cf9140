"""The one table that puts every framework's trace spans into ``profiler.breakdown.Category``.

A span is matched on its name (``aten::addmm``, ``_MklMatMul``, ``ynn_fusion.6``) and, where
the framework gives one, its scope (TensorFlow's ``long_name``, ``sgd/Mul:Mul``; XLA's
``hlo_op``). The first rule that matches wins, so specific rules come before general ones.

A *context* rule also claims everything that runs inside the span: every op PyTorch runs inside
``Optimizer.step`` is an optimizer update whatever its name (``aten::add_``), every op in
TensorFlow's ``sgd/`` or ``adam/`` name scope too, and everything a data loader runs is data
input. *Marker* spans (FrameDuel's own ``frameduel.step``, the profiler's own envelopes) only
frame the time; what runs inside them is judged by itself.

Spans no rule names are ``other`` for a device kernel and ``host_overhead`` for a host span
whose name looks like framework machinery (Python frames, dispatch, executors); the rules for
those come last.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

from profiler.breakdown import Category

Framework = Literal["torch", "tensorflow", "jax", "*"]
Where = Literal["name", "scope"]

# FrameDuel's own markers (workloads.base.Workload.run_trace).
STEP_MARKER = "frameduel.step"
SYNC_MARKER = "frameduel.sync"


@dataclass(frozen=True)
class Rule:
    """``pattern`` (a regex, searched) on a span's ``where`` text puts it in ``category``."""

    framework: Framework
    where: Where
    pattern: re.Pattern[str]
    category: Category
    context: bool = False  # the category also covers every span nested inside this one


def _r(
    framework: Framework,
    pattern: str,
    category: Category,
    *,
    scope: bool = False,
    ctx: bool = False,
) -> Rule:
    return Rule(framework, "scope" if scope else "name", re.compile(pattern), category, ctx)


C = Category
# Spans that only frame time (their self time is judged by what the host was doing: see
# attribution): FrameDuel's step and sync markers, the profilers' own envelopes.
MARKERS = re.compile(
    r"^(frameduel\.step|PyTorch Profiler|ProfilerStep#|\$profiler\.py|"
    r"ThreadpoolListener::|MemoryAllocation|MemoryDeallocation)"
)

RULES: tuple[Rule, ...] = (
    # -- context: whole subtrees --------------------------------------------------------------
    # the closing sync: the host waits for the device (what runs meanwhile elsewhere wins)
    _r("*", r"^frameduel\.sync", C.IDLE, ctx=True),
    _r("torch", r"^Optimizer\.(step|zero_grad)#", C.OPTIMIZER, ctx=True),
    _r("torch", r"^enumerate\(DataLoader\)|DataLoader|_native_batches", C.DATA_INPUT, ctx=True),
    _r(
        "tensorflow",
        r"^(sgd|adam|adamw|SGD|Adam|AdamW|loss_scale_optimizer)(_\d+)?/",
        C.OPTIMIZER,
        scope=True,
        ctx=True,
    ),
    _r(
        "tensorflow",
        r"IteratorGetNext|^Iterator::|MultiDeviceIterator|PrefetchDataset",
        C.DATA_INPUT,
        ctx=True,
    ),
    _r(
        "jax",
        r"_native_batches|device_put|BatchedDevicePut|TransferToDevice|"
        r"PjRtCpuClient::BufferFromHostBuffer|BufferFromHostBuffer",
        C.DATA_INPUT,
        ctx=True,
    ),
    _r(
        "*",
        r"(?i)memcpy\s*h(to|2)d|memcpyhtod|\bH2D\b|host_to_device|CopyHostToDevice",
        C.DATA_INPUT,
    ),
    _r(
        "*",
        r"(?i)nccl|all_?reduce|all_?gather|reduce_?scatter|all-to-all|alltoall|"
        r"collective-permute|CollectiveReduce",
        C.COLLECTIVE,
    ),
    _r(
        "*",
        r"(?i)^torch\.compile|inductor|dynamo|CompileFunction|XlaCompile|backend_compile|"
        r"lower_jaxpr|jax\.jit.*compile",
        C.COMPILATION,
    ),
    # -- attention ----------------------------------------------------------------------------
    _r(
        "*",
        r"(?i)scaled_dot_product|flash_?att|_efficient_attention|fmha|mha_|"
        r"MultiHeadAttention|cudnn.*attention|dot_product_attention",
        C.ATTENTION,
    ),
    # -- convolution --------------------------------------------------------------------------
    _r(
        "*",
        r"(?i)conv(olution)?(_?backward|_?transpose|\d?d)?(\b|_|\.|$)|Conv2D|Conv3D|"
        r"DepthwiseConv|mkldnn_convolution|cudnn_convolution|implicit_gemm|winograd|"
        r"_MklNativeConv|_FusedConv",
        C.CONVOLUTION,
    ),
    # -- matmul / dense -----------------------------------------------------------------------
    _r(
        "*",
        r"(?i)^aten::(mm|addmm|bmm|baddbmm|matmul|linear_backward|_addmm_activation)$|"
        r"MatMul|BatchMatMul|Einsum|gemm|gemv|sgemm|cublas|cutlass|\bdot(_general)?(\.|_|$)|"
        r"^ynn_fusion|^xnn_fusion|onednn.*matmul|dnnl.*inner_product",
        C.MATMUL,
    ),
    # -- normalisation ------------------------------------------------------------------------
    _r(
        "*",
        r"(?i)batch_?norm|layer_?norm|group_?norm|instance_?norm|rms_?norm|"
        r"FusedBatchNorm|native_layer_norm|_Mkl.*BatchNorm",
        C.NORMALISATION,
    ),
    # -- reduction / softmax / loss -----------------------------------------------------------
    _r(
        "*",
        r"(?i)softmax|cross_?entropy|nll_loss|mse_loss|log_softmax|logsumexp|"
        r"^aten::(sum|mean|max|min|amax|amin|argmax|norm|var|std|prod|all|any)(_|$)|"
        r"^(Sum|Mean|Max|Min|Prod|ArgMax|All|Any|BiasAddGrad|DivNoNan|L2Loss)$|"
        r"reduce|Reduce|(?<![a-z])reduction",
        C.REDUCTION,
    ),
    # -- elementwise / activation -------------------------------------------------------------
    _r(
        "torch",
        r"^aten::(relu|gelu|tanh|sigmoid|silu|threshold|clamp|add|sub|mul|div|neg|exp|"
        r"log|sqrt|rsub|pow|where|masked_fill|dropout|native_dropout|bernoulli|fill|zero|copy|abs|"
        r"sign|lerp|addcmul|addcdiv|maximum|minimum|_foreach|embedding|index|gather|scatter|cat|"
        r"stack|ones_like|zeros_like|_to_copy|to|sort|topk|cumsum|eq|ne|lt|gt|le|ge|rand|normal|"
        r"uniform|tril|triu|masked_select|erf|softplus|hardtanh|leaky_relu|elu|mish|"
        r"_unsafe_view|contiguous|clone)(_\w*)?$",
        C.ELEMENTWISE,
    ),
    _r(
        "tensorflow",
        r"^(Relu|Relu6|Elu|Gelu|Tanh|Sigmoid|Softplus|Selu|ReluGrad|TanhGrad|"
        r"SigmoidGrad|Mul|Add|AddV2|AddN|Sub|RealDiv|Div|Neg|Exp|Log|Sqrt|Rsqrt|Square|"
        r"SquaredDifference|Maximum|Minimum|Pow|Select|SelectV2|Cast|BiasAdd|Tile|ConcatV2|Pack|"
        r"Fill|ZerosLike|OnesLike|Transpose|GatherV2|ResourceGather|UnsortedSegmentSum|"
        r"StridedSlice|StridedSliceGrad|Equal|Greater|Less|OneHot|Identity|Reshape|Slice|Pad|"
        r"AssignSubVariableOp|AssignAddVariableOp|AssignVariableOp|ResourceApply\w+|Erf|"
        r"BroadcastTo|Shape|ExpandDims|Squeeze|Range|_Mkl\w+)$",
        C.ELEMENTWISE,
    ),
    _r(
        "*",
        r"(?i:fusion|elementwise|broadcast)|^(add|multiply|subtract|divide|maximum|minimum|"
        r"exponential|log|tanh|logistic|select|compare|convert|negate|copy|transpose|"
        r"concatenate|slice|dynamic-slice|dynamic-update-slice|pad|iota|gather|scatter|rng|"
        r"bitcast|sqrt|rsqrt|power|erf|clamp|and|or|not|wrapped_\w+|call)(\.\d+|_|$)",
        C.ELEMENTWISE,
    ),
    # -- host overhead: the frameworks' own machinery -----------------------------------------
    _r("tensorflow", r"^<lambda>$|^__forward|^__backward|^tf\.function", C.HOST_OVERHEAD),
    _r(
        "*",
        r"^\$|^aten::|^autograd::|Backward\d*$|^torch::|^cuda(Launch|Stream|Memcpy|"
        r"DeviceSynchronize|EventRecord|Memset|GetDevice|Free|Malloc)|^cuLaunch|"
        r"^Optimizer\.|^EagerExecute|^EagerLocalExecute|^EagerKernelExecute|^EagerCopyToDevice|"
        r"^TFE_|^ValidateInputTypeAndPlacement|^KernelAndDeviceFunc|^FunctionRun|"
        r"^ExecutorState::|^ExecutorDoneCallback|^_train_step|^__inference|ReadVariableOp|"
        r"^PjitFunction|^ParseArguments|^CommonPjRt|^Handle input|^AllocateOutput|"
        r"^Wait for|^PythonRefManager|^ThunkExecutor|^end: |^TfrtCpu|^PjRt|np\.asarray|"
        r"^Execute|Await",
        C.HOST_OVERHEAD,
    ),
)


def _compile(rules: tuple[Rule, ...], framework: str) -> tuple[Rule, ...]:
    return tuple(r for r in rules if r.framework in ("*", framework))


_BY_FRAMEWORK = {fw: _compile(RULES, fw) for fw in ("torch", "tensorflow", "jax")}


@functools.lru_cache(maxsize=65536)
def classify(framework: str, name: str, scope: str = "") -> tuple[Category, bool]:
    """(category, is a context rule) of a span; ``other`` when no rule matches."""
    for rule in _BY_FRAMEWORK.get(framework, RULES):
        text = scope if rule.where == "scope" else name
        if text and rule.pattern.search(text):
            return rule.category, rule.context
    return Category.OTHER, False


@functools.lru_cache(maxsize=65536)
def is_marker(name: str) -> bool:
    """Whether a span only frames time (FrameDuel's markers, the profiler's envelopes)."""
    return MARKERS.search(name) is not None
