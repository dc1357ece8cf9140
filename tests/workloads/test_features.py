"""Training options end to end through the real worker: compile, input pipelines, npz data,
mixed precision, custom models, and the errors a child reports by field name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from profiler.config import load_config
from profiler.paths import resources_dir
from tests.workloads.helpers import WorkerRun, make_spec, run_worker

pytestmark = pytest.mark.slow

FRAMEWORKS = ("torch", "tensorflow", "jax")


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b))


def _phases(run: WorkerRun) -> list[str]:
    return [e.get("name") for e in run.of("phase") if e.get("state") == "start"]


def _losses(run: WorkerRun) -> list[float]:
    return [w.get("loss") for w in run.of("window")]


def _agree(runs: list[WorkerRun], parity_rtol: float, trained_rtol: float) -> None:
    """Every run's parity loss and window losses close to the first (PyTorch's) run's."""
    reference, *others = runs
    for run in others:
        framework = run.one("hello").get("framework")
        a, b = (r.one("model").get("parity_loss") for r in (reference, run))
        assert _rel(a, b) < parity_rtol, (framework, a, b)
        for a, b in zip(_losses(reference), _losses(run), strict=True):
            assert _rel(a, b) < trained_rtol, (framework, a, b)


def test_compile_is_a_phase_of_its_own(tmp_path: Path) -> None:
    # the native pipeline too: tf.data's iterator feeds the XLA step from a graph function
    spec = make_spec(train__compile=True, train__steps=12, data__pipeline="native")
    runs = {fw: run_worker(fw, spec, tmp_path / fw, timeout_s=240) for fw in FRAMEWORKS}
    for run in runs.values():
        assert run.returncode == 0, run.log
        assert _phases(run) == ["import", "build", "compile", "warmup", "measure"]
        windows = run.of("window")
        assert (windows[0].get("phase"), windows[0].get("step")) == ("compile", 1)
        assert windows[1].get("phase") == "warmup"
        assert sum(w.get("steps") for w in windows) == 12
        # step 1 ran (and was timed) inside the compile phase, never in warmup or measure
        start, end = (e.t for e in run.of("phase") if e.get("name") == "compile")
        assert start < run.one("first_step").t < end
        settings = run.one("env").get("settings")
        assert settings["jit_compile"] is True and settings["compile"] is True
        assert settings["pipeline"] == "native"
    assert "torch.compile" in runs["torch"].one("env").get("settings")["execution"]
    assert "jit_compile=True" in runs["tensorflow"].one("env").get("settings")["execution"]
    assert "jax.jit" in runs["jax"].one("env").get("settings")["execution"]
    _agree(list(runs.values()), 1e-5, 1e-4)


def test_npz_data_through_native_pipelines(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    path = tmp_path / "data.npz"
    np.savez(path, x=rng.standard_normal((50, 16)), y=rng.integers(0, 3, 50))
    spec = make_spec(data={"kind": "npz", "path": str(path), "pipeline": "native"})
    runs = [run_worker(fw, spec, tmp_path / fw) for fw in FRAMEWORKS]
    for run in runs:
        assert run.returncode == 0, run.log
        assert run.one("env").get("settings")["data"] == "npz"
    _agree(runs, 1e-5, 1e-4)
    # the file's first batch, not the synthetic one
    synthetic = run_worker("torch", make_spec(), tmp_path / "synthetic")
    assert synthetic.one("model").get("parity_loss") != runs[0].one("model").get("parity_loss")


def test_bf16_mixed_precision(tmp_path: Path) -> None:
    spec = make_spec(train__precision="bf16", train__optimizer={"name": "adamw", "lr": 0.01})
    runs = [run_worker(fw, spec, tmp_path / fw) for fw in FRAMEWORKS]
    for run in runs:
        assert run.returncode == 0, run.log
        settings = run.one("env").get("settings")
        assert settings["precision"] == "bf16"
        assert "bfloat16" in settings["mixed_precision"]
        # the algorithm's name, though Keras built a second optimizer ("adam_w_1") for parity
        assert settings["optimizer"]["name"] == "AdamW", settings["optimizer"]
    # parity is measured in float32 in all, so it holds; bf16 steps agree only roughly
    _agree(runs, 1e-5, 5e-2)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_fp16_without_a_gpu_fails_by_name(tmp_path: Path, framework: str) -> None:
    run = run_worker(framework, make_spec(device="auto", train__precision="fp16"), tmp_path)
    assert run.returncode == 1
    error = run.one("error")
    assert error.get("type") == "RuntimeError"
    assert "train.precision fp16 needs a CUDA device" in error.get("message")


def test_npz_values_are_checked_in_the_child(tmp_path: Path) -> None:
    path = tmp_path / "data.npz"
    np.savez(path, x=np.zeros((20, 16), np.float32), y=np.full(20, 7))
    run = run_worker("torch", make_spec(data={"kind": "npz", "path": str(path)}), tmp_path)
    assert run.returncode == 1
    error = run.one("error")
    assert error.get("type") == "SpecError"
    assert error.get("message").startswith("config.data.path: labels in y must lie in [0, 3)")


def _custom_spec(module: Path, **options: Any) -> dict[str, Any]:
    return make_spec(
        model={
            "family": "custom",
            "module": str(module),
            "input_shape": [4, 4],
            "num_classes": 3,
            "options": {"width": 9, "blocks": 2, **options},
        },
        train__optimizer={"name": "adamw", "lr": 0.01, "weight_decay": 0.01},
    )


def test_the_custom_example_runs_in_every_framework(tmp_path: Path) -> None:
    module = resources_dir() / "custom" / "residual_mlp.py"
    spec = _custom_spec(module)
    runs = {fw: run_worker(fw, spec, tmp_path / fw) for fw in FRAMEWORKS}
    expected = (16 + 1) * 9 + 2 * 2 * (9 + 1) * 9 + (9 + 1) * 3
    for run in runs.values():
        assert run.returncode == 0, run.log
        model = run.one("model")
        assert model.get("params") == expected
        assert model.get("flops_per_step") is None
        assert not run.of("log")  # no parameter-count warning
        assert run.one("env").get("settings")["family"] == "custom"
    _agree(list(runs.values()), 1e-5, 1e-4)


def test_a_custom_count_that_differs_from_the_declared_one_is_warned(tmp_path: Path) -> None:
    module = tmp_path / "wrong.py"
    source = (resources_dir() / "custom" / "residual_mlp.py").read_text()
    module.write_text(source + "\n\ndef param_count(config):\n    return 12\n")
    run = run_worker("torch", _custom_spec(module), tmp_path)
    assert run.returncode == 0, run.log
    (log,) = run.of("log")
    assert log.get("level") == "warning"
    assert "declares 12" in log.get("message")


def test_the_shipped_custom_config_points_at_the_example() -> None:
    config = load_config(resources_dir() / "configs" / "custom-residual-mlp.yaml")
    assert config.model.family == "custom"
    assert Path(config.model.module) == (resources_dir() / "custom" / "residual_mlp.py").resolve()
    assert json.loads(json.dumps(config.model_dump(mode="json")))["model"]["module"].startswith("/")
