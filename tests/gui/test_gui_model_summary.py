"""The side panel's one-line summary of the gpt, vit and bert examples (after the preset they
start from)."""

from __future__ import annotations

import pytest

from gui.side_panel import describe_model
from profiler.config import load_config
from profiler.paths import resources_dir


@pytest.mark.parametrize(
    ("name", "summary"),
    [
        ("gpt-small", "gpt2-small: GPT 2×d128 (4 heads), seq 64, vocab 1024"),
        ("vit-small", "vit-b16: ViT 2×d96 (3 heads), 32×32×3/4 → 10"),
        ("bert-small", "bert-base: BERT 2×d128 (4 heads), seq 64 → 2"),
    ],
)
def test_summary_names_the_family_and_shape(name: str, summary: str) -> None:
    config = load_config(resources_dir() / "configs" / f"{name}.yaml")
    assert describe_model(config.model) == summary
