"""Where FrameDuel keeps its files: the store (XDG data dir) and per-store caches."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tempfile
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


def child_code_dir(cache_dir: Path) -> Path:
    """A folder holding only FrameDuel's child code (the ``workloads`` package), for PYTHONPATH.

    Never the folder FrameDuel itself is installed in: for a pip install that is the parent's
    site-packages, whose numpy (and everything else) would shadow the framework environment's
    own. The copy is named after a digest of the sources, so an edited checkout gets a new one;
    it is made in a temporary folder and renamed, so concurrent runs never see half a copy.
    """
    source = project_root() / "workloads"
    files = sorted(p for p in source.rglob("*.py") if "__pycache__" not in p.parts)
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(source).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    target = cache_dir.absolute() / "child-code" / digest.hexdigest()[:16]
    if (target / "workloads" / "__init__.py").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target.parent))
    try:
        for path in files:
            dest = staging / "workloads" / path.relative_to(source)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
        try:
            staging.rename(target)
        except OSError:  # another run made it first
            if not (target / "workloads" / "__init__.py").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def default_python() -> str:
    """The interpreter a run uses when none is set for its framework (``run.python``).

    FrameDuel's own, except in the desktop bundle (``sys.frozen``: the executable is the app,
    which has no framework): then ``$FRAMEDUEL_PYTHON``, else ``python3`` on the PATH.
    """
    if not getattr(sys, "frozen", False):
        return sys.executable
    return os.environ.get("FRAMEDUEL_PYTHON") or shutil.which("python3") or "python3"
