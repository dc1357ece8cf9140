"""Is the FrameDuel that runs the one that was installed? Top-level-name collisions, found early.

FrameDuel keeps its folder layout: three top-level import packages, ``profiler``, ``workloads`` and
``gui``. Those names are generic: a package called ``profiler`` exists on the public index, and pip
installing it beside FrameDuel silently writes over FrameDuel's files (pip does not check that two
distributions own the same path), or puts a foreign ``workloads`` first on ``sys.path``. Either way
FrameDuel would run someone else's code, or fail far from the cause.

The decision: no renamed import root (the layout is the product owner's), but an installed
FrameDuel checks itself. ``problems()`` is cheap (no package is imported, one RECORD is read) and
runs at every start of the ``frameduel`` command; ``frameduel doctor`` also lists every other
installed distribution that claims one of the three names. The cure it names is an isolated
install: ``pipx install frameduel`` or a virtualenv of FrameDuel's own.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import importlib.util
from pathlib import Path

DISTRIBUTION = "frameduel"
TOP_LEVEL = ("profiler", "workloads", "gui")
CURE = "install FrameDuel in an environment of its own (pipx install frameduel, or its own venv)"


def _package_dir(name: str) -> Path | None:
    """The folder ``import name`` would load, without importing it (None when absent)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def _overwritten(dist: importlib.metadata.Distribution) -> list[str]:
    """Files of FrameDuel's top-level packages whose content differs from the install's RECORD."""
    changed = []
    for entry in dist.files or ():
        parts = entry.parts
        if len(parts) != 2 or parts[0] not in TOP_LEVEL or parts[1] != "__init__.py":
            continue
        if entry.hash is None or entry.hash.mode != "sha256":
            continue
        path = Path(str(dist.locate_file(entry)))
        try:
            digest = hashlib.sha256(path.read_bytes()).digest()
        except OSError:
            changed.append(str(path))
            continue
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != entry.hash.value:
            changed.append(str(path))
    return changed


def problems() -> list[str]:
    """One line per way the running FrameDuel is not the installed one (empty when sound)."""
    ours = Path(__file__).resolve().parent
    found = []
    for name in TOP_LEVEL[1:]:
        where = _package_dir(name)
        if where is None:
            found.append(f"FrameDuel's '{name}' package is missing beside {ours}: reinstall it")
        elif where.parent != ours.parent:
            found.append(
                f"another package named '{name}' ({where}) is imported instead of FrameDuel's "
                f"(beside {ours}): {CURE}"
            )
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return found  # a plain checkout: nothing installed to compare with
    found.extend(
        f"{path} is not the file FrameDuel installed (another distribution wrote over it?): {CURE}"
        for path in _overwritten(dist)
    )
    return found


def claimants() -> dict[str, list[str]]:
    """Other installed distributions that also provide ``profiler``, ``workloads`` or ``gui``."""
    owners = importlib.metadata.packages_distributions()
    return {
        name: sorted({d for d in owners.get(name, []) if d.lower() != DISTRIBUTION})
        for name in TOP_LEVEL
        if any(d.lower() != DISTRIBUTION for d in owners.get(name, []))
    }
