"""A real OpenSSH server on the loopback address, for the remote-run tests.

Everything is throwaway and lives in a temporary folder: a host key and a user key made with
ssh-keygen, an sshd_config listening on 127.0.0.1 only at a free high port, and a client config
(passed with ``ssh -F``) naming the server by aliases, as a user's ~/.ssh/config would.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

SSHD_CANDIDATES = ("/usr/sbin/sshd", "/usr/local/sbin/sshd")
# Aliases of the one loopback server: "hosts" as a config names them.
ALIASES = ("gpu-box", "node-a", "node-b")
DEAD_ALIAS = "dead-box"


@dataclass(frozen=True)
class SshServer:
    """A running sshd and the client config that reaches it."""

    port: int
    client_config: Path
    pid: int

    @property
    def ssh_args(self) -> tuple[str, ...]:
        """What every ssh command needs to use the client config."""
        return ("-F", str(self.client_config))


def sshd_binary() -> str | None:
    """The sshd executable, or None when OpenSSH's server is not installed."""
    found = shutil.which("sshd")
    if found:
        return found
    return next((p for p in SSHD_CANDIDATES if os.access(p, os.X_OK)), None)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (at the time of asking)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _keygen(path: Path) -> None:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
    )


def start_sshd(folder: Path) -> tuple[subprocess.Popen[bytes], SshServer]:
    """Start sshd on 127.0.0.1 with keys and configs in ``folder``; wait until it listens."""
    binary = sshd_binary()
    assert binary is not None
    _keygen(folder / "host_key")
    _keygen(folder / "user_key")
    authorized = folder / "authorized_keys"
    shutil.copyfile(folder / "user_key.pub", authorized)
    authorized.chmod(0o600)
    port = free_port()
    config = folder / "sshd_config"
    config.write_text(
        f"Port {port}\n"
        "ListenAddress 127.0.0.1\n"
        f"HostKey {folder / 'host_key'}\n"
        f"PidFile {folder / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {authorized}\n"
        "StrictModes no\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "UsePAM no\n"
        "PermitRootLogin prohibit-password\n"
        "LogLevel INFO\n"
    )
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege-separation folder
    log = (folder / "sshd.log").open("wb")
    proc = subprocess.Popen(
        [binary, "-D", "-e", "-f", str(config)], stdout=log, stderr=log, stdin=subprocess.DEVNULL
    )
    log.close()
    deadline = time.monotonic() + 20.0
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited: {(folder / 'sshd.log').read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                raise RuntimeError("sshd did not listen within 20 s") from None
            time.sleep(0.05)
    common = (
        "  HostName 127.0.0.1\n"
        f"  User {getpass.getuser()}\n"
        f"  IdentityFile {folder / 'user_key'}\n"
        "  IdentitiesOnly yes\n"
        "  StrictHostKeyChecking accept-new\n"
        f"  UserKnownHostsFile {folder / 'known_hosts'}\n"
    )
    client = folder / "ssh_config"
    client.write_text(
        f"Host {' '.join(ALIASES)}\n  Port {port}\n{common}"
        f"Host {DEAD_ALIAS}\n  Port {free_port()}\n{common}"
    )
    return proc, SshServer(port, client, proc.pid)


# Skips a test (or, as ``pytestmark``, a module) where sshd is not installed.
needs_sshd = pytest.mark.skipif(
    sshd_binary() is None,
    reason="OpenSSH's server (sshd) is not installed: `make setup` installs openssh-server",
)


@contextmanager
def running_sshd(folder: Path) -> Iterator[SshServer]:
    """A real sshd (``start_sshd``) for the duration of the block; stopped, then killed."""
    proc, server = start_sshd(folder)
    try:
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
