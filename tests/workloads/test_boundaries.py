"""What the workloads package may import, and the framework probe."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workloads.helpers import ROOT, child_env

HEAVY = ("torch", "tensorflow", "keras", "jax", "numpy", "profiler", "PySide6", "gui")


def _modules_after(code: str) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return list(json.loads(out.stdout.splitlines()[-1]))


def test_worker_imports_only_the_stdlib_before_import_start() -> None:
    loaded = _modules_after("import workloads.worker, workloads.probe")
    assert not [m for m in loaded if m.split(".")[0] in HEAVY]


def test_shared_modules_import_no_framework() -> None:
    loaded = _modules_after("import workloads.base, workloads.spec, workloads.weights")
    banned = [m for m in HEAVY if m != "numpy"]
    assert not [m for m in loaded if m.split(".")[0] in banned]


@pytest.mark.slow
def test_probe_reports_every_framework(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "workloads.probe"],
        cwd=ROOT,
        env=child_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(out.stdout)
    assert list(result) == ["torch", "tensorflow", "jax"]
    for info in result.values():
        assert set(info) == {"available", "version", "devices", "error"}
        assert info["available"] == (info["error"] is None)
    for name in ("torch", "tensorflow", "jax"):
        assert result[name]["available"], result[name]
        assert result[name]["devices"][0] == "cpu"
        assert isinstance(result[name]["version"], str)
