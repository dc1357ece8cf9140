"""The trace phase end to end: real runs of every family in every framework (tiny, CPU), each
framework's own profiler, the breakdown from its real trace, the merged Perfetto file.

One session per family runs the three frameworks once (module-scoped, so each family is run
once however many tests read it).
"""

from __future__ import annotations

import gzip
import json
import math
import os
import sqlite3
import statistics
import subprocess
import sys
from collections import defaultdict
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from profiler.breakdown import Category, RunBreakdown, load_breakdowns, session_trace_dir
from profiler.events import TraceInfo
from profiler.trace.capture import breakdown_of_run
from profiler.trace.events import read_trace_json
from workloads.xplane import XPROF_ENV, xprof_to_chrome_trace

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

FRAMEWORKS = ("torch", "tensorflow", "jax")
_COMMON = """\
frameworks: [torch, tensorflow, jax]
threads: 1
seed: 5
train: {batch_size: BATCH, steps: 12, warmup_steps: 2, window_steps: 5}
run: {repeats: 1, sample_hz: 10, trace: {steps: 5}}
"""
MODELS = {
    # matmul-bound: two 1024-wide layers, so the dense layers dwarf everything else
    "mlp": "model: {family: mlp, input_dim: 256, hidden: [1024, 1024], num_classes: 10}\n"
    "data: {samples: 256}\n",
    "cnn": "model: {family: cnn, input_shape: [16, 16, 3], num_classes: 10, dense: [32],\n"
    "        conv: [{filters: 8, kernel: 3, pool: 2}, {filters: 16, kernel: 3, pool: 2}]}\n"
    "data: {samples: 256}\n",
    "transformer": "model: {family: transformer, vocab_size: 200, seq_len: 32, d_model: 32,\n"
    "        heads: 4, layers: 1, ff_dim: 64, dropout: 0.0, num_classes: 4}\n"
    "data: {samples: 256}\n",
    # input-bound: a model that is next to nothing behind each framework's own input pipeline
    # (DataLoader, tf.data, device_put) assembling 1024-row batches
    "input": "model: {family: mlp, input_dim: 64, hidden: [4], num_classes: 10}\n"
    "data: {samples: 8192, pipeline: native}\n",
}
BATCH = {"mlp": 64, "cnn": 32, "transformer": 32, "input": 1024}


def frameduel(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "profiler", *args],
        capture_output=True,
        text=True,
        timeout=800,
        env={**os.environ, **(env or {})},
        check=False,
    )


class Traced:
    """One family's session: its store, JSON report and breakdowns by framework."""

    def __init__(self, store: Path, report: dict[str, Any]) -> None:
        self.store = store
        self.report = report
        self.session_id = int(report["generated_from"]["id"])
        self.breakdowns = {b.framework: b for b in load_breakdowns(store, self.session_id)}


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Traced]:
    done: dict[str, Traced] = {}

    def run(family: str) -> Traced:
        if family not in done:
            folder = tmp_path_factory.mktemp(f"trace-{family}")
            config = folder / f"{family}.yaml"
            config.write_text(
                f"name: trace-{family}\n"
                + _COMMON.replace("BATCH", str(BATCH[family]))
                + MODELS[family]
            )
            out = folder / "report.json"
            store = folder / "store.sqlite3"
            result = frameduel("run", str(config), "--store", str(store), "--json", str(out))
            assert result.returncode == 0, result.stderr[-3000:]
            done[family] = Traced(store, json.loads(out.read_text()))
        return done[family]

    return run


@pytest.mark.parametrize("family", ["mlp", "cnn", "transformer"])
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_every_family_breaks_down_in_every_framework(
    traced: Callable[[str], Traced], family: str, framework: str
) -> None:
    session = traced(family)
    run = session.breakdowns[framework]
    assert (run.traced_steps, run.device, run.timeline, run.truncated) == (5, "cpu", "host", False)
    # the categories add up to the traced step (by construction) ...
    assert sum(run.category_ms.values()) == pytest.approx(run.step_ms, rel=1e-9)
    # ... and the trace's own clock agrees with the child's within 10%
    assert run.step_ms == pytest.approx(run.trace_step_ms, rel=0.10)
    assert run.measure_step_ms > 0 and math.isfinite(run.profiler_cost)
    assert run.launches_per_step >= 3
    assert run.top_ops and run.top_ops[0].per_step_ms > 0
    assert 0 <= run.idle_share < 1
    # the work of the family shows under its own category
    expected = {"mlp": Category.MATMUL, "cnn": Category.CONVOLUTION, "transformer": Category.MATMUL}
    assert run.ms(expected[family]) > 0, run.category_ms
    folder = session_trace_dir(session.store, session.session_id)
    assert run.native_files and all((folder / f).is_file() for f in run.native_files)
    # the JSON report carries the same numbers
    (entry,) = [b for b in session.report["breakdowns"] if b["framework"] == framework]
    assert RunBreakdown.from_json(entry) == run


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_matmul_bound_mlp_is_mostly_matmul(
    traced: Callable[[str], Traced], framework: str
) -> None:
    run = traced("mlp").breakdowns[framework]
    assert run.largest is Category.MATMUL, run.category_ms


