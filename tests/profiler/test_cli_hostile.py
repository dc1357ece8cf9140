"""The command under hostile input and faults, for real: subprocesses, real stores and files,
a read-only mount and a full tmpfs in a private mount namespace, real SIGINTs.

Each case ends with one line on stderr and a documented exit status (2 for bad input, 130 for
Ctrl+C), never a traceback; a report is complete or absent.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from profiler.report import write_atomically
from tests.profiler.test_report import record_session, simple_runs

TINY = """\
name: tiny-hostile
frameworks: [torch]
threads: 1
model: {family: mlp, input_dim: 12, hidden: [7], num_classes: 3}
data: {kind: synthetic, samples: 64}
train: {batch_size: 8, steps: 12, warmup_steps: 2}
"""
# OSC 52 (write the clipboard), set the title, clear the screen, and rich markup
HOSTILE_NAME = "[/bold] x \x1b]52;c;aGk=\x07 \x1b]0;pwned\x07 \x1b[2J [link=https://e.x]y[/link]"
HOSTILE_YAML_NAME = r'"[/bold] x \e]52;c;aGk=\a \e]0;pwned\a \e[2J [link=https://e.x]y[/link]"'
SHOWN_NAME = r"[/bold] x \x1b]52;c;aGk=\x07 \x1b]0;pwned\x07 \x1b[2J [link=https://e.x]y[/link]"


def frameduel(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "profiler", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "400"},  # rich wraps at 80 columns without a terminal
        check=False,
    )


def one_line_error(res: subprocess.CompletedProcess[str], code: int = 2) -> str:
    """The single stderr line of a failed command (asserting there is one and no traceback)."""
    assert res.returncode == code, res.stderr[-2000:]
    assert "Traceback" not in res.stderr
    lines = res.stderr.splitlines()
    assert len(lines) == 1, res.stderr
    return lines[0]


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


@pytest.fixture
def stored(tmp_path: Path) -> Path:
    """A store holding one finished session (recorded as a session would write it)."""
    path = tmp_path / "stored.sqlite3"
    record_session(path, simple_runs(), name=HOSTILE_NAME)
    return path


def needs_mount_namespace() -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare for a private mount namespace")


def in_mount_namespace(script: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``script`` with ``sh`` in a private mount namespace (its mounts vanish with it)."""
    return subprocess.run(
        ["unshare", "--mount", "sh", "-c", "mount --make-rprivate / || exit 99\n" + script],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "PY": sys.executable, **env},
        check=False,
    )


# -- arguments --------------------------------------------------------------------------------


def test_a_framework_twice_is_one_line(tiny: Path) -> None:
    res = frameduel("run", str(tiny), "--frameworks", "torch,torch")
    assert (
        one_line_error(res)
        == "frameduel: error: --frameworks torch,torch: frameworks: lists a framework twice"
    )


def test_steps_beyond_the_bound_is_one_line(tiny: Path) -> None:
    res = frameduel("run", str(tiny), "--steps", str(10**26))
    line = one_line_error(res)
    assert line.startswith(f"frameduel: error: --steps {10**26}: train.steps: ")
    assert "1000000000" in line


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--cooldown", "nan"], "--cooldown nan: run.cooldown_s: Input should be a finite number"),
        (["--cooldown", "inf"], "--cooldown inf: run.cooldown_s: Input should be a finite number"),
        (
            ["--cooldown", "-1"],
            "--cooldown -1: run.cooldown_s: Input should be greater than or equal to 0",
        ),
        (
            ["--cooldown", "3601"],
            "--cooldown 3601: run.cooldown_s: Input should be less than or equal to 3600",
        ),
        (["--threads", "0"], "--threads 0: threads: Input should be greater than 0"),
        (["--device", "tpu"], "--device tpu: device: must be auto, cpu, cuda or cuda:N"),
        (["--batch-size", "0"], "--batch-size 0: train.batch_size: Input should be greater than 0"),
        (
            ["--sample-hz", "100"],
            "--sample-hz 100: run.sample_hz: Input should be less than or equal to 50",
        ),
        (
            ["--repeats", "0"],
            "--repeats 0: run.repeats: must be auto or a number of runs per framework (1 to 100)",
        ),
        (["--repeats", "x"], "--repeats x: must be auto or a number of runs per framework"),
        (
            ["--python", "torch=/no/such/python"],
            "--python torch=/no/such/python: run.python.torch: /no/such/python is not an "
            "executable Python interpreter",
        ),
    ],
)
def test_every_override_is_checked_as_its_config_field_is(
    tiny: Path, args: list[str], error: str
) -> None:
    """One override path: a bad value of any option is one line naming the option, its value
    and the config field, in the words a bad config file gets."""
    res = frameduel("run", str(tiny), *args)
    assert one_line_error(res) == f"frameduel: error: {error}"


