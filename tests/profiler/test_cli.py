"""The `frameduel` command end to end: real subprocesses, real torch and TensorFlow, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from profiler.paths import resources_dir

TINY = """\
name: tiny-cli
frameworks: [torch, tensorflow]
threads: 1
seed: 3
model: {family: mlp, input_dim: 12, hidden: [7], num_classes: 3}
data: {kind: synthetic, samples: 64}
train: {batch_size: 8, steps: 30, warmup_steps: 5, optimizer: {name: sgd, lr: 0.05, momentum: 0.9}}
run: {sample_hz: 20, repeats: 1}
"""

REQUIRED = {
    "framework",
    "framework_version",
    "status",
    "error",
    "device",
    "params",
    "steps_per_s",
    "samples_per_s",
    "step_time_ms",
    "first_step_s",
    "rss_peak_mib",
    "cpu_percent_mean",
    "loss_first",
    "loss_last",
}


def frameduel(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Run the real command in a fresh interpreter."""
    return subprocess.run(
        [sys.executable, "-m", "profiler", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=os.environ,
        check=False,
    )


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


@pytest.mark.slow
def test_run_both_frameworks_writes_reports_and_store(tiny: Path, tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    out_json, out_pdf = tmp_path / "r.json", tmp_path / "r.pdf"
    res = frameduel(
        "run", str(tiny), "--store", str(store), "--report", str(out_pdf), "--json", str(out_json)
    )
    assert res.returncode == 0, res.stderr[-3000:]
    data = json.loads(out_json.read_text())
    assert data["schema_version"] >= 1
    runs = {r["framework"]: r for r in data["runs"]}
    assert set(runs) == {"torch", "tensorflow"}
    for run in runs.values():
        assert set(run) >= REQUIRED
        assert run["status"] == "ok" and run["error"] is None
        assert run["params"] == 12 * 7 + 7 + 7 * 3 + 3
        assert run["steps_per_s"] > 0 and run["samples_per_s"] == pytest.approx(
            run["steps_per_s"] * 8
        )
        assert run["step_time_ms"]["median"] > 0
        assert run["step_time_ms"]["p95"] >= run["step_time_ms"]["median"]
        assert run["rss_peak_mib"] > 50 and run["first_step_s"] > 0
        assert run["device"] == "cpu"
    # Same weights and data: the first-batch loss agrees across frameworks.
    a, b = runs["torch"]["loss_first"], runs["tensorflow"]["loss_first"]
    assert abs(a - b) / abs(a) < 1e-4
    assert data["fairness"]["mismatches"] == []  # same settings: nothing flagged
    assert out_pdf.read_bytes().startswith(b"%PDF")
    listed = frameduel("sessions", "--store", str(store))
    assert listed.returncode == 0 and "tiny-cli" in listed.stdout
    html = tmp_path / "again.html"
    again = frameduel("report", "last", "--out", str(html), "--store", str(store))
    assert again.returncode == 0, again.stderr
    assert "tiny-cli" in html.read_text()


@pytest.mark.slow
def test_adamw_in_both_frameworks_is_not_flagged_unfair(tiny: Path, tmp_path: Path) -> None:
    # Keras names optimizer instances (adam_w, adam_w_1): the algorithm's name is what counts.
    text = tiny.read_text().replace(
        "{name: sgd, lr: 0.05, momentum: 0.9}", "{name: adamw, lr: 0.01}"
    )
    tiny.write_text(text.replace("steps: 30", "steps: 12"))
    out_json = tmp_path / "r.json"
    res = frameduel(
        "run", str(tiny), "--store", str(tmp_path / "s.sqlite3"), "--json", str(out_json)
    )
    assert res.returncode == 0, res.stderr[-3000:]
    fairness = json.loads(out_json.read_text())["fairness"]
    names = next(row for row in fairness["settings"] if row["key"] == "optimizer.name")
    assert names["values"] == {"torch": "AdamW", "tensorflow": "AdamW"}
    assert fairness["mismatches"] == []


@pytest.mark.slow
def test_the_shipped_custom_example_is_fair_in_all_three_frameworks(tmp_path: Path) -> None:
    # A custom JAX optimizer has no readable name: unknown, not a mismatch. JAX's jit is the one
    # documented difference of a default (compile: false) comparison.
    out_json = tmp_path / "r.json"
    res = frameduel(
        *("run", str(resources_dir() / "configs" / "custom-residual-mlp.yaml"), "--steps", "12"),
        *("--repeats", "1"),
        *("--frameworks", "torch,tensorflow,jax", "--store", str(tmp_path / "s.sqlite3")),
        *("--json", str(out_json)),
    )
    assert res.returncode == 0, res.stderr[-3000:]
    data = json.loads(out_json.read_text())
    assert data["parity"]["ok"]
    assert data["fairness"]["mismatches"] == ["jit_compile"]


@pytest.mark.slow
def test_failed_run_exits_1_and_the_other_run_still_happens(tiny: Path, tmp_path: Path) -> None:
    # fp32 demands are honoured; an impossible device is only discovered in the child.
    bad = tmp_path / "cuda.yaml"
    bad.write_text(TINY.replace("threads: 1", "threads: 1\ndevice: cuda:7"))
    out_json = tmp_path / "r.json"
    res = frameduel(
        "run", str(bad), "--store", str(tmp_path / "s.sqlite3"), "--json", str(out_json)
    )
    assert res.returncode == 1, res.stderr[-2000:]
    runs = json.loads(out_json.read_text())["runs"]
    assert [r["status"] for r in runs] == ["failed", "failed"]
    assert all(r["error"] for r in runs)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["run", "{bad}"], "model.hiden: unknown field"),
        (
            ["run", "{tiny}", "--frameworks", "torch,caffe"],
            "--frameworks torch,caffe: frameworks.1: Input should be 'torch', 'tensorflow' or",
        ),
        (["run", "{tiny}", "--steps", "0"], "--steps 0: train.steps: Input should be greater"),
        (
            ["run", "{tiny}", "--report", "out.docx"],
            "cannot write a report as '.docx' (out.docx); use one of: .pdf (PDF report), .html",
        ),
        (["run", "{tiny}", "--python", "torch"], "use FRAMEWORK=PATH"),
        (["run", "{tiny}", "--store", "/proc/nope/s.sqlite3"], "cannot create the store"),
        (["validate", "{tiny}", "{bad}"], "bad.yaml:5: model.hiden"),
        (["report", "42", "--out", "x.json", "--store", "{store}"], "no session 42"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    tiny: Path, tmp_path: Path, args: list[str], words: str
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(TINY.replace("hidden", "hiden"))
    subst = {"tiny": str(tiny), "bad": str(bad), "store": str(tmp_path / "s.sqlite3")}
    res = frameduel(*[a.format(**subst) for a in args], timeout=60)
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("frameduel: error: "), res.stderr
    assert words in lines[0]


def test_validate_ok(tiny: Path) -> None:
    res = frameduel("validate", str(tiny))
    assert res.returncode == 0
    assert "ok (tiny-cli: mlp, torch, tensorflow)" in res.stdout


@pytest.mark.slow
def test_doctor_lists_frameworks_gpu_qt_and_store(tmp_path: Path) -> None:
    res = frameduel("doctor", "--store", str(tmp_path / "s.sqlite3"))
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "torch       2." in out and "tensorflow  2." in out
    assert "no NVIDIA GPU" in out
    assert "PySide6 installed" in out
    assert str(tmp_path / "s.sqlite3") in out


def test_a_relative_store_keeps_caches_beside_it_with_absolute_paths(
    tiny: Path, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("KERAS_HOME", "TORCHINDUCTOR_CACHE_DIR", "MPLCONFIGDIR")
    }
    result = subprocess.run(
        [
            *(sys.executable, "-m", "profiler", "run", str(tiny)),
            *("--frameworks", "torch", "--steps", "12", "--store", "runs/store.sqlite3"),
        ],
        cwd=work,
        env={**env, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr

    from profiler.store import Store

    with Store(work / "runs" / "store.sqlite3") as store:
        (row,) = store.sessions()
        recorded = store.load(row.id).runs[0].info["environment"]
    cache = work / "runs" / "cache"
    assert recorded["KERAS_HOME"] == str(cache / "keras")
    assert recorded["TORCHINDUCTOR_CACHE_DIR"] == str(cache / "torchinductor")
    assert not (work / "runs" / "runs").exists()  # no caches nested under the child's folder


@pytest.mark.slow
def test_auto_repeats_print_the_certainty_and_why_they_stopped(tmp_path: Path) -> None:
    config = tmp_path / "auto.yaml"
    config.write_text(TINY.replace("repeats: 1", "repeats: auto, max_repeats: 1"))
    out_json = tmp_path / "r.json"
    res = frameduel(
        *("run", str(config), "--frameworks", "torch,jax", "--store", str(tmp_path / "s.db")),
        *("--json", str(out_json)),
    )
    assert res.returncode == 0, res.stderr[-3000:]
    said = " ".join(res.stderr.split())  # rich wraps long lines
    assert "repeats until every speed ratio is within ±2% (at most 1 per framework)" in said
    assert "verdict certainty unknown (target ±2%, 1 run per side, needs 3)" in said
    assert "Repeats stopped at the limit of 1 repeat before the ±2% target" in said
    data = json.loads(out_json.read_text())
    assert data["repeats"]["reason"] == "budget"
    assert data["repeats"]["runs_per_side"] == {"torch": 1, "jax": 1}


@pytest.mark.slow
def test_keras_fit_is_measured_and_labelled_in_the_audit(tmp_path: Path) -> None:
    config = tmp_path / "fit.yaml"
    config.write_text(TINY.replace("steps: 30,", "steps: 30, loop: fit,"))
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    res = frameduel(
        *("run", str(config), "--store", str(tmp_path / "s.db")),
        *("--json", str(out_json), "--report", str(out_html)),
    )
    assert res.returncode == 0, res.stderr[-3000:]
    data = json.loads(out_json.read_text())
    runs = {r["framework"]: r for r in data["runs"]}
    assert runs["tensorflow"]["settings"]["execution"].startswith("keras Model.fit")
    assert runs["tensorflow"]["steps_per_s"] > 0
    rows = {row["key"]: row for row in data["fairness"]["settings"]}
    assert rows["train_loop"]["values"] == {"torch": "step", "tensorflow": "fit"}
    assert not rows["train_loop"]["mismatch"]  # an idiom, labelled, not an unfair setting
    for fw in ("torch", "tensorflow"):
        assert rows["minor_faults_per_step"]["values"][fw] is not None
        assert str(rows["allocator.malloc"]["values"][fw]).startswith("glibc")
    html = out_html.read_text()
    assert "train_loop" in html and "keras Model.fit" in html
    assert "TensorFlow trained with Keras" in html  # the verdict page says so
    assert "model.fit (train.loop: fit), the other frameworks with their own step loop" in html


def test_a_bad_repeats_override_is_refused(tiny: Path) -> None:
    res = frameduel("run", str(tiny), "--repeats", "0")
    assert res.returncode == 2
    assert "--repeats 0: run.repeats: must be auto or a number of runs per framework" in res.stderr


@pytest.mark.slow
def test_with_repeats_the_end_table_has_a_column_per_framework(tiny: Path, tmp_path: Path) -> None:
    """Twenty runs as twenty columns were all ellipses in an 80-column terminal: with repeats the
    table shows each framework once, the median over its ok runs."""
    store = tmp_path / "s.sqlite3"
    res = frameduel("run", str(tiny), "--store", str(store), "--repeats", "2", "--json", "-")
    assert res.returncode == 0, res.stderr[-2000:]
    said = res.stderr
    assert "median over ok runs" in said
    assert "PyTorch (2 runs)" in said and "TensorFlow (2 runs)" in said
    assert "2 ok" in said
    runs = json.loads(res.stdout)["runs"]
    torch_params = {r["params"] for r in runs if r["framework"] == "torch"}
    assert f"{torch_params.pop():,}" in said
