"""Pinning runs to CPUs (run.affinity): which CPUs each policy picks, and a worker that is told
CPUs it may not use failing with a message that names the field."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from profiler.config import Config
from tests.workloads.helpers import make_spec, run_worker
from workloads.affinity import AffinityError, choose_cpus

FOUR = [0, 1, 2, 3]


def test_auto_pins_fewer_threads_than_cpus_to_the_highest_cpus() -> None:
    assert choose_cpus("auto", 1, FOUR) == [3]
    assert choose_cpus("auto", 2, FOUR) == [2, 3]
    assert choose_cpus("auto", 1, [0, 2, 5]) == [5]


def test_auto_leaves_a_run_that_uses_every_cpu_or_the_default_threads_alone() -> None:
    assert choose_cpus("auto", 4, FOUR) is None
    assert choose_cpus("auto", 8, FOUR) is None
    assert choose_cpus("auto", None, FOUR) is None
    assert choose_cpus("off", 1, FOUR) is None


def test_auto_gives_each_rank_its_own_cpus_only_when_they_fit_side_by_side() -> None:
    assert [choose_cpus("auto", 2, FOUR, rank, 2) for rank in (0, 1)] == [[2, 3], [0, 1]]
    assert [choose_cpus("auto", 1, FOUR, rank, 4) for rank in range(4)] == [[3], [2], [1], [0]]
    assert choose_cpus("auto", 1, FOUR, 0, 8) is None  # 8 ranks on 4 CPUs: they must share


def test_a_list_pins_to_exactly_those_cpus_and_names_the_ones_not_allowed() -> None:
    assert choose_cpus([3, 1, 3], None, FOUR) == [1, 3]
    with pytest.raises(AffinityError, match=r"run.affinity: CPU 7 .* may use CPUs 0-3"):
        choose_cpus([1, 7], 1, FOUR)


@pytest.mark.parametrize(
    ("written", "read"), [("auto", "auto"), (False, "off"), (None, "off"), ([3, 1], [1, 3])]
)
def test_the_config_field(written: object, read: object) -> None:
    config = Config.model_validate({**_tiny(), "run": {"affinity": written}})
    assert config.run.affinity == read


@pytest.mark.parametrize("bad", ["fast", [], [-1], [True], "0-3"])
def test_a_bad_config_field_says_what_it_takes(bad: object) -> None:
    with pytest.raises(ValueError, match="auto, off, or a list of CPU numbers"):
        Config.model_validate({**_tiny(), "run": {"affinity": bad}})


@pytest.mark.slow
def test_a_worker_told_a_cpu_it_may_not_use_fails_naming_the_field(tmp_path: Path) -> None:
    missing = max(os.sched_getaffinity(0)) + 1
    run = run_worker("torch", make_spec(run__affinity=[missing]), tmp_path)
    assert run.returncode == 1
    error = run.one("error")
    assert f"run.affinity: CPU {missing} is not available" in error.get("message")
    assert not run.of("hello")  # it failed before the framework started


def _tiny() -> dict[str, object]:
    spec = make_spec()
    return {k: v for k, v in spec["config"].items() if k != "run"}
