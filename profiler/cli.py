"""The `frameduel` command: the desktop app, or the same pipeline headless.

Exit status: 0 when every run succeeded, 1 when a run failed, 2 for bad input (config,
arguments, store), with a one-line reason on stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from profiler import __version__

# The `frameduel` script imports this module before ``main`` runs, where a Ctrl+C would end in
# a traceback: so the engine (pydantic, the config schema, the store) is imported inside ``main``.
if TYPE_CHECKING:
    from profiler.config import Config

EXIT_OK, EXIT_RUN_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
# SQLite's integers are 64-bit: a bigger session id cannot name a stored session.
MAX_SESSION_ID = 2**63 - 1


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
    r.add_argument("config", metavar="CONFIG", nargs="?", help="a config (optional with --cmd)")
    r.add_argument(
        "--cmd",
        action="append",
        default=[],
        metavar="FW=COMMAND",
        help="run your own script as FW's run, e.g. torch='python train_torch.py' (repeatable)",
    )
    r.add_argument("--name", help="the session's name with --cmd and no config")
    r.add_argument("--frameworks", help="comma-separated subset, e.g. torch,tensorflow")
    r.add_argument("--steps", type=int, help="override train.steps")
    r.add_argument(
        "--repeats", metavar="N|auto", help="override run.repeats (runs per framework, or auto)"
    )
    r.add_argument("--batch-size", type=int, metavar="N", help="override train.batch_size")
    r.add_argument("--threads", type=int, metavar="N", help="override threads (CPU threads)")
    r.add_argument("--device", help="override device: auto, cpu, cuda or cuda:N")
    r.add_argument("--sample-hz", type=float, metavar="HZ", help="override run.sample_hz")
    r.add_argument("--store", help="SQLite store (default: $FRAMEDUEL_STORE or XDG data dir)")
    r.add_argument("--report", metavar="OUT", help=f"write a report ({_suffixes()})")
    r.add_argument("--json", metavar="OUT.json", help="write the JSON summary ('-': stdout)")
    r.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="FW=PATH",
        help="interpreter for one framework's runs, e.g. tensorflow=/opt/tf-env/bin/python",
    )
    r.add_argument(
        "--cooldown", type=float, metavar="S", help="override run.cooldown_s (pause between runs)"
    )

    v = sub.add_parser("validate", help="check configs without running them")
    v.add_argument("configs", nargs="+", metavar="CONFIG")

    desc = sub.add_parser(
        "describe",
        help="parameters, FLOPs per step and training memory of a config's model, per framework",
    )
    desc.add_argument("config", metavar="CONFIG")
    desc.add_argument("--json", action="store_true", help="print JSON instead of a table")

    d = sub.add_parser("doctor", help="list frameworks, GPUs, Qt and the store")
    d.add_argument("--store", help="SQLite store to report on")
    d.add_argument("--json", action="store_true", help="print the findings as one JSON object")
    d.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="FW=PATH",
        help="check a framework in the interpreter its runs use, e.g. torch=/envs/pt/bin/python",
    )

    s = sub.add_parser("sessions", help="list stored sessions")
    s.add_argument("--store")
    s.add_argument("--delete", type=_session_id, metavar="ID", help="delete a session")
    s.add_argument("--json", action="store_true", help="print the sessions as a JSON array")

    rep = sub.add_parser("report", help="export a stored session's report")
    rep.add_argument("session", type=_session_or_last, help="session id, or 'last'")
    rep.add_argument("--out", required=True, help=f"output file ({_suffixes()}), or - for stdout")
    rep.add_argument(
        "--format",
        choices=_text_formats(),
        default="json",
        help="the format written to stdout with --out - (default json)",
    )
    rep.add_argument("--store")

    ex = sub.add_parser(
        "export", help="export a stored session to an MLflow tracking store or TensorBoard files"
    )
    ex.add_argument("session", type=_session_or_last, help="session id, or 'last'")
    ex.add_argument("--mlflow", metavar="URI", help="tracking URI or folder, e.g. ./mlruns")
    ex.add_argument("--experiment", help="MLflow experiment (default: frameduel/<config name>)")
    ex.add_argument("--tensorboard", metavar="LOGDIR", help="folder for TensorBoard event files")
    ex.add_argument("--store")

    tr = sub.add_parser(
        "trace",
        help="write a session's traces as one Perfetto/Chrome trace, or copy the native ones",
    )
    tr.add_argument("session", type=_session_or_last, help="session id, or 'last'")
    tr.add_argument("--out", help="the merged trace (.json or .json.gz): one process per run")
    tr.add_argument("--native", metavar="DIR", help="copy each run's native trace files here")
    tr.add_argument("--store")

    sub.add_parser(
        "schema", help="print the config's JSON Schema (for editors: $schema, yaml-language-server)"
    )
    return p


def _suffixes() -> str:
    from profiler.report_formats import REPORT_SUFFIXES  # light: no report code is imported

    return ", ".join(REPORT_SUFFIXES)


def _text_formats() -> tuple[str, ...]:
    from profiler.report_formats import TEXT_FORMATS

    return TEXT_FORMATS


def _session_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a session id is a number, not {text!r}") from None
    if not 1 <= value <= MAX_SESSION_ID:
        raise argparse.ArgumentTypeError(f"no session {text}: session ids run from 1 to 2**63-1")
    return value


def _session_or_last(text: str) -> int | str:
    return text if text == "last" else _session_id(text)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `frameduel` command."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        # A report being written is a temporary file until it is complete: nothing half-written
        # is left behind.
        print("frameduel: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _main(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    _warn_if_shadowed()
    try:
        return _dispatch(args)
    except BrokenPipeError:
        # The reader went away (`frameduel schema | head`): no traceback, and no second error
        # when Python flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK


def _warn_if_shadowed() -> None:
    """Say so when another distribution's ``profiler``/``workloads``/``gui`` replaced ours."""
    from profiler.install_check import problems

    for problem in problems():
        print(f"frameduel: warning: {problem}", file=sys.stderr)


