"""Where FrameDuel keeps its files: the store (XDG data dir) and per-store caches."""

from __future__ import annotations

import os
from pathlib import Path


def default_store_path() -> Path:
    """The SQLite store: ``$FRAMEDUEL_STORE``, else the XDG data dir's frameduel.sqlite3."""
    env = os.environ.get("FRAMEDUEL_STORE")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "frameduel" / "frameduel.sqlite3"


def cache_dir_for(store: Path) -> Path:
    """Framework caches (torch.compile, Keras, matplotlib) live beside the store, not in home.

    Absolute, since children run in another folder (a relative store would nest the caches).
    """
    return store.absolute().parent / "cache"


def project_root() -> Path:
    """The folder that holds the ``workloads`` package, put on the child's PYTHONPATH."""
    return Path(__file__).resolve().parent.parent


def resources_dir() -> Path:
    """Bundled icons, sample configs and the custom-model example.

    ``resources/`` at the top of a checkout; inside the engine package once installed from a
    wheel (pyproject.toml maps it to ``profiler/resources``).
    """
    installed = Path(__file__).resolve().parent / "resources"
    return installed if installed.is_dir() else project_root() / "resources"
