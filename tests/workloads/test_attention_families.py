"""The gpt, vit and bert families without a framework: published parameter counts, FLOPs by
the usual formulas, next-token data, and the configs that cannot run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from profiler.config import ConfigError, load_config
from profiler.presets import PRESETS
from workloads.architectures import BERTSpec, GPTSpec, ViTSpec
from workloads.data import load_npz, make_batches, synthetic_data
from workloads.spec import SpecError, model_spec, parse_spec
from workloads.weights import count_params, initial_weights


def _preset(name: str, **changes: Any) -> Any:
    return model_spec({**PRESETS[name], **changes})


def test_presets_have_the_published_counts() -> None:
    # GPT-2 small as Hugging Face counts "gpt2" (tied head); torchvision's vit_b_16;
    # BertModel (bert-base-uncased: 109,482,240 with the pooler) + a 2-label classifier
    assert _preset("gpt2-small").param_count() == 124_439_808
    assert _preset("vit-b16").param_count() == 86_567_656
    assert _preset("bert-base").param_count() == 109_482_240 + 768 * 2 + 2
    # without the pooler (768 x 768 + 768) BertModel is 108,891,648
    bert = _preset("bert-base")
    assert bert.param_count() - (768 * 768 + 768) - (768 * 2 + 2) == 108_891_648


def test_gpt_flops_are_palms_formula() -> None:
    # PaLM (Chowdhery et al. 2022, appendix B): 6 N + 12 L d s FLOPs per token, N the matmul
    # parameters (12 L d^2 in the blocks with ff = 4d, and the d x vocab LM head)
    gpt = _preset("gpt2-small")
    assert isinstance(gpt, GPTSpec)
    n, d, layers, s = 12 * 12 * 768**2 + 768 * 50257, 768, 12, 1024
    assert gpt.flops_per_sample() == s * (6 * n + 12 * layers * d * s)
    # the sequence-length term: doubling seq_len more than doubles the FLOPs per sample
    longer = _preset("gpt2-small", seq_len=2048, max_positions=2048)
    assert longer.flops_per_sample() > 2 * gpt.flops_per_sample()


def test_vit_and_bert_flops() -> None:
    vit = _preset("vit-b16")
    assert isinstance(vit, ViTSpec)
    assert (vit.grid, vit.seq_len) == ((14, 14), 197)
    per_token = 4 * 768**2 + 2 * 768 * 3072 + 2 * 197 * 768
    patches = 196 * 16 * 16 * 3 * 768
    assert vit.flops_per_sample() == 6 * (patches + 197 * 12 * per_token + 768 * 1000)
    # torchvision's docs list 17.56 "GFLOPS" for vit_b_16: forward multiply-accumulates, as
    # fvcore counts them (a MAC is 6 training FLOPs here)
    assert 17.55e9 < vit.flops_per_sample() / 6 < 17.57e9
    bert = _preset("bert-base")
    assert isinstance(bert, BERTSpec)
    per_token = 4 * 768**2 + 2 * 768 * 3072 + 2 * 128 * 768
    assert bert.flops_per_sample() == 6 * (128 * 12 * per_token + 768 * 768 + 768 * 2)


@pytest.mark.parametrize(
    "spec",
    [
        GPTSpec(37, 9, 11, 12, heads=3, layers=2, ff_dim=48, dropout=0.0),
        ViTSpec((13, 11, 3), 4, 12, heads=3, layers=2, ff_dim=7, dropout=0.0, num_classes=5),
        BERTSpec(29, 9, 13, 3, 10, heads=5, layers=2, ff_dim=7, dropout=0.1, num_classes=3),
    ],
    ids=["gpt", "vit", "bert"],
)
def test_neutral_weights_hold_the_analytic_count(spec: Any) -> None:
    assert count_params(initial_weights(spec, 0)) == spec.param_count()


def test_vit_drops_the_remainder_of_the_image() -> None:
    vit = ViTSpec((13, 11, 3), 4, 12, heads=3, layers=1, ff_dim=7, dropout=0.0, num_classes=5)
    assert (vit.grid, vit.seq_len) == ((3, 2), 7)
    assert initial_weights(vit, 0).position_embedding.shape == (7, 12)  # type: ignore[union-attr]


def test_gpt_targets_are_the_inputs_shifted_by_one() -> None:
    gpt = GPTSpec(23, 7, 7, 10, heads=5, layers=1, ff_dim=13, dropout=0.0)
    x, y = synthetic_data(gpt, 12, seed=3)
    assert x.shape == y.shape == (12, 7)
    assert x.dtype == y.dtype == np.int64
    np.testing.assert_array_equal(x[:, 1:], y[:, :-1])
    assert x.min() >= 0 and max(x.max(), y.max()) < 23
    # batches keep each sample's target row with its input row
    batch = make_batches(x, y, 5)[1]
    np.testing.assert_array_equal(batch.x[:, 1:], batch.y[:, :-1])


def test_gpt_npz_targets_must_be_token_sequences(tmp_path: Path) -> None:
    gpt = GPTSpec(23, 7, 7, 10, heads=5, layers=1, ff_dim=13, dropout=0.0)
    path = tmp_path / "d.npz"
    np.savez(path, x=np.zeros((4, 7), np.int64), y=np.zeros(4, np.int64))
    with pytest.raises(SpecError, match=r"y \(4,\) does not fit the model's targets \(N, 7\)"):
        load_npz(str(path), gpt, None, "cross_entropy")
    np.savez(path, x=np.zeros((4, 7), np.int64), y=np.full((4, 7), 23))
    with pytest.raises(SpecError, match=r"labels in y must lie in \[0, 23\)"):
        load_npz(str(path), gpt, None, "cross_entropy")


def _spec_text(model: dict[str, Any], loss: str = "cross_entropy") -> str:
    config = {
        "model": model,
        "data": {"samples": 8},
        "train": {
            "batch_size": 4,
            "steps": 3,
            "warmup_steps": 1,
            "loss": loss,
            "optimizer": {"name": "sgd", "lr": 0.1},
        },
    }
    return json.dumps({"config": config, "window_steps": 1})


def test_a_hand_written_spec_fills_the_defaults() -> None:
    gpt = parse_spec(
        _spec_text(
            {"family": "gpt", "vocab_size": 9, "seq_len": 5, "d_model": 6, "heads": 3, "layers": 1}
        )
    ).model
    assert isinstance(gpt, GPTSpec)
    assert (gpt.ff_dim, gpt.max_positions) == (24, 5)
    with pytest.raises(SpecError, match="next-token cross_entropy"):
        parse_spec(_spec_text({**PRESETS["gpt2-small"], "seq_len": 4}, loss="mse"))
    with pytest.raises(SpecError, match="max_positions must be at least"):
        parse_spec(_spec_text({**PRESETS["bert-base"], "seq_len": 600}))


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("model", "extra", "field", "words"),
    [
        ("{preset: gpt2-small, seq_len: 2048}", "", "model.max_positions", "cannot cover"),
        ("{preset: gpt2-small, heads: 7}", "", "model.heads", "do not divide"),
        ("{preset: gpt2-small}", "train: {loss: mse}\n", "train.loss", "cross_entropy"),
        ("{preset: vit-b16, patch: 300}", "", "model.patch", "larger than the 224x224"),
        ("{preset: bert-base, num_classes: 1}", "", "model.num_classes", "greater"),
    ],
)
def test_configs_that_cannot_run_are_refused(
    tmp_path: Path, model: str, extra: str, field: str, words: str
) -> None:
    text = f"name: c\ndevice: cpu\nmodel: {model}\n{extra}"
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, text))
    assert err.value.field == field, str(err.value)
    assert words in err.value.message


def test_a_preset_resolves_to_the_whole_architecture(tmp_path: Path) -> None:
    text = "name: c\ndevice: cpu\nmodel: {preset: bert-base, layers: 2}\ntrain: {batch_size: 2}\n"
    model = load_config(_write(tmp_path, text)).model.model_dump()
    assert model == {**PRESETS["bert-base"], "layers": 2, "preset": "bert-base"}


def test_a_gpt_npz_file_is_checked_before_the_run(tmp_path: Path) -> None:
    base = "name: c\ndevice: cpu\nmodel: {preset: gpt2-small, seq_len: 6, layers: 1}\n"
    text = base + "data: {kind: npz, path: d.npz}\n"
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 6), np.int64), y=np.zeros(4, np.int64))
    with pytest.raises(ConfigError) as err:
        load_config(_write(tmp_path, text))
    assert err.value.field == "data.path"
    assert "the next token at every position" in err.value.message
    np.savez(tmp_path / "d.npz", x=np.zeros((4, 6), np.int64), y=np.ones((4, 6), np.int32))
    assert load_config(_write(tmp_path, text)).data.path == str(tmp_path / "d.npz")
