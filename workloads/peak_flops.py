"""Peak dense FLOP/s of known GPUs, for model FLOPs utilisation (MFU).

Vendor datasheet figures without sparsity: fp32 is plain FP32 on the CUDA cores (FrameDuel
turns TF32 off), bf16/fp16 are the tensor cores. Patterns are searched in the CUDA device name
in order, so the more specific entries come first. An unknown GPU, or the CPU, gets no MFU.
"""

from __future__ import annotations

import re

TERA = 1e12

# (pattern searched in the device name, {precision: peak FLOP/s})
_PEAKS: tuple[tuple[str, dict[str, float]], ...] = (
    (r"\bH200\b", {"fp32": 67 * TERA, "bf16": 989 * TERA, "fp16": 989 * TERA}),
    (r"\bH100 PCIe\b", {"fp32": 51 * TERA, "bf16": 756 * TERA, "fp16": 756 * TERA}),
    (r"\bH100 NVL\b", {"fp32": 60 * TERA, "bf16": 835 * TERA, "fp16": 835 * TERA}),
    (r"\bH100\b", {"fp32": 67 * TERA, "bf16": 989 * TERA, "fp16": 989 * TERA}),  # SXM
    (r"\bA100\b", {"fp32": 19.5 * TERA, "bf16": 312 * TERA, "fp16": 312 * TERA}),
    (r"\bL4\b", {"fp32": 30.3 * TERA, "bf16": 121 * TERA, "fp16": 121 * TERA}),
    (r"\bV100\b", {"fp32": 15.7 * TERA, "fp16": 125 * TERA}),
)


def peak_flops_per_s(device_name: str | None, precision: str) -> float | None:
    """The GPU's dense peak for ``precision`` (fp32, bf16, fp16), or None when unknown."""
    if not device_name:
        return None
    for key, peaks in _PEAKS:
        if re.search(key, device_name):
            return peaks.get(precision)
    return None
