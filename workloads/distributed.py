"""Inside a data-parallel rank: who am I, where do my events go, which rows are mine.

Stdlib only at import (the worker reads it before its import phase starts). Each framework's
workload does its own engine's setup (DDP under torchrun, MultiWorkerMirroredStrategy,
jax.distributed) from the ``RankContext`` this module reads from the environment the launcher
(``profiler.distributed``) set. Mirrors that module's variable names
without importing it: the child needs nothing from the parent's environment.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workloads.data import Batch

ENV_STRATEGY = "FRAMEDUEL_DIST_STRATEGY"
ENV_BACKEND = "FRAMEDUEL_DIST_BACKEND"
ENV_WORLD_SIZE = "FRAMEDUEL_DIST_WORLD_SIZE"
ENV_RANK = "FRAMEDUEL_DIST_RANK"
ENV_LOCAL_RANK = "FRAMEDUEL_DIST_LOCAL_RANK"
ENV_COORDINATOR = "FRAMEDUEL_DIST_COORDINATOR"
ENV_EVENT_DIR = "FRAMEDUEL_DIST_EVENT_DIR"
ENV_GLOBAL_BATCH = "FRAMEDUEL_DIST_GLOBAL_BATCH"
ENV_DEVICES = "FRAMEDUEL_DIST_DEVICES"


class RankSetupError(RuntimeError):
    """The launcher's environment is incomplete or inconsistent; the message names the variable."""


@dataclass(frozen=True)
class RankContext:
    """This process's place in a data-parallel job (``from_env``; None outside one)."""

    strategy: str
    backend: str
    rank: int
    local_rank: int
    world_size: int
    global_batch: int
    event_dir: str | None
    coordinator: str | None = None
    devices: int = 1  # tf_mirrored: GPUs driven by this one process

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> RankContext | None:
        """The context the launcher set, or None when this is not a data-parallel run. Under
        torchrun the rank comes from torchrun's ``RANK``/``LOCAL_RANK``."""
        env = dict(os.environ) if env is None else env
        strategy = env.get(ENV_STRATEGY)
        if not strategy:
            return None

        def number(*names: str) -> int:
            for name in names:
                if env.get(name):
                    try:
                        return int(env[name])
                    except ValueError:
                        raise RankSetupError(f"{name}={env[name]!r} is not a number") from None
            raise RankSetupError(f"{' or '.join(names)} is not set for a {strategy} rank")

        return cls(
            strategy=strategy,
            backend=env.get(ENV_BACKEND, ""),
            rank=number(ENV_RANK, "RANK"),
            local_rank=number(ENV_LOCAL_RANK, "LOCAL_RANK"),
            world_size=number(ENV_WORLD_SIZE, "WORLD_SIZE"),
            global_batch=number(ENV_GLOBAL_BATCH),
            event_dir=env.get(ENV_EVENT_DIR) or None,
            coordinator=env.get(ENV_COORDINATOR) or None,
            devices=int(env.get(ENV_DEVICES) or 1),
        )

    @property
    def local_batch(self) -> int:
        """Rows this process trains on per step (all of its replicas' rows for tf_mirrored)."""
        per_replica = self.global_batch // self.world_size
        return per_replica * self.devices if self.strategy == "tf_mirrored" else per_replica

    def open_event_fd(self) -> int | None:
        """Open this rank's named pipe for writing (blocks until the parent reads it)."""
        if self.event_dir is None:
            return None
        return os.open(os.path.join(self.event_dir, f"rank-{self.rank}.events"), os.O_WRONLY)

    def shard(self, batches: list[Batch]) -> list[Batch]:
        """This process's rows of each global batch: rank r takes rows [r*b, (r+1)*b), so the
        global batch is the same whatever the worker count (strong scaling) and every rank
        trains on different rows."""
        size = self.local_batch
        first = 0 if self.strategy == "tf_mirrored" else self.rank * size
        return [
            replace(b, x=b.x[first : first + size], y=b.y[first : first + size]) for b in batches
        ]

    def record(self) -> dict[str, Any]:
        """What the rank reports about itself (its ``rank`` event)."""
        return {
            "rank": self.rank,
            "local_rank": self.local_rank,
            "world_size": self.world_size,
            "strategy": self.strategy,
            "backend": self.backend,
            "global_batch": self.global_batch,
            "local_batch": self.local_batch,
        }


def weights_digest(weights: Any) -> str:
    """SHA-256 (hex, first 16 digits) of every array in a ``ModelWeights`` tree, in field order:
    equal on every rank exactly when every rank starts from the same weights."""
    import numpy as np

    digest = hashlib.sha256()

    def visit(value: Any) -> None:
        if isinstance(value, np.ndarray):
            digest.update(str(value.dtype).encode())
            digest.update(str(value.shape).encode())
            digest.update(np.ascontiguousarray(value).tobytes())
        elif is_dataclass(value) and not isinstance(value, type):
            for f in fields(value):
                visit(getattr(value, f.name))
        elif isinstance(value, list | tuple):
            for item in value:
                visit(item)
        elif isinstance(value, dict):
            for key in sorted(value):
                visit(value[key])

    visit(weights)
    return digest.hexdigest()[:16]
