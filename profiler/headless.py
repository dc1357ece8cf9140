"""The headless pipeline: run a session with a progress bar per run, then write the reports."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from profiler.colors import color_of, label_of
from profiler.config import Config
from profiler.events import Phase, Window
from profiler.protocol import Event
from profiler.repeats import Certainty
from profiler.sampler import Sample
from profiler.session import ComparisonSession, RunInfo, RunOptions, RunOutcome
from profiler.store import Store, StoreError
from profiler.terminal import literal, printable

if TYPE_CHECKING:
    from profiler.report.summary import RunFigures, SessionSummary


class _Console(Console):
    """A console whose reader may leave (``| head -1``): rich would raise SystemExit there,
    ending the session's loop; this one goes quiet and raises BrokenPipeError, which the
    session's listener guard and the end of the run absorb."""

    def on_broken_pipe(self) -> None:
        """Go quiet and send stdout/stderr to /dev/null."""
        self.quiet = True
        _silence()
        raise BrokenPipeError(errno.EPIPE, "the reader of FrameDuel's output went away")


class ProgressListener:
    """Shows one progress bar per run (or plain lines when stderr is not a terminal)."""

    def __init__(self, console: Console, runs: list[RunInfo]) -> None:
        self.console = console
        self.live = console.is_terminal
        self._lock = threading.Lock()
        self._names: dict[int, str] = {}
        self._phase: dict[int, str] = {}
        self._speed: dict[int, str] = {}
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[phase]:<8} {task.fields[speed]}"),
            console=console,
            disable=not self.live,
        )
        self._tasks: dict[int, TaskID] = {}
        self._certainty: TaskID | None = None
        self.runs_added(runs)

    def runs_added(self, runs: list[RunInfo]) -> None:
        """A bar per run (auto repeats add a round at a time)."""
        with self._lock:
            for r in runs:
                self._names[r.run_id] = _run_name(r)
                self._tasks[r.run_id] = self.progress.add_task(
                    self._names[r.run_id], total=r.total_steps, phase="queued", speed=""
                )

    def certainty_changed(self, certainty: Certainty) -> None:
        """A live row with the verdict's certainty so far and the target, and the same line
        printed above the bars after every round (kept in the scrollback)."""
        text = certainty.describe()
        with self._lock:
            if self._certainty is None:
                self._certainty = self.progress.add_task(
                    text, total=None, phase="", speed="", start=False
                )
            else:
                self.progress.update(self._certainty, description=text)
        if self.live:
            self.progress.console.print(text, highlight=False)
        self._say(text)

    def _say(self, text: str) -> None:
        """Print a line of rich markup; user and child text in it went through ``literal``."""
        if not self.live:
            self.console.print(text, highlight=False)

    def run_started(self, run: RunInfo) -> None:
        """A child was launched."""
        self._update(run.run_id, phase="starting")
        self._say(f"{self._names[run.run_id]}: started")

    def run_event(self, run_id: int, t: float, event: Event) -> None:
        """Phases move the label; windows move the bar."""
        data = event.data
        if isinstance(data, Phase) and data.state == "start":
            name = literal(data.name)
            self._update(run_id, phase=name)
            self._say(f"{self._names[run_id]}: {name} (t={t:.1f} s)")
        elif isinstance(data, Window):
            speed = f"{data.steps / data.seconds:,.0f} steps/s"
            self._update(run_id, completed=data.step, speed=speed)

    def run_sample(self, run_id: int, t: float, sample: Sample) -> None:
        """Samples are not shown in the terminal."""

    def run_log(self, run_id: int, t: float, line: str) -> None:
        """Child logs are stored, not printed."""

    def run_finished(self, outcome: RunOutcome) -> None:
        """Mark the bar done or failed."""
        phase = outcome.status if outcome.status != "ok" else "done"
        self._update(outcome.run_id, phase=phase)
        line = f"{self._names[outcome.run_id]}: {literal(outcome.status)}"
        if outcome.error:
            line += f" ({literal(outcome.error)})"
        if self.live:
            self.progress.console.print(line, highlight=False)
        else:
            self._say(line)

    def _update(self, run_id: int, **fields: Any) -> None:
        with self._lock:
            self.progress.update(self._tasks[run_id], **fields)


