"""Named model presets: the architectures people benchmark, as starting points for a config.

``model: {preset: resnet50, num_classes: 10}`` starts from ``PRESETS["resnet50"]`` (which
includes ``family``) and lets the config's other model fields override it. The preset is
resolved before validation, so the stored config holds the whole architecture, plus the
``preset`` name it started from; validating a resolved config again changes nothing.

Each preset is the published shape: its parameter count with its own ``num_classes`` is checked
in the tests against the published figure (``PUBLISHED_PARAMS``). A new preset is one entry in
``PRESETS`` (and, where a figure is published, one in ``PUBLISHED_PARAMS``).
"""

from __future__ import annotations

import difflib
from typing import Any

# The stem, widths and input size of torchvision's ResNets (ImageNet, 224x224 RGB).
_IMAGENET_RESNET: dict[str, Any] = {
    "family": "resnet",
    "input_shape": [224, 224, 3],
    "stem": "imagenet",
    "stem_width": 64,
    "widths": [64, 128, 256, 512],
    "num_classes": 1000,
}

PRESETS: dict[str, dict[str, Any]] = {
    "resnet18": {**_IMAGENET_RESNET, "block": "basic", "layers": [2, 2, 2, 2]},
    "resnet34": {**_IMAGENET_RESNET, "block": "basic", "layers": [3, 4, 6, 3]},
    "resnet50": {**_IMAGENET_RESNET, "block": "bottleneck", "layers": [3, 4, 6, 3]},
    # He et al. (2016), section 4.2: CIFAR-10, 3 stages of 3 basic blocks, 16/32/64 filters;
    # 0.27M parameters (projection shortcuts add 2,752 to the paper's zero-padding ones)
    "resnet20": {
        "family": "resnet",
        "input_shape": [32, 32, 3],
        "stem": "cifar",
        "stem_width": 16,
        "block": "basic",
        "layers": [3, 3, 3],
        "widths": [16, 32, 64],
        "num_classes": 10,
    },
    # GPT-2 small (Radford et al., 2019; Hugging Face's "gpt2"): n_ctx 1024, tied LM head.
    # Dropout 0 (GPT-2 trained with 0.1): the fused/flash attention kernels take no dropout in
    # Keras and JAX; set dropout: 0.1 for the published recipe.
    "gpt2-small": {
        "family": "gpt",
        "vocab_size": 50257,
        "seq_len": 1024,
        "max_positions": 1024,
        "d_model": 768,
        "heads": 12,
        "layers": 12,
        "ff_dim": 3072,
        "dropout": 0.0,
    },
    # ViT-B/16 (Dosovitskiy et al., 2021), torchvision's vit_b_16: 224x224 RGB, 1,000 classes
    "vit-b16": {
        "family": "vit",
        "input_shape": [224, 224, 3],
        "patch": 16,
        "d_model": 768,
        "heads": 12,
        "layers": 12,
        "ff_dim": 3072,
        "dropout": 0.0,
        "num_classes": 1000,
    },
    # BERT-base (Devlin et al., 2019) as BertForSequenceClassification with 2 labels: a table of
    # 512 positions, sequences of 128 (the GLUE fine-tuning length; seq_len: 512 for the
    # pre-training one), dropout 0 (BERT's 0.1 with dropout: 0.1)
    "bert-base": {
        "family": "bert",
        "vocab_size": 30522,
        "seq_len": 128,
        "max_positions": 512,
        "type_vocab_size": 2,
        "d_model": 768,
        "heads": 12,
        "layers": 12,
        "ff_dim": 3072,
        "dropout": 0.0,
        "num_classes": 2,
    },
}

# Trainable parameters of each preset as published (torchvision's model docs for ImageNet
# models), with the preset's own num_classes: the tests hold the analytic counts to these.
PUBLISHED_PARAMS: dict[str, int] = {
    "resnet18": 11_689_512,
    "resnet34": 21_797_672,
    "resnet50": 25_557_032,
    "resnet20": 272_474,
    # GPT-2 small with its tied head: 124,439,808, Hugging Face's count for "gpt2"
    "gpt2-small": 124_439_808,
    # torchvision's vit_b_16 model docs
    "vit-b16": 86_567_656,
    # Hugging Face's bert-base-uncased BertModel (109,482,240, pooler included) + a 2-label
    # classifier (768 x 2 + 2)
    "bert-base": 109_483_778,
}


class PresetError(ValueError):
    """A model mapping names an unknown preset or contradicts it; the message says what to do."""


def resolve_preset(model: dict[str, Any]) -> dict[str, Any]:
    """``model`` with its preset's fields filled in under the ones it sets; unchanged without
    ``preset``. The result keeps ``preset`` so the stored config says where it started."""
    name = model.get("preset")
    if name is None:
        return model
    if not isinstance(name, str) or name not in PRESETS:
        close = difflib.get_close_matches(str(name), PRESETS, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise PresetError(f"unknown preset {name!r}; {hint}one of {', '.join(sorted(PRESETS))}")
    base = PRESETS[name]
    family = model.get("family")
    if family is not None and family != base["family"]:
        raise PresetError(
            f"preset {name!r} is a {base['family']} model, but family is {family!r}; "
            "remove family or the preset"
        )
    return {**base, **model}
