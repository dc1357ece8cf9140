"""A real child process that misbehaves on purpose, for the engine's fault tests.

Run by the engine exactly like ``workloads.worker`` (same command line); ``--framework`` names the
misbehaviour instead of a framework.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import signal
import subprocess
import sys
import time

from workloads.emitter import EventEmitter
from workloads.worker import become_subreaper, read_spec_text


def _windows(em: EventEmitter, steps: int, step_s: float) -> None:
    em.emit("phase", name="measure", state="start")
    for i in range(steps):
        time.sleep(step_s)
        em.emit("window", phase="measure", step=i + 1, steps=1, seconds=step_s, loss=1.0, samples=8)
    em.emit("phase", name="measure", state="end")


def _daemon() -> int:
    """Double-fork a ``sleep`` out of this session (as a daemon does); return its pid."""
    read_fd, write_fd = os.pipe()
    first = os.fork()
    if first == 0:
        os.setsid()
        second = os.fork()
        if second == 0:
            os.execv("/bin/sleep", ["sleep", "3600"])
        os.write(write_fd, str(second).encode())
        os._exit(0)
    os.waitpid(first, 0)
    os.close(write_fd)
    pid = int(os.read(read_fd, 32))
    os.close(read_fd)
    return pid


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--framework")
    p.add_argument("--event-fd", type=int)
    p.add_argument("--spec")
    p.add_argument("--spec-file")
    args = p.parse_args()
    become_subreaper()
    text = read_spec_text(args)
    spec = json.loads(text)
    steps = int(spec["config"]["train"]["steps"])
    em = EventEmitter(args.event_fd)
    how = args.framework
    em.emit("hello", pid=os.getpid(), framework=how, framework_version="0", device="cpu")
    print(f"misbehaving worker: {how}", flush=True)
    print(f"spec of {len(text)} bytes", flush=True)
    if how == "ok":
        _windows(em, steps, 0.01)
    elif how.startswith("params-"):
        # reports building this many trainable parameters, whatever the config's model has
        em.emit("model", params=int(how.removeprefix("params-")), parity_loss=1.0)
        _windows(em, steps, 0.01)
    elif how == "compile-cache":
        # what a compiler would find: its cache folder, and whether earlier runs filled it
        folder = os.environ.get("TORCHINDUCTOR_CACHE_DIR", "")
        found = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
        print(f"cache {folder} holds {found}", flush=True)
        print(f"jax cache {os.environ.get('JAX_COMPILATION_CACHE_DIR')}", flush=True)
        os.makedirs(folder, exist_ok=True)  # as torch.compile does
        with open(os.path.join(folder, f"kernel-{os.getpid()}.so"), "w") as out:
            out.write("compiled")
        _windows(em, steps, 0.01)
    elif how == "exception":
        _windows(em, 2, 0.01)
        try:
            raise ValueError("shape mismatch in layer 2")
        except ValueError as exc:
            import traceback

            em.emit("error", type="ValueError", message=str(exc), traceback=traceback.format_exc())
            return 1
    elif how == "oom":
        em.emit("error", type="OutOfMemoryError", message="tried to allocate 4 GiB", oom=True)
        return 1
    elif how == "segfault":
        _windows(em, 2, 0.01)
        ctypes.string_at(0)
    elif how == "sigkill":
        _windows(em, 2, 0.01)
        os.kill(os.getpid(), signal.SIGKILL)
    elif how == "hang":
        _windows(em, 1, 0.01)
        time.sleep(3600)
    elif how == "silent-exit":
        _windows(em, 1, 0.01)
        return 0
    elif how == "garbage":
        fd = os.dup(args.event_fd)
        os.write(fd, b"this is not json\n")
        os.write(fd, b'{"kind": 3}\n')
        _windows(em, steps, 0.01)
        em.emit("done", steps=steps)
        em.close()
        os.write(fd, b'{"kind": "window", "t": 1.0, "half')
        os.close(fd)
        return 0
    elif how == "replay":
        # each line of the file named by FRAMEDUEL_TEST_REPLAY, raw, then a good window
        with open(os.environ["FRAMEDUEL_TEST_REPLAY"], "rb") as fh:
            lines = fh.read().split(b"\n")[:-1]
        fd = os.dup(args.event_fd)
        em.emit("phase", name="measure", state="start")
        for i, line in enumerate(lines):
            os.write(fd, line + b"\n")
            em.emit("window", phase="measure", step=i + 1, steps=1, seconds=0.01, loss=1.0)
        em.emit("phase", name="measure", state="end")
        os.close(fd)
    elif how in ("daemon-crash", "daemon-hang"):
        em.emit("log", level="info", message=f"daemon {_daemon()}")
        _windows(em, 1, 0.01)
        if how == "daemon-crash":
            ctypes.string_at(0)
        time.sleep(3600)
    elif how == "no-measure":
        em.emit("phase", name="measure", state="start")
        em.emit("phase", name="measure", state="end")
    elif how == "flood":
        # a 100 MiB line on stdout and a 300 MiB line on the event pipe, written a MiB at a time
        chunk = b"x" * 2**20
        for _ in range(100):
            os.write(1, chunk)
        os.write(1, b"\nafter the long line\n")
        fd = os.dup(args.event_fd)
        os.write(fd, b'{"v":1,"kind":"log","t":1,"message":"')
        for _ in range(300):
            os.write(fd, chunk)
        os.write(fd, b'"}\n')
        os.close(fd)
        for i in range(int(os.environ.get("FRAMEDUEL_TEST_LOG_LINES", "0"))):
            print(f"log line {i} " + "y" * 1000)
        _windows(em, steps, 0.01)
    elif how == "grandchildren":
        kids = [
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(3600)"])
            for _ in range(2)
        ]
        em.emit("log", level="info", message=f"grandchildren {[k.pid for k in kids]}")
        time.sleep(3600)
    em.emit("done", steps=steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
