"""The report model and its four renderers, on sessions recorded into a real SQLite store."""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from profiler.report import build_report, write_report
from profiler.report.json_report import to_dict
from profiler.report.model import REPORT_SCHEMA_VERSION, Report
from profiler.report.tables import verdicts
from profiler.report.verdicts import verdict
from profiler.store import Store, StoredSession

BATCH = 64
WINDOW = 10
BUSY_CPU = 150.0  # percent of one core, taken by other processes in a FakeRun's busy windows
GPU_COLUMNS = ("gpu_util_percent", "gpu_mem_mib", "gpu_power_w", "gpu_temp_c", "gpu_sm_clock_mhz")
RUN_FIELDS = {
    "run_id", "seq", "repeat", "framework", "framework_version", "status", "error", "device",
    "params", "parity_loss", "flops_per_step", "steps_per_s", "samples_per_s", "step_time_ms",
    "first_step_s", "phases_s", "startup_s", "rss_peak_mib", "cpu_percent_mean",
    "gpu_util_percent_mean", "gpu_mem_peak_mib", "gpu_power_w_mean", "gpu_temp_c_max",
    "allocator_peak_mib", "energy_j", "energy_source", "energy_per_1k_samples_j",
    "samples_per_s_per_w", "achieved_tflops", "peak_tflops", "mfu", "loss_first", "loss_last",
    "steady_state", "drift", "warnings", "settings", "minor_faults_per_step",
    "major_faults_per_step",
}  # fmt: skip


@dataclass
class FakeRun:
    """What a child would report, and what the parent would sample, for one synthetic run."""

    framework: str
    version: str
    import_s: float
    compile_s: float
    first_step_s: float
    warmup_seconds: list[float]
    measure_seconds: list[float]
    parity_loss: float = 2.3026
    fail: str | None = None
    rss_start_mib: float = 60.0
    settings: dict[str, object] = field(default_factory=lambda: {"threads": 4, "precision": "fp32"})
    warnings: list[str] = field(default_factory=list)
    garbage: int = 0
    gpu_power_w: float | None = None  # sample GPU metrics at this power (W)
    energy_counter: bool = True
    peak_flops: float | None = None
    busy: range = range(0)  # measure windows during which other processes take BUSY_CPU % CPU
    per_core_cpu: bool = True  # False: a store written before per-core CPU was sampled
    truth: dict[str, float] = field(default_factory=dict)


