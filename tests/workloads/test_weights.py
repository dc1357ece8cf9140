"""The framework-neutral weights and data: shapes, bounds, counts and determinism from the seed."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from workloads.architectures import (
    BuiltinSpec,
    CNNSpec,
    ConvSpec,
    MLPSpec,
    RNNSpec,
    TransformerSpec,
)
from workloads.data import load_npz, make_batches, synthetic_data
from workloads.spec import SpecError
from workloads.weights import (
    CNNWeights,
    RNNWeights,
    TransformerWeights,
    count_params,
    initial_weights,
    mlp_weights,
)

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


CNN = CNNSpec(
    input_hwc=(9, 7, 3),
    conv=(ConvSpec(4, 3, pool=2), ConvSpec(5, 2, stride=2, padding="valid")),
    batch_norm=True,
    dense=(6,),
    num_classes=3,
)
TRANSFORMER = TransformerSpec(
    vocab_size=11, seq_len=5, d_model=12, heads=3, layers=2, ff_dim=7, dropout=0.0, num_classes=3
)
LSTM = RNNSpec("lstm", vocab_size=11, seq_len=5, embed_dim=6, hidden=7, layers=2, num_classes=3)
GRU = RNNSpec("gru", vocab_size=11, seq_len=5, embed_dim=6, hidden=7, layers=2, num_classes=3)

SHAPES = [
    MLP,
    MLPSpec(input_dim=1, hidden=(1,), activation="tanh", dropout=0.0, num_classes=2),
    CNN,
    CNNSpec((8, 8, 1), (ConvSpec(3, 2),), batch_norm=False, dense=(), num_classes=2),
    CNNSpec(
        (11, 10, 2), (ConvSpec(6, 5, padding="valid", pool=3),), False, dense=(5, 4), num_classes=5
    ),
    TRANSFORMER,
    TransformerSpec(7, 3, 6, heads=1, layers=1, ff_dim=5, dropout=0.1, num_classes=2),
    TransformerSpec(13, 9, 10, heads=5, layers=3, ff_dim=11, dropout=0.0, num_classes=4),
    LSTM,
    GRU,
    RNNSpec("lstm", vocab_size=5, seq_len=7, embed_dim=3, hidden=5, layers=1, num_classes=2),
    RNNSpec("gru", vocab_size=9, seq_len=4, embed_dim=5, hidden=3, layers=3, num_classes=4),
]


@pytest.mark.parametrize("model", SHAPES, ids=lambda m: f"{m.family}-{m.param_count()}")
def test_neutral_weights_hold_the_analytic_parameter_count(model: BuiltinSpec) -> None:
    assert count_params(initial_weights(model, seed=0)) == model.param_count()


def test_analytic_counts_by_hand() -> None:
    # conv 3*3*3*4 (+ bn 8), conv 2*2*4*5 (+ bn 10); 9x7 -> pool 4x3 -> valid k2 s2 -> 2x1x5
    assert CNN.flat_shape() == (2, 1, 5)
    assert CNN.param_count() == (108 + 8) + (80 + 10) + (10 * 6 + 6) + (6 * 3 + 3)
    # embeddings 11*12 + 5*12; per block 4*144+48 + 2*24 + (12*7+7) + (7*12+12); norm; head
    assert TRANSFORMER.param_count() == 132 + 60 + 2 * (624 + 48 + 91 + 96) + 24 + 39
    # embedding 66; layer 1: 4*7*(6+7) + 4*7 (one bias); layer 2: 4*7*(7+7) + 28; head 7*3+3
    assert LSTM.param_count() == 66 + (364 + 28) + (392 + 28) + 24
    # the GRU keeps two biases: 3*7*(6+7) + 2*21, 3*7*(7+7) + 2*21
    assert GRU.param_count() == 66 + (273 + 42) + (294 + 42) + 24


def test_flops_by_hand() -> None:
    # conv 1: 9x7 outputs x 3x3x3x4; conv 2: 2x1 outputs x 2x2x4x5; dense 10x6 and 6x3
    assert CNN.flops_per_sample() == 6 * (63 * 108 + 2 * 80 + 60 + 18)
    # per token and block 4*12^2 + 2*12*7 + 2*5*12, 5 tokens, 2 blocks; head 12*3
    assert TRANSFORMER.flops_per_sample() == 6 * (2 * 5 * (576 + 168 + 120) + 36)
    assert LSTM.flops_per_sample() == 6 * (5 * (28 * 13 + 28 * 14) + 21)


def test_layouts_of_the_neutral_weights() -> None:
    cnn = initial_weights(CNN, seed=0)
    assert isinstance(cnn, CNNWeights)
    assert [c.kernel.shape for c in cnn.conv] == [(3, 3, 3, 4), (2, 2, 4, 5)]
    assert all(c.bias is None and c.norm is not None for c in cnn.conv)
    assert cnn.dense[0].kernel.shape == (10, 6)
    transformer = initial_weights(TRANSFORMER, seed=0)
    assert isinstance(transformer, TransformerWeights)
    attention = transformer.blocks[0].attention
    assert attention.query.kernel.shape == attention.output.kernel.shape == (12, 12)
    assert not attention.key.bias.any()  # PyTorch's MultiheadAttention starts with zero biases
    lstm, gru = initial_weights(LSTM, seed=0), initial_weights(GRU, seed=0)
    assert isinstance(lstm, RNNWeights) and isinstance(gru, RNNWeights)
    assert lstm.layers[1].kernel.shape == (7, 28)
    assert lstm.layers[0].recurrent_bias is None
    assert gru.layers[0].recurrent_bias is not None
    assert gru.layers[0].recurrent_kernel.shape == (7, 21)


def test_tokens_and_regression_targets() -> None:
    x, y = synthetic_data(TRANSFORMER, samples=300, seed=0)
    assert x.shape == (300, 5) and x.dtype == np.int64
    assert x.min() == 0 and x.max() == 10
    _, y = synthetic_data(TRANSFORMER, samples=300, seed=0, loss="mse")
    assert y.shape == (300, 3) and y.dtype == np.float32
    images, _ = synthetic_data(CNN, samples=4, seed=0)
    assert images.shape == (4, 9, 7, 3)


TRANSFORMER_4 = TransformerSpec(11, 4, 6, heads=2, layers=1, ff_dim=5, dropout=0.0, num_classes=3)


def test_npz_data_is_cast_and_checked(tmp_path: Path) -> None:
    path = str(tmp_path / "d.npz")
    x = np.arange(20, dtype=np.float64).reshape(5, 4) % 11
    np.savez(path, x=x.astype(np.int32), y=np.array([0, 1, 2, 1, 0], dtype=np.uint8))
    xs, ys = load_npz(path, TRANSFORMER_4, samples=3, loss="cross_entropy")
    assert xs.dtype == np.int64 and xs.shape == (3, 4)
    assert ys.dtype == np.int64 and ys.tolist() == [0, 1, 2]
    np.savez(path, x=x.astype(np.int32), y=np.array([0, 1, 2, 3, 0]))
    with pytest.raises(SpecError, match=r"config.data.path: labels in y must lie in \[0, 3\)"):
        load_npz(path, TRANSFORMER_4, samples=None, loss="cross_entropy")
    np.savez(path, x=x.astype(np.int32) + 5, y=np.zeros(5, np.int64))
    with pytest.raises(SpecError, match=r"token ids in x must lie in \[0, 11\)"):
        load_npz(path, TRANSFORMER_4, samples=None, loss="cross_entropy")
