"""The side-by-side comparison of breakdowns, on hand-built RunBreakdowns (pure logic: the
records are what the trace phase writes; tests on real traces live with the capture)."""

from __future__ import annotations

import pytest

from profiler.breakdown import Category as C
from profiler.breakdown import OpStat, RunBreakdown
from profiler.report.breakdown_compare import compare_breakdowns, op_key

STEPS = 10


def run(
    framework: str,
    step_ms: float,
    categories: dict[C, float],
    launches: dict[C, float] | None = None,
    ops: tuple[tuple[str, C, float, float], ...] = (),
    *,
    run_id: int = 1,
    truncated: bool = False,
    timeline: str = "host",
    notes: tuple[str, ...] = (),
) -> RunBreakdown:
    """A run of ``STEPS`` traced steps; ``ops`` are (name, category, ms/step, launches/step)."""
    return RunBreakdown(
        framework=framework,
        run_id=run_id,
        repeat=0,
        device="cpu",
        traced_steps=STEPS,
        step_ms=step_ms,
        category_ms=categories,
        category_launches=launches or {},
        top_ops=tuple(
            OpStat(name, cat, ms * STEPS, round(n * STEPS), STEPS) for name, cat, ms, n in ops
        ),
        timeline=timeline,
        truncated=truncated,
        notes=notes,
    )


# PyTorch 2.62 ms/step, TensorFlow 2.10: the optimizer (12 foreach kernels vs one fused apply)
# explains most of the 0.52 ms gap, host overhead some, matmul a little.
TORCH = run(
    "torch",
    2.62,
    {C.MATMUL: 1.0, C.OPTIMIZER: 0.45, C.HOST_OVERHEAD: 0.8, C.ELEMENTWISE: 0.27, C.IDLE: 0.1},
    {C.MATMUL: 6, C.OPTIMIZER: 12, C.ELEMENTWISE: 8},
    (
        ("aten::addmm", C.MATMUL, 0.6, 3),
        ("aten::mm", C.MATMUL, 0.4, 3),
        ("aten::_foreach_add_", C.OPTIMIZER, 0.3, 8),
        ("aten::_foreach_mul_", C.OPTIMIZER, 0.15, 4),
        ("aten::relu", C.ELEMENTWISE, 0.1, 1),
        ("aten::copy_", C.DATA_INPUT, 0.02, 1),
    ),
    run_id=11,
)
TF = run(
    "tensorflow",
    2.10,
    {C.MATMUL: 0.95, C.OPTIMIZER: 0.14, C.HOST_OVERHEAD: 0.71, C.ELEMENTWISE: 0.2, C.IDLE: 0.1},
    {C.MATMUL: 6, C.OPTIMIZER: 1, C.ELEMENTWISE: 8},
    (
        ("sequential/dense/MatMul", C.MATMUL, 0.95, 6),
        ("ResourceApplyKerasMomentum", C.OPTIMIZER, 0.14, 1),
        ("Relu", C.ELEMENTWISE, 0.08, 1),
        ("BiasAdd", C.ELEMENTWISE, 0.05, 2),
    ),
    run_id=12,
)


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("aten::addmm", "matmul"),
        ("aten::mm", "matmul"),
        ("_FusedMatMul", "matmul"),
        ("sequential/dense/MatMul", "matmul"),
        ("jit(train_step)/jit(main)/dot_general", "matmul"),
        ("BatchMatMulV2", "matmul"),
        ("_MklNativeFusedMatMul", "matmul"),
        ("_MklMatMul", "matmul"),
        ("aten::convolution_backward", "convolution"),
        ("Conv2DBackpropFilter", "convolution"),
        ("conv_general_dilated", "convolution"),
        ("aten::threshold_backward", "relu"),
        ("ReluGrad", "relu"),
        ("aten::add_", "add"),
        ("AddV2", "add"),
        ("fusion.12", "fusion"),
        ("FusedBatchNormV3", "batch_norm"),
        ("aten::native_layer_norm", "layer_norm"),
        ("Optimizer.step#SGD.step", "optimizerstep"),
        ("SparseSoftmaxCrossEntropyWithLogits", "loss"),
        ("aten::nll_loss_forward", "loss"),
    ],
)
def test_op_names_normalise_to_one_key_across_frameworks(name: str, key: str) -> None:
    assert op_key(name) == key


