"""What the child's memory allocators are set to, and how often the process faults pages in.

Stdlib only. A training step that allocates and frees large buffers can run at very different
speeds depending on the C allocator: glibc's malloc hands freed memory above its trim and mmap
thresholds back to the kernel, and taking it again costs a page fault per 4 KiB page. So every
run records which malloc is loaded, the variables that tune it and the frameworks' own allocators,
and every timing window counts the page faults it took (``getrusage``, all threads).
"""

from __future__ import annotations

import os
from typing import Any

try:  # Unix only; elsewhere page faults are simply not reported
    import resource
except ImportError:  # pragma: no cover - Windows
    resource = None  # type: ignore[assignment]

# Variables that change how host or device memory is allocated, per allocator.
GLIBC_VARIABLES: tuple[str, ...] = (
    "GLIBC_TUNABLES",
    "MALLOC_ARENA_MAX",
    "MALLOC_MMAP_MAX_",
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TOP_PAD_",
    "MALLOC_TRIM_THRESHOLD_",
)
OTHER_VARIABLES: tuple[str, ...] = (
    "LD_PRELOAD",
    "MALLOC_CONF",  # jemalloc
    "TCMALLOC_RELEASE_RATE",
    "PYTORCH_ALLOC_CONF",
    "PYTORCH_CUDA_ALLOC_CONF",
    "PYTORCH_NO_CUDA_MEMORY_CACHING",
    "TF_GPU_ALLOCATOR",
    "TF_FORCE_GPU_ALLOW_GROWTH",
    "XLA_PYTHON_CLIENT_ALLOCATOR",
    "XLA_PYTHON_CLIENT_MEM_FRACTION",
    "XLA_PYTHON_CLIENT_PREALLOCATE",
)
# Shared libraries that replace malloc when loaded (LD_PRELOAD or linked in).
_REPLACEMENTS: tuple[tuple[str, str], ...] = (
    ("libjemalloc", "jemalloc"),
    ("libtcmalloc", "tcmalloc"),
    ("libmimalloc", "mimalloc"),
)


def malloc_name(maps_path: str = "/proc/self/maps") -> str | None:
    """The C allocator: 'jemalloc', 'tcmalloc', 'mimalloc' or 'glibc X.Y'; None when unknown."""
    try:
        with open(maps_path, encoding="utf-8", errors="replace") as maps:
            loaded = maps.read()
    except OSError:
        loaded = ""
    for marker, name in _REPLACEMENTS:
        if marker in loaded:
            return name
    try:
        libc = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        libc = None
    return libc or None


def allocator_settings() -> dict[str, Any]:
    """The allocator in use and every allocator variable set in this process's environment."""
    variables = {
        name: os.environ[name]
        for name in (*GLIBC_VARIABLES, *OTHER_VARIABLES)
        if os.environ.get(name)
    }
    return {"malloc": malloc_name(), "env": variables or None}


def page_faults() -> tuple[int, int] | None:
    """(minor, major) page faults of this process so far, all threads; None when unknown."""
    if resource is None:
        return None
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return int(usage.ru_minflt), int(usage.ru_majflt)
