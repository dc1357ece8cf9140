"""The framework-neutral weights and data: shapes, bounds, and determinism from the seed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from workloads.spec import MLPSpec
from workloads.weights import make_batches, mlp_weights, synthetic_data

MLP = MLPSpec(input_dim=16, hidden=(8, 5), activation="relu", dropout=0.0, num_classes=3)


def test_weight_shapes_dtypes_and_bounds() -> None:
    layers = mlp_weights(MLP, seed=0)
    assert [w.kernel.shape for w in layers] == [(16, 8), (8, 5), (5, 3)]
    assert [w.bias.shape for w in layers] == [(8,), (5,), (3,)]
    for w in layers:
        assert w.kernel.dtype == np.float32
        assert w.bias.dtype == np.float32
        bound = 1 / math.sqrt(w.kernel.shape[0])
        assert np.abs(w.kernel).max() <= bound
        assert np.abs(w.bias).max() <= bound
    assert sum(w.kernel.size + w.bias.size for w in layers) == MLP.param_count() == 199


def test_weights_are_uniform_over_the_whole_range() -> None:
    wide = MLPSpec(input_dim=400, hidden=(300,), activation="relu", dropout=0.0, num_classes=2)
    kernel = mlp_weights(wide, seed=1)[0].kernel
    bound = 1 / math.sqrt(400)
    assert kernel.min() == pytest.approx(-bound, rel=1e-2)
    assert kernel.max() == pytest.approx(bound, rel=1e-2)
    assert abs(float(kernel.mean())) < 1e-3
    # U(-b, b) has standard deviation b / sqrt(3)
    assert float(kernel.std()) == pytest.approx(bound / math.sqrt(3), rel=1e-2)


def test_weights_are_determined_by_the_seed() -> None:
    a, b, c = (mlp_weights(MLP, seed) for seed in (3, 3, 4))
    for wa, wb in zip(a, b, strict=True):
        np.testing.assert_array_equal(wa.kernel, wb.kernel)
        np.testing.assert_array_equal(wa.bias, wb.bias)
    assert not np.array_equal(a[0].kernel, c[0].kernel)


def test_data_shapes_and_ranges() -> None:
    x, y = synthetic_data(MLP, samples=5000, seed=0)
    assert x.shape == (5000, 16)
    assert x.dtype == np.float32
    assert y.shape == (5000,)
    assert y.dtype == np.int64
    assert set(np.unique(y).tolist()) == {0, 1, 2}
    assert abs(float(x.mean())) < 0.02
    assert float(x.std()) == pytest.approx(1.0, abs=0.02)


def test_data_is_determined_by_the_seed_not_the_model_size() -> None:
    x1, y1 = synthetic_data(MLP, samples=64, seed=5)
    wider = MLPSpec(input_dim=16, hidden=(300, 7, 2), activation="tanh", dropout=0.5, num_classes=3)
    x2, y2 = synthetic_data(wider, samples=64, seed=5)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    x3, _ = synthetic_data(MLP, samples=64, seed=6)
    assert not np.array_equal(x1, x3)


def test_data_does_not_reuse_the_weights_stream() -> None:
    square = MLPSpec(input_dim=4, hidden=(4,), activation="relu", dropout=0.0, num_classes=4)
    x, _ = synthetic_data(square, samples=4, seed=0)
    raw = np.random.default_rng(0).standard_normal((4, 4), dtype=np.float32)
    assert not np.array_equal(x, raw)


def test_batches_drop_the_remainder_in_order() -> None:
    x, y = synthetic_data(MLP, samples=70, seed=0)
    batches = make_batches(x, y, batch_size=8)
    assert len(batches) == 8  # 70 // 8; the last 6 rows are dropped
    for b, batch in enumerate(batches):
        np.testing.assert_array_equal(batch.x, x[b * 8 : (b + 1) * 8])
        np.testing.assert_array_equal(batch.y, y[b * 8 : (b + 1) * 8])
        assert batch.x.flags.c_contiguous


def test_batches_wrap_when_there_are_fewer_samples_than_a_batch() -> None:
    x, y = synthetic_data(MLP, samples=3, seed=0)
    (batch,) = make_batches(x, y, batch_size=8)
    np.testing.assert_array_equal(batch.y, y[[0, 1, 2, 0, 1, 2, 0, 1]])
    assert batch.x.shape == (8, 16)


def test_flops_estimate() -> None:
    assert MLP.flops_per_sample() == 6 * (16 * 8 + 8 * 5 + 5 * 3)
