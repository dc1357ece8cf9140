"""Which runs trace, what the child is told, and the trace event's checks (no child runs)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from profiler.config import Config
from profiler.launcher import write_spec
from profiler.protocol import GarbageLine, decode_event
from profiler.trace.capture import SessionTraces
from workloads.spec import SpecError, parse_spec

MODEL = {"family": "mlp", "input_dim": 4, "hidden": [3], "num_classes": 2}


def _config(**run: object) -> Config:
    return Config.model_validate({"name": "t", "model": MODEL, "run": run})


def test_only_the_first_run_of_each_framework_traces(tmp_path: Path) -> None:
    store = tmp_path / "s.sqlite3"
    traces = SessionTraces(store, 3, steps=5)
    assert traces.plan(7, "torch", 0) == tmp_path / "s.sqlite3.traces" / "3" / "run-7"
    assert traces.plan(8, "torch", 1) is None
    assert SessionTraces(store, 3, steps=None).plan(7, "torch", 0) is None
    # a run that never sent a trace event has nothing to break down, and says nothing
    assert traces.finish_run(7) == []


def test_the_spec_carries_the_trace_phase_only_when_asked(tmp_path: Path) -> None:
    on = _config(trace={"steps": 7})
    with_trace = json.loads(write_spec(on, tmp_path, tmp_path / "run-1").read_text())
    assert with_trace["trace"] == {"steps": 7, "dir": str(tmp_path / "run-1")}
    spec = parse_spec(json.dumps(with_trace))
    assert (spec.trace_steps, spec.trace_dir) == (7, str(tmp_path / "run-1"))
    assert "trace" not in json.loads(write_spec(on, tmp_path).read_text())
    off = json.loads(write_spec(_config(trace="off"), tmp_path, tmp_path / "r").read_text())
    assert "trace" not in off
    assert parse_spec(json.dumps(off)).trace_steps == 0


def test_a_bad_trace_in_a_hand_written_spec_is_named() -> None:
    spec = {"config": _config().model_dump(mode="json"), "window_steps": 5, "trace": {"steps": 2}}
    with pytest.raises(SpecError, match="trace"):
        parse_spec(json.dumps(spec))


def test_run_trace_defaults_and_spellings() -> None:
    assert (_config().run.trace.steps, _config().run.trace.max_mib) == (5, 50.0)  # type: ignore[union-attr]
    for off in ("off", False, None):
        assert _config(trace=off).run.trace is None
    assert _config(trace="on").run.trace == _config().run.trace


@pytest.mark.parametrize(
    "files",
    [["/etc/passwd"], ["../outside.json"], "torch.json", [3]],
)
def test_a_trace_event_naming_files_outside_its_folder_is_garbage(files: object) -> None:
    line = {"v": 1, "kind": "trace", "t": 1.0, "format": "kineto", "steps": 5, "seconds": 0.1}
    with pytest.raises(GarbageLine, match="files"):
        decode_event(json.dumps({**line, "files": files}))
    ok = decode_event(json.dumps({**line, "files": ["torch.kineto.json.gz", "jax/a.pb"]}))
    assert ok.get("files") == ["torch.kineto.json.gz", "jax/a.pb"]


def test_a_sessions_breakdowns_load_with_it_and_go_when_it_is_deleted(tmp_path: Path) -> None:
    from profiler.breakdown import Category, RunBreakdown, save_breakdowns, session_trace_dir
    from profiler.report.model import build_report
    from profiler.store import Store

    with Store(tmp_path / "s.sqlite3") as store:
        sid = store.create_session("t", _config().model_dump(mode="json"), None, {})
        run = RunBreakdown("jax", 4, 0, "cpu", 5, 2.5, {Category.MATMUL: 2.0, Category.IDLE: 0.5})
        save_breakdowns(store.path, sid, [run])
        (session_trace_dir(store.path, sid) / "run-4").mkdir()
        store.finish_session(sid, "ok")
        assert store.load(sid).breakdowns == (run,)
        assert build_report(store.load(sid)).breakdowns == (run,)
        # a damaged file hides the breakdowns, never the session
        (session_trace_dir(store.path, sid) / "breakdowns.json").write_text("{oops")
        assert store.load(sid).breakdowns == ()
        assert store.delete_session(sid)
        assert not session_trace_dir(store.path, sid).exists()