@pytest.mark.parametrize(
    "args",
    [
        ["report", str(10**23), "--out", "r.json"],
        ["sessions", "--delete", str(10**23)],
        ["report", "0", "--out", "r.json"],
    ],
)
def test_an_impossible_session_id_is_a_clear_error(stored: Path, args: list[str]) -> None:
    res = frameduel(*args, "--store", str(stored))
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
    assert "session ids run from 1 to 2**63-1" in res.stderr.splitlines()[-1]


# -- outputs ------------------------------------------------------------------------------------


def test_report_creates_a_missing_folder(stored: Path, tmp_path: Path) -> None:
    out = tmp_path / "new" / "deeper" / "r.json"
    res = frameduel("report", "last", "--out", str(out), "--store", str(stored))
    assert res.returncode == 0, res.stderr
    assert out.read_text().startswith("{")
    assert sorted(p.name for p in out.parent.iterdir()) == ["r.json"]  # no probe, no partial


def test_report_onto_a_folder_is_one_line(stored: Path, tmp_path: Path) -> None:
    folder = tmp_path / "r.html"
    folder.mkdir()
    res = frameduel("report", "last", "--out", str(folder), "--store", str(stored))
    assert one_line_error(res) == (
        f"frameduel: error: {folder} is a folder; give a file name such as {folder}/report.html"
    )


def test_report_onto_a_device_is_one_line(stored: Path, tmp_path: Path) -> None:
    full = tmp_path / "full.json"
    full.symlink_to("/dev/full")
    res = frameduel("report", "last", "--out", str(full), "--store", str(stored))
    assert one_line_error(res) == (
        f"frameduel: error: {full} is not a regular file (a device or a pipe); give a file name"
    )


def test_report_and_run_on_a_read_only_filesystem_fail_before_doing_anything(
    stored: Path, tiny: Path, tmp_path: Path
) -> None:
    needs_mount_namespace()
    ro = tmp_path / "ro"
    ro.mkdir()
    store = tmp_path / "run.sqlite3"
    script = """
mount --bind "$RO" "$RO" && mount -o remount,bind,ro "$RO" || exit 98
"$PY" -m profiler report last --out "$RO/r.pdf" --store "$STORED" 2>"$OUT/report.err"
echo $? >"$OUT/report.rc"
"$PY" -m profiler run "$TINY" --json "$RO/sub/r.json" --store "$STORE" 2>"$OUT/run.err"
echo $? >"$OUT/run.rc"
"""
    res = in_mount_namespace(
        script, RO=str(ro), STORED=str(stored), OUT=str(tmp_path), TINY=str(tiny), STORE=str(store)
    )
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "report.rc").read_text().strip() == "2"
    assert (tmp_path / "report.err").read_text() == (
        f"frameduel: error: {ro}/r.pdf: cannot write in {ro}: Read-only file system\n"
    )
    assert (tmp_path / "run.rc").read_text().strip() == "2"
    assert (tmp_path / "run.err").read_text() == (
        f"frameduel: error: {ro}/sub/r.json: cannot write in {ro}/sub: Read-only file system\n"
    )
    assert not store.exists()  # refused before the run: no session was even created
    assert list(ro.iterdir()) == []


def test_a_full_disk_while_writing_leaves_no_report(stored: Path, tmp_path: Path) -> None:
    needs_mount_namespace()
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    script = """
mount -t tmpfs -o size=16k tmpfs "$MNT" || exit 98
"$PY" -m profiler report last --out "$MNT/r.html" --store "$STORED" 2>"$OUT/err"
echo $? >"$OUT/rc"
ls -A "$MNT" >"$OUT/ls"
"""
    res = in_mount_namespace(script, MNT=str(mnt), STORED=str(stored), OUT=str(tmp_path))
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "rc").read_text().strip() == "2"
    assert (tmp_path / "err").read_text() == (
        f"frameduel: error: cannot write {mnt}/r.html: No space left on device\n"
    )
    assert (tmp_path / "ls").read_text() == ""  # neither a truncated report nor a partial file