def record_run(
    store: Store, session_id: int, fr: FakeRun, *, seq: int, repeat: int, launch: float
) -> float:
    """Write one run's events and samples as a session would; return when it ended."""
    run_id = store.create_run(session_id, seq, fr.framework, repeat)
    store.update_run(run_id, status="running", started_t=launch)
    t = launch + 0.05
    ev = [(t, "phase", {"name": "import", "state": "start"})]
    t += fr.import_s
    ev.append((t, "phase", {"name": "import", "state": "end"}))
    hello = {"pid": 1000 + seq, "framework": fr.framework, "framework_version": fr.version,
             "device": "cpu", "python": "3.11.2"}  # fmt: skip
    ev.append((t + 0.001, "hello", hello))
    ev.append((t + 0.002, "phase", {"name": "build", "state": "start"}))
    if fr.fail:
        t += 0.3
        error = {
            "type": "ValueError",
            "message": fr.fail,
            "traceback": "Traceback ...",
            "oom": False,
        }
        ev.append((t, "error", error))
    else:
        t += 0.2
        model = {"params": 235_146, "parity_loss": fr.parity_loss, "flops_per_step": 9.0e7}
        if fr.peak_flops is not None:
            model["peak_flops_per_s"] = fr.peak_flops
        ev.append((t - 0.05, "model", model))
        ev.append((t - 0.04, "env", {"settings": fr.settings}))
        ev.append((t, "phase", {"name": "build", "state": "end"}))
        if fr.compile_s:
            ev.append((t, "phase", {"name": "compile", "state": "start"}))
            t += fr.compile_s
            ev.append((t, "phase", {"name": "compile", "state": "end"}))
        step, loss = 0, fr.parity_loss
        for phase, seconds_list in (("warmup", fr.warmup_seconds), ("measure", fr.measure_seconds)):
            ev.append((t, "phase", {"name": phase, "state": "start"}))
            fr.truth[f"{phase}_start"] = t
            for k, seconds in enumerate(seconds_list):
                if phase == "measure" and k == fr.busy.start:
                    fr.truth["busy_start"] = t
                if phase == "measure" and k == fr.busy.stop - 1:
                    fr.truth["busy_end"] = t + seconds
                if step == 0:
                    fr.truth["first_step_t"] = t + fr.first_step_s
                    first = {"step": 1, "seconds": fr.first_step_s, "loss": loss}
                    ev.append((t + fr.first_step_s, "first_step", first))
                t += seconds
                step += WINDOW
                loss *= 0.97
                window = {"phase": phase, "step": step, "steps": WINDOW, "seconds": seconds,
                          "loss": loss, "samples": WINDOW * BATCH}  # fmt: skip
                ev.append((t, "window", window))
            ev.append((t, "phase", {"name": phase, "state": "end"}))
            fr.truth[f"{phase}_end"] = t
        fr.truth["loss_last"] = loss
        ev.append((t, "memory", {"allocator_bytes": None, "allocator_peak_bytes": 3 * 2**20}))
        ev.append((t + 0.01, "done", {"steps": step}))
    ev += [(t, "garbage", {"reason": "not JSON"})] * fr.garbage
    end = t + 0.05
    for when, kind, payload in ev:
        store.add_event(run_id, when, kind, payload)
    # The parent samples at 10 Hz: 400% CPU while measuring, 100% otherwise; RSS grows 1 MiB/tick.
    sample_t = launch + 0.1 * np.arange(int((end - launch) / 0.1) + 1)
    for i, st in enumerate(sample_t):
        measuring = fr.truth.get("measure_start", math.inf) <= st <= fr.truth.get("measure_end", 0)
        rss = fr.rss_start_mib + i
        gpu = [math.nan] * 5
        energy = math.nan
        if fr.gpu_power_w is not None:
            gpu = [90.0, 1000.0 + i, fr.gpu_power_w, 60.0 + i * 0.01, 1800.0]
            energy = 1.0e5 + fr.gpu_power_w * (st - launch) if fr.energy_counter else math.nan
        tree = 400.0 if measuring else 100.0
        row = {"t": st, "cpu_percent": tree, "rss_mib": rss, "threads": 8,
               **dict(zip(GPU_COLUMNS, gpu, strict=True)), "gpu_energy_j": energy,
               "gpu_throttle_reasons": 0, "sys_mem_used_mib": 5000.0 + i}  # fmt: skip
        # the machine's CPU per core: the tree's share, plus others' inside the busy windows
        busy = fr.truth.get("busy_start", math.inf) < st - 0.1 and st <= fr.truth.get("busy_end", 0)
        other = BUSY_CPU if busy else 0.0
        store.add_sample(run_id, row, [tree / 4 + other / 4] * 4 if fr.per_core_cpu else ())
    fr.truth["rss_peak"] = fr.rss_start_mib + len(sample_t) - 1
    status, error = ("failed", f"ValueError: {fr.fail}") if fr.fail else ("ok", None)
    info = {"pid": 1000 + seq, "launch_t": launch, "warnings": fr.warnings}
    store.update_run(run_id, status=status, error=error, exit_code=1 if fr.fail else 0,
                     ended_t=end, info=info)  # fmt: skip
    return end


def record_session(
    path: Path,
    runs: list[tuple[int, FakeRun]],
    name: str = "demo-mlp",
    frameworks: tuple[str, ...] = ("torch", "tensorflow"),
    gpu: dict[str, object] | None = None,
):
    """Record ``(repeat, run)`` pairs one after another into a new store; load the session back."""
    config = {"name": name, "frameworks": list(frameworks), "device": "cpu",
              "model": {"family": "mlp", "input_dim": 784, "hidden": [256, 128],
                        "num_classes": 10},
              "train": {"batch_size": BATCH, "steps": 200, "warmup_steps": 20,
                        "optimizer": {"name": "sgd", "lr": 0.01}}}  # fmt: skip
    env = {"frameduel": "0.1.0", "hostname": "bench-01", "os": "Linux 6.1.0",
           "cpu": "AMD EPYC 7B13", "cpu_count_logical": 8, "cpu_count_physical": 4,
           "memory_gib": 31.3, "python": "3.11.2", "gpu": gpu,
           "gpu_status": "ok" if gpu else "no NVIDIA driver"}  # fmt: skip
    with Store(path) as store:
        session_id = store.create_session(name, config, None, env)
        t = 0.5
        for seq, (repeat, fake) in enumerate(runs):
            t = record_run(store, session_id, fake, seq=seq, repeat=repeat, launch=t) + 0.5
        store.finish_session(session_id, "ok" if all(not f.fail for _, f in runs) else "failed")
        return store.load(session_id)


