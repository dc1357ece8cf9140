"""Which stored sessions are still being recorded: a lock the recording process holds.

The process that records a session holds an exclusive ``flock`` on a file of its own,
``<store>-running/session-<id>.lock``, from before the session's row is committed until it is
finished. Anyone can test the lock (it needs only read access), from any PID namespace or
container that sees the store's files, and the kernel drops it when the holder dies however it
dies, so a lock file left unlocked means the session was interrupted. Sessions recorded before
these locks (no lock file) fall back to asking whether their recorded process id is alive.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

import psutil


def lock_dir(store: Path) -> Path:
    """The folder holding the lock files of ``store``'s running sessions."""
    return store.with_name(store.name + "-running")


def lock_path(store: Path, session_id: int) -> Path:
    """The lock file of one session."""
    return lock_dir(store) / f"session-{session_id}.lock"


class SessionLock:
    """Held by the process recording a session, for as long as it records it."""

    def __init__(self, store: Path, session_id: int) -> None:
        self.path = lock_path(store, session_id)
        self._fd: int | None = None
        for attempt in range(3):
            self.path.parent.mkdir(exist_ok=True)
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
                break
            except FileNotFoundError:  # another recorder removed the folder as it emptied
                if attempt == 2:
                    raise
        assert self._fd is not None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.ftruncate(self._fd, 0)
            os.write(self._fd, f"{os.getpid()}\n".encode())  # for a curious human
        except OSError:
            os.close(self._fd)
            self._fd = None
            raise

    def release(self) -> None:
        """Remove the lock file and drop the lock (idempotent)."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            self.path.unlink()
        os.close(self._fd)
        self._fd = None
        with contextlib.suppress(OSError):  # not empty: other sessions are running
            self.path.parent.rmdir()


def session_alive(store: Path, session_id: int, owner_pid: int | None) -> bool:
    """Whether a session marked running is still being recorded by a live process."""
    try:
        fd = os.open(lock_path(store, session_id), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return _pid_alive(owner_pid)  # a session from before the locks
    except OSError:
        return _pid_alive(owner_pid)  # the lock folder cannot be read: the old way
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return _pid_alive(owner_pid)
    finally:
        os.close(fd)
    return False


def remove_stale_lock(store: Path, session_id: int) -> None:
    """Remove the lock file a dead recorder left behind (best effort)."""
    with contextlib.suppress(OSError):
        lock_path(store, session_id).unlink()
    with contextlib.suppress(OSError):
        lock_dir(store).rmdir()


def _pid_alive(pid: int | None) -> bool:
    if pid is None:
        return False
    if pid == os.getpid():
        return True
    try:
        return psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
