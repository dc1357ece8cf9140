"""TensorFlow workload: a Keras 3 ``Sequential`` MLP trained by a ``tf.function`` step.

The step is what ``keras.Model.train_step`` does on the TensorFlow backend (GradientTape, then
``optimizer.apply_gradients``), written out so the shared loop, not ``fit``, decides when the host
waits for the device. Imported only by the worker, inside the child.
"""

from __future__ import annotations

import os

# Both must be set before TensorFlow and Keras are first imported: C++ INFO/WARNING lines only
# clutter the child's log, and this workload is the TensorFlow backend whatever the user's
# KERAS_BACKEND says. KERAS_HOME, set by the parent, keeps Keras's config out of the home dir.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["KERAS_BACKEND"] = "tensorflow"

import functools
from typing import Any

import keras
import tensorflow as tf

from workloads.base import Workload
from workloads.weights import Batch, DenseWeights

_ACTIVATIONS: dict[str, Any] = {
    "relu": keras.activations.relu,
    # exact erf GELU, as torch's nn.GELU(approximate="none"); Keras's default has changed before
    "gelu": functools.partial(keras.activations.gelu, approximate=False),
    "tanh": keras.activations.tanh,
}


class TensorFlowWorkload(Workload[tf.Tensor]):
    """The MLP in Keras 3 on TensorFlow: SparseCategoricalCrossentropy(from_logits), SGD/Adam."""

    framework = "tensorflow"

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
            # hidden GPUs get no context and no reserved memory while the CPU is measured
            tf.config.set_visible_devices([], "GPU")
            self._tf_device, device = "/CPU:0", "cpu"
        else:
            # only the chosen GPU, growing on demand instead of TF's default grab-it-all, so the
            # memory the parent samples is what the model uses
            tf.config.set_visible_devices([gpus[index]], "GPU")
            tf.config.experimental.set_memory_growth(gpus[index], True)
            self._memory_growth = tf.config.experimental.get_memory_growth(gpus[index])
            self._tf_device, device = "/GPU:0", f"cuda:{index}"
        # TensorFlow turns TF32 on by default on Ampere and later; fp32 means fp32
        tf.config.experimental.enable_tensor_float_32_execution(False)
        keras.utils.set_random_seed(spec.seed)
        self._device = device
        return device

    def build(self, weights: list[DenseWeights], batches: list[Batch]) -> None:
        """Build the MLP, load the neutral weights, trace nothing yet, place the batches."""
        model = self.spec.model
        activation = _ACTIVATIONS[model.activation]
        with tf.device(self._tf_device):
            layers: list[Any] = [keras.Input(shape=(model.input_dim,), dtype="float32")]
            dense = []
            for n, w in enumerate(weights):
                last = n == len(weights) - 1
                layer = keras.layers.Dense(
                    w.kernel.shape[1], activation=None if last else activation
                )
                dense.append(layer)
                layers.append(layer)
                if not last and model.dropout > 0:
                    layers.append(keras.layers.Dropout(model.dropout))
            self.model = keras.Sequential(layers)
            for layer, w in zip(dense, weights, strict=True):
                # Keras's Dense kernel is (in, out), the neutral layout: no transpose
                layer.set_weights([w.kernel, w.bias])
            self.loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
            self.optimizer = self._optimizer()
            self.optimizer.build(self.model.trainable_variables)
            self._batches = [(tf.identity(b.x), tf.identity(b.y)) for b in batches]
        self._step = tf.function(self._train_step, jit_compile=False)

    def _optimizer(self) -> Any:
        spec = self.spec
        if spec.optimizer == "adam":
            # Keras adds epsilon to sqrt(v) before bias correction, torch after: with 1e-8 on
            # both the two updates differ only while v is tiny
            return keras.optimizers.Adam(
                learning_rate=spec.lr, beta_1=0.9, beta_2=0.999, epsilon=1e-8
            )
        # Keras: v = m*v - lr*g; w += v. torch: b = m*b + g; w -= lr*b. Equal for constant lr.
        return keras.optimizers.SGD(learning_rate=spec.lr, momentum=spec.momentum)

    def _train_step(self, x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            logits = self.model(x, training=True)
            loss = self.loss_fn(y, logits)
        variables = self.model.trainable_variables
        grads = tape.gradient(loss, variables)
        self.optimizer.apply_gradients(zip(grads, variables, strict=True))
        return loss

    def param_count(self) -> int:
        """Keras's count of the model's parameters (all trainable here)."""
        return int(self.model.count_params())

    def parity_loss(self) -> float:
        """Loss on batch 0 with ``training=False`` (dropout off), eagerly, no update."""
        x, y = self._batches[0]
        with tf.device(self._tf_device):
            loss = self.loss_fn(y, self.model(x, training=False))
        return float(loss.numpy())

    def train_step(self, batch: int) -> tf.Tensor:
        """Call the traced step on a resident batch; returns the loss tensor unread."""
        # no tf.device scope per step: only the chosen device is visible, so TensorFlow's
        # default placement already runs the step there, as it would for a user
        x, y = self._batches[batch]
        return self._step(x, y)

    def sync(self, loss: tf.Tensor) -> float:
        """Wait for every device to finish, then read the loss."""
        if self._device != "cpu":
            tf.test.experimental.sync_devices()
        return float(loss.numpy())

    def settings(self) -> dict[str, Any]:
        """Threads, device, TF32, graph/jit, determinism and Keras settings in effect."""
        intra = tf.config.threading.get_intra_op_parallelism_threads()
        inter = tf.config.threading.get_inter_op_parallelism_threads()
        return {
            "framework": "tensorflow",
            # 0 means TensorFlow picks (one thread per available CPU): reported as null
            "intra_op_threads": intra or None,
            "inter_op_threads": inter or None,
            "threads_requested": self.spec.threads,
            "device": self._device,
            "device_name": _gpu_name() if self._device != "cpu" else "cpu",
            "cuda_version": tf.sysconfig.get_build_info().get("cuda_version"),
            "tf32": tf.config.experimental.tensor_float_32_execution_enabled(),
            "execution": "tf.function",
            "compile": False,
            "jit_compile": False,
            "deterministic": _op_determinism(),
            "onednn": _onednn_enabled(),
            "gpu_memory_growth": self._memory_growth,
            "keras_version": keras.__version__,
            "keras_backend": keras.config.backend(),
            "dtype_policy": keras.config.dtype_policy().name,
            "optimizer": self.optimizer.get_config(),
            "loss": "SparseCategoricalCrossentropy(from_logits=True, sum_over_batch_size)",
        }

    def memory(self) -> tuple[int | None, int | None]:
        """TensorFlow's GPU allocator current and peak bytes; unknown on the CPU."""
        if self._device == "cpu":
            return None, None
        info = tf.config.experimental.get_memory_info("GPU:0")
        return int(info["current"]), int(info["peak"])


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
