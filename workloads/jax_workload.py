"""JAX workload: a pure-JAX model trained by one ``jax.jit``-compiled step, as JAX users write it.

The train state (parameters, optax state, batch norm statistics, the dropout key, fp16's loss
scale) is one pytree that lives on the device; the step ``(state, x, y) -> (state, loss)``
(``workloads.jax_step``) is ``jax.grad`` of the loss, then ``optimizer.update`` and
``optax.apply_updates``, jitted with the state donated so XLA updates it in place. JAX dispatches
asynchronously: the host waits only where the shared loop syncs, at a window's end.

XLA is JAX's only execution mode (op-by-op dispatch is not how anyone trains), so the step is
compiled whatever ``train.compile`` says, and the env event records ``jit_compile: true``. With
``compile: true`` the first, tracing and compiling, call runs in the ``compile`` phase; without,
it falls in warmup, as ``tf.function``'s tracing does. Imported only by the worker, inside the
child.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import os

# Read when JAX creates its GPU client, after this import: without it JAX grabs 75% of the GPU
# at start, so the memory the parent samples would not be what the model uses (PyTorch's
# caching allocator and TensorFlow with memory growth grow on demand).
os.environ["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from workloads import custom
from workloads.architectures import CustomSpec
from workloads.base import Workload
from workloads.data import Batch, stacked
from workloads.jax_models import (
    Apply,
    JaxModel,
    Params,
    attention_implementation,
    build_model,
    cudnn_attention_available,
    param_count,
)
from workloads.jax_step import (
    INITIAL_SCALE,
    LossScale,
    TrainState,
    cross_entropy,
    eval_loss,
    mse,
    train_step,
)
from workloads.weights import ModelWeights

_COMPUTE = {"fp32": jnp.float32, "bf16": jnp.bfloat16, "fp16": jnp.float16}
# the Keras policy with the same rules: float32 weights, 16-bit compute, float32 logits and loss
_POLICIES = {"fp32": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}
# a native pipeline keeps this many batches on their way to the device, as
# flax.jax_utils.prefetch_to_device(size=2) does
_PREFETCH = 2


class JaxWorkload(Workload[jax.Array]):
    """Any model family in pure JAX: softmax cross-entropy or squared error (mean), optax
    SGD/Adam/AdamW with PyTorch's update rules."""

    framework = "jax"
    # the data-parallel mesh (None: one process, one device); set when the framework starts
    _mesh: Any = None

    @classmethod
    def framework_version(cls) -> str:
        """The version of the imported JAX."""
        return str(jax.__version__)

    @classmethod
    def is_oom(cls, exc: BaseException) -> bool:
        """Host MemoryError or XLA's RESOURCE_EXHAUSTED (device out of memory)."""
        if isinstance(exc, MemoryError):
            return True
        return isinstance(exc, jax.errors.JaxRuntimeError) and "RESOURCE_EXHAUSTED" in str(exc)

    def setup(self) -> str:
        """Set threads, the visible device, float32 matmuls; return the device.

        Everything here configures the backends, so it must run before JAX's first op.
        """
        spec = self.spec
        if spec.threads is not None:
            # Sizes XLA:CPU's intra-op pool, the only one its kernels run on, when the CPU client
            # starts. XLA_FLAGS' --xla_cpu_multi_thread_eigen=false (the folklore for this) does
            # not do it: measured with jaxlib 0.10, a dot still runs on two threads with it.
            os.environ["PJRT_NPROC"] = str(spec.threads)
        if spec.device == "cpu" and _config("jax_platforms") != "cpu":
            # no GPU client, so no CUDA context or memory while the CPU is measured
            jax.config.update("jax_platforms", "cpu")
        elif spec.device != "cpu":
            # only the chosen GPU (auto: the first) gets a client and a context, as TensorFlow's
            # visible devices; harmless without a CUDA build
            jax.config.update("jax_cuda_visible_devices", str(_cuda_index(spec.device)))
        # fp32 means fp32: JAX's default precision runs float32 matmuls in TF32 on Ampere+
        jax.config.update("jax_default_matmul_precision", "highest")
        self._mesh: Any = None
        if self.dist is not None:
            self._join_cluster()
            # this process's own device; jax.devices() lists every process's
            self._device = jax.local_devices()[0]
        else:
            self._device = _pick_device(spec.device)
        name = "cpu" if self._device.platform == "cpu" else f"cuda:{_cuda_index(spec.device)}"
        if spec.precision == "fp16" and name == "cpu":
            raise RuntimeError(
                "train.precision fp16 needs a CUDA device, and JAX found none "
                f"(device {spec.device!r}); use bf16 or fp32 on the CPU"
            )
        self._device_label = name
        return name

    def _join_cluster(self) -> None:
        """``jax.distributed.initialize`` with the launcher's coordinator (rank 0's host:port),
        process count and id; gloo collectives on the CPU. A mesh over every process's device
        then shards each batch along ``data`` and replicates the train state."""
        dist = self.dist
        assert dist is not None
        if dist.coordinator is None:
            raise RuntimeError("a jax_distributed rank needs FRAMEDUEL_DIST_COORDINATOR")
        if self.spec.device == "cpu":
            with contextlib.suppress(AttributeError, KeyError, ValueError):
                jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(
            coordinator_address=dist.coordinator,
            num_processes=dist.world_size,
            process_id=dist.rank,
        )
        from jax.sharding import Mesh

        self._mesh = Mesh(np.array(jax.devices()), ("data",))

    def _placement(self, data: bool) -> Any:
        """Where arrays go: this process's device, or in a data-parallel run the mesh (the
        batch split along ``data``, everything else replicated)."""
        if self._mesh is None:
            return self._device
        from jax.sharding import NamedSharding, PartitionSpec

        return NamedSharding(self._mesh, PartitionSpec("data") if data else PartitionSpec())

    def _put_batch(self, batch: tuple[np.ndarray, np.ndarray]) -> tuple[jax.Array, jax.Array]:
        """A batch on the device, or this process's rows as its part of the global batch."""
        if self._mesh is None:
            return jax.device_put(batch, self._device)
        sharding = self._placement(data=True)
        x, y = batch
        return (
            jax.make_array_from_process_local_data(sharding, x),
            jax.make_array_from_process_local_data(sharding, y),
        )

    def comm_description(self) -> str:
        """XLA fuses the all-reduce into the compiled step: not timed apart from it."""
        if self._mesh is None:
            return "not measured"
        return (
            "not measured: XLA compiles the gradient all-reduce into the jitted step, which "
            "cannot be timed apart from it without a trace"
        )

    def build(self, weights: ModelWeights | None, batches: list[Batch]) -> None:
        """Build parameters, loss, optimizer, the jitted step and the data on the device."""
        spec = self.spec
        # PyTorch's weight_decay for SGD and Adam is L2 (added to the gradient), AdamW's decoupled
        builtin = not isinstance(spec.model, CustomSpec)
        self._l2 = spec.weight_decay if builtin and spec.optimizer != "adamw" else 0.0
        self._cudnn = False  # cuDNN's flash attention (attention families on a GPU, 16-bit)
        if isinstance(spec.model, CustomSpec):
            (params, user_apply), self._loss_fn, optimizer = custom.build(
                spec.model.module, "jax", spec.config
            )
            apply: Apply = _stateless(user_apply)
            model = JaxModel(params, {}, apply)
        else:
            assert weights is not None
            self._cudnn = cudnn_attention_available(
                spec.model, self._device.platform, _COMPUTE[spec.precision]
            )
            model = build_model(spec.model, weights, cudnn=self._cudnn)
            self._loss_fn = mse if spec.loss == "mse" else cross_entropy
            optimizer = self._optimizer()
        device = self._device
        params = jax.device_put(model.params, device)
        self._params_count = param_count(params)
        scale = LossScale(jnp.asarray(INITIAL_SCALE, jnp.float32), jnp.asarray(0, jnp.int32))
        # every leaf committed to the device: the step's outputs are, and a state mixing
        # committed and uncommitted arrays would compile the step a second time
        self._state: TrainState = jax.device_put(
            TrainState(
                params=params,
                opt_state=optimizer.init(params),
                model_state=model.state,
                rng=jax.random.key(spec.seed),
                loss_scale=scale if spec.precision == "fp16" else None,
            ),
            device,
        )
        replicated = self._placement(data=False)
        if self._mesh is not None:
            self._state = _replicate(self._state, replicated)
        self._eval_loss = jax.jit(eval_loss(model.apply, self._loss_fn))
        # the state is donated: XLA writes the new state over the old one's buffers
        self._step = jax.jit(
            train_step(model.apply, self._loss_fn, optimizer, _COMPUTE[spec.precision]),
            donate_argnums=0,
            # data-parallel: the new state stays replicated, as the old one was
            out_shardings=None if self._mesh is None else (replicated, replicated),
        )
        # the parity loss is this process's own: its rows of batch 0, on its own device
        self._parity_batch = jax.device_put(_host(batches[0]), self._device)
        self._batch: Callable[[int], tuple[jax.Array, jax.Array]]
        if spec.pipeline == "native":
            batch_iter = self._native_batches(batches)
            self._batch = lambda _step: next(batch_iter)
        else:
            self._batch = [self._put_batch(_host(b)) for b in batches].__getitem__

    def _native_batches(self, batches: list[Batch]) -> Iterator[tuple[jax.Array, jax.Array]]:
        """The loader JAX users write (JAX has none): NumPy batches in order, whole ones,
        ``jax.device_put`` ahead of use so the copy overlaps the running step."""
        x, y = _host(Batch(*stacked(batches)))
        size = self.spec.batch_size
        host = ((x[i : i + size], y[i : i + size]) for i in itertools.cycle(range(0, len(x), size)))
        queue: collections.deque[tuple[jax.Array, jax.Array]] = collections.deque()
        while True:
            while len(queue) < _PREFETCH:
                queue.append(self._put_batch(next(host)))
            yield queue.popleft()

    def _optimizer(self) -> optax.GradientTransformation:
        spec = self.spec
        if spec.optimizer == "adamw":
            # decoupled: w -= lr * (adam_update + wd * w), torch.optim.AdamW's rule
            return optax.adamw(spec.lr, b1=0.9, b2=0.999, eps=1e-8, weight_decay=spec.weight_decay)
        if spec.optimizer == "adam":
            # eps added to sqrt(v_hat) after the bias correction, as torch.optim.Adam
            inner = optax.adam(spec.lr, b1=0.9, b2=0.999, eps=1e-8)
        else:
            # optax's trace is torch's buffer: b = m*b + g; w -= lr*b
            inner = optax.sgd(spec.lr, momentum=spec.momentum or None)
        if not self._l2:
            return inner
        # PyTorch's weight_decay for SGD and Adam is L2: wd*w added to the gradient first
        return optax.chain(optax.add_decayed_weights(self._l2), inner)

    def param_count(self) -> int:
        """Numbers in the trainable parameters (batch norm's running statistics are not)."""
        return self._params_count

    def parity_loss(self) -> float:
        """Loss on batch 0 in eval mode (no dropout, running statistics), float32, no update."""
        state = self._state
        params, model_state = state.params, state.model_state
        if self._mesh is not None:
            # this process's copy of the replicated state, beside its own rows of batch 0
            params, model_state = jax.tree.map(
                lambda a: a.addressable_data(0), (params, model_state)
            )
        return float(self._eval_loss(params, model_state, *self._parity_batch))

    def train_step(self, batch: int) -> jax.Array:
        """Dispatch one compiled step; returns the loss without waiting for it."""
        x, y = self._batch(batch)
        self._state, loss = self._step(self._state, x, y)
        return loss

    def sync(self, loss: jax.Array) -> float:
        """Wait for the step that made ``loss`` (and the state it wrote), then read the loss."""
        jax.block_until_ready((loss, self._state))
        # replicated in a data-parallel run: read this process's copy
        return float(loss.addressable_data(0))

    def trace_start(self, folder: Path) -> None:
        """jax.profiler: XLA's host and device activity, with a Perfetto trace of it."""
        jax.profiler.start_trace(str(folder / "jax"), create_perfetto_trace=True)

    def trace_stop(self, folder: Path) -> tuple[str, list[Path]]:
        """The XPlane and the Perfetto (Chrome JSON) trace JAX wrote."""
        jax.profiler.stop_trace()
        files = sorted(p for p in (folder / "jax").rglob("*") if p.is_file())
        if not any(p.name.endswith(".json.gz") for p in files):
            raise RuntimeError(f"jax.profiler wrote no Perfetto trace under {folder}")
        return "perfetto", files

    def trace_marker(
        self, name: str, step: int | None = None
    ) -> contextlib.AbstractContextManager[Any]:
        """A TraceAnnotation (a StepTraceAnnotation with ``step_num``)."""
        if step is None:
            return jax.profiler.TraceAnnotation(name)
        return jax.profiler.StepTraceAnnotation(name, step_num=step)

    def device_name(self) -> str | None:
        """The GPU's name; None on the CPU."""
        return None if self._device.platform == "cpu" else str(self._device.device_kind)

    def settings(self) -> dict[str, Any]:
        """Threads, device, matmul precision, XLA, memory, pipeline and optimizer settings."""
        spec = self.spec
        nproc = os.environ.get("PJRT_NPROC")
        gpu = self._device.platform != "cpu"
        flags = os.environ.get("XLA_FLAGS") or ""
        precision = _config("jax_default_matmul_precision")
        return {
            "framework": "jax",
            # XLA:CPU runs kernels, and independent ops, on one pool of PJRT_NPROC threads;
            # unset, one per available CPU (reported as null: framework default)
            "intra_op_threads": None if gpu or not nproc else int(nproc),
            "inter_op_threads": None if gpu or not nproc else int(nproc),
            "threads_requested": spec.threads,
            "pjrt_nproc": nproc,
            "device": self._device_label,
            "device_name": self.device_name() or "cpu",
            "backend": jax.default_backend(),
            "devices": [str(d) for d in jax.devices()],
            "data_parallel": None
            if self.dist is None
            else f"jax.distributed ({jax.process_count()} processes), batch sharded over a "
            "Mesh('data'), state replicated",
            "platform_version": self._device.client.platform_version,
            "tf32": precision not in ("highest", "float32"),
            "float32_matmul_precision": precision,
            "execution": "jax.jit (XLA)",
            "jit_compile": True,
            "compiler": "XLA",
            "xla_flags": os.environ.get("XLA_FLAGS"),
            "jax_enable_x64": bool(_config("jax_enable_x64")),
            "compilation_cache": _config("jax_compilation_cache_dir"),
            "donated_state": True,
            # dropout's random bits; threefry (the default) is a large part of a CPU step
            "prng_impl": _config("jax_default_prng_impl"),
            "mixed_precision": None
            if spec.precision == "fp32"
            else f"params float32, compute {jnp.dtype(_COMPUTE[spec.precision]).name} "
            "(cast in the step), norm statistics, softmax, logits and loss float32",
            "dtype_policy": _POLICIES[spec.precision],
            "loss_scaling": "dynamic (initial 65536, x2 after 2000 finite steps, x0.5 and "
            "skip on inf/nan)"
            if spec.precision == "fp16"
            else None,
            # XLA autotunes GEMM and convolution algorithms on the GPU unless told not to
            "cudnn_autotune": "xla_gpu_autotune_level=0" not in flags,
            "deterministic": "xla_gpu_deterministic_ops=true" in flags,
            "gpu_memory": "on demand (XLA_PYTHON_CLIENT_PREALLOCATE=false)" if gpu else None,
            "xla_python_client_preallocate": os.environ.get("XLA_PYTHON_CLIENT_PREALLOCATE"),
            "input_pipeline": (
                f"NumPy batches, jax.device_put {_PREFETCH} ahead"
                if spec.pipeline == "native"
                else "resident arrays"
            ),
            "weight_decay_as_l2_gradient": bool(self._l2),
            "optimizer": self._optimizer_settings(),
            "loss_fn": "custom"
            if isinstance(spec.model, CustomSpec)
            else "mean squared error"
            if spec.loss == "mse"
            else "optax.softmax_cross_entropy_with_integer_labels, mean",
            **self._attention(),
        }

    def _attention(self) -> dict[str, str]:
        """``{"attention": how}`` for a family with attention blocks; empty otherwise."""
        model = self.spec.model
        if isinstance(model, CustomSpec):
            return {}
        how = attention_implementation(model, self._cudnn)
        return {} if how is None else {"attention": how}

    def _optimizer_settings(self) -> dict[str, Any]:
        spec = self.spec
        if isinstance(spec.model, CustomSpec):
            # An optax transformation is a pair of functions with no readable name: say where it
            # comes from and leave the name unknown (null), which the audit does not compare.
            return {"name": None, "defined_by": "build_jax of the custom module"}
        if spec.optimizer == "sgd":
            wd = "add_decayed_weights, " if self._l2 else ""
            return {
                "name": "SGD",
                "optax": f"chain({wd}sgd)" if wd else "sgd",
                "lr": spec.lr,
                "momentum": spec.momentum,
                "nesterov": False,
                "weight_decay": spec.weight_decay,
            }
        name = "AdamW" if spec.optimizer == "adamw" else "Adam"
        chained = "chain(add_decayed_weights, adam)" if self._l2 else spec.optimizer
        return {
            "name": name,
            "optax": chained,
            "lr": spec.lr,
            "betas": [0.9, 0.999],
            "eps": 1e-8,
            "weight_decay": spec.weight_decay,
        }

    def memory(self) -> tuple[int | None, int | None]:
        """The GPU allocator's in-use and peak bytes; unknown on the CPU."""
        stats = self._device.memory_stats() if self._device.platform != "cpu" else None
        if not stats:
            return None, None
        return int(stats.get("bytes_in_use", 0)), int(stats.get("peak_bytes_in_use", 0))


