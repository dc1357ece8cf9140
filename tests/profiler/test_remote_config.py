"""run.hosts and each host's interpreter in the config, and the ssh command lines built from
them (no server needed: see test_remote.py for the real thing)."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from profiler.config import ConfigError, load_config
from profiler.remote import host_interpreter
from profiler.ssh import SshTarget, agent_command, shell_word, ssh_command

BASE = """\
name: t
frameworks: [torch, tensorflow]
model: {family: mlp, input_dim: 8, hidden: [4], num_classes: 3}
train: {batch_size: 4, steps: 40, warmup_steps: 5}
"""


def _load(tmp_path: Path, run: str) -> object:
    path = tmp_path / "c.yaml"
    path.write_text(BASE + "run:\n" + run)
    return load_config(path)


def test_host_keys_of_run_python_name_each_hosts_interpreter(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        f"  hosts: [gpu-box]\n  python:\n    tensorflow: {sys.executable}\n"
        "    gpu-box: {torch: /opt/torch/bin/python, tensorflow: ~/tf/bin/python}\n",
    )
    run = config.run  # type: ignore[attr-defined]
    assert run.hosts == ["gpu-box"]
    assert run.python == {"tensorflow": sys.executable}  # local, checked here
    assert host_interpreter(config, "gpu-box", "torch") == "/opt/torch/bin/python"  # type: ignore[arg-type]
    assert host_interpreter(config, "gpu-box", "jax") == "python3"  # type: ignore[arg-type]
    one = _load(tmp_path, "  hosts: [me@10.0.0.5:2222]\n  python: {me@10.0.0.5:2222: /env/py}\n")
    assert host_interpreter(one, "me@10.0.0.5:2222", "torch") == "/env/py"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("run", "field", "words"),
    [
        ("  hosts: ['-oProxyCommand=touch x']\n", "run.hosts.0", "is not a host"),
        ("  hosts: ['gpu box']\n", "run.hosts.0", "is not a host"),
        ("  hosts: [a, a]\n", "run.hosts", "lists a host twice"),
        ("  hosts: [torch]\n", "run.hosts.0", "a framework's name"),
        ("  hosts: ['h:99999']\n", "run.hosts.0", "not in 1-65535"),
        ("  hosts: [a, b]\n", "run.hosts", "add run.distributed"),
        (
            "  hosts: [a, b]\n  distributed: {workers: [1, 3]}\n",
            "run.distributed.workers",
            "do not split evenly",
        ),
        ("  hosts: [a]\n  python: {b: /x}\n", "run.python.b", "should be 'torch'"),
        ("  hosts: [a]\n  python: {a: ''}\n", "run.host_python.a", ""),
    ],
)
def test_bad_hosts_are_refused_by_field(tmp_path: Path, run: str, field: str, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, run)
    assert err.value.field.startswith(field), err.value
    assert words in str(err.value)


def test_ssh_runs_in_batch_mode_with_keepalives_and_the_host_after_the_options() -> None:
    argv = ssh_command(SshTarget.parse("me@gpu:2222"), "true", ["-F", "cfg"])
    assert argv[:4] == ["ssh", "-T", "-F", "cfg"]
    assert "BatchMode=yes" in argv and "ServerAliveInterval=2" in argv
    assert argv[-5:] == ["-p", "2222", "--", "me@gpu", "true"]


def test_the_agent_command_survives_the_remote_shell(tmp_path: Path) -> None:
    # the remote side is a POSIX shell: run the command line through one, with a stand-in
    # interpreter that prints its arguments and environment token
    fake = tmp_path / "python with space"
    fake.write_text('#!/bin/sh\necho "$FRAMEDUEL_RUN_TOKEN"\nprintf "%s\\n" "$@"\n')
    fake.chmod(0o755)
    out = subprocess.run(
        ["sh", "-c", agent_command(str(fake), "tok")], capture_output=True, check=True
    ).stdout.decode()
    token, *args = out.split("\n", 1)[0:1] + out.split("\n", 1)[1:]
    assert token == "tok"
    assert args[0].startswith("-u\n-c\nimport io, os, shutil, sys, tarfile, tempfile")
    assert shell_word("~/env/bin/python") == '"$HOME"/env/bin/python'
    assert shlex.split(shell_word("/a b/python")) == ["/a b/python"]