def simple_runs() -> list[tuple[int, FakeRun]]:
    return [
        (0, FakeRun("torch", "2.13.0", 1.8, 0.0, 0.05, [0.9, 0.5], [0.5, 0.4, 0.6])),
        (0, FakeRun("tensorflow", "2.21.0", 3.0, 0.6, 0.4, [1.5, 0.3], [0.25, 0.2, 0.3])),
    ]


def noisy_runs(repeats: int = 1, seed: int = 0, windows: int = 40) -> list[tuple[int, FakeRun]]:
    """``windows`` measure windows per run: TensorFlow's steps ~1.3x shorter than PyTorch's."""
    rng = np.random.default_rng(seed)
    out = []
    for repeat in range(repeats):
        for fw, version, imp, comp, step_s in (
            ("torch", "2.13.0", 1.9, 0.0, 0.040),
            ("tensorflow", "2.21.0", 3.2, 0.7, 0.040 / 1.3),
        ):
            measure = list(rng.normal(step_s, step_s * 0.04, windows) * WINDOW)
            warmup = [step_s * WINDOW * 4, step_s * WINDOW * 1.2]
            parity = 2.302585 * (1 + 3e-7 * (fw == "tensorflow"))
            rss = 180.0 + 40 * (fw == "tensorflow") + 5 * repeat
            fake = FakeRun(fw, version, imp, comp, 0.06, warmup, measure, parity, rss_start_mib=rss)
            out.append((repeat, fake))
    return out


@pytest.fixture(autouse=True)
def _matplotlib_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    if not os.environ.get("MPLCONFIGDIR"):
        monkeypatch.setenv("MPLCONFIGDIR", str(tmp_path_factory.mktemp("matplotlib")))


def pdf_pages(path: Path) -> int:
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", path.read_bytes()))


def test_summary_numbers_match_hand_computations(tmp_path: Path) -> None:
    runs = simple_runs()
    session = record_session(tmp_path / "s.sqlite3", runs)
    report = build_report(session)
    torch, tf = report.runs
    torch_fake, tf_fake = runs[0][1], runs[1][1]
    assert (torch.framework, tf.framework) == ("torch", "tensorflow")
    assert torch.status == "ok" and torch.error is None
    assert torch.framework_version == "2.13.0" and torch.device == "cpu"
    assert torch.params == 235_146 and torch.flops_per_step == 9.0e7
    assert torch.steps_per_s == pytest.approx(30 / 1.5)
    assert torch.samples_per_s == pytest.approx(30 * BATCH / 1.5)
    assert tf.steps_per_s == pytest.approx(30 / 0.75)
    st = torch.step_time_ms
    assert (st.median, st.mean, st.n) == (pytest.approx(50.0), pytest.approx(50.0), 3)
    assert st.std == pytest.approx(10.0)
    assert st.p95 == pytest.approx(59.0)
    assert torch.first_step_s == pytest.approx(torch_fake.truth["first_step_t"] - 0.5)
    assert torch.phases_s["import"] == pytest.approx(1.8)
    assert torch.phases_s["build"] == pytest.approx(0.198)
    assert torch.phases_s["compile"] is None
    assert tf.phases_s["compile"] == pytest.approx(0.6)
    assert torch.phases_s["warmup"] == pytest.approx(1.4)
    assert torch.phases_s["measure"] == pytest.approx(1.5)
    assert torch.rss_peak_mib == torch_fake.truth["rss_peak"]
    assert torch.cpu_percent_mean == 400.0  # only the samples inside the measure phase
    assert torch.gpu_util_percent_mean is None and torch.gpu_mem_peak_mib is None
    assert torch.gpu_power_w_mean is None
    assert torch.allocator_peak_mib == 3.0
    assert torch.loss_first == torch.parity_loss == 2.3026
    assert torch.loss_last == pytest.approx(torch_fake.truth["loss_last"])
    assert torch.settings == {"threads": 4, "precision": "fp32"}
    assert tf.first_step_s == pytest.approx(
        tf_fake.truth["first_step_t"] - session.runs[1].info["launch_t"]
    )


