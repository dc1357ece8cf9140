"""The report's breakdown page in every format, on a session recorded into a real store with
hand-built breakdowns beside it (the capture's own tests run real profilers)."""

from __future__ import annotations

import csv
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from profiler.breakdown import BREAKDOWNS_FILE, RunBreakdown, save_breakdowns, session_trace_dir
from profiler.colors import label_of
from profiler.report import build_report, write_report
from profiler.report.breakdown_compare import compare_breakdowns
from profiler.report.breakdown_page import TITLE
from profiler.store import Store, StoredSession
from tests.profiler.test_breakdown_compare import TF, TORCH
from tests.profiler.test_report import record_session, simple_runs
from tests.profiler.test_report_quality import pdf_text

SENTENCE = (
    "TensorFlow's traced step takes 0.52 ms less than PyTorch's (2.10 vs 2.62 ms). TensorFlow "
    "spends 0.31 ms/step less in optimizer updates (60% of the gap): one fused op vs 12 "
    "separate ops in PyTorch"
)


def traced(store: Path) -> tuple[StoredSession, list[RunBreakdown]]:
    """A recorded two-framework session with breakdowns for its runs saved beside the store,
    loaded back (the store reads them)."""
    session = record_session(store, simple_runs())
    ids = {r.framework: r.id for r in session.runs}
    runs = [
        dataclasses.replace(TORCH, run_id=ids["torch"], trace_step_ms=2.7, measure_step_ms=2.4),
        dataclasses.replace(TF, run_id=ids["tensorflow"], trace_step_ms=2.2, measure_step_ms=2.0),
    ]
    save_breakdowns(store, session.id, runs)
    with Store(store) as s:
        return s.load(session.id), runs


def flat(text: str) -> str:
    return " ".join(text.split())


def test_the_pdf_has_a_breakdown_page_with_the_sentence_and_tables(tmp_path: Path) -> None:
    session, _runs = traced(tmp_path / "s.sqlite3")
    report = build_report(session)

    pdf = write_report(report, tmp_path / "r.pdf")

    text = flat(pdf_text(pdf))
    assert TITLE in text
    assert SENTENCE in text
    assert "Where the gap comes from: PyTorch vs TensorFlow" in text
    assert "optimizer update 0.14 0.45 +0.31 ms 60% 1 vs 12" in text
    assert "BiasAdd elementwise / no counterpart 0.05 ms (2%) · 2× activation" in text
    assert "Profiler cost (trace / measure step) 1.13× 1.10×" in text
    page = next(i for i in range(1, 6) if TITLE in pdf_text(pdf, i, i))
    # the page after the numbers, before the charts
    assert "Statistics per framework" in pdf_text(pdf, page - 1, page - 1)
    assert "Where each step goes" in pdf_text(pdf, page, page)


def test_an_untraced_session_says_so_in_one_line(tmp_path: Path) -> None:
    report = build_report(record_session(tmp_path / "s.sqlite3", simple_runs()))
    pdf = write_report(report, tmp_path / "r.pdf")
    html = write_report(report, tmp_path / "r.html").read_text()

    text = flat(pdf_text(pdf))
    assert "Tracing was off for this session" in text and "run.trace" in text
    assert "Where each step goes" not in text
    assert "Tracing was off for this session" in html
    assert html.count("<svg") == 3  # the chart pages only: no breakdown chart


def test_html_has_the_chart_the_tables_and_the_notes(tmp_path: Path) -> None:
    session, runs = traced(tmp_path / "s.sqlite3")
    runs[0] = dataclasses.replace(runs[0], truncated=True)
    html = write_report(
        build_report(dataclasses.replace(session, breakdowns=tuple(runs))), tmp_path / "r.html"
    ).read_text()

    section = html[html.index(f"<h2>{TITLE}</h2>") : html.index("<h2>Charts</h2>")]
    assert SENTENCE in section.replace("&#x27;", "'")
    assert section.count("<svg") == 1 and "breakdown-1" in section
    assert "Top operators side by side" in section and "no counterpart" in section
    assert "truncated at the size cap" in section
    assert "#b6992d" in section  # the optimizer category's colour, in the chart


def test_csv_rows_carry_each_traced_runs_categories(tmp_path: Path) -> None:
    session, runs = traced(tmp_path / "s.sqlite3")
    report = build_report(session)
    out = write_report(report, tmp_path / "r.csv")

    with out.open(newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["phase"] == "trace"]
    torch = {r["series"]: r for r in rows if r["framework"] == "torch"}
    assert float(torch["trace_step_ms"]["value"]) == pytest.approx(2.62)
    assert float(torch["trace_ms_per_step:optimizer"]["value"]) == pytest.approx(0.45)
    assert float(torch["trace_launches_per_step:optimizer"]["value"]) == 12.0
    assert torch["trace_step_ms"]["run_id"] == str(runs[0].run_id)
    assert {r["used"] for r in rows} == {"1"} and {r["t"] for r in rows} == {""}
    # every category adds up to the traced step, as in the file
    parts = [float(r["value"]) for s, r in torch.items() if s.startswith("trace_ms_per_step:")]
    assert sum(parts) == pytest.approx(2.62)