def _dispatch(args: argparse.Namespace) -> int:
    from profiler.terminal import interrupts_deferred, printable

    with interrupts_deferred():
        from profiler.config import ConfigError
        from profiler.store import StoreError

        if args.command == "run":
            import profiler.headless  # noqa: F401  (rich, psutil, the session: compiled parts)

    try:
        if args.command in (None, "gui"):
            return _gui(args)
        if args.command == "run":
            return _run(args)
        if args.command == "validate":
            return _validate(args.configs)
        if args.command == "doctor":
            from profiler.doctor import doctor

            return doctor(args.store, _pythons(args.python), as_json=args.json)
        if args.command == "sessions":
            return _sessions(args)
        if args.command == "report":
            return _report(args)
        if args.command == "describe":
            return _describe(args.config, args.json)
        if args.command == "export":
            return _export(args)
        if args.command == "trace":
            return _trace(args)
        if args.command == "schema":
            from profiler.config_schema import json_schema

            print(json.dumps(json_schema(), indent=2))
            return EXIT_OK
    except (BadInput, ConfigError, StoreError) as exc:
        print(f"frameduel: error: {printable(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    raise AssertionError(args.command)


def _gui(args: argparse.Namespace) -> int:
    # The engine's one upward import, named in the import contracts (pyproject.toml): imported
    # here, when the app is asked for, so a headless server without PySide6 still runs every
    # other command and the engine's own modules never load Qt.
    try:
        from gui import app
    except ImportError as exc:
        raise BadInput(
            f"the desktop app needs PySide6 and pyqtgraph ({exc}); install frameduel[gui] "
            "or use `frameduel run` headless"
        ) from None
    configs = list(getattr(args, "configs", []) or [])
    code: int = app.main(configs, getattr(args, "run", False), getattr(args, "store", None))
    return code


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The run command's overrides of its config, as keywords of ``apply_overrides`` (values
    not given are None); only their syntax is checked here, their values by the config."""
    frameworks = None
    if args.frameworks is not None:
        frameworks = [f.strip() for f in args.frameworks.split(",") if f.strip()]
    text: str | None = args.repeats
    repeats: int | str | None = text
    if text is not None and text != "auto":
        if not text.lstrip("-").isdigit():
            raise BadInput(f"--repeats {text}: must be auto or a number of runs per framework")
        repeats = int(text)
    return {
        "steps": args.steps,
        "frameworks": frameworks,
        "repeats": repeats,
        "batch_size": args.batch_size,
        "threads": args.threads,
        "device": args.device,
        "cooldown_s": args.cooldown,
        "sample_hz": args.sample_hz,
        "python": {
            fw: os.path.abspath(path) for fw, path in _pythons(args.python, check=False).items()
        }
        or None,
    }


def _load(path: str, overrides: dict[str, Any] | None = None) -> Config:
    """Load a config and apply the overrides through the config's one override path: a bad
    value reads as a bad field does, naming the option (``--cooldown -1: run.cooldown_s: ...``)."""
    from profiler.config import apply_overrides, load_config

    return apply_overrides(load_config(path), path, **(overrides or {}))


def _script_config(args: argparse.Namespace) -> Config:
    """The config of a `run --cmd` session: the scripts as run.commands, merged into CONFIG's."""
    from profiler.config import FRAMEWORKS, Config, apply_overrides

    commands: dict[str, str] = {}
    for pair in args.cmd:
        fw, sep, line = pair.partition("=")
        if not sep or fw not in FRAMEWORKS or not line.strip():
            raise BadInput(f"--cmd {pair!r}: use FRAMEWORK=COMMAND, e.g. torch='python train.py'")
        if fw in commands:
            raise BadInput(f"--cmd: {fw} is given twice")
        commands[fw] = line
    if args.config is not None:
        base = _load(args.config).model_dump(mode="json")
        if base["model"]["family"] != "script":
            raise BadInput(
                f"--cmd runs your scripts: {args.config} must say model: {{family: script}}"
            )
        base_dir = Path(args.config).resolve().parent
    else:
        base = {"name": args.name or "scripts", "model": {"family": "script"}}
        base_dir = Path.cwd()
    base["frameworks"] = list(commands)
    base["run"] = {**base.get("run", {}), "commands": commands}
    try:
        config = Config.model_validate(base, context={"base_dir": base_dir})
    except ValueError as exc:
        raise BadInput(f"--cmd: {exc}") from None
    # the scripts name the frameworks; every other override applies as to any config
    overrides = {**_overrides(args), "frameworks": None}
    return apply_overrides(config, args.config or "--cmd", **overrides)


