"""What streaming over SSH costs a remote run: throughput through ssh vs started directly.

The same real PyTorch run (one thread, steady state) twice per round: started on "the host"
directly (FrameDuel's own local run, sampler on) and through ssh (the agent runs it there and
streams events and samples back over the channel). Here the host is this machine, reached through
an OpenSSH server on 127.0.0.1 started for the benchmark with throwaway keys (as in the tests),
so both runs share the hardware and only the path differs. Rounds interleave (A B, B A, ...) so
drift cancels; each run's steps/s is the inverse of its median measured window, as in
bench_overhead; the figure is the median over rounds of each round's ssh/direct ratio.

On a shared machine that figure mostly says how much CPU the neighbours left each run, so each
run's throughput is also split in two, from its own samples over its measured windows: the CPU
share its process tree got (% of one core) and its steps per CPU-second of that tree (what the
link could cost it per unit of CPU it got: cache, wakeups). Their paired ratios are printed too,
with the load average, and the transport's CPU while the child ran, split by where it runs on a
real setup: on the host (the agent's relaying and sampling, the sshd process carrying the
channel) and on the desktop (the ssh client, charged to the same cores only on this loopback).
The agent's sampling stands in for the direct run's own sampler (the same readings, about the
same cost), so it is not an extra. This process's own CPU per second of each run is printed as
well: FrameDuel's parent reads events and samples the tree in a direct run, reads events and
decodes the agent's samples through ssh; with the ssh client it runs on the desktop in a real
setup, and only on this loopback takes the host's cores, which the ratio above then includes.

``--pin CPU`` runs everything (this process, sshd, ssh, the agent, both children) on one core:
a host with no core to spare, where every cycle of the transport, the desktop's ssh client's
included, is taken from the child's core.

Run: ``.venv/bin/python -m benchmarks.bench_ssh [--rounds N] [--steps N] [--pin CPU]`` (needs
sshd: openssh-server).
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.bench_overhead import _config
from benchmarks.paired import describe, ratio_interval
from profiler.config import Config
from profiler.session import ComparisonSession, RunOptions
from profiler.store import Store
from tests.profiler.sshd import start_sshd


@dataclass(frozen=True)
class Measured:
    """One run: steps/s, its tree's CPU share over the measured windows (% of one core), this
    process's CPU (FrameDuel's parent: reading events, and samples or sampling) and for a run
    through ssh the transport's CPU, each per second of the run (% of one core, NaN when
    direct): on the host (agent, sshd) and on the desktop (the ssh client)."""

    steps_per_s: float
    cpu_percent: float
    parent_percent: float
    host_transport_percent: float = math.nan
    client_percent: float = math.nan

    @property
    def steps_per_cpu_s(self) -> float:
        """Steps per CPU-second of the run's process tree."""
        return self.steps_per_s / (self.cpu_percent / 100.0)


def measure(store: Store, config: Config, options: RunOptions) -> Measured:
    """Run ``config`` once. Steps/s is the inverse of its median measured window's per-step
    time; the CPU share is the mean of its samples' CPU % from its first measured window's start
    to its last one's end."""
    session = ComparisonSession(config, store, options=options)
    before = resource.getrusage(resource.RUSAGE_SELF)
    (outcome,) = session.run()
    after = resource.getrusage(resource.RUSAGE_SELF)
    parent_s = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    assert outcome.status == "ok", outcome.error
    assert session.session_id is not None
    run = store.load(session.session_id).runs[0]
    windows = [e for e in run.events_of("window") if e.payload.get("phase") == "measure"]
    per_step = [e.payload["seconds"] / e.payload["steps"] for e in windows]
    begin = windows[0].t - windows[0].payload["seconds"]
    t, cpu = run.samples["t"], run.samples["cpu_percent"]
    inside = cpu[(t > begin) & (t <= windows[-1].t)]
    share = float(np.nanmean(inside)) if np.isfinite(inside).any() else math.nan
    remote = run.info.get("remote")
    seconds = run.ended_t - run.started_t
    parent = 100.0 * parent_s / seconds
    if remote is None:
        return Measured(1.0 / statistics.median(per_step), share, parent)

    def percent(*keys: str) -> float:
        values = [remote.get(k) for k in keys]
        return math.nan if None in values else 100.0 * sum(values) / seconds

    return Measured(
        1.0 / statistics.median(per_step),
        share,
        parent,
        percent("agent_cpu_s", "channel_cpu_s"),
        percent("client_cpu_s"),
    )