def test_categories_stack_per_framework_in_the_sessions_order() -> None:
    cmp = compare_breakdowns([TF, TORCH], ["torch", "tensorflow"])

    assert cmp.frameworks == ("torch", "tensorflow")
    # taxonomy order, only categories with time somewhere (no convolution, no input time)
    assert cmp.categories == (C.MATMUL, C.ELEMENTWISE, C.OPTIMIZER, C.HOST_OVERHEAD, C.IDLE)
    stacked = cmp.stacked_ms()
    assert stacked[C.OPTIMIZER] == [0.45, 0.14]
    assert sum(v[0] for v in stacked.values()) == pytest.approx(2.62)
    assert sum(v[1] for v in stacked.values()) == pytest.approx(2.10)


def test_ops_match_by_category_and_name_and_say_when_they_have_no_counterpart() -> None:
    cmp = compare_breakdowns([TORCH, TF], ["torch", "tensorflow"])
    rows = {(r.category, r.key): r for r in cmp.ops}

    matmul = rows[(C.MATMUL, "matmul")]
    assert matmul.names == {
        "torch": ("aten::addmm", "aten::mm"),
        "tensorflow": ("sequential/dense/MatMul",),
    }
    assert matmul.title() == "aten::addmm, aten::mm / sequential/dense/MatMul"
    assert matmul.title(("tensorflow", "torch"), most=1) == (
        "sequential/dense/MatMul / aten::addmm +1 more"
    )
    assert matmul.ms_per_step == pytest.approx({"torch": 1.0, "tensorflow": 0.95})
    assert matmul.share["torch"] == pytest.approx(1.0 / 2.62)
    # one optimizer step is one row, whatever the framework splits it into
    update = rows[(C.OPTIMIZER, "optimizer update")]
    assert update.launches_per_step == pytest.approx({"torch": 12.0, "tensorflow": 1.0})
    assert update.ms_per_step == pytest.approx({"torch": 0.45, "tensorflow": 0.14})
    relu = rows[(C.ELEMENTWISE, "relu")]
    assert relu.has("torch") and relu.has("tensorflow")
    bias = rows[(C.ELEMENTWISE, "add")]  # BiasAdd: TensorFlow only
    assert bias.has("tensorflow") and not bias.has("torch")
    copy = rows[(C.DATA_INPUT, "copy")]
    assert copy.has("torch") and not copy.has("tensorflow")
    # largest first, by the op's largest time in any framework
    assert [r.largest_ms for r in cmp.ops] == sorted((r.largest_ms for r in cmp.ops), reverse=True)


def test_differences_rank_by_their_share_of_the_gap() -> None:
    cmp = compare_breakdowns([TORCH, TF], ["torch", "tensorflow"])
    (pair,) = cmp.pairs

    assert (pair.faster, pair.slower) == ("tensorflow", "torch")
    assert pair.gap_ms == pytest.approx(0.52)
    order = [d.category for d in pair.categories]
    assert order == [C.OPTIMIZER, C.HOST_OVERHEAD, C.ELEMENTWISE, C.MATMUL, C.IDLE]
    optimizer = pair.categories[0]
    assert optimizer.delta_ms == pytest.approx(0.31)
    assert optimizer.share_of_gap == pytest.approx(0.31 / 0.52)
    assert (optimizer.faster_launches, optimizer.slower_launches) == (1.0, 12.0)
    # the categories add up to the step times, so their shares add up to the whole gap
    assert sum(d.share_of_gap or 0.0 for d in pair.categories) == pytest.approx(1.0)
    ops = pair.ops
    assert ops[0].label == "aten::_foreach_add_, aten::_foreach_mul_ / ResourceApplyKerasMomentum"
    assert ops[0].delta_ms == pytest.approx(0.31)
    lone = next(d for d in ops if d.label == "BiasAdd")
    assert lone.slower_ms is None and lone.delta_ms == pytest.approx(-0.05)


def test_the_sentence_names_the_largest_contributors_with_launch_counts() -> None:
    cmp = compare_breakdowns([TORCH, TF], ["torch", "tensorflow"])

    assert cmp.sentence == (
        "TensorFlow's traced step takes 0.52 ms less than PyTorch's (2.10 vs 2.62 ms). "
        "TensorFlow spends 0.31 ms/step less in optimizer updates (60% of the gap): one fused "
        "op vs 12 separate ops in PyTorch; and 0.09 ms/step less in Python and dispatch "
        "overhead (17% of the gap)."
    )