def test_comparisons_and_parity(tmp_path: Path) -> None:
    report = build_report(record_session(tmp_path / "s.sqlite3", simple_runs()))
    by_metric = {c.metric: c for c in report.comparisons}
    assert list(by_metric) == ["steps_per_s", "step_time_ms", "rss_peak_mib", "first_step_s"]
    speed = by_metric["steps_per_s"]
    assert (speed.baseline, speed.other, speed.higher_is_better) == ("torch", "tensorflow", True)
    assert speed.ratio == pytest.approx(2.0)
    # one run each: run-to-run variation is unknown, so no interval, no test, no claim; and 3
    # windows are too few to judge even these runs' own noise
    assert speed.ci95 is None and speed.p_value is None and speed.significant is None
    assert speed.within_ci95 is None and (speed.n_baseline, speed.n_repeats_baseline) == (3, 1)
    step = by_metric["step_time_ms"]
    assert step.ratio == pytest.approx(0.5) and not step.higher_is_better
    assert (step.baseline_median, step.other_median) == (pytest.approx(50.0), pytest.approx(25.0))
    rss = by_metric["rss_peak_mib"]
    torch, tf = report.runs
    assert rss.ratio == pytest.approx(tf.rss_peak_mib / torch.rss_peak_mib)
    assert rss.ci95 is None and rss.p_value is None and rss.significant is None
    assert report.parity.max_rel_diff == 0.0 and report.parity.ok is True


def test_repeats_give_intervals_for_single_value_metrics(tmp_path: Path) -> None:
    report = build_report(record_session(tmp_path / "s.sqlite3", noisy_runs(repeats=3)))
    assert [(r.framework, r.repeat) for r in report.runs][:4] == [
        ("torch", 0), ("tensorflow", 0), ("torch", 1), ("tensorflow", 1),
    ]  # fmt: skip
    by_metric = {c.metric: c for c in report.comparisons}
    assert by_metric["step_time_ms"].n_baseline == 120
    rss = by_metric["rss_peak_mib"]
    assert rss.n_baseline == rss.n_other == 3
    assert rss.ci95 is not None and rss.p_value is not None
    speed = by_metric["steps_per_s"]
    assert speed.ratio == pytest.approx(1.3, rel=0.03)
    assert speed.ci95 is not None and speed.ci95[0] < 1.3 < speed.ci95[1]
    assert speed.p_value is not None and speed.p_value < 0.001
    assert report.parity.ok is True
    assert 0 < (report.parity.max_rel_diff or 0) < 1e-6
    assert "TensorFlow trains this model 1.3" in verdicts(report)[0].text
    assert "faster than PyTorch [" in verdicts(report)[0].text
    assert "; 3 vs 3 runs)" in verdicts(report)[0].text
    assert speed.significant is True and speed.method == "Welch t on run medians"


def test_one_run_each_says_what_it_cannot_know(tmp_path: Path) -> None:
    """One run per side: the ratio of these runs, their windows' own interval, no p-value, and
    what would settle it, in every format."""
    report = build_report(record_session(tmp_path / "s.sqlite3", noisy_runs(windows=100)))
    speed = next(c for c in report.comparisons if c.metric == "steps_per_s")
    assert speed.significant is None and speed.p_value is None and speed.ci95 is None
    assert speed.within_ci95 is not None and speed.within_ci95[0] < 1.3 < speed.within_ci95[1]
    assert speed.method == "within-run only (one run on a side)"
    assert speed.ratio == pytest.approx(1.3, rel=0.05)
    text = verdicts(report)[0].text
    assert text.startswith(f"TensorFlow trains this model {speed.ratio:.2f}x")
    assert "faster than PyTorch in these runs (median" in text
    assert "their windows alone: [1." in text and "p " not in text
    # what one run cannot know is said once, for every metric
    caveat = ("One run each: run-to-run variation is unknown, so no significance is claimed; run "
              "repeats (run.repeats: auto) to settle it.")  # fmt: skip
    assert [v.text for v in verdicts(report)].count(caveat) == 1
    assert verdict(speed, report).endswith(caveat[0].lower() + caveat[1:])
    html = write_report(report, tmp_path / "r.html").read_text()
    assert "in these runs; not judged (1 vs 1 runs)" in html and "]*</td>" in html
    data = json.loads(write_report(report, tmp_path / "r.json").read_text())
    comparison = data["comparisons"][0]
    assert comparison["significant"] is None and comparison["ci95"] is None
    assert len(comparison["within_ci95"]) == 2
    # 40 windows a run are too few to judge their autocorrelation: no interval at all
    short = build_report(record_session(tmp_path / "short.sqlite3", noisy_runs(windows=40)))
    speed = next(c for c in short.comparisons if c.metric == "steps_per_s")
    assert speed.within_ci95 is None and speed.significant is None
    text = verdicts(short)[0].text
    assert "in these runs (median" in text and "[" not in text


