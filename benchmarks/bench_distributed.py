"""What measuring every rank costs a data-parallel job: the per-rank event pipes, the merging
of the ranks' windows and the sampling of the job's process trees, as a ratio of throughput.

A real PyTorch DDP job under torchrun at 4 ranks (gloo, one thread each) runs in three ways,
interleaved within one run (A B C, C B A, ...); the median over rounds of each round's ratio:

- ``measured``: as a session runs it: the sampler on (10 Hz, every rank's tree and RSS) and a
  window event per rank every ``WINDOW`` steps, merged into job windows;
- ``events``: the per-rank events as measured, the sampler off (which part costs what);
- ``bare``: the sampler off and one window per rank every ``BARE_WINDOW`` steps (the fewest
  events that still time the run).

Throughput is global samples/s from the job's own clock: the samples of the measured steps of
every rank over the job windows' time (last rank to start to last rank to end), the same
whichever way it runs. Each run measures 2,000 steps (about 4 s at 16,000 samples/s). 800
steps (1.7 s) left a round's ratio to a second or two of other sessions' load: on the shared
2-core machine at load 4-12, events / bare, two cases that differ only in the event rate, ranged
0.80-1.22 over 8 rounds and measured / bare 0.70-1.10. The one-minute load average is printed
with every run and the quartiles with each median: a 1% cost can be read only from a run whose
quartiles are that close.

Run: ``.venv/bin/python -m benchmarks.bench_distributed [--rounds N] [--ranks N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

from profiler.config import Config
from profiler.scaling_session import scaling_sessions
from profiler.session import RunOptions
from profiler.store import Store

STEPS = 2400
WINDOW = 10
BARE_WINDOW = 400


def _config(ranks: int, window_steps: int) -> Config:
    return Config.model_validate(
        {
            "name": "bench-distributed",
            "frameworks": ["torch"],
            "device": "cpu",
            "threads": ranks,  # one thread per rank
            "model": {"family": "mlp", "input_dim": 64, "hidden": [256], "num_classes": 10},
            "data": {"samples": 4096},
            "train": {
                "batch_size": 32,
                "steps": STEPS,
                "warmup_steps": 400,
                "window_steps": window_steps,
            },
            "run": {"repeats": 1, "sample_hz": 10, "distributed": {"workers": [1, ranks]}},
        }
    )


def samples_per_s(store: Store, ranks: int, window_steps: int, sampling: bool) -> float:
    """Global samples/s of the measured steps of one real job at ``ranks`` ranks."""
    config = _config(ranks, window_steps)
    session = scaling_sessions(config, store, options=RunOptions(sampling=sampling))[-1]
    (outcome,) = session.run()
    assert outcome.status == "ok", outcome.error
    assert session.session_id is not None
    windows = [
        e.payload
        for e in store.load(session.session_id).runs[0].events_of("window")
        if e.payload.get("phase") == "measure"
    ]
    return sum(w["samples"] for w in windows) / sum(w["seconds"] for w in windows)


def main() -> None:
    """Print measured / bare throughput at the given rank count."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ranks", type=int, default=4)
    args = parser.parse_args()
    cases = {"measured": (WINDOW, True), "events": (WINDOW, False), "bare": (BARE_WINDOW, False)}
    got: dict[str, list[float]] = {name: [] for name in cases}
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.sqlite3") as store:
        names = list(cases)
        for r in range(args.rounds):
            for name in names if r % 2 == 0 else names[::-1]:
                window, sampling = cases[name]
                got[name].append(samples_per_s(store, args.ranks, window, sampling))
                print(
                    f"round {r + 1} {name}: {got[name][-1]:,.0f} samples/s "
                    f"(load {os.getloadavg()[0]:.1f})",
                    flush=True,
                )
    # each round runs every case back to back: its ratios cancel the drift between rounds
    for name in ("measured", "events"):
        ratios = [m / b for m, b in zip(got[name], got["bare"], strict=True)]
        ratio = statistics.median(ratios)
        low, _, high = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratio] * 3
        print(
            f"{args.ranks} ranks, {args.rounds} rounds: {name} / bare samples/s per round "
            f"{', '.join(f'{r:.3f}' for r in ratios)}; median {ratio:.3f} "
            f"(cost {100 * (1 - ratio):+.1f}%), quartiles {low:.3f}-{high:.3f}"
        )


if __name__ == "__main__":
    main()