def _run_name(run: RunInfo) -> str:
    color = color_of(run.framework)
    return f"[{color}]{label_of(run.framework):<10}[/] #{run.repeat + 1}"


def run_headless(
    config: Config,
    store: Store,
    config_path: str | None,
    *,
    report: str | None = None,
    json_out: str | None = None,
    options: RunOptions | None = None,
) -> int:
    """Run ``config`` with progress bars; write the reports; 0 if every run was ok, else 1.
    With ``run.distributed``, one session per worker count, smallest first."""
    console = _Console(stderr=True)
    if config.run.distributed is not None:
        from profiler.scaling_session import scaling_sessions

        sessions = scaling_sessions(config, store, config_path=config_path, options=options)
    else:
        sessions = [ComparisonSession(config, store, config_path=config_path, options=options)]
    received: list[int] = []
    current: list[ComparisonSession] = []

    def _interrupt(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        if current:
            current[-1].stop(f"stopped by {signal.Signals(signum).name}")

    # Ctrl+C, a `kill`, a closed terminal: the runs are stopped and settled, never left running.
    previous = {sig: signal.signal(sig, _interrupt) for sig in STOP_SIGNALS}
    statuses: list[str | None] = []
    try:
        for session in sessions:
            if received:  # stopped between worker counts: the next ones never start
                break
            current.append(session)
            runs = session.prepare()
            listener = ProgressListener(console, runs)
            session.listener = listener
            try:
                _print_plan(console, config, session, store, len(runs))
            except BrokenPipeError:
                _silence()
            try:
                with listener.progress:
                    session.run()
            except BrokenPipeError:  # the bars' last refresh; the session is settled and stored
                _silence()
            except StoreError as exc:  # the disk filled mid-run (one before it is bad input: 2)
                print(f"frameduel: error: {printable(exc)}", file=sys.stderr)
                return 1
            statuses.append(session.status)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    session = current[-1]
    if isinstance(session.listener_error, BrokenPipeError) or _closed(sys.stderr):
        _silence()  # the reader went away (`| head -1`): the session is stored, reports follow
    code = _finish_outputs(console, session, store, report, json_out)
    if code:
        return code
    if received:
        return 128 + received[0]
    if any(status != "ok" for status in statuses):
        print("frameduel: a run did not succeed; see the summary above", file=sys.stderr)
        return 1
    return 0


def _print_plan(
    console: Console, config: Config, session: ComparisonSession, store: Store, runs: int
) -> None:
    planned = f"{runs} run(s)"
    if session.auto:
        planned = (
            f"repeats until every speed ratio is within ±{config.run.target_ci * 100:g}% "
            f"(at most {config.run.max_repeats} per framework"
            + (f", {config.run.budget_s:g} s" if config.run.budget_s is not None else "")
            + ")"
        )
    workers = session.options.distributed.get("workers")
    scale = f" at {workers} worker(s)" if workers is not None else ""
    console.print(
        f"FrameDuel: [bold]{literal(config.name)}[/]{scale} — {planned}, "
        f"session {session.session_id} in {literal(store.path)}",
        highlight=False,
    )


# The signals that stop a headless session (the runs are settled and stored before exiting).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _closed(stream: Any) -> bool:
    try:
        stream.flush()
    except (BrokenPipeError, ValueError):
        return True
    return False


def _silence() -> None:
    """Send stdout and stderr to /dev/null: their reader is gone, and writing there again
    would raise instead of finishing the bookkeeping and the reports."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            os.dup2(devnull, stream.fileno())
    os.close(devnull)


def _finish_outputs(
    console: Console,
    session: ComparisonSession,
    store: Store,
    report: str | None,
    json_out: str | None,
) -> int:
    """Print the end table and write the reports: 0, or 1 when a report could not be written."""
    from profiler.report import write_atomically, write_report
    from profiler.report.json_report import write_json
    from profiler.report.model import build_report
    from profiler.report.scaling import with_scaling
    from profiler.report.summary import summary_of

    assert session.session_id is not None
    model = with_scaling(build_report(store.load(session.session_id)), store)
    try:
        _print_summary(console, summary_of(model))
        if model.scaling is not None:
            console.print(model.scaling.verdict, highlight=False)
        if model.repeats is not None and model.repeats.mode == "auto":
            console.print(model.repeats.describe(), highlight=False)
    except BrokenPipeError:
        _silence()
    if json_out == "-":  # machine-readable on stdout; everything else is on stderr
        from profiler.report import render_text

        sys.stdout.write(render_text(model, "json"))
        json_out = None
    for out in (report, json_out):
        if out is None:
            continue
        path = Path(out)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if out == json_out:
                write_atomically(path, lambda partial: write_json(model, partial))
            else:
                write_report(model, path)
        except OSError as exc:
            print(
                f"frameduel: error: cannot write {printable(out)}: {exc.strerror or exc}; the "
                f"session is stored: `frameduel report {session.session_id} --out FILE`",
                file=sys.stderr,
            )
            return 1
        try:
            console.print(f"wrote {literal(path.resolve())}", highlight=False)
        except BrokenPipeError:
            _silence()
    return 0


def _print_summary(console: Console, summary: SessionSummary) -> None:
    """The session's summary (``profiler.report.summary``, the figures every surface shows): a
    column per run; with repeats, a column per framework (the median over its ok runs), so
    twenty runs never squeeze the table into ellipses. Then each framework's steps/s ratio to
    the first with its 95% interval, and the measurement-quality warnings."""
    from profiler.report.summary import format_figure

    groups: dict[str, list[RunFigures]] = {}
    for run in summary.runs:
        groups.setdefault(run.framework, []).append(run)
    per_framework = any(len(g) > 1 for g in groups.values())
    title = "Summary (measured phase" + (", median over ok runs)" if per_framework else ")")
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    columns: list[list[RunFigures]] = (
        list(groups.values()) if per_framework else [[r] for r in summary.runs]
    )
    for group in columns:
        fw = group[0].framework
        name = f"[{color_of(fw)}]{label_of(fw)}[/]"
        head = f"{name} ({len(group)} runs)" if per_framework else f"{name} #{group[0].repeat + 1}"
        table.add_column(head, justify="right")
    statuses = []
    for group in columns:
        counts: dict[str, int] = {}
        for run in group:
            counts[run.status] = counts.get(run.status, 0) + 1
        statuses.append(", ".join(f"{n} {s}" if per_framework else s for s, n in counts.items()))
    table.add_row("status", *statuses)
    table.add_row(
        "params",
        *(
            format_figure(summary.params(g[0].framework) if per_framework else g[0].params)
            for g in columns
        ),
    )
    for figure in summary.figures():
        cells = [
            format_figure(
                summary.value(group[0].framework, figure.key)
                if per_framework
                else group[0].value(figure.key)
            )
            for group in columns
        ]
        table.add_row(figure.title, *cells)
    console.print(table)
    frameworks = [fw for fw in summary.frameworks if fw in groups]
    for other in frameworks[1:]:
        cell = summary.ratio("steps_per_s", frameworks[0], other)
        if cell.state != "none":
            console.print(
                f"steps/s {label_of(other)} / {label_of(frameworks[0])}: {cell.text} "
                f"({literal(cell.tip)})",
                highlight=False,
            )
    for who, note in summary.warnings:
        console.print(f"[yellow]quality[/]: {literal(who)}: {literal(note)}", highlight=False)