def test_failed_run_has_none_metrics_and_renders(tmp_path: Path) -> None:
    runs = simple_runs()
    runs[1] = (0, FakeRun("tensorflow", "2.21.0", 3.0, 0.0, 0.0, [], [], fail="shapes (64, 784) "
                          "and (10,) not aligned: 784 (dim 1) != 10 (dim 0) in /very/long/path/"
                          "to/the/workload/module/that/raised/it.py line 123"))  # fmt: skip
    report = build_report(record_session(tmp_path / "s.sqlite3", runs))
    failed = report.runs[1]
    assert failed.status == "failed" and failed.error is not None
    assert failed.error.startswith("ValueError: shapes")
    for name in ("steps_per_s", "samples_per_s", "first_step_s", "params", "parity_loss",
                 "loss_first", "loss_last", "allocator_peak_mib", "settings"):  # fmt: skip
        assert getattr(failed, name) is None, name
    assert failed.step_time_ms.n == 0 and failed.step_time_ms.median is None
    assert failed.phases_s["import"] == pytest.approx(3.0) and failed.phases_s["build"] is None
    assert failed.rss_peak_mib is not None  # the parent still sampled it
    speed = next(c for c in report.comparisons if c.metric == "steps_per_s")
    assert speed.ratio is None and speed.ci95 is None and speed.p_value is None
    assert report.parity.ok is None
    texts = [v.text for v in verdicts(report)]
    assert (
        "Cannot compare training speed, peak memory (RSS) or time to first step: "
        "no finished run of TensorFlow." in texts
    )
    assert any(
        v.warning and "did not finish (failed): ValueError" in v.text for v in verdicts(report)
    )
    data = json.loads(write_report(report, tmp_path / "r.json").read_text())
    assert data["runs"][1]["steps_per_s"] is None
    assert data["runs"][1]["step_time_ms"] == {"median": None, "p5": None, "p95": None,
                                               "mean": None, "std": None, "n": 0}  # fmt: skip
    assert data["runs"][1]["steady_state"] is None
    for suffix in (".pdf", ".html", ".csv"):
        assert write_report(report, tmp_path / f"r{suffix}").stat().st_size > 0
    assert "ValueError: shapes" in (tmp_path / "r.html").read_text()


def render_all(report: Report, folder: Path) -> dict[str, Path]:
    return {
        s: write_report(report, folder / f"report{s}") for s in (".pdf", ".html", ".json", ".csv")
    }


