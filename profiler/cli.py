"""The `frameduel` command: the desktop app, or the same pipeline headless.

Exit status: 0 when every run succeeded, 1 when a run failed, 2 for bad input (config,
arguments, store), with a one-line reason on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from profiler import __version__
from profiler.config import FRAMEWORKS, Config, ConfigError, load_config
from profiler.store import StoreError

EXIT_OK, EXIT_RUN_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class BadInput(Exception):
    """Bad arguments or files: reported on one line, exit status 2."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="frameduel",
        description="Compare how PyTorch, TensorFlow and JAX train the same model on this machine.",
    )
    p.add_argument("--version", action="version", version=f"frameduel {__version__}")
    sub = p.add_subparsers(dest="command")

    g = sub.add_parser("gui", help="open the desktop app (the default)")
    g.add_argument("configs", nargs="*", metavar="CONFIG", help="configs to load")
    g.add_argument("--run", action="store_true", help="start the first config at once")
    g.add_argument("--store", help="SQLite store (default: $FRAMEDUEL_STORE or XDG data dir)")

    r = sub.add_parser("run", help="run a comparison headless, with progress bars")
    r.add_argument("config", metavar="CONFIG")
    r.add_argument("--frameworks", help="comma-separated subset, e.g. torch,tensorflow")
    r.add_argument("--steps", type=int, help="override train.steps")
    r.add_argument(
        "--repeats", metavar="N|auto", help="override run.repeats (runs per framework, or auto)"
    )
    r.add_argument("--store", help="SQLite store (default: $FRAMEDUEL_STORE or XDG data dir)")
    r.add_argument("--report", metavar="OUT", help="write a report (.pdf, .html, .json, .csv)")
    r.add_argument("--json", metavar="OUT.json", help="write the JSON summary")
    r.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="FW=PATH",
        help="interpreter for one framework's runs, e.g. tensorflow=/opt/tf-env/bin/python",
    )
    r.add_argument("--cooldown", type=float, default=0.0, metavar="S", help="pause between runs")

    v = sub.add_parser("validate", help="check configs without running them")
    v.add_argument("configs", nargs="+", metavar="CONFIG")

    d = sub.add_parser("doctor", help="list frameworks, GPUs, Qt and the store")
    d.add_argument("--store", help="SQLite store to report on")

    s = sub.add_parser("sessions", help="list stored sessions")
    s.add_argument("--store")
    s.add_argument("--delete", type=int, metavar="ID", help="delete a session")

    rep = sub.add_parser("report", help="export a stored session's report")
    rep.add_argument("session", help="session id, or 'last'")
    rep.add_argument("--out", required=True, help="output file (.pdf, .html, .json, .csv)")
    rep.add_argument("--store")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `frameduel` command."""
    args = _parser().parse_args(argv)
    try:
        if args.command in (None, "gui"):
            return _gui(args)
        if args.command == "run":
            return _run(args)
        if args.command == "validate":
            return _validate(args.configs)
        if args.command == "doctor":
            from profiler.doctor import doctor

            return doctor(args.store)
        if args.command == "sessions":
            return _sessions(args)
        if args.command == "report":
            return _report(args)
    except (BadInput, ConfigError, StoreError) as exc:
        print(f"frameduel: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    raise AssertionError(args.command)


def _gui(args: argparse.Namespace) -> int:
    # Bound late on purpose: the engine does not depend on Qt, and a headless server without
    # PySide6 still runs every other command.
    try:
        app = importlib.import_module("gui.app")
    except ImportError as exc:
        raise BadInput(
            f"the desktop app needs PySide6 and pyqtgraph ({exc}); install frameduel[gui] "
            "or use `frameduel run` headless"
        ) from None
    configs = list(getattr(args, "configs", []) or [])
    code: int = app.main(configs, getattr(args, "run", False), getattr(args, "store", None))
    return code


def _load(
    path: str,
    frameworks: str | None = None,
    steps: int | None = None,
    repeats: str | None = None,
) -> Config:
    config = load_config(path)
    names = None
    if frameworks is not None:
        names = [f.strip() for f in frameworks.split(",") if f.strip()]
        unknown = [f for f in names if f not in FRAMEWORKS]
        if unknown or not names:
            raise BadInput(
                f"--frameworks: unknown {', '.join(unknown) or '(empty)'}; "
                f"choose from {', '.join(FRAMEWORKS)}"
            )
    if steps is not None and steps <= 0:
        raise BadInput(f"--steps must be a positive number of steps, not {steps}")
    runs: int | str | None = repeats
    if repeats is not None and repeats != "auto":
        if not repeats.isdigit() or not 1 <= int(repeats) <= 100:
            raise BadInput(
                f"--repeats must be auto or a number of runs from 1 to 100, not {repeats}"
            )
        runs = int(repeats)
    try:
        return config.with_overrides(steps=steps, frameworks=names, repeats=runs)
    except ValueError as exc:
        raise BadInput(f"{path}: the overrides make the config invalid: {exc}") from None


def _validate(paths: list[str]) -> int:
    bad = 0
    for path in paths:
        try:
            config = load_config(path)
        except ConfigError as exc:
            print(f"frameduel: error: {exc}", file=sys.stderr)
            bad += 1
            continue
        print(f"{path}: ok ({config.name}: {config.model.family}, {', '.join(config.frameworks)})")
    return EXIT_BAD_INPUT if bad else EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from profiler.headless import run_headless
    from profiler.session import RunOptions, store_for

    config = _load(args.config, args.frameworks, args.steps, args.repeats)
    for out in (args.report, args.json):
        if out is not None:
            _check_output(out)
    if args.cooldown < 0:
        raise BadInput(f"--cooldown must be zero or more seconds, not {args.cooldown:g}")
    options = RunOptions(pythons=_pythons(args.python), cooldown_s=args.cooldown)
    with store_for(args.store) as store:
        return run_headless(
            config, store, args.config, report=args.report, json_out=args.json, options=options
        )


def _pythons(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        fw, sep, path = pair.partition("=")
        if not sep or fw not in FRAMEWORKS or not path:
            raise BadInput(
                f"--python {pair!r}: use FRAMEWORK=PATH, e.g. tensorflow=/env/bin/python"
            )
        if not Path(path).is_file() or not os.access(path, os.X_OK):
            raise BadInput(f"--python {pair!r}: {path} is not an executable file")
        out[fw] = path
    return out


def _check_output(path: str) -> None:
    suffix = Path(path).suffix.lower()
    if suffix not in (".pdf", ".html", ".json", ".csv"):
        raise BadInput(f"{path}: unknown report format {suffix!r}; use .pdf, .html, .json or .csv")
    parent = Path(path).resolve().parent
    if parent.exists() and not parent.is_dir():
        raise BadInput(f"{path}: {parent} is not a folder")


def _sessions(args: argparse.Namespace) -> int:
    from profiler.session import store_for

    with store_for(args.store) as store:
        if args.delete is not None:
            if not store.delete_session(args.delete):
                raise BadInput(f"no session {args.delete} in {store.path}")
            print(f"deleted session {args.delete}")
            return EXIT_OK
        rows = store.sessions()
        if not rows:
            print(f"no sessions in {store.path}")
        for row in rows:
            fws = ",".join(row.frameworks)
            print(f"{row.id:>5}  {row.created_at}  {row.status:<11}  {fws:<22}  {row.name}")
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from profiler.report import write_report
    from profiler.report.model import build_report
    from profiler.session import store_for

    _check_output(args.out)
    with store_for(args.store) as store:
        rows = store.sessions()
        if args.session == "last":
            if not rows:
                raise BadInput(f"no sessions in {store.path}")
            sid = rows[0].id
        else:
            try:
                sid = int(args.session)
            except ValueError:
                raise BadInput(
                    f"session must be a number or 'last', not {args.session!r}"
                ) from None
        try:
            stored = store.load(sid)
        except KeyError:
            raise BadInput(f"no session {sid} in {store.path}; see `frameduel sessions`") from None
    write_report(build_report(stored), Path(args.out))
    print(f"wrote {args.out}")
    return EXIT_OK
