"""One colour per framework, used by every plot, table and report."""

from __future__ import annotations

FRAMEWORK_COLORS: dict[str, str] = {
    "torch": "#E4572E",
    "tensorflow": "#2E86AB",
    "jax": "#6A994E",
}
FRAMEWORK_LABELS: dict[str, str] = {
    "torch": "PyTorch",
    "tensorflow": "TensorFlow",
    "jax": "JAX",
}
_FALLBACK = ("#8E44AD", "#7F8C8D", "#C0392B")


def color_of(framework: str) -> str:
    """The hex colour of a framework (a stable fallback for unknown ones)."""
    if framework in FRAMEWORK_COLORS:
        return FRAMEWORK_COLORS[framework]
    return _FALLBACK[sum(map(ord, framework)) % len(_FALLBACK)]


def label_of(framework: str) -> str:
    """The display name of a framework."""
    return FRAMEWORK_LABELS.get(framework, framework)
