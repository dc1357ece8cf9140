"""What a report says about trust: measurement warnings, drift, the fairness audit, the context."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from profiler.report import build_report, write_report
from profiler.report.model import Report
from profiler.report.tables import audit_table, config_text, environment_rows
from profiler.report.verdicts import quality_notes, verdicts
from tests.profiler.test_report import WINDOW, FakeRun, record_session

BUSY = "other processes used 132% CPU (of one core) on average during the run; close them"


def pdf_text(path: Path, first: int | None = None, last: int | None = None) -> str:
    """The PDF's text as pdftotext extracts it (skips the test without poppler)."""
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed")
    pages = [*(["-f", str(first)] if first else []), *(["-l", str(last)] if last else [])]
    out = subprocess.run(["pdftotext", "-layout", *pages, str(path), "-"], check=True,
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    return out.stdout


def steady_windows(step_s: float, n: int = 30, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(rng.normal(step_s, step_s * 0.02, n) * WINDOW)


def make_report(tmp_path: Path, torch: FakeRun, tf: FakeRun) -> Report:
    return build_report(record_session(tmp_path / "s.sqlite3", [(0, torch), (0, tf)]))


def torch_run(**kw: object) -> FakeRun:
    args: dict[str, object] = {"measure_seconds": steady_windows(0.04)} | kw
    return FakeRun("torch", "2.13.0", 1.8, 0.0, 0.05, [0.9, 0.5], **args)  # type: ignore[arg-type]


def tf_run(**kw: object) -> FakeRun:
    args: dict[str, object] = {"measure_seconds": steady_windows(0.03, seed=1)} | kw
    return FakeRun("tensorflow", "2.21.0", 3.0, 0.0, 0.4, [1.5, 0.3], **args)  # type: ignore[arg-type]


def test_warnings_reach_every_format(tmp_path: Path) -> None:
    report = make_report(
        tmp_path,
        torch_run(warnings=[BUSY, "the GPU was throttled: thermal"], garbage=2),
        tf_run(warnings=[BUSY.replace("132%", "148%")]),
    )
    torch = report.runs[0]
    assert torch.warnings == (
        BUSY,
        "the GPU was throttled: thermal",
        "2 bad lines were ignored on the event pipe (see the run's log)",
    )
    notes = quality_notes(report)
    assert ("Both runs", BUSY.replace("132%", "132–148%")) in notes  # one line for a shared cause
    assert ("PyTorch", "the GPU was throttled: thermal") in notes

    out = {s: write_report(report, tmp_path / f"r{s}") for s in (".pdf", ".html", ".json")}
    data = json.loads(out[".json"].read_text())
    assert data["runs"][0]["warnings"][:2] == [BUSY, "the GPU was throttled: thermal"]
    assert data["runs"][1]["warnings"] == [BUSY.replace("132%", "148%")]
    html = out[".html"].read_text()
    assert html.index("<h2>Measurement quality</h2>") < html.index("<h2>Summary</h2>")
    assert "<h2>Measurement quality per run</h2>" in html and "throttled: thermal" in html
    page_one = " ".join(pdf_text(out[".pdf"], 1, 1).split())
    assert "Measurement quality" in page_one
    assert "other processes used 132–148% CPU" in page_one
    everything = " ".join(pdf_text(out[".pdf"]).split())
    assert "Measurement quality per run" in everything
    assert "other processes used 148% CPU" in everything  # per run, in full


def test_no_warnings_no_quality_block(tmp_path: Path) -> None:
    report = make_report(tmp_path, torch_run(), tf_run())
    assert quality_notes(report) == []
    html = write_report(report, tmp_path / "r.html").read_text()
    assert "<h2>Measurement quality</h2>" not in html
    assert "<p>no warnings</p>" in html


def test_a_drifting_run_is_flagged_not_averaged(tmp_path: Path) -> None:
    """PyTorch slows down by half over its measure phase (throttling, say): no steady state."""
    rng = np.random.default_rng(3)
    drifting = list(np.linspace(0.40, 0.60, 30) * (1 + rng.normal(0, 0.01, 30)))
    report = make_report(tmp_path, torch_run(measure_seconds=drifting), tf_run())
    torch, tf = report.runs
    assert torch.steady_state is False and tf.steady_state is True
    assert torch.drift.windows_excluded == 0 and torch.drift.windows_total == 30
    assert torch.drift.change is not None and torch.drift.change > 0.2
    assert torch.drift.p_value is not None and torch.drift.p_value < 0.001
    speed = next(v.text for v in verdicts(report) if "trains this model" in v.text)
    assert "not a steady state: PyTorch still drifting" in speed
    assert any("drifts throughout the measure phase" in note for _, note in quality_notes(report))
    data = json.loads(write_report(report, tmp_path / "r.json").read_text())
    assert data["runs"][0]["steady_state"] is False
    assert data["runs"][0]["drift"]["windows_total"] == 30
    html = write_report(report, tmp_path / "r.html").read_text()
    assert "drifts throughout the measure phase" in html and "no: drifting" in html


def test_windows_still_settling_are_left_out(tmp_path: Path) -> None:
    """TensorFlow's first measure windows are still fast-decaying from warmup: they are dropped
    from every figure, and the report says how many."""
    rng = np.random.default_rng(4)
    n = 40
    settling = list((0.3 + 0.4 * np.exp(-np.arange(n) / 2.5)) * (1 + rng.normal(0, 0.01, n)))
    report = make_report(tmp_path, torch_run(), tf_run(measure_seconds=settling))
    tf = report.runs[1]
    excluded = tf.drift.windows_excluded
    assert tf.steady_state is True and 0 < excluded <= n // 2
    assert tf.step_time_ms.n == n - excluded
    kept = np.array(settling[excluded:]) / WINDOW * 1000
    assert tf.step_time_ms.median == pytest.approx(float(np.median(kept)))
    # steps/s is the median window's, as every surface shows it (not total steps / seconds)
    assert tf.steps_per_s == pytest.approx(float(np.median(1000.0 / kept)))
    stats = report.stats_of("step_time_ms", "tensorflow")
    assert stats is not None and stats.n == n - excluded and stats.n_windows == n - excluded
    series = report.series[1]
    assert int(series.window_used.sum()) == n - excluded
    notes = [note for who, note in quality_notes(report) if who == "TensorFlow"]
    assert notes and f"the first {excluded} of {n} measure windows are left out" in notes[0]


def test_fairness_mismatches_are_flagged(tmp_path: Path) -> None:
    torch_settings = {"precision": "fp32", "intra_op_threads": 8, "tf32": False,
                      "optimizer": {"name": "SGD", "lr": 0.01, "momentum": 0.9},
                      "execution": "eager", "cudnn_benchmark": True}  # fmt: skip
    tf_settings = {"precision": "bf16", "intra_op_threads": 4, "tf32": False,
                   "optimizer": {"name": "sgd", "learning_rate": 0.009999999776482582,
                                 "momentum": 0.9},
                   "execution": "tf.function", "inter_op_threads": None}  # fmt: skip
    report = make_report(tmp_path, torch_run(settings=torch_settings), tf_run(settings=tf_settings))
    rows = {r.key: r for r in report.audit.rows}
    assert {r.key for r in report.audit.mismatches} == {"precision", "intra_op_threads"}
    assert rows["optimizer.lr"].values == {"torch": 0.01, "tensorflow": 0.009999999776482582}
    assert not rows["optimizer.lr"].mismatch  # float32 rounding is not a difference
    assert not rows["optimizer.name"].mismatch  # nor is spelling
    assert not rows["execution"].mismatch  # eager vs graph is each framework's idiom
    assert rows["params"].values == {"torch": 235_146, "tensorflow": 235_146}
    warnings = [v.text for v in verdicts(report) if v.warning]
    assert "Unfair setting: precision differs (PyTorch fp32, TensorFlow bf16)." in warnings
    table = audit_table(report)
    flagged = {table.rows[i][0] for i in table.flagged}
    assert flagged == {"⚠ precision", "⚠ intra_op_threads"}
    data = json.loads(write_report(report, tmp_path / "r.json").read_text())
    assert set(data["fairness"]["mismatches"]) == {"precision", "intra_op_threads"}
    html = write_report(report, tmp_path / "r.html").read_text()
    assert html.count('<tr class="flagged">') == 2
    text = " ".join(pdf_text(write_report(report, tmp_path / "r.pdf")).split())
    assert "Fairness audit" in text and "⚠ precision" in text


def test_names_spelled_each_framework_s_way_are_the_same(tmp_path: Path) -> None:
    # What the real children report for adamw: PyTorch's class name, Keras's snake_case name.
    torch = torch_run(settings={"optimizer": {"name": "AdamW"}, "precision": "bf16"})
    same = tf_run(settings={"optimizer": {"name": "adam_w"}, "precision": "BF16"})
    assert not make_report(tmp_path / "a", torch, same).audit.mismatches
    other = tf_run(settings={"optimizer": {"name": "adam"}, "precision": "bf16"})
    report = make_report(tmp_path / "b", torch, other)
    assert [row.key for row in report.audit.mismatches] == ["optimizer.name"]


def test_adam_hyperparameters_align_across_spellings(tmp_path: Path) -> None:
    torch_opt = {"name": "Adam", "lr": 0.001, "betas": [0.9, 0.999], "eps": 1e-8}
    keras_opt = {"name": "adam", "learning_rate": 0.0010000000474974513, "beta_1": 0.9,
                 "beta_2": 0.999, "epsilon": 1e-8}  # fmt: skip
    report = make_report(
        tmp_path / "a",
        torch_run(settings={"optimizer": torch_opt}),
        tf_run(settings={"optimizer": keras_opt}),
    )
    rows = {r.key: r for r in report.audit.rows}
    assert rows["optimizer.betas"].values == {"torch": [0.9, 0.999], "tensorflow": [0.9, 0.999]}
    assert rows["optimizer.eps"].values == {"torch": 1e-8, "tensorflow": 1e-8}
    assert "optimizer.beta_1" not in rows and "optimizer.epsilon" not in rows
    assert not report.audit.mismatches
    keras_default_eps = {**keras_opt, "epsilon": 1e-7}  # Keras's own default, not PyTorch's
    report = make_report(
        tmp_path / "b",
        torch_run(settings={"optimizer": torch_opt}),
        tf_run(settings={"optimizer": keras_default_eps}),
    )
    assert [row.key for row in report.audit.mismatches] == ["optimizer.eps"]


def test_repeats_that_disagree_are_a_mismatch(tmp_path: Path) -> None:
    runs = [
        (0, torch_run(settings={"precision": "fp32"})),
        (0, tf_run(settings={"precision": "fp32"})),
        (1, torch_run(settings={"precision": "bf16"})),
        (1, tf_run(settings={"precision": "fp32"})),
    ]
    report = build_report(record_session(tmp_path / "s.sqlite3", runs))
    (row,) = report.audit.mismatches
    assert row.key == "precision" and row.repeat_values == {"torch": ("fp32", "bf16")}
    assert "PyTorch's repeats disagree (fp32 / bf16)" in " ".join(v.text for v in verdicts(report))


def test_environment_config_and_versions(tmp_path: Path) -> None:
    gpu = {"name": "NVIDIA H100 80GB HBM3", "memory_mib": 81559, "driver": "550.54"}
    settings = {"precision": "fp32", "cuda_version": "12.4", "keras_version": "3.15.1",
                "device_name": "NVIDIA H100 80GB HBM3"}  # fmt: skip
    session = record_session(
        tmp_path / "s.sqlite3",
        [(0, torch_run(settings=settings)), (0, tf_run(settings=settings))],
        gpu=gpu,
    )
    report = build_report(session)
    env = dict(environment_rows(report))
    assert env["GPU"] == "NVIDIA H100 80GB HBM3, 81,559 MiB"
    assert env["GPU driver"] == "550.54"
    assert env["PyTorch"].startswith("2.13.0, Keras 3.15.1, CUDA 12.4")
    assert env["TensorFlow"].startswith("2.21.0")
    assert env["CPU"].startswith("AMD EPYC 7B13")
    yaml_text = config_text(report)
    assert yaml_text.startswith("name: demo-mlp\nframeworks: [torch, tensorflow]")
    html = write_report(report, tmp_path / "r.html").read_text()
    assert '<pre class="config">name: demo-mlp' in html
    text = pdf_text(write_report(report, tmp_path / "r.pdf"))
    assert "Config" in text and "batch_size: 64" in text and "550.54" in text


def test_jax_always_compiling_comes_with_the_remedy() -> None:
    from profiler.report.audit import AuditRow
    from profiler.report.verdicts import mismatch_sentence

    values = {"torch": False, "tensorflow": False, "jax": True}
    row = AuditRow("jit_compile", values, relevant=True, mismatch=True, repeat_values={})
    text = mismatch_sentence(None, row)  # type: ignore[arg-type]
    assert text.startswith("Unfair setting: jit_compile differs (PyTorch ")
    assert "set train.compile: true to compile PyTorch" in text
    plain = AuditRow("precision", {"torch": "fp32", "tensorflow": "bf16"}, True, True, {})
    assert "train.compile" not in mismatch_sentence(None, plain)  # type: ignore[arg-type]


# -- outside load and large cuts ------------------------------------------------------------------


def test_disturbed_windows_are_left_out_and_counted(tmp_path: Path) -> None:
    """Other processes take 150% CPU during TensorFlow's windows 10-19 of 40, which run 40% slower:
    they are marked disturbed, left out of every figure, and the report says how many and why."""
    seconds = steady_windows(0.03, 40, seed=5)
    slowed = [s * 1.4 if 10 <= k < 20 else s for k, s in enumerate(seconds)]
    report = make_report(tmp_path, torch_run(), tf_run(measure_seconds=slowed, busy=range(10, 20)))
    torch, tf = report.runs
    assert torch.drift.windows_disturbed == 0 and torch.drift.other_cpu_percent_median == 0.0
    d = tf.drift
    assert (d.windows_total, d.windows_disturbed, d.disturbed_left_out) == (40, 10, True)
    assert d.windows_used == tf.step_time_ms.n == 30 and tf.steady_state is True
    kept = np.array(seconds[:10] + seconds[20:]) / WINDOW * 1000
    assert tf.step_time_ms.median == pytest.approx(float(np.median(kept)))
    assert tf.steps_per_s == pytest.approx(float(np.median(1000.0 / kept)))
    series = report.series[1]
    used = series.window_used[[p == "measure" for p in series.window_phase]]
    assert not used[10:20].any() and used[:10].all() and used[20:].all()
    notes = [note for who, note in quality_notes(report) if who == "TensorFlow"]
    assert any(
        note.startswith("10 of 40 measure windows (25%) ran while other processes took more than "
                        "25% CPU (of one core): they are left out of every figure; that is a "
                        "large share")
        for note in notes
    ), notes  # fmt: skip
    html = write_report(report, tmp_path / "r.html").read_text()
    assert "30 of 40 (10 disturbed left out)" in html
    data = json.loads(write_report(report, tmp_path / "r.json").read_text())
    assert data["runs"][1]["drift"]["windows_disturbed"] == 10
    assert data["runs"][1]["drift"]["windows_used"] == 30


def test_a_mostly_disturbed_run_keeps_its_windows_and_says_so(tmp_path: Path) -> None:
    """Leaving out 30 of 40 windows would describe a quarter of the run: they stay, flagged."""
    tf = tf_run(measure_seconds=steady_windows(0.03, 40, seed=1), busy=range(5, 35))
    report = make_report(tmp_path, torch_run(), tf)
    d = report.runs[1].drift
    assert (d.windows_disturbed, d.disturbed_left_out, d.windows_used) == (30, False, 40)
    notes = [note for who, note in quality_notes(report) if who == "TensorFlow"]
    assert any("too many to leave out, so every figure includes them" in n for n in notes)


def test_a_large_steady_state_cut_is_never_called_steady(tmp_path: Path) -> None:
    """The outside load changes unseen (no CPU signal) after 24 of 60 windows: the steady-state
    search has to drop 40% of the windows, which it may not do silently."""
    rng = np.random.default_rng(6)
    step = np.where(np.arange(60) < 24, 0.042, 0.030) * (1 + rng.normal(0, 0.01, 60))
    report = make_report(tmp_path, torch_run(), tf_run(measure_seconds=list(step * WINDOW)))
    tf = report.runs[1]
    assert tf.drift.large_cut is True and tf.drift.windows_excluded > 12
    assert tf.steady_state is False
    assert tf.step_time_ms.n == 60 - tf.drift.windows_excluded
    notes = [note for who, note in quality_notes(report) if who == "TensorFlow"]
    cut = tf.drift.windows_excluded
    assert any(f"still changing for the first {cut} of 60 measure windows" in n and
               "not called steady" in n for n in notes), notes  # fmt: skip
    speed = next(v.text for v in verdicts(report) if "trains this model" in v.text)
    assert "not a steady state: TensorFlow" in speed
    html = write_report(report, tmp_path / "r.html").read_text()
    assert f"no: settled only after {cut} windows" in html


def test_without_per_core_cpu_no_window_is_called_disturbed(tmp_path: Path) -> None:
    """An older store has no per-core CPU: other processes' share is unknown, not zero."""
    tf = tf_run(busy=range(5, 10), per_core_cpu=False)
    report = make_report(tmp_path, torch_run(), tf)
    d = report.runs[1].drift
    assert (d.windows_disturbed, d.other_cpu_percent_median, d.windows_used) == (0, None, 30)
    assert np.isnan(report.series[1].window_other_cpu_percent).all()
