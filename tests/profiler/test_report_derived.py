"""Derived figures (startup, energy, MFU), comparisons across three frameworks, and the output
formats' promises: page numbers, paper sizes, embedded fonts, determinism, decimated charts."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from profiler.report import build_report, write_report
from profiler.report.derived import counter_energy_j, integrate_power_j
from profiler.report.plotting import decimate_minmax
from profiler.report.tables import comparison_table
from profiler.report.verdicts import verdicts
from tests.profiler.test_report import BATCH, WINDOW, FakeRun, noisy_runs, record_session
from tests.profiler.test_report_quality import pdf_text, steady_windows


def fake(framework: str, step_s: float, seed: int, **kw: object) -> FakeRun:
    warmup = [step_s * WINDOW * 3, step_s * WINDOW]
    return FakeRun(framework, "1.0", 2.0, 0.0, 0.05, warmup,
                   steady_windows(step_s, 30, seed), **kw)  # type: ignore[arg-type]  # fmt: skip


# -- energy ---------------------------------------------------------------------------------------


def test_integrate_power() -> None:
    t = np.arange(0.0, 10.01, 0.1)
    assert integrate_power_j(t, np.full(t.shape, 100.0), 0.0, 10.0) == pytest.approx(1000.0)
    ramp = np.linspace(0.0, 200.0, t.size)  # 0 -> 200 W: mean 100 W
    assert integrate_power_j(t, ramp, 0.0, 10.0) == pytest.approx(1000.0)
    assert integrate_power_j(t, np.full(t.shape, 50.0), 2.0, 4.0) == pytest.approx(100.0)
    gappy = np.full(t.shape, 100.0)
    gappy[20:40] = math.nan  # missing samples are bridged
    assert integrate_power_j(t, gappy, 0.0, 10.0) == pytest.approx(1000.0)
    assert math.isnan(integrate_power_j(t, np.full(t.shape, math.nan), 0.0, 10.0))
    assert math.isnan(integrate_power_j([1.0], [5.0], 0.0, 10.0))


def test_counter_energy() -> None:
    t = np.arange(0.0, 10.01, 1.0)
    counter = 5000.0 + 150.0 * t  # 150 W
    assert counter_energy_j(t, counter, 2.0, 8.0) == pytest.approx(900.0)
    reset = counter.copy()
    reset[6:] -= 4000.0  # the counter went backwards: no trustworthy figure
    assert math.isnan(counter_energy_j(t, reset, 0.0, 10.0))
    assert math.isnan(counter_energy_j(t, np.full(t.shape, math.nan), 0.0, 10.0))


# -- derived figures ------------------------------------------------------------------------------


def test_startup_breakdown_adds_up(tmp_path: Path) -> None:
    report = build_report(record_session(tmp_path / "s.sqlite3", noisy_runs()))
    for run in report.runs:
        parts = run.startup_s
        assert run.first_step_s is not None
        assert parts["import"] == pytest.approx(run.phases_s["import"])
        assert parts["build"] == pytest.approx(run.phases_s["build"])
        assert parts["interpreter"] == pytest.approx(0.05)  # launch to the import phase
        assert parts["first_step"] == pytest.approx(0.06)  # the first step's own time
        known = sum(v for v in parts.values() if v is not None)
        assert known == pytest.approx(run.first_step_s)
    tf = report.runs[1]
    assert tf.startup_s["compile"] == pytest.approx(0.7)


def test_gpu_energy_efficiency_and_mfu(tmp_path: Path) -> None:
    """250 W on the counter for PyTorch, 200 W sampled (no counter) for TensorFlow."""
    runs = [
        (0, fake("torch", 0.04, 1, gpu_power_w=250.0, peak_flops=67e12)),
        (0, fake("tensorflow", 0.03, 2, gpu_power_w=200.0, energy_counter=False, peak_flops=67e12)),
    ]
    gpu = {"name": "NVIDIA H100 80GB HBM3", "memory_mib": 81559, "driver": "550.54"}
    report = build_report(record_session(tmp_path / "s.sqlite3", runs, gpu=gpu))
    torch, tf = report.runs
    assert torch.energy_source == "counter" and tf.energy_source == "integrated"
    for run, watts in ((torch, 250.0), (tf, 200.0)):
        assert run.energy_j is not None and run.samples_per_s is not None
        samples = run.step_time_ms.n * WINDOW * BATCH
        # samples span the used windows at 10 Hz: energy within a sample period of the truth
        seconds = samples / run.samples_per_s
        assert run.energy_j == pytest.approx(watts * seconds, rel=0.1)
        assert run.energy_per_1k_samples_j == pytest.approx(run.energy_j / samples * 1000)
        assert run.samples_per_s_per_w == pytest.approx(samples / run.energy_j)
        assert run.mfu == pytest.approx(9.0e7 * run.steps_per_s / 67e12)
        assert run.achieved_tflops == pytest.approx(9.0e7 * run.steps_per_s / 1e12)
        assert run.peak_tflops == pytest.approx(67.0)
        assert run.gpu_temp_c_max is not None
    metrics = {c.metric for c in report.comparisons}
    assert {"gpu_mem_peak_mib", "energy_per_1k_samples_j"} <= metrics
    texts = " ".join(v.text for v in verdicts(report))
    assert "the GPU energy per 1,000 samples of" in texts
    assert "the peak GPU memory of" in texts
    data = json.loads(write_report(report, tmp_path / "r.json").read_text())
    assert data["runs"][0]["energy_source"] == "counter"
    html = write_report(report, tmp_path / "r.html").read_text()
    assert "GPU utilisation" in html and "GPU temperature" in html
    assert html.count("<svg") == 5  # time, distributions, CPU/memory, GPU, temperature/clock


def test_no_power_no_energy_no_peak_no_mfu(tmp_path: Path) -> None:
    report = build_report(record_session(tmp_path / "s.sqlite3", noisy_runs()))
    for run in report.runs:
        assert run.energy_j is None and run.energy_per_1k_samples_j is None
        assert run.mfu is None and run.peak_tflops is None
    assert {c.metric for c in report.comparisons} == {
        "steps_per_s", "step_time_ms", "rss_peak_mib", "first_step_s",
    }  # fmt: skip


# -- three frameworks -----------------------------------------------------------------------------


def test_three_frameworks_compare_every_pair(tmp_path: Path) -> None:
    runs = [(r, fake(fw, step_s, 10 * r + i))
            for r in range(3)
            for i, (fw, step_s) in enumerate((("torch", 0.040), ("tensorflow", 0.030),
                                              ("jax", 0.0401)))]  # fmt: skip
    report = build_report(
        record_session(tmp_path / "s.sqlite3", runs, frameworks=("torch", "tensorflow", "jax"))
    )
    pairs = {(c.baseline, c.other) for c in report.comparisons if c.metric == "steps_per_s"}
    assert pairs == {("torch", "tensorflow"), ("torch", "jax"), ("tensorflow", "jax")}
    by_pair = {(c.baseline, c.other): c for c in report.comparisons if c.metric == "step_time_ms"}
    tf = by_pair[("torch", "tensorflow")]
    assert tf.ratio == pytest.approx(0.75, rel=0.03) and tf.significant is True
    assert tf.ci95 is not None and tf.ci95[0] < 0.75 < tf.ci95[1]
    jax = by_pair[("torch", "jax")]
    assert jax.significant is False  # 0.25% apart with 2% noise: no verdict either way
    speed = {(c.baseline, c.other): c for c in report.comparisons if c.metric == "steps_per_s"}
    # throughput is the reciprocal of step time, window by window, and so are the intervals
    low, high = tf.ci95
    assert speed[("torch", "tensorflow")].ratio == pytest.approx(1 / tf.ratio, rel=0.01)
    assert speed[("torch", "tensorflow")].ci95 == pytest.approx((1 / high, 1 / low), rel=0.01)
    # page one speaks from the best one's side, one sentence per metric
    speed_text = next(v.text for v in verdicts(report) if "trains this model" in v.text)
    assert speed_text.startswith("TensorFlow trains this model fastest: 1.3")
    assert "faster than PyTorch [" in speed_text and "faster than JAX [" in speed_text
    table = comparison_table(report)
    row = next(r for r in table.rows if r[0] == "Training speed: JAX / PyTorch")
    assert row[-1] == "no significant difference (3 vs 3 runs)"
    for suffix in (".pdf", ".html", ".csv"):
        assert write_report(report, tmp_path / f"r{suffix}").stat().st_size > 0


# -- formats --------------------------------------------------------------------------------------


def test_pdf_pages_fonts_and_paper(tmp_path: Path) -> None:
    report = build_report(record_session(tmp_path / "s.sqlite3", noisy_runs(repeats=2)))
    from profiler.report.pdf_report import write_pdf

    a4 = write_pdf(report, tmp_path / "a4.pdf")
    letter = write_pdf(report, tmp_path / "letter.pdf", paper="letter")
    assert b"595.44 841.68" in a4.read_bytes() or b"595 842" in a4.read_bytes()
    assert b"612 792" in letter.read_bytes()
    text = pdf_text(a4)
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", a4.read_bytes()))
    for number in range(1, pages + 1):
        assert f"page {number} of {pages}" in text
    if shutil.which("pdffonts"):
        fonts = subprocess.run(["pdffonts", str(a4)], capture_output=True, text=True,
                               check=True, timeout=60).stdout.splitlines()[2:]  # fmt: skip
        assert fonts and all(line.split()[-5] == "yes" for line in fonts)  # all embedded
        assert not any("Type 3" in line for line in fonts)
    # charts are vector: no raster image anywhere
    assert b"/Subtype /Image" not in a4.read_bytes()


def test_same_session_same_report_bytes(tmp_path: Path) -> None:
    session = record_session(tmp_path / "s.sqlite3", noisy_runs(repeats=2))
    for suffix in (".pdf", ".html", ".json", ".csv"):
        first = write_report(build_report(session), tmp_path / f"a{suffix}").read_bytes()
        second = write_report(build_report(session), tmp_path / f"b{suffix}").read_bytes()
        assert first == second, suffix


def test_decimation_keeps_the_envelope() -> None:
    t = np.arange(100_000) / 20.0
    y = np.sin(t / 50.0) + 0.01 * np.cos(t)
    y[12_345] = 10.0  # one spike
    y[50_000:50_500] = math.nan  # a gap
    dt, dy = decimate_minmax(t, y, 1000)
    assert dt.size <= 1000 and np.all(np.diff(dt) >= 0)
    assert np.nanmax(dy) == 10.0 and np.nanmin(dy) == pytest.approx(np.nanmin(y))
    assert np.isnan(dy).any()  # the gap stays a gap
    small_t, small_y = decimate_minmax(t[:500], y[:500], 1000)
    assert np.array_equal(small_t, t[:500]) and np.array_equal(small_y, y[:500])
