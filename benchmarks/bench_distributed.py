"""What measuring every rank costs a data-parallel job: the per-rank event pipes, the merging
of the ranks' windows and the sampling of the job's process trees, as a share of throughput.

A real PyTorch DDP job under torchrun at 4 ranks (gloo, one thread each; on this 2-core VM the
ranks take every core, so every cycle FrameDuel's parent takes is one the ranks lose).

The default design measures inside each job, where the neighbours' load and the ranks'
placement hit both states alike (separate jobs differ by about ±5% here, whatever is
measured; ``--design between`` runs that older design):

- **the sampler**, switched on and off every ``PHASE_S`` seconds within the job (10 Hz when on,
  every rank's tree and RSS, each sample stored as a session stores it): throughput of the job
  windows that fall wholly inside "on" phases over those wholly inside "off" phases, per job;
- **the event path**, which cannot be switched off in a running job: the CPU it takes, from the
  parent's per-thread CPU times over the job (the ranks' event readers, the window merger and
  the store's writer) as a share of the machine, and on the ranks' side the time one window
  event takes to encode and write (timed here, ``EMIT_REPEATS`` times) times their number.

The cost reported is the sum: the sampler's throughput share plus the event path's share of
the machine and of the ranks' time. The ratio per job, the median over jobs and a 95% t
interval of the mean log ratio are printed, with the load average.

``--design between``: three kinds of job interleaved (A B C, C B A, ...): ``measured`` (sampler
on, an event per rank every ``WINDOW`` steps), ``events`` (sampler off), ``bare`` (sampler off,
an event every ``BARE_WINDOW`` steps); the median over rounds of each round's ratio.

Run: ``.venv/bin/python -m benchmarks.bench_distributed [--rounds N] [--ranks N]
[--design within|between]``.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

from benchmarks.paired import describe
from profiler import session as session_module
from profiler.config import Config
from profiler.sampler import SamplerThread
from profiler.scaling_session import scaling_sessions
from profiler.session import RunOptions
from profiler.store import Store
from workloads.emitter import EventEmitter

STEPS = 2400
WITHIN_STEPS = 4800
WINDOW = 10
BARE_WINDOW = 400
PHASE_S = 0.5
EMIT_REPEATS = 20_000
# threads of FrameDuel's parent that carry the ranks' events (by name prefix)
EVENT_THREADS = ("rank-events-", "store-writer", "rank-merger")


def _config(ranks: int, window_steps: int, steps: int = STEPS) -> Config:
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
                "steps": steps,
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
    return float(sum(w["samples"] for w in windows) / sum(w["seconds"] for w in windows))


def _sampling_now(clock: float) -> bool:
    """Whether the sampler samples at monotonic time ``clock``: on in even phases."""
    return math.floor(clock / PHASE_S) % 2 == 0


class TogglingSampler(SamplerThread):
    """The product's sampler, idle in every other ``PHASE_S`` phase (bench only)."""

    def _loop(self) -> None:
        next_tick = time.monotonic()
        while True:
            if _sampling_now(time.monotonic()):
                self._on_sample(self._measure())
            next_tick += self._interval
            delay = max(0.0, next_tick - time.monotonic())
            if self._stop.wait(delay):
                self._on_sample(self._measure())
                return


def _thread_cpu_s() -> dict[str, float]:
    """CPU seconds of each live thread of this process, by Python thread name (tid if none)."""
    tick = os.sysconf("SC_CLK_TCK")
    names = {t.native_id: t.name for t in threading.enumerate()}
    out: dict[str, float] = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        out[f"{names.get(int(tid), 'tid')}#{tid}"] = (int(fields[11]) + int(fields[12])) / tick
    return out


@contextmanager
def thread_cpu() -> Iterator[dict[str, float]]:
    """CPU seconds each thread of this process used inside the block (threads that start and
    end in it are polled every 0.2 s: what they used after the last poll is lost)."""
    before = _thread_cpu_s()
    used: dict[str, float] = {}
    stop = threading.Event()

    def poll() -> None:
        while True:
            for key, cpu in _thread_cpu_s().items():
                used[key] = max(used.get(key, 0.0), cpu - before.get(key, 0.0))
            if stop.wait(0.2):
                return

    poller = threading.Thread(target=poll, name="bench-cpu-poll", daemon=True)
    poller.start()
    totals: dict[str, float] = {}
    try:
        yield totals
    finally:
        stop.set()
        poller.join()
        for key, cpu in used.items():
            name = key.rsplit("#", 1)[0]
            totals[name] = totals.get(name, 0.0) + cpu


def emit_seconds() -> float:
    """Seconds one rank window event takes to encode and write (to /dev/null)."""
    fd = os.open(os.devnull, os.O_WRONLY)
    emitter = EventEmitter(fd)
    payload = {
        "phase": "measure", "step": 1200, "steps": WINDOW, "seconds": 0.0123456789,
        "loss": 2.302585, "samples": 320, "comm_s": 0.00456789, "minor_faults": 4,
        "major_faults": 0,
    }  # fmt: skip
    start = time.perf_counter()
    for _ in range(EMIT_REPEATS):
        emitter.emit("window", **payload)
    took = (time.perf_counter() - start) / EMIT_REPEATS
    emitter.close()
    return took


