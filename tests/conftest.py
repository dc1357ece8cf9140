"""Session-wide test setup.

- Every test runs in a sandboxed environment: Qt offscreen, tool caches and the FrameDuel store in
  a temporary directory, so no test writes to the user's home or XDG directories.
- Every test must clean up after itself: a child process or a non-daemon thread still running
  after the test (and a short grace period) fails it.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from hypothesis import settings

# Property-based tests: a fast profile in `make test`; HYPOTHESIS_PROFILE=long by hand finds more.
settings.register_profile("fast", max_examples=25, deadline=None, print_blob=True)
settings.register_profile("long", max_examples=2000, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))

# How long leftovers get to finish on their own before the test fails, in seconds.
LEAK_GRACE_S = 3.0
_POLL_S = 0.05

# Set at import time, before test modules are collected: some libraries read these when imported
# (matplotlib resolves MPLCONFIGDIR on import), and collection imports them. The Makefile exports
# the same values; the session fixture below then points tests and their children at a tmp dir.
_REPO_CACHE = Path(__file__).resolve().parent.parent / ".cache"
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("MPLCONFIGDIR", str(_REPO_CACHE / "matplotlib"))
os.environ.setdefault("KERAS_HOME", str(_REPO_CACHE / "keras"))
os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(_REPO_CACHE / "torchinductor"))


@pytest.fixture(scope="session", autouse=True)
def sandboxed_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point caches and the FrameDuel store at a per-session temporary directory.

    Yields that directory. The store path (``FRAMEDUEL_STORE``) is a SQLite file in it that does
    not exist yet.
    """
    root = tmp_path_factory.mktemp("env")
    with pytest.MonkeyPatch.context() as mp:
        for var, sub in [
            ("MPLCONFIGDIR", "matplotlib"),
            ("KERAS_HOME", "keras"),
            ("TORCHINDUCTOR_CACHE_DIR", "torchinductor"),
        ]:
            path = root / sub
            path.mkdir()
            mp.setenv(var, str(path))
        mp.setenv("FRAMEDUEL_STORE", str(root / "frameduel-store.sqlite"))
        yield root


def _process_key(proc: psutil.Process) -> tuple[int, float] | None:
    """Identify a process by pid and start time (pids get reused); None if it is already gone."""
    try:
        return (proc.pid, proc.create_time())
    except psutil.Error:
        return None


def _new_children(me: psutil.Process, before: set[tuple[int, float]]) -> list[psutil.Process]:
    """Children (recursive, zombies included) of this process that were not there before."""
    try:
        children = me.children(recursive=True)
    except psutil.Error:
        return []
    return [p for p in children if (key := _process_key(p)) is not None and key not in before]


def _describe(proc: psutil.Process) -> str:
    try:
        with proc.oneshot():
            status = proc.status()
            what = " ".join(proc.cmdline()) if status != psutil.STATUS_ZOMBIE else proc.name()
    except psutil.Error:
        return f"pid {proc.pid} (gone)"
    if status == psutil.STATUS_ZOMBIE:
        return f"pid {proc.pid} {what!r} (zombie: exited, never waited for)"
    return f"pid {proc.pid} {what!r} ({status})"


def _kill_and_reap(procs: list[psutil.Process]) -> None:
    """Kill leftover processes so they cannot disturb later tests, and reap our own zombies."""
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(procs, timeout=LEAK_GRACE_S)
    for proc in procs:
        # Not our direct child, or already reaped by wait_procs: nothing to do.
        with contextlib.suppress(ChildProcessError):
            os.waitpid(proc.pid, os.WNOHANG)


def _new_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t not in before and t.is_alive() and not t.daemon]


def _thread_target(thread: threading.Thread) -> str:
    target = getattr(thread, "_target", None)
    if target is None:
        return type(thread).__qualname__
    return str(getattr(target, "__qualname__", repr(target)))


@pytest.fixture(autouse=True)
def no_leaked_processes_or_threads() -> Iterator[None]:
    """Fail a test that leaves a child process or a non-daemon thread running.

    Leftovers get ``LEAK_GRACE_S`` seconds to finish first. Leaked processes are then killed, so
    they do not poison later tests; leaked threads cannot be killed and are only reported.
    """
    me = psutil.Process()
    children_before = {
        key for p in me.children(recursive=True) if (key := _process_key(p)) is not None
    }
    threads_before = set(threading.enumerate())

    yield

    deadline = time.monotonic() + LEAK_GRACE_S
    while (_new_children(me, children_before) or _new_threads(threads_before)) and (
        time.monotonic() < deadline
    ):
        time.sleep(_POLL_S)

    leaked_procs = _new_children(me, children_before)
    leaked_threads = _new_threads(threads_before)
    problems = [f"child process left behind: {_describe(p)}" for p in leaked_procs]
    problems += [f"thread left running: {t.name!r} ({_thread_target(t)})" for t in leaked_threads]
    _kill_and_reap(leaked_procs)
    if problems:
        pytest.fail(
            f"test leaked after a {LEAK_GRACE_S:.0f} s grace period:\n  " + "\n  ".join(problems),
            pytrace=False,
        )