def paired(got: dict[str, list[Measured]], value: str) -> tuple[float, float, float]:
    """Median, lowest and highest over rounds of each round's ssh/direct ratio of ``value``."""
    ratios = sorted(
        getattr(s, value) / getattr(d, value)
        for s, d in zip(got["ssh"], got["direct"], strict=True)
    )
    return statistics.median(ratios), ratios[0], ratios[-1]


def main() -> None:
    """Print the SSH run's throughput as a ratio to the direct run's, and what it is made of."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--pin", type=int, default=None, metavar="CPU")
    args = parser.parse_args()
    if args.pin is not None:
        os.sched_setaffinity(0, {args.pin})  # inherited by sshd, ssh, the agent and children
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        proc, server = start_sshd(Path(tmp))
        try:
            with Store(Path(tmp) / "bench.sqlite3") as store:
                direct = _config(hidden=512, batch=64, steps=args.steps, window_steps=None, hz=10)
                run = direct.run.model_copy(
                    update={"hosts": ["gpu-box"], "host_python": {"gpu-box": sys.executable}}
                )
                remote = direct.model_copy(update={"run": run})
                cases = {
                    "direct": (direct, RunOptions()),
                    "ssh": (remote, RunOptions(ssh_args=server.ssh_args)),
                }
                got: dict[str, list[Measured]] = {name: [] for name in cases}
                names = list(cases)
                for r in range(args.rounds):
                    for name in names if r % 2 == 0 else names[::-1]:
                        got[name].append(measure(store, *cases[name]))
        finally:
            proc.terminate()
            proc.wait()
    load_after = os.getloadavg()[0]
    where = f"all on CPU {args.pin}" if args.pin is not None else f"{os.cpu_count()} cores"
    print(f"{where}; load average {load_before:.1f} before, {load_after:.1f} after")
    for name in names:
        rates = [round(m.steps_per_s) for m in got[name]]
        shares = [round(m.cpu_percent) for m in got[name]]
        print(f"  {name:6} steps/s per round {rates}, CPU % of one core {shares}")
    ratio, low, high = paired(got, "steps_per_s")
    rounds = [s.steps_per_s / d.steps_per_s for s, d in zip(got["ssh"], got["direct"], strict=True)]
    _, at_worst, _ = ratio_interval(rounds)
    print(
        f"through ssh / direct, median of {args.rounds} paired rounds: {ratio:.4f} "
        f"({1 - ratio:+.2%} slower; rounds from {low:.3f} to {high:.3f}); {describe(rounds)}; "
        f"target: at most 1% slower: {'met' if at_worst >= 0.99 else 'not shown'} "
        "(the interval's low end at 0.99 or above)"
    )
    print("  made of (paired ratios, median [lowest, highest]):")
    share = paired(got, "cpu_percent")
    print(f"    CPU share the child got:    {share[0]:.4f} [{share[1]:.3f}, {share[2]:.3f}]")
    eff = paired(got, "steps_per_cpu_s")
    print(f"    steps per CPU-second:       {eff[0]:.4f} [{eff[1]:.3f}, {eff[2]:.3f}]")
    host = [m.host_transport_percent for m in got["ssh"]]
    client = [m.client_percent for m in got["ssh"]]
    print(
        "  transport CPU while the child ran, % of one core (median, max): on the host "
        f"(agent's relaying and sampling + sshd) {statistics.median(host):.2f} "
        f"({max(host):.2f}); the ssh client, on the desktop in a real setup but on these same "
        f"cores here, {statistics.median(client):.2f} ({max(client):.2f})"
    )
    parent = {name: statistics.median(m.parent_percent for m in got[name]) for name in names}
    print(
        "  FrameDuel's parent (this process), % of one core per second of a run (median): "
        f"direct {parent['direct']:.2f} (its own sampler included), ssh {parent['ssh']:.2f} "
        "(decoding the agent's samples instead); on a desktop, off the host"
    )


if __name__ == "__main__":
    main()