def within_job(store: Store, ranks: int) -> tuple[float, float, float, float, float]:
    """One job with the sampler toggled: (on / off throughput, the event threads' CPU share of
    the machine, the sampler's were it always on, rank window events per rank-second, the job's
    measure seconds)."""
    config = _config(ranks, WINDOW, WITHIN_STEPS)
    session = scaling_sessions(config, store, options=RunOptions(sampling=True))[-1]
    with mock.patch.object(session_module, "SamplerThread", TogglingSampler), thread_cpu() as cpu:
        (outcome,) = session.run()
    assert outcome.status == "ok", outcome.error
    assert session.session_id is not None
    run = store.load(session.session_id).runs[0]
    got = {True: [0.0, 0.0], False: [0.0, 0.0]}  # state: [samples, seconds]
    measure: list[tuple[float, float]] = []
    flowing: list[float] = []  # the ends of every window, warm-up's too: while events flow
    for e in run.events_of("window"):
        flowing.append(e.t)
        if e.payload.get("phase") != "measure":
            continue
        end = session.t0 + e.t
        start = end - float(e.payload["seconds"])
        measure.append((start, end))
        # a window that spans a switch is left out; receipt lags the end by about a millisecond
        if math.floor(start / PHASE_S) == math.floor((end + 0.002) / PHASE_S):
            state = _sampling_now(start)
            got[state][0] += float(e.payload["samples"])
            got[state][1] += float(e.payload["seconds"])
    on, off = (got[x][0] / got[x][1] for x in (True, False))
    span = measure[-1][1] - measure[0][0]
    event_cpu = sum(v for k, v in cpu.items() if k.startswith(EVENT_THREADS))
    job_s = (run.ended_t or 0.0) - (run.started_t or 0.0)
    # over the seconds events flowed (the threads' start-up CPU included: an overestimate)
    share = event_cpu / (max(flowing) - min(flowing)) / (os.cpu_count() or 1)
    # sampling half the time: a sampler always on takes twice what this one took
    sampler_share = 2.0 * cpu.get("sampler", 0.0) / job_s / (os.cpu_count() or 1)
    rank_windows = len(run.events_of("rank_window"))
    # the toggle took: about half the samples of a job sampled throughout
    sampled = len(run.samples.get("t", ())) / (job_s * config.run.sample_hz)
    assert 0.3 < sampled < 0.7, f"the sampler sampled {sampled:.0%} of the job's ticks"
    return on / off, share, sampler_share, rank_windows / ranks / span, span


def main_within(rounds: int, ranks: int) -> None:
    """Print the sampler's in-job ratio and the event path's CPU share."""
    emit_s = emit_seconds()
    print(f"one window event on a rank's side: {emit_s * 1e6:.1f} µs", flush=True)
    ratios: list[float] = []
    shares: list[float] = []
    sampler_shares: list[float] = []
    emit_shares: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.sqlite3") as store:
        for r in range(rounds):
            ratio, share, sampler_share, rate, span = within_job(store, ranks)
            ratios.append(ratio)
            shares.append(share)
            sampler_shares.append(sampler_share)
            emit_shares.append(emit_s * rate)
            print(
                f"job {r + 1}: sampler on / off {ratio:.4f}; of the machine: event threads "
                f"{100 * share:.2f}%, sampler {100 * sampler_share:.2f}% (always on); "
                f"{rate:.1f} window events per rank-second ({span:.0f} s measured; "
                f"load {os.getloadavg()[0]:.1f})",
                flush=True,
            )
    events = statistics.median(shares) + statistics.median(emit_shares)
    sampler_cpu = statistics.median(sampler_shares)
    print(
        f"{ranks} ranks, {rounds} jobs: sampler on / off throughput per job "
        f"{', '.join(f'{x:.4f}' for x in ratios)}; median {statistics.median(ratios):.4f}, "
        f"{describe(ratios)}"
    )
    print(
        f"CPU taken from the ranks (share of the machine, median over jobs): sampler "
        f"{100 * sampler_cpu:.2f}%, the parent's event threads "
        f"{100 * statistics.median(shares):.2f}%, the ranks' own event encoding "
        f"{100 * statistics.median(emit_shares):.3f}%"
    )
    print(
        f"cost of measuring every rank, by the CPU it takes: {100 * (sampler_cpu + events):.2f}% "
        "of throughput (target: at most 1%); the sampler's throughput ratio above checks that "
        "its ticks cost no more than their CPU"
    )


def main_between(rounds: int, ranks: int) -> None:
    """Print measured / bare throughput at the given rank count, job against job."""
    cases = {"measured": (WINDOW, True), "events": (WINDOW, False), "bare": (BARE_WINDOW, False)}
    got: dict[str, list[float]] = {name: [] for name in cases}
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.sqlite3") as store:
        names = list(cases)
        for r in range(rounds):
            for name in names if r % 2 == 0 else names[::-1]:
                window, sampling = cases[name]
                got[name].append(samples_per_s(store, ranks, window, sampling))
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
            f"{ranks} ranks, {rounds} rounds: {name} / bare samples/s per round "
            f"{', '.join(f'{r:.3f}' for r in ratios)}; median {ratio:.3f} "
            f"(cost {100 * (1 - ratio):+.1f}%), quartiles {low:.3f}-{high:.3f}"
        )


def main() -> None:
    """Run the chosen design."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--ranks", type=int, default=4)
    parser.add_argument("--design", choices=("within", "between"), default="within")
    args = parser.parse_args()
    (main_within if args.design == "within" else main_between)(args.rounds, args.ranks)


if __name__ == "__main__":
    main()
