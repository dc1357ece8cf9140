"""OpenSSH as the user has it: command lines, the code shipped to a host, and a host check.

FrameDuel stores no credentials and speaks no SSH itself: it runs the user's own ``ssh`` client,
so ``~/.ssh/config``, agents, jump hosts and keys work as they do in a terminal. It runs in batch
mode (never a prompt: a host that wants a password is an error, said in ssh's own words) and with
keep-alives, so a dead link is noticed within seconds rather than at TCP's timeout.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shlex
import subprocess
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from profiler.paths import child_code_dir

# Extra arguments for every ssh command (e.g. "-F /path/to/config"), for setups the user's
# ~/.ssh/config does not describe; RunOptions.ssh_args says the same from code.
SSH_ARGS_ENV = "FRAMEDUEL_SSH_ARGS"
CONNECT_TIMEOUT_S = 10
# A dead link is noticed after KEEPALIVE_S * KEEPALIVE_COUNT seconds without an answer.
KEEPALIVE_S = 2
KEEPALIVE_COUNT = 3
DEFAULT_REMOTE_PYTHON = "python3"
# A host as ssh takes it: an alias from ~/.ssh/config, or [user@]host[:port].
HOST_PATTERN = re.compile(r"^(?:[A-Za-z0-9._+-]+@)?[A-Za-z0-9][A-Za-z0-9._-]*(?::[0-9]{1,5})?$")
HOST_MAX_CHARS = 255

# What the host runs: read the shipped code (a tar whose size is the first line on stdin) into a
# fresh temporary folder, run the agent from it, and remove the folder whatever happens.
_BOOTSTRAP = """\
import io, os, shutil, sys, tarfile, tempfile
d = tempfile.mkdtemp(prefix="frameduel-run-")
code = 1
try:
    i = sys.stdin.buffer
    n = int(i.readline())
    t = tarfile.open(fileobj=io.BytesIO(i.read(n)))
    t.extractall(d, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    sys.path.insert(0, d)
    from workloads.agent import main
    code = main(d)
except BaseException:
    import traceback
    traceback.print_exc()
finally:
    shutil.rmtree(d, ignore_errors=True)
    sys.stdout.flush()
    sys.stderr.flush()
    # not sys.exit: the agent's watchdog thread is blocked reading stdin, which would stall
    # the interpreter's shutdown
    os._exit(code)
"""

# What the host check runs: the interpreter's own facts, as one JSON line.
_PROBE = (
    "import json, os, platform, socket, sys; print(json.dumps({'hostname': socket.gethostname(),"
    " 'python': sys.executable, 'python_version': platform.python_version(),"
    " 'platform': platform.platform(), 'cpus': os.cpu_count()}))"
)


class RemoteHostError(RuntimeError):
    """A host that cannot run anything: unreachable, refused, or without the interpreter."""


@dataclass(frozen=True)
class SshTarget:
    """Where ssh connects: the destination as ssh takes it, and a port when one was given."""

    name: str
    destination: str
    port: int | None = None

    @classmethod
    def parse(cls, name: str) -> SshTarget:
        """``gpu-box`` (an alias), ``me@gpu-box`` or ``me@10.0.0.5:2222``."""
        if len(name) > HOST_MAX_CHARS or not HOST_PATTERN.match(name):
            raise ValueError(
                f"{name!r} is not a host: use an alias from ~/.ssh/config or user@host[:port]"
            )
        destination, _, port = name.partition(":")
        if port and not 1 <= int(port) <= 65535:
            raise ValueError(f"{name!r}: port {port} is not in 1-65535")
        return cls(name, destination, int(port) if port else None)


def extra_ssh_args() -> list[str]:
    """The arguments in $FRAMEDUEL_SSH_ARGS (split as a shell would)."""
    return shlex.split(os.environ.get(SSH_ARGS_ENV, ""))


def ssh_command(target: SshTarget, remote: str, extra: Sequence[str] = ()) -> list[str]:
    """The ssh argv running the shell command line ``remote`` on ``target``."""
    argv = ["ssh", "-T", *extra]
    argv += ["-o", "BatchMode=yes", "-o", f"ConnectTimeout={CONNECT_TIMEOUT_S}"]
    argv += ["-o", f"ServerAliveInterval={KEEPALIVE_S}"]
    argv += ["-o", f"ServerAliveCountMax={KEEPALIVE_COUNT}", "-o", "LogLevel=ERROR"]
    if target.port is not None:
        argv += ["-p", str(target.port)]
    return [*argv, "--", target.destination, remote]


def shell_word(path: str) -> str:
    """``path`` quoted for the remote shell; a leading ``~/`` still means the remote home."""
    if path.startswith("~/"):
        return '"$HOME"/' + shlex.quote(path[2:])
    return shlex.quote(path)


def agent_command(python: str, token: str) -> str:
    """The remote shell command line that starts the agent with ``python``."""
    # the token is in the agent's own environment, so every process of the run can be found
    token_env = shlex.quote(f"FRAMEDUEL_RUN_TOKEN={token}")
    return f"exec env {token_env} {shell_word(python)} -u -c {shlex.quote(_BOOTSTRAP)}"


_archives: dict[Path, bytes] = {}


def code_archive(cache_dir: Path) -> bytes:
    """The child code (``workloads/``) as a gzipped tar, built once per copy of the code."""
    root = child_code_dir(cache_dir)
    if root not in _archives:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            tar.add(root / "workloads", arcname="workloads")
        _archives[root] = buffer.getvalue()
    return _archives[root]


def archive_digest(data: bytes) -> str:
    """A short digest naming a code archive in the run's record."""
    return hashlib.sha256(data).hexdigest()[:16]


def probe_host(
    target: SshTarget, python: str, extra: Sequence[str] = (), timeout_s: float = 60.0
) -> dict[str, object]:
    """Run ``python`` on ``target`` once and return its facts (hostname, version, cpus).

    Raises RemoteHostError naming the host and, in ssh's or the shell's words, what went wrong.
    """
    remote = f"{shell_word(python)} -c {shlex.quote(_PROBE)}"
    try:
        done = subprocess.run(
            ssh_command(target, remote, extra),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout_s,
            check=False,
        )
    except FileNotFoundError:
        raise RemoteHostError(
            "the OpenSSH client (ssh) is not installed here; install openssh-client"
        ) from None
    except subprocess.TimeoutExpired:
        raise RemoteHostError(
            f"host {target.name}: no answer within {timeout_s:g} s over ssh"
        ) from None
    said = done.stderr.decode("utf-8", "replace").strip().splitlines()
    reason = said[-1] if said else f"exit status {done.returncode}"
    if done.returncode == 255:
        raise RemoteHostError(f"cannot reach host {target.name} over ssh: {reason}")
    if done.returncode != 0:
        raise RemoteHostError(
            f"host {target.name}: cannot run the interpreter {python!r} there "
            f"(set run.python.{target.name} to one that exists): {reason}"
        )
    try:
        facts = json.loads(done.stdout.decode("utf-8", "replace").strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise RemoteHostError(
            f"host {target.name}: {python!r} did not answer as a Python interpreter: {reason}"
        ) from None
    if not isinstance(facts, dict):
        raise RemoteHostError(f"host {target.name}: {python!r} gave an unexpected answer")
    return facts


def ssh_hostname(target: SshTarget, extra: Sequence[str] = ()) -> str:
    """The address ``target`` stands for in the user's ssh config (``ssh -G``'s ``hostname``):
    what the other nodes of a multi-node run connect to for the rendezvous."""
    try:
        done = subprocess.run(
            ["ssh", "-G", *extra, "--", target.destination],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RemoteHostError(f"host {target.name}: ssh -G failed ({exc})") from None
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition(" ")
        if key == "hostname" and value.strip():
            return value.strip()
    said = done.stderr.decode("utf-8", "replace").strip().splitlines()
    raise RemoteHostError(
        f"host {target.name}: ssh -G names no hostname for it" + (f": {said[-1]}" if said else "")
    )
