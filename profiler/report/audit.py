"""The fairness audit: what each framework actually ran with, side by side, mismatches flagged.

Each framework's settings come from its runs' ``env`` events (what the child found in effect:
threads, device, precision, TF32, compile/jit, determinism, optimizer ...), with the model's
parameter count and first-batch (parity) loss and the framework version beside them. Nested
settings are flattened (``optimizer.lr``); spellings that differ between frameworks for the same
thing are aligned (TensorFlow's ``optimizer.learning_rate`` is ``optimizer.lr``, its ``beta_1`` and
``beta_2`` are ``optimizer.betas``), and names are compared without case or separators.

A row is a mismatch when two frameworks (or two repeats of one) report different values for a
setting that bears on a fair comparison. A value a framework does not report (null: "framework
default") is never a mismatch: there is nothing to compare it with.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from profiler.report.runs import RunSummary

# Settings whose difference makes the comparison unfair (not merely idiomatic, like eager vs
# tf.function execution or each framework's loss class).
RELEVANT: frozenset[str] = frozenset(
    {
        "params",
        "parity_loss",
        "device",
        "device_name",
        "precision",
        "dtype_policy",
        "intra_op_threads",
        "inter_op_threads",
        "threads_requested",
        "cpus_available",
        "cpu_affinity",
        "tf32",
        "compile",
        "jit_compile",
        "deterministic",
        "onednn",
        "window_steps",
        "optimizer.name",
        "optimizer.lr",
        "optimizer.momentum",
        "optimizer.nesterov",
        "optimizer.weight_decay",
        "optimizer.betas",
        "optimizer.eps",
        "allocator.malloc",
    }
)
# Allocator variables (``allocator.env.MALLOC_ARENA_MAX`` ...) are relevant too: the children
# share one environment, so a difference means someone set them for one framework only.
RELEVANT_PREFIXES: tuple[str, ...] = ("allocator.env.",)
# Rows shown first, in this order; every other setting follows in the order first seen.
ORDER: tuple[str, ...] = (
    "framework_version",
    "params",
    "parity_loss",
    "device",
    "device_name",
    "precision",
    "dtype_policy",
    "tf32",
    "tf32_cudnn",
    "float32_matmul_precision",
    "execution",
    "attention",
    "compile",
    "compile_cache",
    "jit_compile",
    "intra_op_threads",
    "inter_op_threads",
    "threads_requested",
    "cpus_available",
    "cpu_affinity",
    "deterministic",
    "onednn",
    "window_steps",
    "train_loop",
    "allocator.malloc",
    "minor_faults_per_step",
    "major_faults_per_step",
)
ALIASES: dict[str, str] = {
    "optimizer.learning_rate": "optimizer.lr",
    "optimizer.epsilon": "optimizer.eps",
}
# Settings one framework reports as a pair and another as separate keys (Keras's beta_1 and
# beta_2 are PyTorch's and optax's betas).
PAIRS: dict[str, tuple[str, str]] = {
    "optimizer.betas": ("optimizer.beta_1", "optimizer.beta_2"),
}
SKIPPED: frozenset[str] = frozenset({"framework"})
# Parity losses may differ this much (relative) and still be "the same model".
PARITY_RTOL = 1e-4
# Floats reported by different frameworks differ in their last bits (0.01 in float32).
FLOAT_RTOL = 1e-6


@dataclass(frozen=True)
class AuditRow:
    """One setting across frameworks.

    ``values`` maps each framework to what its (first finished) run reported, None when it did
    not report it; ``repeat_values`` lists every distinct value a framework's runs reported when
    its repeats disagree. ``mismatch`` is set only on ``relevant`` rows.
    """

    key: str
    values: dict[str, Any]
    relevant: bool
    mismatch: bool
    repeat_values: dict[str, tuple[Any, ...]]


@dataclass(frozen=True)
class Audit:
    """The settings of every framework, aligned by key."""

    frameworks: tuple[str, ...]
    rows: tuple[AuditRow, ...]

    @property
    def mismatches(self) -> tuple[AuditRow, ...]:
        """The rows flagged as mismatches."""
        return tuple(r for r in self.rows if r.mismatch)


def flatten(settings: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as dotted keys, aliases applied: {"optimizer": {"lr": 1}} -> optimizer.lr."""
    out: dict[str, Any] = {}
    for key, value in settings.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        else:
            out[ALIASES.get(name, name)] = value
    return out


def _same(a: Any, b: Any, rtol: float) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(float(a), float(b), rel_tol=rtol, abs_tol=0.0)
    if isinstance(a, str) and isinstance(b, str):
        return _spelling(a) == _spelling(b)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(_same(x, y, rtol) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _spelling(text: str) -> str:
    # Frameworks name the same thing in their own case and separators (AdamW, adam_w, adamw).
    return "".join(c for c in text.lower() if c.isalnum())


def _distinct(values: Sequence[Any], rtol: float) -> tuple[Any, ...]:
    out: list[Any] = []
    for value in values:
        if value is not None and not any(_same(value, seen, rtol) for seen in out):
            out.append(value)
    return tuple(out)


def _run_settings(run: RunSummary) -> dict[str, Any]:
    flat: dict[str, Any] = {
        "framework_version": run.framework_version,
        "params": run.params,
        "parity_loss": run.parity_loss,
        "device": run.device,
        # measured, not set: shown beside the allocator settings that explain them, never a
        # mismatch (frameworks allocate differently by design)
        "minor_faults_per_step": _rounded(run.minor_faults_per_step),
        "major_faults_per_step": _rounded(run.major_faults_per_step),
    }
    flat.update(flatten(run.settings or {}))
    for pair, (first, second) in PAIRS.items():
        if pair not in flat and first in flat and second in flat:
            flat[pair] = [flat.pop(first), flat.pop(second)]
    return {k: v for k, v in flat.items() if k not in SKIPPED}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def is_relevant(key: str) -> bool:
    """Whether a difference in this setting makes the comparison unfair."""
    return key in RELEVANT or key.startswith(RELEVANT_PREFIXES)


def build_audit(frameworks: Sequence[str], runs: Sequence[RunSummary]) -> Audit:
    """Align the settings of every framework's runs (finished ones first) by key."""
    per_fw: dict[str, list[dict[str, Any]]] = {}
    for framework in frameworks:
        chosen = [r for r in runs if r.framework == framework]
        chosen.sort(key=lambda r: (r.status != "ok", r.settings is None, r.seq))
        per_fw[framework] = [_run_settings(r) for r in chosen if r.settings is not None]
        if not per_fw[framework]:
            per_fw[framework] = [_run_settings(r) for r in chosen[:1]]
    keys = list(ORDER)
    for settings_list in per_fw.values():
        for settings in settings_list:
            keys += [k for k in settings if k not in keys]
    rows = []
    for key in keys:
        rtol = PARITY_RTOL if key == "parity_loss" else FLOAT_RTOL
        values = {fw: (s[0].get(key) if s else None) for fw, s in per_fw.items()}
        if all(v is None for v in values.values()) and key not in ORDER[:4]:
            continue
        repeats = {
            fw: distinct
            for fw, s in per_fw.items()
            if len(distinct := _distinct([one.get(key) for one in s], rtol)) > 1
        }
        across = _distinct(list(values.values()), rtol)
        relevant = is_relevant(key)
        mismatch = relevant and (len(across) > 1 or bool(repeats))
        rows.append(AuditRow(key, values, relevant, mismatch, repeats))
    return Audit(tuple(frameworks), tuple(rows))
