"""What measuring costs the measured: sampler overhead and event-protocol overhead, as ratios.

Both compare steady-state steps/s of a real PyTorch child (one thread, so the parent's sampler
has the other core, as on any machine with a spare core) measured within one run, interleaved
(A B C A B C ...) so drift cancels; medians over rounds.

Run: ``.venv/bin/python -m benchmarks.bench_overhead [--rounds N]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from profiler.config import Config
from profiler.session import ComparisonSession, RunOptions
from profiler.store import Store


def _config(hidden: int, batch: int, steps: int, window_steps: int | None, hz: float) -> Config:
    return Config.model_validate(
        {
            "name": "overhead",
            "frameworks": ["torch"],
            "threads": 1,
            "model": {"family": "mlp", "input_dim": 64, "hidden": [hidden], "num_classes": 10},
            "data": {"samples": 1024},
            "train": {
                "batch_size": batch,
                "steps": steps,
                "warmup_steps": steps // 10,
                "window_steps": window_steps,
            },
            "run": {"sample_hz": hz},
        }
    )


def steps_per_s(store: Store, config: Config, sampling: bool) -> float:
    """Steps/s of one real run: the inverse of its median measured window's per-step time.

    The median over windows, because on a shared machine a single descheduled window moves a
    run's total by several percent, far more than the effects measured here.
    """
    session = ComparisonSession(config, store, options=RunOptions(sampling=sampling))
    (outcome,) = session.run()
    assert outcome.status == "ok", outcome.error
    assert session.session_id is not None
    per_step = [
        e.payload["seconds"] / e.payload["steps"]
        for e in store.load(session.session_id).runs[0].events_of("window")
        if e.payload.get("phase") == "measure"
    ]
    return 1.0 / statistics.median(per_step)


def interleaved(
    store: Store, cases: dict[str, tuple[Config, bool]], rounds: int
) -> dict[str, float]:
    """Median steps/s per case over ``rounds`` rounds, the order reversed every other round
    (A B C, C B A, ...) so that neither drift nor a position in the round favours a case."""
    got: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            config, sampling = cases[name]
            got[name].append(steps_per_s(store, config, sampling))
    return {name: statistics.median(v) for name, v in got.items()}


def main() -> None:
    """Print both overheads as ratios to the unmeasured baseline."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.sqlite3") as store:
        cpu = _config(hidden=512, batch=64, steps=3000, window_steps=None, hz=10)
        fast = cpu.model_copy(update={"run": cpu.run.model_copy(update={"sample_hz": 50.0})})
        sampling = interleaved(
            store, {"off": (cpu, False), "10 Hz": (cpu, True), "50 Hz": (fast, True)}, args.rounds
        )
        print("sampler overhead (steps/s, median of rounds; target: at most 1% slower)")
        for name in ("10 Hz", "50 Hz"):
            slower = 1 - sampling[name] / sampling["off"]
            print(f"  {name}: {sampling[name]:,.0f} vs off {sampling['off']:,.0f} -> {slower:+.2%}")

        # Per-window costs (the closing sync and one event) shrink tenfold with windows ten
        # times longer, so the difference between the two is 90% of the default's overhead.
        tiny = _config(hidden=16, batch=4, steps=30000, window_steps=None, hz=10)
        size = window_size(store, tiny)
        long = tiny.model_copy(
            update={"train": tiny.train.model_copy(update={"window_steps": 10 * size})}
        )
        proto = interleaved(store, {"auto": (tiny, False), "long": (long, False)}, args.rounds)
        step_ms = 1000 / proto["long"]
        overhead = (1 - proto["auto"] / proto["long"]) / 0.9
        print(
            f"event protocol, {step_ms:.3f} ms steps, default windows ({size} steps): "
            f"{proto['auto']:,.0f} vs {proto['long']:,.0f} steps/s with {10 * size}-step windows "
            f"-> overhead {overhead:+.2%} (target: at most 1%)"
        )


def window_size(store: Store, config: Config) -> int:
    """The measured window size a run of ``config`` chooses (the most common one)."""
    session = ComparisonSession(config, store, options=RunOptions(sampling=False))
    session.run()
    assert session.session_id is not None
    sizes = [
        int(e.payload["steps"])
        for e in store.load(session.session_id).runs[0].events_of("window")
        if e.payload.get("phase") == "measure"
    ]
    return statistics.mode(sizes)


if __name__ == "__main__":
    main()
