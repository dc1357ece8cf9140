"""``train.loop: fit`` (Keras's model.fit) and the allocator record: real workers, tiny models."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.workloads.helpers import TINY, WorkerRun, make_spec, run_worker

pytestmark = pytest.mark.slow

STEPS = TINY["train"]["steps"]


@pytest.fixture(scope="module")
def tf_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, WorkerRun]:
    """TensorFlow's tiny run with FrameDuel's step and with model.fit (an allocator variable set
    for the latter, as a user's shell might)."""
    workdir = tmp_path_factory.mktemp("loops")
    step = run_worker("tensorflow", make_spec(), workdir / "step")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MALLOC_ARENA_MAX", "2")
        fit = run_worker("tensorflow", make_spec(train__loop="fit"), workdir / "fit")
    return {"step": step, "fit": fit}


def _windows(run: WorkerRun) -> list[tuple[str, int, int]]:
    return [(w.get("phase"), w.get("step"), w.get("steps")) for w in run.of("window")]


def test_fit_reports_the_same_phases_and_windows_as_the_step(tf_runs: dict[str, WorkerRun]) -> None:
    step, fit = tf_runs["step"], tf_runs["fit"]
    assert step.returncode == 0 and fit.returncode == 0, fit.log
    phases = [(e.get("name"), e.get("state")) for e in fit.of("phase")]
    assert phases == [(e.get("name"), e.get("state")) for e in step.of("phase")]
    assert _windows(fit) == _windows(step)
    assert sum(steps for _, _, steps in _windows(fit)) == STEPS
    assert fit.one("done").get("steps") == STEPS


def test_fit_trains_the_same_model_on_the_same_batches(tf_runs: dict[str, WorkerRun]) -> None:
    # Keras's own train_step with the same optimizer, data order and weights: each window's
    # last loss (recovered from fit's running mean) matches the step loop's to float32 rounding.
    # A shuffled or restarted dataset, or another update rule, moves it by 1e-2 or more.
    step_losses = [w.get("loss") for w in tf_runs["step"].of("window")]
    fit_losses = [w.get("loss") for w in tf_runs["fit"].of("window")]
    assert fit_losses == pytest.approx(step_losses, rel=1e-4)
    first = tf_runs["fit"].one("first_step").get("loss")
    assert first == pytest.approx(tf_runs["fit"].one("model").get("parity_loss"), rel=1e-6)


def test_the_loop_and_the_allocator_are_recorded(tf_runs: dict[str, WorkerRun]) -> None:
    step = tf_runs["step"].one("env").get("settings")
    fit = tf_runs["fit"].one("env").get("settings")
    assert (step["train_loop"], fit["train_loop"]) == ("step", "fit")
    assert step["execution"] == "tf.function"
    assert fit["execution"].startswith("keras Model.fit")
    assert fit["allocator"]["env"] == {"MALLOC_ARENA_MAX": "2"}
    assert step["allocator"]["env"] is None
    assert str(step["allocator"]["malloc"]).startswith("glibc ")


def test_every_window_counts_its_page_faults(tf_runs: dict[str, WorkerRun]) -> None:
    for run in tf_runs.values():
        for w in run.of("window"):
            assert isinstance(w.get("minor_faults"), int) and w.get("minor_faults") >= 0
            assert isinstance(w.get("major_faults"), int) and w.get("major_faults") >= 0
        # tracing and first allocations fault in pages; the steady loop takes next to none
        first, *rest = run.of("window")
        assert first.get("minor_faults") > 100
        measure = [w for w in rest if w.get("phase") == "measure"]
        per_step = sum(w.get("minor_faults") for w in measure) / sum(
            w.get("steps") for w in measure
        )
        assert per_step < 20


def _faults_per_step(run: WorkerRun) -> float:
    measure = [w for w in run.of("window") if w.get("phase") == "measure"]
    return sum(w.get("minor_faults") for w in measure) / sum(w.get("steps") for w in measure)


def test_an_allocator_that_returns_memory_every_step_shows_in_the_page_faults(
    tmp_path: Path,
) -> None:
    # The glibc effect the README describes: with a fixed mmap threshold every buffer above
    # it is mapped and unmapped each step, and each of its pages faults in again. glibc's
    # default (a threshold that grows after the first free) keeps them.
    spec = make_spec(
        model={"family": "mlp", "input_dim": 512, "hidden": [512], "num_classes": 10},
        train__batch_size=64,
        train__window_steps=5,
    )
    default = run_worker("torch", spec, tmp_path / "default")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MALLOC_MMAP_THRESHOLD_", "65536")
        churn = run_worker("torch", spec, tmp_path / "churn")
    assert default.returncode == 0 and churn.returncode == 0, churn.log
    quiet, busy = _faults_per_step(default), _faults_per_step(churn)
    assert busy > 50, (quiet, busy)
    assert busy > 10 * max(quiet, 1.0), (quiet, busy)
    recorded = churn.one("env").get("settings")["allocator"]["env"]
    assert recorded == {"MALLOC_MMAP_THRESHOLD_": "65536"}
    assert all(math.isfinite(w.get("loss")) for w in churn.of("window"))