def _describe(path: str, as_json: bool) -> int:
    import json

    from profiler.config import load_config
    from profiler.describe import available_memory, check_memory, describe, render_text

    # the estimate is what describe is for: a config too large for this machine still gets one
    config = load_config(path, check_memory=False)
    description = describe(config)
    problem = check_memory(config)
    if as_json:
        out = description.to_json()
        # null when the memory free where it would run is unknown (cuda without NVML), or the
        # model's cost is (a custom model)
        known = (
            available_memory(config) is not None and description.frameworks[0].memory is not None
        )
        out["fits"] = problem is None if known else None
        print(json.dumps(out, indent=2))
        return EXIT_OK
    print(render_text(description))
    if problem is not None:
        print(f"does not fit: {problem[1]}")
    return EXIT_OK


def _validate(paths: list[str]) -> int:
    from profiler.config import ConfigError, load_config
    from profiler.terminal import printable

    bad = 0
    for path in paths:
        try:
            config = load_config(path)
        except ConfigError as exc:
            print(f"frameduel: error: {printable(exc)}", file=sys.stderr)
            bad += 1
            continue
        fws = ", ".join(config.frameworks)
        name = printable(config.name)
        print(f"{printable(path)}: ok ({name}: {config.model.family}, {fws})")
    return EXIT_BAD_INPUT if bad else EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from profiler.headless import run_headless
    from profiler.session import RunOptions, store_for

    if args.cmd:
        config = _script_config(args)
    elif args.config is None:
        raise BadInput("run: give a CONFIG, or your own scripts with --cmd FW=COMMAND")
    else:
        config = _load(args.config, _overrides(args))
    if args.report == "-":
        raise BadInput("--report writes a file; for JSON on stdout use --json -")
    if args.json not in (None, "-") and Path(args.json).suffix.lower() != ".json":
        raise BadInput(f"--json {args.json}: the JSON summary's file name ends in .json")
    # before the run, not after it: a report that cannot be written would be lost
    for out in (args.report, args.json):
        if out is not None and out != "-":
            _check_output(out)
    with store_for(args.store) as store:
        return run_headless(
            config, store, args.config, report=args.report, json_out=args.json, options=RunOptions()
        )


