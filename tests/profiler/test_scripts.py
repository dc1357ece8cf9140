"""Bring your own script: real training scripts run as runs, marked and unmarked, and the marker
API outside FrameDuel. Real torch and TensorFlow in real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from profiler.paths import resources_dir
from tests.profiler.test_cli import frameduel

SCRIPTS = resources_dir() / "scripts"


def _report(store: Path) -> dict[str, object]:
    res = frameduel("report", "last", "--store", str(store), "--out", "-")
    assert res.returncode == 0, res.stderr
    data: dict[str, object] = json.loads(res.stdout)
    return data


@pytest.mark.slow
def test_the_shipped_pair_of_marked_scripts_is_measured_like_a_workload(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    res = frameduel(
        "run",
        str(resources_dir() / "configs" / "own-scripts.yaml"),
        "--store",
        str(store),
        "--repeats",
        "1",
    )
    assert res.returncode == 0, res.stderr[-3000:]
    report = _report(store)
    runs = {r["framework"]: r for r in report["runs"]}  # type: ignore[attr-defined]
    assert set(runs) == {"torch", "tensorflow"}
    for run in runs.values():
        assert run["status"] == "ok"
        assert run["steps_per_s"] and run["steps_per_s"] > 0
        assert run["samples_per_s"] == pytest.approx(64 * run["steps_per_s"], rel=0.02)
        assert run["phases_s"]["warmup"] is not None and run["phases_s"]["measure"] is not None
        assert 0 < run["loss_last"] < run["loss_first"]  # both scripts really trained
        assert run["rss_peak_mib"] > 50 and run["cpu_percent_mean"] > 0
    assert runs["torch"]["framework_version"].startswith("2.")
    with_windows = _windows(store)
    # 300 marked steps: 30 warmup, 270 measured, in windows that add up to every step.
    for framework in ("torch", "tensorflow"):
        measured = [w for w in with_windows[framework] if w["phase"] == "measure"]
        assert sum(w["steps"] for w in measured) == 270
        assert measured[-1]["step"] == 300


def _windows(store: Path) -> dict[str, list[dict[str, object]]]:
    from profiler.session import store_for

    with store_for(str(store)) as opened:
        (row, *_) = opened.sessions()
        stored = opened.load(row.id)
    return {
        run.framework: [e.payload for e in run.events if e.kind == "window"] for run in stored.runs
    }


def test_an_unmarked_command_is_measured_from_outside_and_a_failing_one_fails(
    tmp_path: Path,
) -> None:
    store = tmp_path / "s.sqlite3"
    busy = "python -c 'sum(i * i for i in range(3_000_000))'"
    res = frameduel(
        "run", "--cmd", f"torch={busy}", "--cmd", "jax=python -c 'raise SystemExit(3)'",
        "--store", str(store), "--name", "unmarked", "--repeats", "1",
    )  # fmt: skip
    assert res.returncode == 1, res.stderr[-2000:]
    report = _report(store)
    runs = {r["framework"]: r for r in report["runs"]}  # type: ignore[attr-defined]
    assert runs["torch"]["status"] == "ok"
    assert runs["torch"]["steps_per_s"] is None  # no marker: no steps, and no invented ones
    assert runs["torch"]["cpu_percent_mean"] > 0 and runs["torch"]["rss_peak_mib"] > 0
    assert runs["jax"]["status"] == "failed" and "exited with code 3" in runs["jax"]["error"]


def test_bad_commands_are_bad_input(tmp_path: Path) -> None:
    res = frameduel("run", "--cmd", "torch")
    assert res.returncode == 2 and "FRAMEWORK=COMMAND" in res.stderr
    res = frameduel("run", "--cmd", "torch=python a.py", "--cmd", "torch=python b.py")
    assert res.returncode == 2 and "torch is given twice" in res.stderr
    config = tmp_path / "c.yaml"
    config.write_text(
        "name: c\nframeworks: [torch, jax]\nmodel: {family: script}\n"
        "run: {commands: {torch: python t.py}}\n"
    )
    res = frameduel("validate", str(config))
    assert res.returncode == 2 and "give one for jax" in res.stderr


def test_the_marker_does_nothing_outside_frameduel(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FRAMEDUEL_")}
    code = (
        "from workloads import mark\n"
        "for _ in range(5):\n    mark.step(batch_size=4, loss=1.5)\n"
        "print('trained')\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr
    assert res.stdout == "trained\n"