def test_one_traced_framework_gets_its_page_without_pairs(tmp_path: Path) -> None:
    session, runs = traced(tmp_path / "s.sqlite3")
    report = build_report(dataclasses.replace(session, breakdowns=(runs[0],)))

    text = flat(pdf_text(write_report(report, tmp_path / "r.pdf")))
    html = write_report(report, tmp_path / "r.html").read_text()

    assert "Only PyTorch was traced: 2.62 ms per traced step" in text
    assert "No trace for TensorFlow" in text
    assert "Where the gap comes from" not in text and "Top operators side by side" in text
    assert "Only PyTorch was traced" in html


def test_a_session_traced_without_a_breakdown_says_what_happened(tmp_path: Path) -> None:
    session = record_session(tmp_path / "s.sqlite3", simple_runs())
    config = {**session.config, "run": {"trace": {"steps": 5, "max_mib": 50.0}}}
    report = build_report(dataclasses.replace(session, config=config))

    text = flat(pdf_text(write_report(report, tmp_path / "r.pdf")))

    assert "trace phase left no breakdown" in text and "Tracing was off" not in text


@pytest.mark.parametrize("fmt", ["csv", "html"])
def test_frameduel_report_reads_the_breakdowns_beside_the_store(tmp_path: Path, fmt: str) -> None:
    store = tmp_path / "s.sqlite3"
    traced(store)
    result = subprocess.run(
        [sys.executable, "-m", "profiler", "report", "last", "--store", str(store),
         "--out", "-", "--format", fmt],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    if fmt == "csv":
        assert "trace_ms_per_step:optimizer" in result.stdout
    else:
        assert "Where each step goes" in result.stdout or "breakdown-1" in result.stdout


def test_frameduel_report_still_writes_with_a_damaged_breakdowns_file(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    session, _runs = traced(store)
    bad = session_trace_dir(store, session.id) / BREAKDOWNS_FILE
    bad.write_text(json.dumps({"x": 1}))
    result = subprocess.run(
        [sys.executable, "-m", "profiler", "report", "last", "--store", str(store),
         "--out", str(tmp_path / "r.html")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert str(bad) in result.stderr and "not a FrameDuel breakdowns file" in result.stderr
    assert "Tracing was off for this session" in (tmp_path / "r.html").read_text()


REAL_CONFIG = """\
name: traced-mlp
frameworks: [torch, jax]
device: cpu
threads: 1
model: {family: mlp, input_dim: 64, hidden: [128, 128], num_classes: 10}
data: {samples: 512}
train: {batch_size: 32, steps: 40, warmup_steps: 10, optimizer: {name: sgd, momentum: 0.9}}
run: {repeats: 1, trace: {steps: 5}}
"""


@pytest.mark.slow
def test_a_real_traced_session_compares_and_reports(tmp_path: Path) -> None:
    config, store = tmp_path / "traced.yaml", tmp_path / "s.sqlite3"
    config.write_text(REAL_CONFIG)
    result = subprocess.run(
        [sys.executable, "-m", "profiler", "run", str(config), "--store", str(store),
         "--report", str(tmp_path / "r.pdf")],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    with Store(store) as s:
        session = s.load(s.sessions()[0].id)
    report = build_report(session)
    assert {b.framework for b in report.breakdowns} == {"torch", "jax"}

    cmp = compare_breakdowns(report.breakdowns, report.frameworks)

    for b in cmp.per_framework:  # the stack adds up to the traced step
        assert sum(cmp.stacked_ms()[c][cmp.frameworks.index(b.framework)]
                   for c in cmp.categories) == pytest.approx(b.step_ms, rel=0.10)  # fmt: skip
    # aten::addmm/mm ~ dot / XLA fusions, matched in one row. A second "matmul" row may hold
    # torch's wrappers' own time (aten::linear, AddmmBackward0: dispatch, host overhead), and
    # on a loaded machine it can outgrow the compute row (seen in CI), so it is not "the first"
    matmul = [r for r in cmp.ops if r.key == "matmul"]
    assert any(r.has("torch") and r.has("jax") for r in matmul), matmul
    (pair,) = cmp.pairs
    if not pair.same_speed:
        shares = sum(d.share_of_gap or 0.0 for d in pair.categories)
        assert shares == pytest.approx(1.0, abs=0.1)
    fast = label_of(pair.faster)
    assert pair.sentence.startswith(f"{fast}'s traced step") or "about the same" in pair.sentence
    text = flat(pdf_text(tmp_path / "r.pdf"))
    assert TITLE in text and pair.sentence[:60] in text
    assert "Where each step goes" in text
