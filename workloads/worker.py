"""The child process: ``python -m workloads.worker --framework F --event-fd N --spec-file PATH``.

(``--spec JSON`` instead of ``--spec-file`` is for running a worker by hand; the parent always
writes a file, as a config can be longer than one command-line argument may be.)

It reports ``phase import start`` before anything heavy, imports the framework's workload module,
says ``hello``, runs the shared training loop and ends with ``done`` (exit code 0) or ``error``
(exit code 1). Events go to the pipe ``--event-fd``; stdout and stderr are only logs.

Only the standard library is imported before ``phase import start``: NumPy and the framework
are part of what the import phase measures.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import platform
import sys
import threading
import time
import traceback
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from workloads.emitter import EventEmitter

if TYPE_CHECKING:
    from workloads.base import Workload
    from workloads.spec import WorkloadSpec

# The module holding each framework's ``WORKLOAD`` class.
WORKLOAD_MODULES = {
    "torch": "workloads.torch_workload",
    "tensorflow": "workloads.tensorflow_workload",
    "jax": "workloads.jax_workload",
}

ORPHAN_EXIT_CODE = 3
_ORPHAN_POLL_S = 0.25


def main(argv: list[str] | None = None) -> int:
    """Run one workload; return the process exit code (0 done, 1 error)."""
    args = _parse_args(argv)
    event_fd = args.event_fd
    if event_fd is None:
        # a data-parallel rank (under torchrun, which passes no fds on): its own named pipe
        from workloads.distributed import RankContext

        rank = RankContext.from_env()
        event_fd = rank.open_event_fd() if rank is not None else None
    emitter = EventEmitter(event_fd)
    emitter.emit("phase", name="import", state="start")
    _start_orphan_watchdog()
    become_subreaper()
    workload_cls: type[Workload[Any]] | None = None
    try:
        from workloads.spec import parse_spec

        spec = parse_spec(read_spec_text(args))
        # before the framework's import starts its thread pools, so every thread inherits it
        spec = replace(spec, cpus=_pin(spec))
        module = importlib.import_module(WORKLOAD_MODULES[args.framework])
        workload_cls = module.WORKLOAD
        emitter.emit("phase", name="import", state="end")
        workload = workload_cls(spec)
        device = workload.setup()
        emitter.emit(
            "hello",
            pid=os.getpid(),
            framework=args.framework,
            framework_version=workload_cls.framework_version(),
            device=device,
            python=platform.python_version(),
        )
        workload.run(emitter)
        emitter.emit("done", steps=spec.steps)
        return 0
    except (Exception, KeyboardInterrupt) as exc:
        # the parent keeps stderr as the log: the traceback belongs there too
        traceback.print_exception(exc, file=sys.stderr)
        oom = isinstance(exc, MemoryError) or (
            workload_cls is not None and workload_cls.is_oom(exc)
        )
        # the failure may be the pipe itself (parent gone): nothing left to tell then
        with contextlib.suppress(OSError, ValueError):
            emitter.emit(
                "error",
                type=type(exc).__name__,
                message=str(exc),
                traceback="".join(traceback.format_exception(exc)),
                oom=oom,
            )
        return 1
    finally:
        with contextlib.suppress(OSError, ValueError):
            emitter.close()


def _pin(spec: WorkloadSpec) -> tuple[int, ...] | None:
    """Pin this worker as ``run.affinity`` says (a rank among its job's ranks)."""
    from workloads.affinity import pin
    from workloads.distributed import RankContext

    rank = RankContext.from_env()
    where = (rank.rank, rank.world_size) if rank is not None else (0, 1)
    cpus = pin(spec.affinity, spec.threads, *where)
    return None if cpus is None else tuple(cpus)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m workloads.worker", description="Run one FrameDuel workload."
    )
    parser.add_argument("--framework", required=True, choices=sorted(WORKLOAD_MODULES))
    parser.add_argument(
        "--event-fd",
        type=int,
        default=None,
        help="inherited pipe fd for the JSON-lines events (none: events are dropped)",
    )
    given = parser.add_mutually_exclusive_group(required=True)
    given.add_argument(
        "--spec",
        help='JSON: {"config": <Config.model_dump()>, "window_steps": int}',
    )
    given.add_argument("--spec-file", help="a file holding the --spec JSON")
    return parser.parse_args(argv)


def read_spec_text(args: argparse.Namespace) -> str:
    """The spec's JSON text, from ``--spec`` or the file ``--spec-file`` names."""
    if args.spec is not None:
        return str(args.spec)
    with open(args.spec_file, encoding="utf-8") as fh:
        return fh.read()


def become_subreaper() -> None:
    """Best effort (Linux): adopt orphaned descendants, so a process the workload double-forks
    stays in this tree, where the parent samples it and kills it with the run."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_child_subreaper = 36
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_child_subreaper, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _start_orphan_watchdog() -> None:
    """Exit (code 3) within about a second if the parent dies, so no child outlives a crash.

    On Linux the kernel is also asked to SIGKILL us when the parent goes
    (PR_SET_PDEATHSIG). Note the kernel means the parent *thread* that forked us: the parent must
    start children from a thread that lives as long as they run. The polling thread catches
    what the kernel cannot (other systems, a failed prctl).
    """
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        _set_parent_death_signal()
    if os.getppid() != parent:
        os._exit(ORPHAN_EXIT_CODE)

    def watch() -> None:
        while True:
            time.sleep(_ORPHAN_POLL_S)
            if os.getppid() != parent:
                # os._exit: the framework's atexit hooks could hang with no one to read the pipe
                os._exit(ORPHAN_EXIT_CODE)

    threading.Thread(target=watch, name="frameduel-orphan-watchdog", daemon=True).start()


def _set_parent_death_signal() -> None:
    """Best effort: ask Linux to SIGKILL this process when its parent dies."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass


if __name__ == "__main__":
    sys.exit(main())
