"""Runs a config's data-parallel scaling: one comparison session per worker count.

Each worker count of ``run.distributed.workers`` is a session of its own (every framework at that
count, the usual repeats), its environment marked ``distributed: {group, workers, scaling}`` so
``profiler.report.scaling`` finds the sessions of one scaling run together.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from profiler.config import Config
from profiler.listener import RunOutcome, SessionListener
from profiler.session import ComparisonSession, RunOptions
from profiler.store import Store


def scaling_sessions(
    config: Config,
    store: Store,
    *,
    config_path: str | None = None,
    listener: SessionListener | None = None,
    options: RunOptions | None = None,
) -> list[ComparisonSession]:
    """One prepared-to-run session per worker count, smallest first (none run yet)."""
    dist = config.run.distributed
    if dist is None:
        raise ValueError("the config has no run.distributed: nothing to scale")
    group = uuid.uuid4().hex[:12]
    base = options or RunOptions()
    return [
        ComparisonSession(
            config,
            store,
            config_path=config_path,
            listener=listener,
            options=replace(
                base,
                distributed={"group": group, "workers": n, "scaling": dist.scaling},
            ),
        )
        for n in dist.workers
    ]


def run_scaling(
    config: Config,
    store: Store,
    *,
    config_path: str | None = None,
    listener: SessionListener | None = None,
    options: RunOptions | None = None,
) -> tuple[list[int], list[RunOutcome]]:
    """Run every worker count in turn; return the session ids and every run's outcome."""
    ids: list[int] = []
    outcomes: list[RunOutcome] = []
    for session in scaling_sessions(
        config, store, config_path=config_path, listener=listener, options=options
    ):
        session.prepare()
        assert session.session_id is not None
        ids.append(session.session_id)
        outcomes += session.run()
    return ids, outcomes