def test_an_input_bound_config_shows_data_input(traced: Callable[[str], Traced]) -> None:
    runs = traced("input").breakdowns
    for framework in FRAMEWORKS:
        assert runs[framework].share(Category.DATA_INPUT) >= 0.15, (
            framework,
            runs[framework].category_ms,
        )
    # PyTorch's DataLoader indexes the 1024 rows one by one: input is all it does
    assert runs["torch"].largest is Category.DATA_INPUT


def test_the_trace_phase_never_enters_the_measured_statistics(
    traced: Callable[[str], Traced],
) -> None:
    session = traced("mlp")
    with sqlite3.connect(session.store) as db:
        rows = db.execute(
            "SELECT runs.framework, events.payload FROM events JOIN runs ON runs.id = run_id"
            " WHERE kind = 'window' ORDER BY events.rowid"
        ).fetchall()
    windows: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for framework, payload in rows:
        w = json.loads(payload)
        windows[framework][w["phase"]].append(1000 * w["seconds"] / w["steps"])
    for run in session.report["runs"]:
        by_phase = windows[run["framework"]]
        assert len(by_phase["trace"]) == 1  # the trace phase ran and was recorded...
        measured = by_phase["measure"]
        assert run["step_time_ms"]["n"] <= len(measured) == 2
        # ...and the report's step time is the measure windows', the trace's left out
        assert run["step_time_ms"]["median"] == pytest.approx(statistics.median(measured))
        assert "trace" not in run["phases_s"]


def test_the_merged_trace_has_one_aligned_process_per_run(
    traced: Callable[[str], Traced], tmp_path: Path
) -> None:
    session = traced("transformer")
    out = tmp_path / "merged.json.gz"
    native = tmp_path / "native"
    result = frameduel(
        "trace", "last", "--store", str(session.store), "--out", str(out), "--native", str(native)
    )
    assert result.returncode == 0, result.stderr
    with gzip.open(out, "rt") as fh:
        data = json.load(fh)
    events = data["traceEvents"]
    names = {e["pid"]: e["args"]["name"] for e in events if e.get("name") == "process_name"}
    labels = {"torch": "PyTorch", "tensorflow": "TensorFlow", "jax": "JAX"}
    assert sorted(names.values()) == sorted(
        f"{labels[b.framework]} run {b.run_id} (cpu)" for b in session.breakdowns.values()
    )
    assert {e["pid"] for e in events} == set(names)
    last: dict[tuple[int, int], float] = {}
    first_step: dict[int, float] = {}
    for e in events:
        if "ts" not in e:
            continue
        key = (e["pid"], e["tid"])
        assert e["ts"] >= last.get(key, 0.0), key
        last[key] = e["ts"]
        if e["name"].startswith("frameduel.step"):
            first_step[e["pid"]] = min(first_step.get(e["pid"], math.inf), e["ts"])
    assert len(set(first_step.values())) == 1  # aligned at the first traced step
    copied = {p.relative_to(native).parts[0] for p in native.rglob("*") if p.is_file()}
    assert copied == {"breakdowns.json"} | {
        f"{b.framework}-run{b.run_id}" for b in session.breakdowns.values()
    }
    assert any(p.name.endswith(".xplane.pb") for p in native.rglob("*"))  # TF's native profile


def _native(session: Traced, run: RunBreakdown, suffix: str) -> Path:
    (name,) = [f for f in run.native_files if f.endswith(suffix)]
    return session_trace_dir(session.store, session.session_id) / name


