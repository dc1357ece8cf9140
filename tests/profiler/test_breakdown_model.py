"""The breakdown records: JSON round trip, derived figures, the session file and its errors."""

from __future__ import annotations

import doctest
import json
import math
from pathlib import Path

import pytest

from profiler import breakdown
from profiler.breakdown import (
    BreakdownFileError,
    Category,
    OpStat,
    RunBreakdown,
    load_breakdowns,
    save_breakdowns,
)


def _run(run_id: int, framework: str) -> RunBreakdown:
    return RunBreakdown(
        framework=framework,
        run_id=run_id,
        repeat=1,
        device="cpu",
        traced_steps=4,
        step_ms=3.0,
        category_ms={Category.MATMUL: 1.75, Category.OPTIMIZER: 0.5, Category.IDLE: 0.75},
        category_launches={Category.MATMUL: 3.0, Category.OPTIMIZER: 12.0},
        top_ops=(OpStat("aten::mm", Category.MATMUL, total_ms=7.0, count=12, steps=4),),
        launches_per_step=15.0,
        trace_step_ms=3.3,
        measure_step_ms=3.0,
        truncated=True,
        native_files=("run-3/trace.json.gz",),
        notes=("trace cut at 50 MiB",),
    )


def test_docstring_example_holds() -> None:
    assert doctest.testmod(breakdown).failed == 0


def test_derived_figures() -> None:
    run = _run(3, "torch")
    assert run.idle_share == pytest.approx(0.25)
    assert run.waiting_share == pytest.approx(0.25)  # no host overhead in this run
    assert run.share(Category.MATMUL) == pytest.approx(1.75 / 3)
    assert run.ms(Category.ATTENTION) == 0.0
    assert run.profiler_cost == pytest.approx(1.1)
    assert run.largest is Category.MATMUL
    assert run.top_ops[0].per_step_ms == pytest.approx(1.75)
    assert run.top_ops[0].calls_per_step == pytest.approx(3.0)
    unknown_cost = RunBreakdown("jax", 1, 0, "cpu", 2, 1.0, {})
    assert math.isnan(unknown_cost.profiler_cost)


def test_session_file_round_trip(tmp_path: Path) -> None:
    store = tmp_path / "store.sqlite3"
    runs = (_run(3, "torch"), _run(5, "tensorflow"))
    path = save_breakdowns(store, 9, runs)
    assert path == tmp_path / "store.sqlite3.traces" / "9" / "breakdowns.json"
    assert json.loads(path.read_text())["schema_version"] == breakdown.SCHEMA_VERSION
    assert load_breakdowns(store, 9) == runs
    assert load_breakdowns(store, 10) == ()


def test_unknown_category_reads_as_other() -> None:
    data = _run(3, "torch").to_json()
    data["category_ms"]["quantum"] = 0.25
    data["category_ms"]["other"] = 0.5
    assert RunBreakdown.from_json(data).ms(Category.OTHER) == pytest.approx(0.75)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not JSON"),
        ('{"schema_version": 99, "runs": []}', "newer than this FrameDuel"),
        ('{"schema_version": 1, "runs": [{"framework": "torch"}]}', "malformed run entry"),
        ("[]", "not a FrameDuel breakdowns file"),
    ],
)
def test_bad_file_names_itself(tmp_path: Path, content: str, message: str) -> None:
    store = tmp_path / "store.sqlite3"
    target = tmp_path / "store.sqlite3.traces" / "2" / "breakdowns.json"
    target.parent.mkdir(parents=True)
    target.write_text(content)
    with pytest.raises(BreakdownFileError, match=message) as info:
        load_breakdowns(store, 2)
    assert str(target) in str(info.value)
