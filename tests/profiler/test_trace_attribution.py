"""The taxonomy table and the attribution of a traced window, on hand-made spans with uneven
times (real traces of every framework are in test_trace_e2e.py)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from profiler.breakdown import Category
from profiler.events import TraceInfo
from profiler.trace.attribution import NO_ACTIVITY, PYTHON_IN_STEP, NoStepsTraced, attribute
from profiler.trace.capture import breakdown_of_run
from profiler.trace.events import Span, TraceFileError, read_trace_json, spans_of
from profiler.trace.taxonomy import classify

C = Category


def span(
    name: str, ts: float, end: float, *, tid: int = 1, scope: str = "", device: bool = False
) -> Span:
    return Span(name, scope, 7, tid, ts, end, device)


@pytest.mark.parametrize(
    ("framework", "name", "scope", "category"),
    [
        ("torch", "aten::addmm", "", C.MATMUL),
        ("torch", "aten::mm", "", C.MATMUL),
        ("torch", "aten::convolution_backward", "", C.CONVOLUTION),
        ("torch", "aten::_scaled_dot_product_flash_attention", "", C.ATTENTION),
        ("torch", "aten::native_layer_norm", "", C.NORMALISATION),
        ("torch", "aten::_log_softmax", "", C.REDUCTION),
        ("torch", "aten::threshold_backward", "", C.ELEMENTWISE),
        ("torch", "aten::t", "", C.HOST_OVERHEAD),
        ("torch", "Optimizer.step#AdamW.step", "", C.OPTIMIZER),
        ("torch", "enumerate(DataLoader)#_SingleProcessDataLoaderIter.__next__", "", C.DATA_INPUT),
        ("torch", "ncclDevKernel_AllReduce_Sum_f32_RING_LL", "", C.COLLECTIVE),
        ("torch", "Memcpy HtoD (Pageable -> Device)", "", C.DATA_INPUT),
        ("torch", "ampere_sgemm_128x64_tn", "", C.MATMUL),
        ("tensorflow", "_MklMatMul", "dense/MatMul:_MklMatMul", C.MATMUL),
        ("tensorflow", "Conv2DBackpropFilter", "conv/Conv2DBackpropFilter", C.CONVOLUTION),
        ("tensorflow", "Mul", "adam/Mul_3:Mul", C.OPTIMIZER),
        ("tensorflow", "Mul", "gradient_tape/dense/mul:Mul", C.ELEMENTWISE),
        ("tensorflow", "Iterator::BatchV2", "", C.DATA_INPUT),
        ("tensorflow", "SparseSoftmaxCrossEntropyWithLogits", "", C.REDUCTION),
        ("tensorflow", "ExecutorState::Process", "", C.HOST_OVERHEAD),
        ("jax", "dot.3", "", C.MATMUL),
        ("jax", "convolution.1", "", C.CONVOLUTION),
        ("jax", "add_reduce_fusion", "", C.REDUCTION),
        ("jax", "multiply_add_fusion.2", "", C.ELEMENTWISE),
        ("jax", "$api.py:2479 block_until_ready", "", C.HOST_OVERHEAD),
        ("jax", "something nobody named", "", C.OTHER),
    ],
)
def test_the_table_names_each_frameworks_ops(
    framework: str, name: str, scope: str, category: Category
) -> None:
    assert classify(framework, name, scope)[0] is category


def test_one_thread_innermost_spans_context_and_gaps_add_up() -> None:
    # a 1000 µs window from 100 (first step) to 1100 (sync end), two steps
    spans = [
        span("frameduel.step#3", 100, 500),
        span("aten::linear", 110, 300),
        span("aten::addmm", 120, 290),  # matmul 170; linear's own 20 is dispatch
        span("Optimizer.step#SGD.step", 310, 450),
        span("aten::add_", 320, 400),  # an add inside the optimizer is an optimizer update
        span("frameduel.step#4", 520, 900),
        span("aten::mm", 530, 830),
        span("frameduel.sync", 910, 1100),
        span("aten::item", 920, 940),  # inside the sync: waiting
        span("aten::mm", 1200, 1300),  # after the window: left out
    ]
    attr = attribute(spans, "torch")
    assert attr.steps == 2
    assert attr.window_us == 1000
    got = {c: round(v, 6) for c, v in attr.category_us.items()}
    assert got[C.MATMUL] == 170 + 300
    assert got[C.OPTIMIZER] == 140
    # linear's 20 µs of dispatch, the step markers' own time between ops
    assert got[C.HOST_OVERHEAD] == 20 + (400 - 190 - 140) + (380 - 300)
    # the gaps between steps (20 + 10) and the sync
    assert got[C.IDLE] == 30 + 190
    assert sum(attr.category_us.values()) == pytest.approx(attr.window_us)
    assert attr.op_us[(PYTHON_IN_STEP, C.HOST_OVERHEAD)] == pytest.approx(70 + 80)
    assert attr.op_us[(NO_ACTIVITY, C.IDLE)] == pytest.approx(30)
    assert attr.launches[C.MATMUL] == 2  # addmm and the one mm inside the window
    assert attr.launches[C.OPTIMIZER] == 1  # add_, not the step span around it
    assert attr.op_count[("aten::mm", C.MATMUL)] == 1


def test_concurrent_threads_share_an_instant_and_work_beats_waiting() -> None:
    spans = [
        span("frameduel.step", 0, 100, tid=1),
        span("EagerExecute", 10, 100, tid=1),  # the host waits for the executor
        span("_MklMatMul", 20, 80, tid=2),
        span("Mul", 50, 90, tid=3, scope="gradient_tape/x/mul:Mul"),
        span("frameduel.sync", 100, 130, tid=1),
    ]
    attr = attribute(spans, "tensorflow")
    got = {c: round(v, 6) for c, v in attr.category_us.items()}
    # 20-50 matmul alone, 50-80 shared with Mul, 80-90 Mul alone
    assert got[C.MATMUL] == 30 + 15
    assert got[C.ELEMENTWISE] == 15 + 10
    # 0-20 and 90-100 only the host: its overhead; the sync is idle
    assert got[C.HOST_OVERHEAD] == 30
    assert got[C.IDLE] == 30
    assert sum(attr.category_us.values()) == pytest.approx(130)


def test_overlapping_tracers_do_not_swallow_the_sync() -> None:
    # JAX's Python tracer and its TraceMes overlap without nesting: the Python frame of the
    # marker call ends just after the sync TraceMe starts
    spans = [
        span("frameduel.step", 0, 10),
        span("$jax_workload.py:229 trace_marker", 9, 12.5),
        span("frameduel.sync", 12, 100),
        span("$api.py:2479 block_until_ready", 13, 99),
        span("dot.2", 20, 60, tid=2),
    ]
    attr = attribute(spans, "jax")
    assert attr.category_us[C.MATMUL] == pytest.approx(40)
    assert attr.category_us[C.IDLE] == pytest.approx(100 - 12 - 40)


def test_a_device_timeline_puts_host_ops_in_host_overhead() -> None:
    spans = [
        span("frameduel.step", 0, 50),
        span("aten::addmm", 5, 40),  # on a GPU run the host only launches it
        span("ampere_sgemm_64x64_nn", 30, 70, tid=9, device=True),
        span("frameduel.sync", 50, 80),
    ]
    attr = attribute(spans, "torch")
    assert attr.category_us[C.MATMUL] == pytest.approx(40)
    assert attr.category_us[C.HOST_OVERHEAD] == pytest.approx(30)
    assert attr.category_us[C.IDLE] == pytest.approx(10)
    assert attr.launches[C.MATMUL] == 1


def test_a_trace_without_step_markers_is_refused() -> None:
    with pytest.raises(NoStepsTraced):
        attribute([span("aten::mm", 0, 10)], "torch")


def _write_trace(path: Path, steps: int, ops_per_step: int) -> None:
    events = [{"ph": "M", "name": "process_name", "pid": 1, "args": {"name": "python"}}]
    t = 0.0
    for i in range(steps):
        events.append(
            {
                "ph": "X",
                "name": f"frameduel.step#{i}",
                "pid": 1,
                "tid": 1,
                "ts": t,
                "dur": 10.0 * ops_per_step + 5,
            }
        )
        for k in range(ops_per_step):
            events.append(
                {
                    "ph": "X",
                    "name": "aten::mm",
                    "pid": 1,
                    "tid": 1,
                    "ts": t + 1 + 10 * k,
                    "dur": 7.0,
                    "args": {"Input Dims": [[64, 64]]},
                }
            )
        t += 10.0 * ops_per_step + 5
    events.append({"ph": "X", "name": "frameduel.sync", "pid": 1, "tid": 1, "ts": t, "dur": 3})
    with gzip.open(path, "wt") as out:
        json.dump({"traceEvents": events}, out)


def test_a_run_over_the_cap_keeps_its_first_steps_and_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "run-4"
    folder.mkdir()
    _write_trace(folder / "torch.kineto.json.gz", steps=10, ops_per_step=400)
    (folder / "extra.xplane.pb").write_bytes(b"\0" * 200_000)
    size = sum(p.stat().st_size for p in folder.iterdir())
    common = dict(
        run_id=4,
        framework="torch",
        repeat=0,
        device="cpu",
        trace=TraceInfo("kineto", 10, 0.041, ["torch.kineto.json.gz", "extra.xplane.pb"]),
        measure_step_ms=0.5,
        trace_step_ms=4.1,
    )
    whole = breakdown_of_run(folder, max_bytes=size + 1, **common)  # type: ignore[arg-type]
    assert not whole.truncated and whole.traced_steps == 10
    cut = breakdown_of_run(folder, max_bytes=size // 3, **common)  # type: ignore[arg-type]
    assert cut.truncated
    assert 1 <= cut.traced_steps < 10
    assert "extra.xplane.pb" in cut.notes[0] and "cap" in cut.notes[0]
    assert not (folder / "extra.xplane.pb").exists()
    assert cut.native_files == ("run-4/torch.kineto.json.gz",)
    assert sum(p.stat().st_size for p in folder.iterdir()) <= size // 3
    # what is left is still a readable trace of whole steps
    kept = spans_of(read_trace_json(folder / "torch.kineto.json.gz"))
    assert sum(s.name.startswith("frameduel.step") for s in kept) == cut.traced_steps
    assert cut.step_ms == pytest.approx(whole.step_ms, rel=0.01)


def test_a_broken_trace_file_names_itself(tmp_path: Path) -> None:
    bad = tmp_path / "t.json.gz"
    bad.write_bytes(b"\x1f\x8bnot gzip")
    with pytest.raises(TraceFileError, match=str(bad)):
        read_trace_json(bad)


def test_kineto_gpu_annotations_claim_their_kernels_and_summary_lines_are_skipped() -> None:
    # the shape of a Kineto CUDA trace: host ops, kernels on a stream, and record_function
    # ranges mirrored onto the GPU (gpu_user_annotation); plus an XPlane summary line that
    # repeats a kernel (it must not count twice)
    def x(
        name: str, ts: float, dur: float, where: tuple[int, int], cat: str = ""
    ) -> dict[str, object]:
        pid, tid = where
        return {"ph": "X", "name": name, "ts": ts, "dur": dur, "pid": pid, "tid": tid, "cat": cat}

    data = {
        "traceEvents": [
            {"ph": "M", "name": "thread_name", "pid": 0, "tid": 99, "args": {"name": "XLA Ops"}},
            x("frameduel.step#0", 0, 60, (1, 1), "user_annotation"),
            x("aten::mm", 2, 10, (1, 1), "cpu_op"),
            x("Optimizer.step#SGD.step", 20, 30, (1, 1), "user_annotation"),
            x("cudaLaunchKernel", 22, 4, (1, 1), "cuda_runtime"),
            x("frameduel.sync", 60, 40, (1, 1), "user_annotation"),
            x("ampere_sgemm_64x32_nn", 10, 25, (0, 7), "kernel"),
            x("Optimizer.step#SGD.step", 35, 50, (0, 8), "gpu_user_annotation"),
            x("void at::native::vectorized_elementwise_kernel<4>", 40, 30, (0, 7), "kernel"),
            x("ampere_sgemm_64x32_nn", 10, 25, (0, 99)),
        ]
    }
    spans = spans_of(data)
    assert sum(s.name == "ampere_sgemm_64x32_nn" for s in spans) == 1
    attr = attribute(spans, "torch")
    assert attr.window_us == 100
    assert attr.category_us[C.MATMUL] == pytest.approx(25)
    # the elementwise kernel inside the mirrored range (30), and 35-40 where no kernel runs but
    # the host is in Optimizer.step (a host-side context counts when the device has no work)
    assert attr.category_us[C.OPTIMIZER] == pytest.approx(30 + 5)
    assert attr.category_us.get(C.ELEMENTWISE, 0.0) == 0.0
    assert attr.launches[C.OPTIMIZER] == 1 and attr.launches[C.MATMUL] == 1
    assert attr.category_us[C.HOST_OVERHEAD] == pytest.approx(10)  # 0-10: the host launching
    assert attr.category_us[C.IDLE] == pytest.approx(30)  # 70-100: the sync, nothing left
    assert sum(attr.category_us.values()) == pytest.approx(100)