def test_a_device_timeline_counts_kernels_and_a_slower_faster_launch_count_reads_as_such() -> None:
    torch = run(
        "torch", 3.0, {C.MATMUL: 2.0, C.OTHER: 1.0}, {C.MATMUL: 2}, timeline="device", run_id=1
    )
    jax = run("jax", 2.0, {C.MATMUL: 1.0, C.OTHER: 1.0}, {C.MATMUL: 6}, timeline="device", run_id=2)

    sentence = compare_breakdowns([torch, jax], ["torch", "jax"]).sentence

    assert "1.00 ms/step less in matmul / dense ops (100% of the gap)" in sentence
    assert "with 6 kernels a step vs 2 in PyTorch" in sentence


def test_about_the_same_speed_names_the_largest_difference_without_shares() -> None:
    a = run("torch", 2.000, {C.MATMUL: 1.5, C.HOST_OVERHEAD: 0.5}, run_id=1)
    b = run("jax", 2.005, {C.MATMUL: 1.2, C.HOST_OVERHEAD: 0.805}, run_id=2)

    cmp = compare_breakdowns([a, b], ["torch", "jax"])

    (pair,) = cmp.pairs
    assert pair.same_speed
    assert all(d.share_of_gap is None for d in pair.categories)
    assert cmp.sentence == (
        "PyTorch and JAX take about the same time per traced step (2.00 vs 2.00 ms); the "
        "largest difference: JAX spends 0.305 ms/step more in Python and dispatch overhead."
    )


def test_three_frameworks_compare_the_fastest_against_each_other() -> None:
    jax = run("jax", 1.5, {C.MATMUL: 0.9, C.OPTIMIZER: 0.1, C.HOST_OVERHEAD: 0.5}, run_id=13)

    cmp = compare_breakdowns([TORCH, TF, jax], ["torch", "tensorflow", "jax"])

    assert [(p.faster, p.slower) for p in cmp.pairs] == [("jax", "torch"), ("jax", "tensorflow")]
    assert cmp.sentence.startswith("JAX's traced step takes 1.12 ms less than PyTorch's")
    assert "JAX's traced step takes 0.6 ms less than TensorFlow's" in cmp.sentence


def test_repeats_show_the_median_run_and_notes_say_what_is_missing_or_cut() -> None:
    runs = [
        run("torch", ms, {C.MATMUL: ms}, run_id=i, truncated=i == 2)
        for i, ms in enumerate((3.0, 1.0, 2.0))
    ]
    tf = run("tensorflow", 1.0, {C.MATMUL: 1.0}, run_id=9, notes=("XPlane had no device plane",))

    cmp = compare_breakdowns([*runs, tf], ["torch", "tensorflow", "jax"])

    torch = cmp.of("torch")
    assert torch is not None and torch.run.run_id == 2 and torch.traced_runs == 3
    assert cmp.truncated
    assert cmp.notes == (
        "No trace for JAX: not traced, or the run failed first.",
        "PyTorch's trace was truncated at the size cap: its figures cover the steps recorded "
        "before the cap.",
        "TensorFlow: XPlane had no device plane",
    )


def test_no_breakdown_is_an_empty_comparison_and_one_framework_has_no_pairs() -> None:
    empty = compare_breakdowns([], ["torch", "tensorflow"])
    assert empty.empty and empty.notes == () and empty.sentence == ""

    alone = compare_breakdowns([TORCH], ["torch"])
    assert not alone.empty and alone.pairs == () and alone.sentence == ""
    assert alone.sentences == (
        "Only PyTorch was traced: 2.62 ms per traced step, most of it in matmul / dense ops "
        "(1.00 ms); nothing to compare it with.",
    )
    assert [r.key for r in alone.ops][:2] == ["matmul", "optimizer update"]


def test_a_compilers_fusion_matches_as_its_categorys_operator() -> None:
    jax = run(
        "jax",
        0.3,
        {C.MATMUL: 0.2, C.ELEMENTWISE: 0.1},
        ops=(
            ("ynn_fusion.2", C.MATMUL, 0.08, 1),
            ("dot.1", C.MATMUL, 0.07, 1),
            ("fusion.7", C.ELEMENTWISE, 0.05, 2),
        ),
        run_id=3,
    )

    rows = {(r.category, r.key): r for r in compare_breakdowns([TORCH, jax], ["torch"]).ops}

    matmul = rows[(C.MATMUL, "matmul")]
    assert matmul.names["jax"] == ("ynn_fusion.2", "dot.1")
    assert matmul.ms_per_step["jax"] == pytest.approx(0.15)
    assert matmul.launches_per_step == pytest.approx({"torch": 6.0, "jax": 2.0})
    # an elementwise fusion has no single operator to be: it stays itself
    assert not rows[(C.ELEMENTWISE, "fusion")].has("torch")