def test_the_tensorflow_trace_says_xprof_converted_it(traced: Callable[[str], Traced]) -> None:
    session = traced("mlp")
    made_by = f"xprof {version('xprof')}"
    assert {fw: b.converter for fw, b in session.breakdowns.items()} == {
        "torch": "",  # Kineto and JAX write Chrome traces themselves
        "tensorflow": made_by,
        "jax": "",
    }
    assert session.breakdowns["tensorflow"].notes == ()  # the normal path: nothing to warn of
    with sqlite3.connect(session.store) as db:
        (payload,) = db.execute(
            "SELECT payload FROM events JOIN runs ON runs.id = run_id"
            " WHERE kind = 'trace' AND runs.framework = 'tensorflow'"
        ).fetchone()
    assert json.loads(payload)["converter"] == made_by and "fallback" not in json.loads(payload)
    # the file is xprof's trace_viewer output: its step markers carry their step number
    run = session.breakdowns["tensorflow"]
    events = read_trace_json(_native(session, run, "tensorflow.trace.json.gz"))["traceEvents"]
    steps = sorted(e["name"] for e in events if e.get("name", "").startswith("frameduel.step"))
    assert steps == [f"frameduel.step {i}" for i in range(12, 17)]


def test_without_xprof_tensorflow_falls_back_to_its_own_reader_and_both_agree(
    tmp_path: Path,
) -> None:
    config = tmp_path / "mlp.yaml"
    config.write_text(
        "name: trace-fallback\nframeworks: [tensorflow]\n"
        + _COMMON.replace("BATCH", str(BATCH["mlp"])).split("\n", 1)[1]
        + MODELS["mlp"]
    )
    store, out = tmp_path / "store.sqlite3", tmp_path / "report.json"
    result = frameduel(
        "run", str(config), "--store", str(store), "--json", str(out), env={XPROF_ENV: "off"}
    )
    assert result.returncode == 0, result.stderr[-3000:]
    session = Traced(store, json.loads(out.read_text()))
    run = session.breakdowns["tensorflow"]
    reason = f"xprof turned off ({XPROF_ENV}=off)"
    assert run.converter == "FrameDuel's own XPlane reader"
    assert run.notes == (f"trace converted by FrameDuel's own XPlane reader ({reason})",)
    with sqlite3.connect(store) as db:
        logs = [
            json.loads(p)["message"]
            for (p,) in db.execute("SELECT payload FROM events WHERE kind = 'log'")
        ]
    assert any(reason in m for m in logs), logs  # the run's log says why
    # the fallback's trace still breaks down as the issue asks
    assert sum(run.category_ms.values()) == pytest.approx(run.step_ms, rel=1e-9)
    assert run.step_ms == pytest.approx(run.trace_step_ms, rel=0.10)
    assert run.largest is Category.MATMUL, run.category_ms
    # the same XPlane converted by xprof breaks down into the same categories
    folder = tmp_path / "xprof"
    folder.mkdir()
    xprof_to_chrome_trace(_native(session, run, ".xplane.pb"), folder / "tensorflow.trace.json.gz")
    again = breakdown_of_run(
        folder,
        run_id=run.run_id,
        framework="tensorflow",
        repeat=0,
        device="cpu",
        trace=TraceInfo("xplane", run.traced_steps, 0.001, ["tensorflow.trace.json.gz"]),
        measure_step_ms=run.measure_step_ms,
        trace_step_ms=run.trace_step_ms,
        max_bytes=1 << 30,
    )
    assert again.step_ms == pytest.approx(run.step_ms, rel=0.01)
    assert again.category_ms.keys() == run.category_ms.keys()
    for category, ms in run.category_ms.items():
        assert again.category_ms[category] == pytest.approx(ms, rel=0.02, abs=0.01), category
    assert again.launches_per_step == run.launches_per_step
    # and where xprof cannot be imported at all, the reason says so and how to get it
    missing = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.modules['xprof'] = None  # as if never installed\n"
            "from pathlib import Path; from workloads.xplane import convert_xplane\n"
            "print(convert_xplane(Path(sys.argv[1]), Path(sys.argv[2]))[1])",
            str(_native(session, run, ".xplane.pb")),
            str(tmp_path / "missing.json.gz"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        cwd=Path(__file__).resolve().parents[2],  # the repository: workloads importable
    )
    assert "xprof is not installed" in missing.stdout and "make setup" in missing.stdout
    assert read_trace_json(tmp_path / "missing.json.gz")["traceEvents"]
