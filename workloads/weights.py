"""Framework-neutral initial weights and synthetic data, drawn with NumPy from the config's seed.

Every framework loads the same arrays into its own layout, so a comparison starts from the same
model and sees the same batches in the same order: the first-batch loss agrees across frameworks
up to float32 rounding, and any later difference comes from the frameworks themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from workloads.spec import MLPSpec

Float32Array = npt.NDArray[np.float32]
Int64Array = npt.NDArray[np.int64]

# spawn_key of the data's generator: a stream of its own, so the data is the same whatever the
# model's layer sizes (which decide how many numbers the weights' generator draws).
_DATA_STREAM = 1


@dataclass(frozen=True)
class DenseWeights:
    """One dense layer: ``kernel`` of shape (in, out) and ``bias`` of shape (out,), float32."""

    kernel: Float32Array
    bias: Float32Array


@dataclass(frozen=True)
class Batch:
    """One training batch: ``x`` float32 (batch, input_dim), ``y`` int64 labels (batch,)."""

    x: Float32Array
    y: Int64Array


def mlp_weights(model: MLPSpec, seed: int) -> list[DenseWeights]:
    """Initial weights of every dense layer, input to output, from ``default_rng(seed)``.

    Kernel and bias are drawn from U(-1/sqrt(in), 1/sqrt(in)), PyTorch's default for
    ``nn.Linear`` (kaiming_uniform with a=sqrt(5) works out to that bound). Layers are drawn in
    order, kernel then bias, each kernel in row-major (in, out) order.
    """
    rng = np.random.default_rng(seed)
    layers = []
    for fan_in, fan_out in model.layer_sizes():
        bound = 1.0 / math.sqrt(fan_in)
        kernel = rng.uniform(-bound, bound, size=(fan_in, fan_out)).astype(np.float32)
        bias = rng.uniform(-bound, bound, size=fan_out).astype(np.float32)
        layers.append(DenseWeights(kernel=kernel, bias=bias))
    return layers


def synthetic_data(model: MLPSpec, samples: int, seed: int) -> tuple[Float32Array, Int64Array]:
    """Inputs x ~ N(0, 1) float32 (samples, input_dim) and int64 labels in [0, num_classes).

    Drawn from a generator derived from ``seed`` but separate from the weights' one, so the
    data depends only on the seed, ``samples``, ``input_dim`` and ``num_classes``.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_DATA_STREAM,)))
    x = rng.standard_normal((samples, model.input_dim), dtype=np.float32)
    y = rng.integers(0, model.num_classes, size=samples, dtype=np.int64)
    return x, y


def make_batches(x: Float32Array, y: Int64Array, batch_size: int) -> list[Batch]:
    """Split the data into ``max(1, samples // batch_size)`` batches of ``batch_size`` rows.

    Batch b holds rows b*batch_size onwards. Rows that do not fill a last batch are dropped;
    when there are fewer samples than one batch, rows repeat from the start to fill it.
    """
    samples = len(x)
    n_batches = max(1, samples // batch_size)
    offsets = np.arange(batch_size)
    batches = []
    for b in range(n_batches):
        rows = (b * batch_size + offsets) % samples
        batches.append(Batch(x=np.ascontiguousarray(x[rows]), y=np.ascontiguousarray(y[rows])))
    return batches
