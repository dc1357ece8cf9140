"""Sampler cost per tick for a 3-process tree, and store ingest rate.

Run: ``.venv/bin/python -m benchmarks.bench_sampler``. Prints one line per figure.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from profiler.sampler import ProcessTreeSampler
from profiler.store import Store

TREE = """
import subprocess, sys, time
kids = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"]) for _ in range(2)]
print("ready", flush=True)
time.sleep(120)
"""


def sampler_tick_cost(ticks: int = 2000) -> tuple[float, float]:
    """Median and p95 cost of one tick (ms) over a root with two children, cached process list."""
    proc = subprocess.Popen([sys.executable, "-c", TREE], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        proc.stdout.readline()
        sampler = ProcessTreeSampler(proc.pid)
        sampler.sample()
        assert len(sampler.pids()) == 3, sampler.pids()
        costs = []
        for _ in range(ticks):
            t = time.perf_counter()
            sampler.sample()
            costs.append((time.perf_counter() - t) * 1000)
        costs.sort()
        return statistics.median(costs), costs[int(0.95 * len(costs))]
    finally:
        for p in psutil.Process(proc.pid).children(recursive=True):
            p.kill()
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def store_ingest_rate(rows: int = 200_000) -> float:
    """Sample rows per second through the store's queue to disk (flushed)."""
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.sqlite3") as store:
        sid = store.create_session("bench", {}, None, {})
        rid = store.create_run(sid, 0, "torch", 0)
        start = time.perf_counter()
        for i in range(rows):
            store.add_sample(
                rid, {"t": i * 0.02, "cpu_percent": 50.0, "rss_mib": 1000.0, "threads": 12}
            )
        store.flush()
        return rows / (time.perf_counter() - start)


def main() -> None:
    """Print the figures."""
    median, p95 = sampler_tick_cost()
    print(f"sampler tick, 3-process tree: median {median:.3f} ms, p95 {p95:.3f} ms")
    print(
        f"  = {median / 100 * 100:.2f}% of a 100 ms (10 Hz) tick, {median / 20 * 100:.2f}% at 50 Hz"
    )
    print(f"store ingest: {store_ingest_rate():,.0f} sample rows/s")


if __name__ == "__main__":
    main()
