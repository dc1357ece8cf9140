"""The ResNet family and TensorFlow's SAME padding: shapes, counts, FLOPs and weights by hand,
and the full-size ResNet-50 built by PyTorch holding torchvision's parameter count."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.workloads.helpers import ROOT, child_env
from workloads.architectures import (
    CNNSpec,
    ConvSpec,
    ResNetSpec,
    conv_output_size,
    same_padding,
)
from workloads.weights import ResNetWeights, count_params, initial_weights

RESNET50 = ResNetSpec(
    (224, 224, 3), "bottleneck", (3, 4, 6, 3), (64, 128, 256, 512), "imagenet", 64, 1000
)
TINY = ResNetSpec((13, 11, 3), "basic", (1, 2), (4, 6), "imagenet", 5, 3)


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "pads"),
    [
        (224, 7, 2, (2, 3)),  # ResNet's stem: 5 rows of padding, the odd one at the bottom
        (112, 3, 2, (0, 1)),  # its max pool
        (56, 3, 1, (1, 1)),
        (56, 1, 2, (0, 0)),  # a projection shortcut never pads
        (11, 4, 3, (1, 1)),
        (6, 4, 3, (0, 1)),
        (8, 2, 1, (0, 1)),  # an even kernel at stride 1: the extra one at the end too
        (5, 7, 1, (3, 3)),
    ],
)
def test_same_padding_is_tensorflows(
    size: int, kernel: int, stride: int, pads: tuple[int, int]
) -> None:
    assert same_padding(size, kernel, stride) == pads
    out = conv_output_size(size, kernel, stride, "same")
    assert out == math.ceil(size / stride)
    # the padded input is exactly covered by the strided windows
    assert (size + sum(pads) - kernel) // stride + 1 == out


def test_strided_same_cnn_shapes() -> None:
    cnn = CNNSpec((11, 9, 2), (ConvSpec(4, 3, stride=2), ConvSpec(3, 4, stride=3)), False, (), 3)
    first, second = cnn.stages()
    assert first.conv_hw == (6, 5) and second.conv_hw == (2, 2)
    assert second.padding() == ((0, 1), (1, 1))


def test_resnet50_shapes_flops_and_blocks() -> None:
    blocks = RESNET50.blocks()
    assert len(blocks) == 16
    # v1.5: the stride sits on the 3x3 convolution of the first block of stages 2-4
    strided = [b for b in blocks if b.shortcut is not None and b.shortcut.stride == 2]
    assert len(strided) == 3 and all(
        b.convs[1].stride == 2 and b.convs[0].stride == 1 for b in strided
    )
    assert RESNET50.stem_conv().out_hw == (112, 112)
    assert RESNET50.pool_hw() == ((112, 112), (56, 56))
    assert blocks[-1].convs[-1].out_hw == (7, 7) and RESNET50.features == 2048
    # 4.09 G multiply-accumulates forward (torchvision's "GFLOPS" figure is 4.09)
    assert 6 * 4.08e9 < RESNET50.flops_per_sample() < 6 * 4.10e9


def test_resnet_counts_by_hand() -> None:
    # stem 7*7*3*5 + bn 10; stage 1 (5 -> 4, stride 1: projection): 3*3*5*4+8, 3*3*4*4+8,
    # shortcut 5*4+8; stage 2 (4 -> 6, stride 2): 3*3*4*6+12, 3*3*6*6+12, 4*6+12, then one
    # identity block 2*(3*3*6*6+12); head 6*3+3
    stage1 = (180 + 8) + (144 + 8) + (20 + 8)
    stage2 = (216 + 12) + (324 + 12) + (24 + 12) + 2 * (324 + 12)
    assert TINY.param_count() == (735 + 10) + stage1 + stage2 + 21
    weights = initial_weights(TINY, seed=0)
    assert isinstance(weights, ResNetWeights)
    assert count_params(weights) == TINY.param_count()
    assert [b.shortcut is not None for b in weights.blocks] == [True, True, False]
    assert weights.stem.kernel.shape == (7, 7, 3, 5) and weights.stem.bias is None


def test_resnet_weights_follow_torchvisions_init() -> None:
    weights = initial_weights(RESNET50, seed=3)
    assert isinstance(weights, ResNetWeights)
    kernel = weights.blocks[0].convs[1].kernel  # 3x3, 64 -> 64
    # kaiming normal, fan_out: std sqrt(2 / (64 * 9))
    assert abs(float(kernel.std()) - math.sqrt(2 / 576)) < 0.002
    assert np.all(weights.blocks[0].convs[1].norm.gamma == 1)  # type: ignore[union-attr]
    assert count_params(weights) == 25_557_032


def test_pytorch_builds_resnet50_with_torchvisions_count(tmp_path: Path) -> None:
    code = (
        "import json\n"
        "from workloads.spec import model_spec\n"
        "from workloads.torch_models import build_model, trainable_parameters\n"
        "from workloads.weights import initial_weights\n"
        "spec = model_spec(json.loads(input()))\n"
        "model = build_model(spec, initial_weights(spec, 0))\n"
        "print(sum(p.numel() for p in trainable_parameters(model)))\n"
    )
    model = {
        "family": "resnet",
        "input_shape": [224, 224, 3],
        "block": "bottleneck",
        "layers": [3, 4, 6, 3],
        "widths": [64, 128, 256, 512],
        "stem": "imagenet",
        "stem_width": 64,
        "num_classes": 1000,
    }
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(model),
        cwd=ROOT,
        env=child_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    assert int(out.stdout.split()[-1]) == 25_557_032
