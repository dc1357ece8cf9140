"""TensorFlow workload: a Keras 3 model trained by a ``tf.function`` step.

The step is what ``keras.Model.train_step`` does on the TensorFlow backend (GradientTape, then
``optimizer.apply_gradients``), written out so the shared loop, not ``fit``, decides when the host
waits for the device. With ``compile`` the step is ``tf.function(jit_compile=True)`` (XLA), as
``model.compile(jit_compile=True)`` makes it. With ``train.loop: fit`` Keras's own ``model.fit``
drives the steps instead (``workloads.tensorflow_fit``). Imported only by the worker, inside the
child.
"""

from __future__ import annotations

import contextlib
import os

# Set before TensorFlow and Keras are first imported: C++ INFO/WARNING lines only clutter the
# child's log; this workload is the TensorFlow backend whatever the user's KERAS_BACKEND says;
# cuDNN autotuning is TensorFlow's default and PyTorch's workload turns it on to match.
# KERAS_HOME, set by the parent, keeps Keras's config out of the home dir.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ["TF_CUDNN_USE_AUTOTUNE"] = "1"

from pathlib import Path
from typing import Any

import keras
import tensorflow as tf

from workloads import custom
from workloads.architectures import CustomSpec, ModelSpec
from workloads.base import Workload
from workloads.data import Batch, stacked
from workloads.emitter import EventEmitter
from workloads.tensorflow_models import attention_implementation, build_model, trainable_count
from workloads.weights import ModelWeights

_POLICIES = {"fp32": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}
# PyTorch's GradScaler defaults, so both scale the fp16 loss alike
_LOSS_SCALE = {"initial_scale": 2.0**16, "dynamic_growth_steps": 2000}