def _replicate(tree: Any, sharding: Any) -> Any:
    """Every leaf of ``tree`` (the same values in every process) as one array replicated over
    the whole mesh; PRNG keys travel as their raw data."""

    def put(leaf: Any) -> Any:
        if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            impl = jax.random.key_impl(leaf)
            data = put(jax.random.key_data(leaf))
            wrap = jax.jit(lambda d: jax.random.wrap_key_data(d, impl=impl), out_shardings=sharding)
            return wrap(data)
        host = np.asarray(leaf)
        return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])

    return jax.tree.map(put, tree)


def _stateless(user_apply: Callable[..., jax.Array]) -> Apply:
    """A custom model's ``apply(params, x, *, train, rng)`` in the built-in models' form."""

    def apply(
        params: Params, state: Params, x: jax.Array, *, train: bool, rng: jax.Array | None
    ) -> tuple[jax.Array, Params]:
        return user_apply(params, x, train=train, rng=rng), state

    return apply


def _host(batch: Batch) -> tuple[np.ndarray, np.ndarray]:
    """A batch as JAX runs it without x64: token ids and labels as int32."""
    x, y = batch.x, batch.y
    if x.dtype == np.int64:
        x = x.astype(np.int32)
    if y.dtype == np.int64:
        y = y.astype(np.int32)
    return x, y


def _config(name: str) -> Any:
    """A JAX config option's current value."""
    return jax.config.values[name]


def _pick_device(requested: str) -> jax.Device:
    """``auto`` is the first GPU when JAX has one, else the CPU; an explicit cuda must exist."""
    if requested == "cpu":
        return jax.devices("cpu")[0]
    if requested == "auto":
        return jax.devices()[0]
    try:
        gpus = jax.devices("gpu")
    except RuntimeError:
        gpus = []
    if not gpus:
        raise RuntimeError(
            f"device {requested!r} was asked for but JAX {jax.__version__} sees no GPU "
            f"(backend {jax.default_backend()}; GPUs need a CUDA build: jax[cuda12] or jax[cuda13])"
        )
    # jax_cuda_visible_devices is N: the only GPU JAX sees is GPU N
    return gpus[0]


def _cuda_index(requested: str) -> int:
    return int(requested.split(":", 1)[1]) if requested.startswith("cuda:") else 0


WORKLOAD = JaxWorkload
