"""Framework environments of the user's own: real virtualenvs made by the tests, real runs.

The venvs here have no pip and no packages of their own; a ``.pth`` file lends them this
environment's site-packages (torch, NumPy), so they behave like a framework's venv: their
``python`` is a symlink to the base interpreter, which alone has no torch.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from profiler.launcher import child_environment
from profiler.paths import project_root

ROOT = Path(__file__).resolve().parents[2]


def _venv(where: Path, *, with_frameworks: bool) -> Path:
    """A virtualenv at ``where``; with this environment's packages through a .pth if asked."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    assert python.is_symlink()  # what made `run.python` fail when resolved
    if with_frameworks:
        (site,) = (where / "lib").glob("python3*/site-packages")
        (site / "frameworks.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def _frameduel(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "profiler", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
        check=False,
    )


def test_children_get_only_frameduels_child_code(tmp_path: Path) -> None:
    env = child_environment(tmp_path / "cache")
    first = Path(env["PYTHONPATH"].split(os.pathsep)[0])
    # Not the folder FrameDuel is installed in (a pip install's site-packages), only workloads/.
    assert first != project_root()
    assert [p.name for p in first.iterdir()] == ["workloads"]
    shipped = {p.relative_to(first / "workloads") for p in (first / "workloads").rglob("*.py")}
    source = project_root() / "workloads"
    assert shipped == {
        p.relative_to(source) for p in source.rglob("*.py") if "__pycache__" not in p.parts
    }
    for rel in shipped:
        assert (first / "workloads" / rel).read_bytes() == (source / rel).read_bytes()
    # The same sources give the same folder: made once, not per run.
    assert Path(child_environment(tmp_path / "cache")["PYTHONPATH"].split(os.pathsep)[0]) == first


@pytest.mark.slow
def test_a_virtualenv_interpreter_runs_its_own_framework(tmp_path: Path) -> None:
    python = _venv(tmp_path / "pt-env", with_frameworks=True)
    config = tmp_path / "venv.yaml"
    config.write_text(
        "name: venv-run\nframeworks: [torch]\nthreads: 1\n"
        "model: {family: mlp, input_dim: 6, hidden: [5], num_classes: 3}\n"
        "data: {kind: synthetic, samples: 64}\n"
        "train: {batch_size: 8, steps: 12, warmup_steps: 2, window_steps: 2}\n"
        "run: {python: {torch: pt-env/bin/python}}\n"
    )
    store = tmp_path / "s.sqlite3"
    res = _frameduel("run", str(config), "--store", str(store), cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    # The config keeps the venv's own path: validating never swaps it for the base interpreter.
    ok = _frameduel("validate", str(config), cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr

    doctor = _frameduel(
        "doctor", "--store", str(store), "--python", f"torch={python}", cwd=tmp_path
    )
    assert doctor.returncode == 0, doctor.stderr
    torch_line = next(line for line in doctor.stdout.splitlines() if "torch " in line)
    assert "torch       2." in torch_line and str(python) in torch_line


@pytest.mark.slow
def test_doctor_fails_with_the_fix_when_no_framework_can_run(tmp_path: Path) -> None:
    bare = _venv(tmp_path / "bare", with_frameworks=False)
    # A venv of the base Python, with no frameworks and no NumPy: nothing can run there.
    res = _frameduel(
        "doctor",
        "--store",
        str(tmp_path / "s.sqlite3"),
        *(f"--python={fw}={bare}" for fw in ("torch", "tensorflow", "jax")),
        cwd=tmp_path,
    )
    assert res.returncode == 1, res.stdout
    assert "torch       not available" in res.stdout
    assert "no framework can run" in res.stderr and "--python torch=" in res.stderr


def test_a_custom_module_imports_a_helper_file_beside_it(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(ROOT / "resources" / "custom" / "residual_mlp.py", models / "blocks.py")
    (models / "model.py").write_text(
        "import blocks  # a helper file beside this one\n\n\n"
        "def param_count(config):\n    return blocks.param_count(config)\n\n\n"
        "def build_torch(config):\n    return blocks.build_torch(config)\n"
    )
    config = tmp_path / "custom.yaml"
    config.write_text(
        "name: helper-import\nframeworks: [torch]\nthreads: 1\n"
        "model: {family: custom, module: models/model.py, input_shape: [8], num_classes: 3,\n"
        "        options: {width: 8, blocks: 1}}\n"
        "data: {kind: synthetic, samples: 64}\n"
        "train: {batch_size: 8, steps: 10, warmup_steps: 2, window_steps: 2,\n"
        "        optimizer: {name: adamw, lr: 0.001, weight_decay: 0.01}}\n"
    )
    res = _frameduel("run", str(config), "--store", str(tmp_path / "s.sqlite3"), cwd=tmp_path)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
