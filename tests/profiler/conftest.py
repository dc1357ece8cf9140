"""Fixtures for engine tests: tiny configs and a store in tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from profiler.config import Config, MLPModel, TrainConfig
from profiler.store import Store


def tiny_config(frameworks: list[str], steps: int = 5, **run: object) -> Config:
    """A tiny config; ``frameworks`` may name misbehaviours of tests/profiler/misbehaving_worker.

    Misbehaviour names are not valid frameworks, so they are put in without validation.
    """
    config = Config.model_validate(
        {
            "name": "tiny",
            "model": MLPModel(family="mlp", input_dim=4, hidden=[3], num_classes=2).model_dump(),
            "train": TrainConfig(steps=steps, warmup_steps=0, batch_size=8).model_dump(),
            "run": {"sample_hz": 20, "repeats": 1, **run},
        }
    )
    return config.model_copy(update={"frameworks": frameworks})


def with_run(config: Config, **run: object) -> Config:
    """``config`` with run settings set without validation: for interpreters keyed by a
    misbehaviour's name, or a path that is meant not to exist (what the engine must survive)."""
    return config.model_copy(update={"run": config.run.model_copy(update=run)})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A real SQLite store in the test's tmp dir."""
    s = Store(tmp_path / "store.sqlite3")
    yield s
    s.close()