def test_all_formats_render(tmp_path: Path) -> None:
    report = build_report(record_session(tmp_path / "s.sqlite3", noisy_runs(repeats=2)))
    out = render_all(report, tmp_path)

    data = json.loads(out[".json"].read_text())
    assert data["schema_version"] == REPORT_SCHEMA_VERSION == 5
    assert data["generated_from"]["name"] == "demo-mlp"
    assert {"config", "environment", "runs", "statistics", "comparisons", "parity",
            "fairness", "repeats", "breakdowns"} <= set(data)  # fmt: skip
    assert data["repeats"] is None  # recorded without a session engine: no stop record
    assert data["breakdowns"] == []  # nor a trace phase
    assert data["runs"][0]["minor_faults_per_step"] is None  # no window counted its faults
    assert all(set(run) == RUN_FIELDS for run in data["runs"])
    assert set(data["runs"][0]["phases_s"]) == {"import", "build", "compile", "warmup", "measure"}
    assert data["runs"][0]["gpu_util_percent_mean"] is None
    comparison = data["comparisons"][0]
    assert {"metric", "baseline", "other", "ratio", "ci95", "p_value"} <= set(comparison)
    assert "NaN" not in out[".json"].read_text()

    with out[".csv"].open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == [
        "run_id", "framework", "repeat", "series", "t", "value", "phase", "step", "used"
    ]  # fmt: skip
    rows = [[r[0], r[1], r[3], r[4], r[5], r[2], r[6], r[7], r[8]] for r in rows]
    series = {r[2] for r in rows[1:]}
    assert series == {"samples_per_s", "step_time_ms", "loss", "cpu_percent", "rss_mib",
                      "threads", "sys_mem_used_mib", "other_cpu_percent",
                      "window_used"}  # fmt: skip
    first_run_loss = [r for r in rows[1:] if r[0] == str(report.runs[0].run_id) and r[2] == "loss"]
    assert len(first_run_loss) == 42  # 2 warmup + 40 measure windows
    assert all(float(r[3]) > 0 for r in first_run_loss)
    # A pivot of the used windows reproduces the report's median step time.
    run0 = report.runs[0]
    used = [float(r[4]) for r in rows[1:]
            if r[0] == str(run0.run_id) and r[2] == "step_time_ms" and r[8] == "1"]  # fmt: skip
    assert used and float(np.median(used)) == pytest.approx(run0.step_time_ms.median)
    assert {r[6] for r in first_run_loss} == {"warmup", "measure"}
    assert [int(r[7]) for r in first_run_loss] == sorted(int(r[7]) for r in first_run_loss)

    html = out[".html"].read_text()
    # time series with phases, distributions and startup, CPU and memory: no GPU pages
    assert html.startswith("<!DOCTYPE html>") and html.count("<svg") == 3
    assert "FrameDuel report — demo-mlp" in html and "<script" not in html
    assert "#E4572E" in html and "#2E86AB" in html  # framework colours in the table headers
    assert not re.search(r"(src|href)=\"https?:", html) and "<link" not in html  # self-contained

    assert out[".pdf"].read_bytes().startswith(b"%PDF")
    pages = pdf_pages(out[".pdf"])
    assert pages >= 2
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "30", str(out[".pdf"]), str(tmp_path / "page")],
                       check=True, timeout=120)  # fmt: skip
        assert len(list(tmp_path.glob("page*.png"))) == pages


def test_letter_paper_and_unknown_suffix(tmp_path: Path) -> None:
    from profiler.report.pdf_report import write_pdf

    report = build_report(record_session(tmp_path / "s.sqlite3", simple_runs()))
    path = write_pdf(report, tmp_path / "letter.pdf", paper="letter")
    assert b"612 792" in path.read_bytes()  # US Letter in points
    with pytest.raises(ValueError, match=r"'\.docx'"):
        write_report(report, tmp_path / "report.docx")
    with pytest.raises(ValueError, match="paper size"):
        write_pdf(report, tmp_path / "x.pdf", paper="a3")  # type: ignore[arg-type]


def test_report_is_deterministic(tmp_path: Path) -> None:
    session: StoredSession = record_session(tmp_path / "s.sqlite3", noisy_runs())
    first, second = build_report(session), build_report(session)
    assert to_dict(first, include_series=True) == to_dict(second, include_series=True)
    a = write_report(first, tmp_path / "a.html").read_text()
    b = write_report(second, tmp_path / "b.html").read_text()
    assert a == b


def test_importing_the_report_model_loads_no_plotting_or_framework(tmp_path: Path) -> None:
    record_session(tmp_path / "s.sqlite3", simple_runs())
    code = (
        "import sys\n"
        "from profiler.store import Store\n"
        "from profiler.report import build_report, write_report\n"
        f"store = Store({str(tmp_path / 's.sqlite3')!r})\n"
        "report = build_report(store.load(1))\n"
        "store.close()\n"
        "assert 'matplotlib' not in sys.modules\n"
        f"write_report(report, {str(tmp_path / 'r.pdf')!r})\n"
        "banned = {'matplotlib.pyplot', 'scipy.stats', 'torch', 'tensorflow',\n"
        "          'PySide6.QtWidgets'}\n"
        "bad = banned & set(sys.modules)\n"
        "assert not bad, bad\n"
    )
    env = dict(os.environ)
    env.setdefault("MPLCONFIGDIR", str(tmp_path / "matplotlib"))
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=120)
