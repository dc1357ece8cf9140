"""run.distributed in the config and the per-framework launch each worker count gets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from profiler.config import ConfigError, load_config
from profiler.config_schema import json_schema
from profiler.distributed import (
    ENV_COORDINATOR,
    ENV_RANK,
    DistributedConfigError,
    Node,
    Rendezvous,
    build_launch,
    threads_per_worker,
    worker_batch,
)

BASE = """\
name: t
frameworks: [torch, tensorflow, jax]
model: {family: mlp, input_dim: 8, hidden: [4], num_classes: 3}
train: {batch_size: 12, steps: 40, warmup_steps: 5}
"""
WORKER = ("-m", "workloads.worker", "--framework", "torch", "--spec-file", "/tmp/s.json")


def _load(tmp_path: Path, run: str) -> object:
    path = tmp_path / "c.yaml"
    path.write_text(BASE + run)
    return load_config(path)


def test_distributed_config_is_sorted_and_recorded(tmp_path: Path) -> None:
    config = _load(tmp_path, "run: {distributed: {workers: [4, 1, 2], scaling: strong}}\n")
    dist = config.run.distributed  # type: ignore[attr-defined]
    assert dist.workers == [1, 2, 4]
    assert dist.scaling == "strong"
    assert "DistributedConfig" in json.dumps(json_schema())


@pytest.mark.parametrize(
    ("run", "field", "words"),
    [
        ("{workers: [2, 4]}", "run.distributed.workers", "must include 1"),
        ("{workers: [1, 1]}", "run.distributed.workers", "twice"),
        ("{workers: [1, 0]}", "run.distributed.workers.1", "greater than or equal to 1"),
        ("{workers: [1, 100000]}", "run.distributed.workers.1", "less than or equal to 256"),
        ("{workers: [1], scaling: linear}", "run.distributed.scaling", "'weak' or 'strong'"),
        ("{workers: [1, 5], scaling: strong}", "train.batch_size", "divisible by 5"),
        ("{workers: [1, 2], nodes: 2}", "run.distributed.nodes", "unknown field"),
    ],
)
def test_bad_distributed_config_names_the_field(
    tmp_path: Path, run: str, field: str, words: str
) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, f"run: {{distributed: {run}}}\n")
    assert err.value.field == field
    assert words in str(err.value)


def test_batch_and_thread_split() -> None:
    assert worker_batch(12, 4, "weak") == (12, 48)
    assert worker_batch(12, 4, "strong") == (3, 12)
    with pytest.raises(DistributedConfigError, match="does not divide"):
        worker_batch(12, 5, "strong")
    assert threads_per_worker(8, 3, None) == 2
    assert threads_per_worker(None, 4, 2) == 1  # never below one thread
    assert threads_per_worker(None, 2, None) is None


def test_torchrun_launch_runs_every_rank_of_a_node() -> None:
    rdzv = Rendezvous(29500, (Node("127.0.0.1", 2),))
    launch = build_launch(
        "torch", WORKER, python="py", workers=2, scaling="weak", batch_size=8,
        rendezvous=rdzv, event_dir="/e", threads=4,
    )  # fmt: skip
    assert launch.strategy == "torch_ddp" and launch.backend == "gloo"
    (proc,) = launch.processes
    assert proc.argv[:3] == ("py", "-m", "torch.distributed.run")
    assert "--nproc-per-node=2" in proc.argv and "--master-port=29500" in proc.argv
    assert proc.argv[-len(WORKER) :] == WORKER
    assert proc.ranks == (0, 1)
    assert proc.env["OMP_NUM_THREADS"] == "2"
    assert launch.global_batch == 16 and launch.per_worker_batch == 8


def test_torchrun_on_two_gpu_nodes_uses_nccl_and_node_ranks() -> None:
    rdzv = Rendezvous(29500, (Node("10.0.0.1", 2), Node("10.0.0.2", 2)))
    launch = build_launch(
        "torch", WORKER, python="py", workers=4, scaling="strong", batch_size=8,
        rendezvous=rdzv, event_dir="/e", device="cuda",
    )  # fmt: skip
    assert launch.backend == "nccl" and launch.threads_per_worker is None
    second = launch.processes[1]
    assert "--node-rank=1" in second.argv and "--master-addr=10.0.0.1" in second.argv
    assert second.ranks == (2, 3)
    assert [r.local_rank for r in launch.ranks] == [0, 1, 0, 1]


def test_tf_config_names_every_worker_and_its_index() -> None:
    rdzv = Rendezvous(4000, (Node("a", 1), Node("b", 2)))
    launch = build_launch(
        "tensorflow", WORKER, python="py", workers=3, scaling="weak", batch_size=8,
        rendezvous=rdzv, event_dir="/e", cpus=2,
    )  # fmt: skip
    assert launch.strategy == "tf_multi_worker_mirrored"
    configs = [json.loads(p.env["TF_CONFIG"]) for p in launch.processes]
    assert configs[0]["cluster"]["worker"] == ["a:4000", "b:4001", "b:4002"]
    assert [c["task"]["index"] for c in configs] == [0, 1, 2]
    assert [p.env[ENV_RANK] for p in launch.processes] == ["0", "1", "2"]
    assert launch.processes[2].env["OMP_NUM_THREADS"] == "1"  # 2 cpus over b's 2 workers


def test_tf_mirrored_is_one_process_driving_every_gpu() -> None:
    rdzv = Rendezvous(4000, (Node("127.0.0.1", 4),))
    launch = build_launch(
        "tensorflow", WORKER, python="py", workers=4, scaling="weak", batch_size=8,
        rendezvous=rdzv, event_dir="/e", device="cuda", tf_mirrored=True,
    )  # fmt: skip
    (proc,) = launch.processes
    assert launch.strategy == "tf_mirrored"
    assert proc.env["CUDA_VISIBLE_DEVICES"] == "0,1,2,3"
    with pytest.raises(DistributedConfigError, match="needs device cuda"):
        build_launch(
            "tensorflow", WORKER, python="py", workers=4, scaling="weak", batch_size=8,
            rendezvous=rdzv, event_dir="/e", tf_mirrored=True,
        )  # fmt: skip


def test_jax_ranks_share_the_coordinator_and_own_one_gpu() -> None:
    rdzv = Rendezvous(5000, (Node("h0", 2), Node("h1", 2)))
    launch = build_launch(
        "jax", WORKER, python="py", workers=4, scaling="weak", batch_size=8,
        rendezvous=rdzv, event_dir="/e", device="cuda",
    )  # fmt: skip
    assert {p.env[ENV_COORDINATOR] for p in launch.processes} == {"h0:5000"}
    assert [p.env["CUDA_VISIBLE_DEVICES"] for p in launch.processes] == ["0", "1", "0", "1"]
    assert [p.node_rank for p in launch.processes] == [0, 0, 1, 1]
    with pytest.raises(DistributedConfigError, match="4 workers but the nodes hold 2"):
        build_launch(
            "jax", WORKER, python="py", workers=4, scaling="weak", batch_size=8,
            rendezvous=Rendezvous(5000, (Node("h0", 2),)), event_dir="/e",
        )  # fmt: skip


def test_a_plain_session_refuses_a_scaling_config(tmp_path: Path) -> None:
    from profiler.session import ComparisonSession
    from profiler.store import Store

    config = _load(tmp_path, "run: {distributed: {workers: [1, 2]}}\n")
    with Store(tmp_path / "s.sqlite") as store, pytest.raises(ValueError, match="frameduel run"):
        ComparisonSession(config, store)  # type: ignore[arg-type]