def test_write_atomically_keeps_the_old_file_when_interrupted(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    target.write_text("old, complete\n")

    def half_then_ctrl_c(partial: Path) -> None:
        partial.write_text("{ half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomically(target, half_then_ctrl_c)
    assert target.read_text() == "old, complete\n"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]
    write_atomically(target, lambda partial: partial.write_text("new\n"))
    assert target.read_text() == "new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


# -- user text on the terminal -------------------------------------------------------------------


def test_validate_prints_names_and_fields_literally(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(TINY.replace("name: tiny-hostile", f"name: {HOSTILE_YAML_NAME}"))
    bad = tmp_path / "bad.yaml"
    bad.write_text(TINY + '"\\e]52;c;aGk=\\a": 1\n')
    res = frameduel("validate", str(good), str(bad))
    assert res.returncode == 2
    assert res.stdout == f"{good}: ok ({SHOWN_NAME}: mlp, torch)\n"
    assert one_line_error(res).startswith(f"frameduel: error: {bad}:7: \\x1b]52;c;aGk=\\x07: ")
    assert "\x1b" not in res.stdout + res.stderr and "\x07" not in res.stdout + res.stderr


def test_sessions_prints_stored_names_literally(stored: Path) -> None:
    res = frameduel("sessions", "--store", str(stored))
    assert res.returncode == 0, res.stderr
    assert res.stdout.rstrip("\n").endswith(SHOWN_NAME)
    assert "\x1b" not in res.stdout and "\x07" not in res.stdout


@pytest.mark.slow
def test_run_prints_markup_and_escapes_literally(tmp_path: Path) -> None:
    config = tmp_path / "hostile.yaml"
    config.write_text(TINY.replace("name: tiny-hostile", f"name: {HOSTILE_YAML_NAME}"))
    out = tmp_path / "missing" / "folder" / "r.json"
    res = frameduel(
        "run", str(config), "--store", str(tmp_path / "s.sqlite3"), "--json", str(out), timeout=240
    )
    # rich raised MarkupError on "[/bold]" before; the escapes reached the terminal raw
    assert res.returncode == 0, res.stderr[-3000:]
    assert f"FrameDuel: {SHOWN_NAME} — 1 run(s)" in res.stderr
    assert "\x1b" not in res.stderr + res.stdout and "\x07" not in res.stderr + res.stdout
    assert out.is_file()


# -- Ctrl+C -------------------------------------------------------------------------------------


def _loaded(pid: int, library: str) -> bool:
    try:
        return library in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


def interrupt_when_loaded(args: list[str], library: str, delay_s: float) -> tuple[int, str]:
    """Start the command, send SIGINT ``delay_s`` after ``library`` is mapped into it (so the
    signal lands in a known phase, whatever the machine's load); its exit status and stderr."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "profiler", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ,
    )
    try:
        deadline = time.monotonic() + 120
        while not _loaded(proc.pid, library) and proc.poll() is None:
            assert time.monotonic() < deadline, f"{library} never loaded"
            time.sleep(0.005)
        time.sleep(delay_s)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, stderr


@pytest.mark.parametrize("delay_s", [0.0, 0.05])
def test_ctrl_c_during_start_up_is_one_line_and_130(tiny: Path, delay_s: float) -> None:
    # pydantic_core is mapped while the engine is imported, before the config is read
    code, stderr = interrupt_when_loaded(["run", str(tiny)], "pydantic_core", delay_s)
    assert (code, stderr) == (130, "frameduel: interrupted\n")


@pytest.mark.parametrize("delay_s", [0.0, 0.1])
def test_ctrl_c_while_a_report_is_written_leaves_none(
    stored: Path, tmp_path: Path, delay_s: float
) -> None:
    out = tmp_path / "reports" / "r.pdf"
    # matplotlib's compiled parts are mapped only once the PDF is being drawn
    code, stderr = interrupt_when_loaded(
        ["report", "last", "--out", str(out), "--store", str(stored)], "matplotlib", delay_s
    )
    assert (code, stderr) == (130, "frameduel: interrupted\n")
    assert list(out.parent.iterdir()) == []  # no report, no partial file, no probe
