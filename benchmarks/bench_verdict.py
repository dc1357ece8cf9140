"""Time to a trustworthy verdict: ``run.repeats: auto`` against a fixed 5 repeats per side.

For the demo MLP and the small CNN (PyTorch vs TensorFlow, the shipped configs; one thread
each, so every run is pinned to the same CPU by ``run.affinity: auto``), one session with auto
repeats (stop when the speed ratio's interval, at the auto level of 97%, is within ±2%, at most
``--max-repeats`` per side) and one with 5 repeats per side, the protocol a careful user would
otherwise follow. Both are real sessions on this machine, one after the other, timed from the
first launch to the last exit. Reported as ratios measured in this one run:

- auto's wall time over the fixed protocol's (target: 0.60 or less), and
- each protocol's interval half-width, so "faster" never means "less certain": auto stops only
  once its interval is as narrow as the target, and says so when it ran out of repeats instead.

Run: ``.venv/bin/python -m benchmarks.bench_verdict [--steps-scale 1] [--max-repeats 10]``.
It takes several minutes (every run starts a fresh framework).
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from profiler.config import Config, load_config
from profiler.events import EnvInfo
from profiler.paths import resources_dir
from profiler.repeats import StopRecord
from profiler.report.events import window_step_times_ms
from profiler.session import ComparisonSession
from profiler.store import Store

TARGET_RATIO = 0.60
FIXED_REPEATS = 5
WORKLOADS = ("demo-mlp", "cnn-small")


@dataclass(frozen=True)
class Protocol:
    """One session's wall time and how certain its verdict ended up."""

    wall_s: float
    record: StopRecord
    cpus: str = ""  # the CPUs its runs were pinned to
    medians: tuple[tuple[str, tuple[float, ...]], ...] = ()  # (framework, run medians in ms)
    run_seconds: float = math.nan  # mean wall time of one run, launch to exit

    @property
    def half_width(self) -> float:
        """The widest speed interval's relative half-width (NaN when unknown)."""
        c = self.record.certainty
        return c.worst if c is not None else math.nan

    @property
    def ratio(self) -> float:
        """TensorFlow's step time over PyTorch's."""
        c = self.record.certainty
        return c.ratios[0].ratio if c is not None and c.ratios else math.nan


def _config(
    name: str, steps_scale: float, repeats: int | str, max_repeats: int, threads: int | None
) -> Config:
    config = load_config(resources_dir() / "configs" / f"{name}.yaml")
    steps = max(40, round(config.train.steps * steps_scale))
    data = config.with_overrides(steps=steps, repeats=repeats).model_dump()
    data["run"].update(target_ci=0.02, max_repeats=max_repeats, budget_s=None)
    data["threads"] = threads
    data["frameworks"] = ["torch", "tensorflow"]
    return Config.model_validate(data)


def run_protocol(store: Store, config: Config) -> Protocol:
    """Run one real session; its wall time and stop record."""
    session = ComparisonSession(config, store)
    start = time.monotonic()
    outcomes = session.run()
    wall = time.monotonic() - start
    failed = [o for o in outcomes if o.status != "ok"]
    if failed:
        raise SystemExit(f"bench_verdict: a run failed: {failed[0].error}")
    assert session.stop_record is not None
    stored = store.load(session.session_id or -1)
    cpus = {
        str(info.settings.get("cpu_affinity")) for r in stored.runs for _, info in r.views(EnvInfo)
    }
    by_framework: dict[str, list[float]] = {}
    for run in stored.runs:
        times = window_step_times_ms(run)
        by_framework.setdefault(run.framework, []).append(
            float(np.median(times)) if times.size else math.nan
        )
    spans = [r.ended_t - r.started_t for r in stored.runs if r.ended_t and r.started_t]
    return Protocol(
        wall,
        session.stop_record,
        ", ".join(sorted(cpus)),
        tuple((fw, tuple(m)) for fw, m in by_framework.items()),
        float(np.mean(spans)) if spans else math.nan,
    )


def _fmt(p: Protocol) -> str:
    runs = min(p.record.runs_per_side.values(), default=0)
    hw = f"±{p.half_width * 100:.1f}%" if math.isfinite(p.half_width) else "unknown"
    return (
        f"{p.wall_s:6.0f} s, {runs:2d} runs/side, ratio {p.ratio:.3f} {hw}, "
        f"stopped: {p.record.reason}, pinned to {p.cpus or 'nothing'}, "
        f"{p.run_seconds:.1f} s a run"
    ) + "".join(
        f"\n            {fw} run medians (ms): {' '.join(f'{m:.3f}' for m in ms)}"
        f" (spread {100 * _spread(ms):.1f}%)"
        for fw, ms in p.medians
    )


def _spread(medians: tuple[float, ...]) -> float:
    """Relative standard deviation of the run medians (NaN below two runs)."""
    return float(np.std(medians, ddof=1) / np.mean(medians)) if len(medians) > 1 else math.nan


def main(argv: list[str] | None = None) -> int:
    """Run both protocols for each workload and print the ratios; 0 when every ratio meets
    the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps-scale", type=float, default=1.0, help="fraction of the steps")
    parser.add_argument("--max-repeats", type=int, default=10)
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads per framework (0: the framework's default). On a shared machine the "
        "default thread pools oversubscribe the cores and runs differ by tens of percent",
    )
    args = parser.parse_args(argv)
    threads = args.threads or None
    ok = True
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.sqlite3") as store:
        for name in args.workloads.split(","):
            auto = run_protocol(
                store, _config(name, args.steps_scale, "auto", args.max_repeats, threads)
            )
            fixed = run_protocol(
                store, _config(name, args.steps_scale, FIXED_REPEATS, args.max_repeats, threads)
            )
            ratio = auto.wall_s / fixed.wall_s
            meets = ratio <= TARGET_RATIO and auto.record.reason == "certain"
            ok &= meets
            print(f"{name}:")
            print(f"  auto      {_fmt(auto)}")
            print(f"  fixed 5   {_fmt(fixed)}")
            print(
                f"  time auto / fixed = {ratio:.2f} (target <= {TARGET_RATIO:.2f}): "
                f"{'met' if meets else 'NOT met'}",
                flush=True,
            )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