def _pythons(pairs: list[str], *, check: bool = True) -> dict[str, str]:
    """``FW=PATH`` pairs; ``check`` also asks that each PATH be executable (the doctor's; a
    run's interpreters are checked by the config, as ``run.python`` is)."""
    from profiler.config import FRAMEWORKS

    out: dict[str, str] = {}
    for pair in pairs:
        fw, sep, path = pair.partition("=")
        if not sep or fw not in FRAMEWORKS or not path:
            raise BadInput(
                f"--python {pair!r}: use FRAMEWORK=PATH, e.g. tensorflow=/env/bin/python"
            )
        if check and (not Path(path).is_file() or not os.access(path, os.X_OK)):
            raise BadInput(f"--python {pair!r}: {path} is not an executable file")
        out[fw] = path
    return out


def _check_output(path: str, *, trace: bool = False) -> None:
    """A report (or with ``trace``, a merged trace) can be written at ``path``: its folder is
    created and a file tried in it."""
    from profiler.report_formats import format_for

    target = Path(path)
    suffix = target.suffix.lower()
    if trace:
        if not target.name.lower().endswith((".json", ".json.gz")):
            raise BadInput(f"{path}: a trace is written as .json or .json.gz")
    else:
        try:
            format_for(target)
        except ValueError as exc:
            raise BadInput(str(exc)) from None
    if target.is_dir():
        raise BadInput(f"{path} is a folder; give a file name such as {target / 'report'}{suffix}")
    if target.exists() and not target.is_file():
        raise BadInput(f"{path} is not a regular file (a device or a pipe); give a file name")
    parent = target.resolve().parent
    if parent.exists() and not parent.is_dir():
        raise BadInput(f"{path}: {parent} is not a folder")
    probe = parent / f".frameduel-probe-{secrets.token_hex(4)}"
    try:
        parent.mkdir(parents=True, exist_ok=True)
        probe.touch(exist_ok=False)
    except OSError as exc:
        raise BadInput(f"{path}: cannot write in {parent}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()


def _store_path(given: str | None) -> Path:
    from profiler.paths import default_store_path

    return Path(given).expanduser() if given else default_store_path()


def _sessions(args: argparse.Namespace) -> int:
    from profiler.session import store_for
    from profiler.terminal import printable

    if args.delete is not None:
        with store_for(args.store) as store:
            if not store.delete_session(args.delete):
                raise BadInput(f"no session {args.delete} in {store.path}")
        print(f"deleted session {args.delete}")
        return EXIT_OK
    path = _store_path(args.store)
    if not path.exists():
        print(f"no sessions in {path}")
        return EXIT_OK
    # Listing writes nothing: an archived store or a read-only mount can be listed.
    with store_for(path, read_only=True) as store:
        rows = store.sessions()
        if args.json:
            print(json.dumps([_session_row(row) for row in rows], indent=2))
            return EXIT_OK
        if not rows:
            print(f"no sessions in {printable(store.path)}")
        for row in rows:
            fws = printable(",".join(row.frameworks))
            name, status = printable(row.name), printable(row.status)
            print(f"{row.id:>5}  {row.created_at}  {status:<11}  {fws:<22}  {name}")
    return EXIT_OK


def _session_row(row: Any) -> dict[str, Any]:
    """One stored session as JSON (every field of ``Store.sessions()``'s rows)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(row).items()}


def _stored_report(store_path: str | None, session: int | str) -> Any:
    """The report model of stored session ``session`` (an id or 'last')."""
    from profiler.report.model import build_report
    from profiler.session import store_for

    path = _store_path(store_path)
    if not path.exists():
        what = "sessions" if session == "last" else f"session {session}"
        raise BadInput(f"no {what} in {path} (there is no store there); see --store")
    with store_for(path, read_only=True) as store:
        if session == "last":
            rows = store.sessions()
            if not rows:
                raise BadInput(f"no sessions in {store.path}")
            sid = rows[0].id
        else:
            sid = int(session)
        try:
            stored = store.load(sid)
        except KeyError:
            raise BadInput(f"no session {sid} in {store.path}; see `frameduel sessions`") from None
        from profiler.report.scaling import with_scaling  # a data-parallel session's scaling

        return with_scaling(build_report(stored), store)


def _export(args: argparse.Namespace) -> int:
    from profiler.report.tracking import ExportError, export_mlflow, export_tensorboard

    if not args.mlflow and not args.tensorboard:
        raise BadInput("export: say where, with --mlflow URI and/or --tensorboard LOGDIR")
    model = _stored_report(args.store, args.session)
    try:
        if args.mlflow:
            ids = export_mlflow(model, args.mlflow, args.experiment)
            print(f"MLflow: session run {ids[0]} with {len(ids) - 1} run(s) in {args.mlflow}")
        if args.tensorboard:
            folders = export_tensorboard(model, args.tensorboard)
            where = folders[0].parent if folders else args.tensorboard
            print(f"TensorBoard: {len(folders)} run(s) in {where}")
    except ExportError as exc:
        raise BadInput(str(exc)) from None
    return EXIT_OK


def _trace(args: argparse.Namespace) -> int:
    from profiler.breakdown import session_trace_dir
    from profiler.terminal import printable
    from profiler.trace.merge import copy_native, write_merged_trace

    if not args.out and not args.native:
        raise BadInput("trace: say what to write, with --out FILE and/or --native DIR")
    if args.out:
        _check_output(args.out, trace=True)
    model = _stored_report(args.store, args.session)
    sid = model.generated_from.id
    runs = model.breakdowns
    store = _store_path(args.store)
    if not runs:
        raise BadInput(
            f"session {sid} has no traces in {session_trace_dir(store, sid)} "
            "(it ran with run.trace: off, before tracing existed, or its traced runs failed)"
        )
    try:
        if args.out:
            write_merged_trace(store, sid, runs, Path(args.out))
            print(f"wrote {printable(args.out)}: {len(runs)} run(s), one process each")
        if args.native:
            files = copy_native(store, sid, runs, Path(args.native))
            print(f"copied {len(files)} native trace file(s) to {printable(args.native)}")
    except (OSError, ValueError) as exc:
        raise BadInput(f"trace: {exc}") from None
    return EXIT_OK


def _report(args: argparse.Namespace) -> int:
    from profiler.report import write_report
    from profiler.terminal import printable

    if args.out != "-":
        _check_output(args.out)
    model = _stored_report(args.store, args.session)
    if args.out == "-":
        from profiler.report import render_text

        sys.stdout.write(render_text(model, args.format))
        return EXIT_OK
    try:
        write_report(model, Path(args.out))
    except OSError as exc:
        raise BadInput(f"cannot write {args.out}: {exc.strerror or exc}") from None
    print(f"wrote {printable(args.out)}")
    return EXIT_OK