class TensorFlowWorkload(Workload[tf.Tensor]):
    """Any model family in Keras 3 on TensorFlow: SparseCategoricalCrossentropy(from_logits) or
    MeanSquaredError, SGD/Adam/AdamW with PyTorch's update rules."""

    framework = "tensorflow"
    _trace_converter: tuple[str | None, str | None] = (None, None)

    @classmethod
    def framework_version(cls) -> str:
        """The version of the imported TensorFlow."""
        return str(tf.__version__)

    @classmethod
    def is_oom(cls, exc: BaseException) -> bool:
        """Host MemoryError or TensorFlow's ResourceExhaustedError (device OOM)."""
        return isinstance(exc, MemoryError | tf.errors.ResourceExhaustedError)

    def setup(self) -> str:
        """Set threads, visible devices, memory growth, TF32 off and seeds; return the device.

        Everything here configures the runtime, so it must run before TensorFlow's first op.
        """
        spec = self.spec
        if spec.threads is not None:
            tf.config.threading.set_intra_op_parallelism_threads(spec.threads)
            tf.config.threading.set_inter_op_parallelism_threads(spec.threads)
        gpus = tf.config.list_physical_devices("GPU")
        index = _pick_gpu(spec.device, len(gpus))
        self._memory_growth: bool | None = None
        if index is None:
            if spec.precision == "fp16":
                raise RuntimeError(
                    "train.precision fp16 needs a CUDA device, and TensorFlow found none "
                    f"(device {spec.device!r}); use bf16 or fp32 on the CPU"
                )
            # hidden GPUs get no context and no reserved memory while the CPU is measured
            tf.config.set_visible_devices([], "GPU")
            self._tf_device, device = "/CPU:0", "cpu"
        elif self.dist is not None and self.dist.strategy == "tf_mirrored":
            # one process drives every GPU the launcher made visible
            for gpu in gpus:
                tf.config.experimental.set_memory_growth(gpu, True)
            self._memory_growth = True
            self._tf_device, device = "/GPU:0", f"cuda:0-{len(gpus) - 1}"
        else:
            # only the chosen GPU, growing on demand instead of TF's default grab-it-all, so the
            # memory the parent samples is what the model uses (PyTorch's allocator grows too)
            tf.config.set_visible_devices([gpus[index]], "GPU")
            tf.config.experimental.set_memory_growth(gpus[index], True)
            self._memory_growth = tf.config.experimental.get_memory_growth(gpus[index])
            self._tf_device, device = "/GPU:0", f"cuda:{index}"
        # TensorFlow turns TF32 on by default on Ampere and later; fp32 means fp32
        tf.config.experimental.enable_tensor_float_32_execution(False)
        keras.utils.set_random_seed(spec.seed)
        self._device = device
        # the strategy joins the cluster (TF_CONFIG) before any op runs
        self._strategy: tf.distribute.Strategy | None = None
        if self.dist is not None:
            self._strategy = (
                tf.distribute.MirroredStrategy()
                if self.dist.strategy == "tf_mirrored"
                else tf.distribute.MultiWorkerMirroredStrategy()
            )
        return device

    def _place(self) -> contextlib.AbstractContextManager[Any]:
        """Where variables and data go: the strategy's scope in a data-parallel run (it places
        them on its replicas), else the chosen device."""
        if self._strategy is not None:
            return self._strategy.scope()
        return tf.device(self._tf_device)

    def comm_description(self) -> str:
        """The all-reduce runs inside the step's graph: not timed apart from it."""
        if self._strategy is None:
            return "not measured"
        return (
            "not measured: the strategy's all-reduce runs inside the tf.function step's graph "
            "and cannot be timed apart from it without a trace"
        )

    def build(self, weights: ModelWeights | None, batches: list[Batch]) -> None:
        """Build the model (and a float32 twin for the parity loss), loss, optimizer, data."""
        spec = self.spec
        self._batches = batches
        with self._place():
            self._build_models(weights)
        with contextlib.nullcontext() if self._strategy is not None else self._place():
            self._parity_batch = (tf.identity(batches[0].x), tf.identity(batches[0].y))
            if spec.pipeline == "resident" and spec.loop == "step":
                resident = [self._replica_batch(b) for b in batches]
        # Keras's SGD and Adam apply weight decay decoupled (AdamW's rule); PyTorch's add it to
        # the gradient (L2). The step does the latter, so both frameworks train alike.
        builtin = not isinstance(spec.model, CustomSpec)
        self._l2 = spec.weight_decay if builtin and spec.optimizer != "adamw" else 0.0
        self._loss_share = 1.0  # each replica's part of the global mean (data-parallel runs)
        self._loss_unshare = 1.0  # back from that part to the replica's own loss, to report
        # Keras's Adam squares an IndexedSlices gradient (an embedding's) slice by slice before
        # the rows of a repeated token are summed: v gets sum(g^2), not (sum g)^2. Dense
        # gradients, as PyTorch's nn.Embedding has, give the Adam rule in both frameworks.
        self._densify = builtin and spec.optimizer in ("adam", "adamw") and spec.loop == "step"
        if spec.loop == "fit":
            # Keras's own train_step runs: no L2 term (the config refuses weight decay with
            # sgd/adam for fit) and Keras's sparse embedding gradients
            self._l2 = 0.0
            return
        self._step = tf.function(self._train_step, jit_compile=False)
        if self._strategy is not None:
            if spec.pipeline != "resident" and self.dist and self.dist.strategy == "tf_mirrored":
                raise RuntimeError(
                    "data.pipeline native is not supported with MirroredStrategy here: use "
                    "pipeline resident"
                )
            self._step = self._distributed_step(jit=False)
        if spec.pipeline == "resident":
            self._run_step = lambda i: self._step(*resident[i])
            return
        x, y = stacked(batches)
        dataset = (
            tf.data.Dataset.from_tensor_slices((x, y))
            .batch(spec.batch_size, drop_remainder=True)
            .repeat()
            .prefetch(tf.data.AUTOTUNE)
        )
        # as Keras's fit: next() inside a graph function, the (maybe XLA) step called from it
        step_on_iterator = tf.function(lambda it: self._step(*next(it)))
        iterator = iter(dataset)
        self._run_step = lambda _i: step_on_iterator(iterator)

    def _build_models(self, weights: ModelWeights | None) -> None:
        spec = self.spec
        # parity is measured in float32 in both frameworks: PyTorch's model is float32 outside
        # autocast, while a Keras model's compute dtype is fixed when it is built
        keras.config.set_dtype_policy("float32")
        self._parity_model, self.loss_fn, self.optimizer = self._make(weights)
        self.model = self._parity_model
        if spec.precision != "fp32":
            keras.config.set_dtype_policy(_POLICIES[spec.precision])
            self.model, self.loss_fn, self.optimizer = self._make(weights)
        if spec.precision == "fp16":
            self.optimizer = keras.optimizers.LossScaleOptimizer(self.optimizer, **_LOSS_SCALE)
        self.optimizer.build(self.model.trainable_variables)

    def loop_name(self) -> str:
        """``step`` (FrameDuel's tf.function step) or ``fit`` (Keras's ``model.fit``)."""
        return self.spec.loop

    def train_loop(self, emitter: EventEmitter) -> None:
        """The shared loop, or one ``model.fit`` call cut into the same phases and windows."""
        if self.spec.loop != "fit":
            super().train_loop(emitter)
            return
        if self.spec.trace_steps:
            emitter.emit(
                "log",
                level="warning",
                message="no trace phase with train.loop: fit (Keras's fit drives the steps); "
                "use loop: step to trace TensorFlow",
            )
        from workloads.tensorflow_fit import run_fit

        with tf.device(self._tf_device):
            run_fit(self, emitter, self._batches)

    def compile(self) -> None:
        """The step as ``tf.function(jit_compile=True)``: XLA, as ``compile(jit_compile=True)``."""
        self._step = (
            tf.function(self._train_step, jit_compile=True)
            if self._strategy is None
            else self._distributed_step(jit=True)
        )

    def _replica_batch(self, batch: Batch) -> tuple[Any, Any]:
        """A resident batch: this worker's tensors, or with MirroredStrategy one slice per
        local replica (``strategy.run`` would give every replica the same plain tensor)."""
        strategy = self._strategy
        if (
            strategy is None
            or strategy.num_replicas_in_sync == 1
            or (self.dist is not None and self.dist.strategy != "tf_mirrored")
        ):
            return tf.identity(batch.x), tf.identity(batch.y)
        n = strategy.num_replicas_in_sync
        size = len(batch.x) // n

        def part(array: Any) -> Any:
            return strategy.experimental_distribute_values_from_function(
                lambda ctx: tf.constant(
                    array[
                        ctx.replica_id_in_sync_group * size : (ctx.replica_id_in_sync_group + 1)
                        * size
                    ]
                )
            )

        return part(batch.x), part(batch.y)

    def _distributed_step(self, *, jit: bool) -> Any:
        """The step under the strategy: ``strategy.run`` on each replica, each replica's loss
        divided by the replica count so the summed gradients are the global batch's mean
        (what a custom training loop with tf.distribute does); returns this worker's loss."""
        strategy = self._strategy
        assert strategy is not None
        n = strategy.num_replicas_in_sync
        if isinstance(self.loss_fn, keras.losses.Loss):
            # A Keras Loss already divides by the replica count inside tf.distribute
            # (keras.src.losses.loss.scale_loss_for_distribution): dividing again would make the
            # summed gradients 1/n of the global batch's mean. Its value is reported times n,
            # the replica's own loss, as the other frameworks report their rank's.
            self._loss_share, self._loss_unshare = 1.0, float(n)
        else:  # a custom module's plain loss function is not scaled by Keras
            self._loss_share, self._loss_unshare = 1.0 / n, 1.0
        replica_step = tf.function(self._train_step, jit_compile=jit)

        def step(x: Any, y: Any) -> tf.Tensor:
            losses = strategy.experimental_local_results(strategy.run(replica_step, args=(x, y)))
            return tf.add_n(list(losses)) / len(losses)

        return tf.function(step)

    def _make(self, weights: ModelWeights | None) -> tuple[Any, Any, Any]:
        """(model, loss, optimizer) under the current dtype policy."""
        spec = self.spec
        if isinstance(spec.model, CustomSpec):
            return custom.build(spec.model.module, "tensorflow", spec.config)
        assert weights is not None
        model = build_model(spec.model, weights)
        if spec.loss == "mse":
            loss = keras.losses.MeanSquaredError()
        else:
            loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        return model, loss, self._optimizer()

    def _optimizer(self) -> Any:
        spec = self.spec
        if spec.optimizer == "adam":
            # Keras adds epsilon to sqrt(v) before bias correction, torch after: with 1e-8 on
            # both the two updates differ only while v is tiny
            return keras.optimizers.Adam(spec.lr, beta_1=0.9, beta_2=0.999, epsilon=1e-8)
        if spec.optimizer == "adamw":
            # decoupled decay w -= lr*wd*w before the Adam update, as torch.optim.AdamW
            return keras.optimizers.AdamW(
                spec.lr, weight_decay=spec.weight_decay, beta_1=0.9, beta_2=0.999, epsilon=1e-8
            )
        # Keras: v = m*v - lr*g; w += v. torch: b = m*b + g; w -= lr*b. Equal for constant lr.
        return keras.optimizers.SGD(spec.lr, momentum=spec.momentum)

    def _train_step(self, x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            loss = self.loss_fn(y, self.model(x, training=True))
            scaled = self.optimizer.scale_loss(loss * self._loss_share)
        grads = tape.gradient(scaled, variables)
        if self._densify:
            grads = [
                tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in grads
            ]
        if self._l2:
            grads = [g + self._l2 * v for g, v in zip(grads, variables, strict=True)]
        self.optimizer.apply_gradients(zip(grads, variables, strict=True))
        return loss * self._loss_unshare if self._loss_unshare != 1.0 else loss

    def param_count(self) -> int:
        """Trainable parameters (batch norm's moving statistics are not)."""
        return trainable_count(self.model)

    def parity_loss(self) -> float:
        """Loss on batch 0 with ``training=False`` (no dropout, moving stats), float32."""
        x, y = self._parity_batch
        with contextlib.nullcontext() if self._strategy is not None else self._place():
            loss = self.loss_fn(y, self._parity_model(x, training=False))
        return float(loss.numpy())

    def train_step(self, batch: int) -> tf.Tensor:
        """Run the traced step on resident batch ``batch``, or on the pipeline's next batch
        (the same one: tf.data yields them in order)."""
        # no tf.device scope per step: only the chosen device is visible, so TensorFlow's
        # default placement already runs the step there, as it would for a user
        return self._run_step(batch)

    def sync(self, loss: tf.Tensor) -> float:
        """Wait for every device to finish, then read the loss."""
        if self._device != "cpu":
            tf.test.experimental.sync_devices()
        return float(loss.numpy())

    def trace_start(self, folder: Path) -> None:
        """TensorFlow's profiler: host TraceMes (ops, executor, input pipeline), GPU kernels."""
        options = tf.profiler.experimental.ProfilerOptions(
            host_tracer_level=2, python_tracer_level=0, device_tracer_level=1
        )
        tf.profiler.experimental.start(str(folder / "xplane"), options=options)

    def trace_stop(self, folder: Path) -> tuple[str, list[Path]]:
        """The native XPlane (TensorBoard's profiler reads it) and its events as a Chrome trace,
        converted here by xprof, else by FrameDuel's own reader (see ``workloads.xplane``)."""
        tf.profiler.experimental.stop()
        from workloads.xplane import convert_xplane

        planes = sorted((folder / "xplane").rglob("*.xplane.pb"))
        if not planes:
            raise RuntimeError(f"TensorFlow's profiler wrote no .xplane.pb under {folder}")
        target = folder / "tensorflow.trace.json.gz"
        self._trace_converter = convert_xplane(planes[-1], target)
        return "xplane", [*planes, target]

    def trace_converter(self) -> tuple[str | None, str | None]:
        """xprof, or the own reader and why xprof did not convert."""
        return self._trace_converter

    def trace_marker(
        self, name: str, step: int | None = None
    ) -> contextlib.AbstractContextManager[Any]:
        """A TraceMe on the host timeline (a step annotation with ``step_num``)."""
        if step is None:
            return tf.profiler.experimental.Trace(name)
        return tf.profiler.experimental.Trace(name, step_num=step, _r=1)

    def device_name(self) -> str | None:
        """The GPU's name; None on the CPU."""
        return _gpu_name() if self._device != "cpu" else None

    def settings(self) -> dict[str, Any]:
        """Threads, device, TF32, graph/XLA, determinism, pipeline and Keras settings."""
        intra = tf.config.threading.get_intra_op_parallelism_threads()
        inter = tf.config.threading.get_inter_op_parallelism_threads()
        policy = keras.config.dtype_policy().name
        return {
            "framework": "tensorflow",
            # 0 means TensorFlow picks (one thread per available CPU): reported as null
            "intra_op_threads": intra or None,
            "inter_op_threads": inter or None,
            "threads_requested": self.spec.threads,
            "device": self._device,
            "device_name": self.device_name() or "cpu",
            "cuda_version": tf.sysconfig.get_build_info().get("cuda_version"),
            "tf32": tf.config.experimental.tensor_float_32_execution_enabled(),
            "execution": _execution(self.spec.loop, self.spec.compile),
            "jit_compile": self.spec.compile,
            "compiler": "XLA" if self.spec.compile else None,
            "xla_flags": os.environ.get("TF_XLA_FLAGS"),
            "mixed_precision": None if policy == "float32" else f"keras policy {policy}",
            "loss_scaling": (
                "LossScaleOptimizer(initial_scale=65536, dynamic_growth_steps=2000)"
                if self.spec.precision == "fp16"
                else None
            ),
            "cudnn_autotune": os.environ.get("TF_CUDNN_USE_AUTOTUNE") == "1",
            "deterministic": _op_determinism(),
            "onednn": _onednn_enabled(),
            "gpu_memory": "memory growth" if self._memory_growth else None,
            "input_pipeline": (
                "tf.data from_tensor_slices.batch(drop_remainder).repeat.prefetch(AUTOTUNE)"
                if self.spec.pipeline == "native" or self.spec.loop == "fit"
                else "resident tensors"
            ),
            "data_parallel": None
            if self._strategy is None or self.dist is None
            else f"{type(self._strategy).__name__} ({self._strategy.num_replicas_in_sync} "
            f"replicas, {self.dist.world_size} worker process(es))",
            "keras_version": keras.__version__,
            "keras_backend": keras.config.backend(),
            "dtype_policy": policy,
            "weight_decay_as_l2_gradient": bool(self._l2),
            "dense_embedding_gradients": self._densify,
            "optimizer": _optimizer_settings(self.optimizer),
            "loss_fn": type(self.loss_fn).__name__,
            **_attention(self.spec.model),
        }

    def memory(self) -> tuple[int | None, int | None]:
        """TensorFlow's GPU allocator current and peak bytes; unknown on the CPU."""
        if self._device == "cpu":
            return None, None
        info = tf.config.experimental.get_memory_info("GPU:0")
        return int(info["current"]), int(info["peak"])


def _attention(model: ModelSpec) -> dict[str, str]:
    """``{"attention": how}`` for a family with attention blocks; empty otherwise."""
    how = None if isinstance(model, CustomSpec) else attention_implementation(model)
    return {} if how is None else {"attention": how}


def _execution(loop: str, jit: bool) -> str:
    if loop == "fit":
        return f"keras Model.fit (compile(jit_compile={jit}), verbose=0)"
    return "tf.function(jit_compile=True)" if jit else "tf.function"


def _optimizer_settings(optimizer: Any) -> dict[str, Any]:
    """The optimizer's config, named by its class (Keras's ``name`` is per instance: a second
    Adam in the process is "adam_1"); a loss-scale wrapper adds its own settings."""
    inner = getattr(optimizer, "inner_optimizer", None)
    base = optimizer if inner is None else inner
    settings: dict[str, Any] = {**base.get_config(), "name": type(base).__name__}
    if inner is not None:
        wrapper = optimizer.get_config()
        settings["loss_scale"] = {
            k: wrapper[k] for k in ("initial_scale", "dynamic_growth_steps") if k in wrapper
        }
    return settings


def _pick_gpu(requested: str, n_gpus: int) -> int | None:
    """The GPU index to use, or None for the CPU; an explicit cuda must exist."""
    if requested == "cpu" or (requested == "auto" and n_gpus == 0):
        return None
    index = 0 if requested in ("auto", "cuda") else int(requested.split(":", 1)[1])
    if index >= n_gpus:
        raise RuntimeError(
            f"device {requested!r} was asked for but TensorFlow {tf.__version__} sees "
            f"{n_gpus} GPU(s) (built with CUDA: {tf.test.is_built_with_cuda()})"
        )
    return index


def _gpu_name() -> str | None:
    try:
        details = tf.config.experimental.get_device_details(tf.config.get_visible_devices("GPU")[0])
    except (IndexError, ValueError, RuntimeError):
        return None
    name = details.get("device_name")
    return str(name) if name is not None else None


def _op_determinism() -> bool | None:
    # TensorFlow has a public setter but no public getter
    try:
        from tensorflow.python.framework import config as tf_config

        return bool(tf_config.is_op_determinism_enabled())
    except (ImportError, AttributeError):
        return None


def _onednn_enabled() -> bool | None:
    # oneDNN is on by default on x86 Linux unless TF_ENABLE_ONEDNN_OPTS=0; it changes kernels
    try:
        from tensorflow.python.util import _pywrap_util_port

        return bool(_pywrap_util_port.IsMklEnabled())
    except (ImportError, AttributeError):
        return None


WORKLOAD = TensorFlowWorkload
