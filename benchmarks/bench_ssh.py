"""What streaming over SSH costs a remote run: throughput through ssh vs started directly.

The same real PyTorch run (one thread, steady state) twice per round: started on "the host"
directly (FrameDuel's own local run, sampler on) and through ssh (the agent runs it there and
streams events and samples back over the channel). Here the host is this machine, reached through
an OpenSSH server on 127.0.0.1 started for the benchmark with throwaway keys (as in the tests),
so both runs share the hardware and only the path differs. Rounds interleave (A B, B A, ...) so
drift cancels; each run's steps/s is the inverse of its median measured window, as in
bench_overhead; the figure is the median over rounds of each round's ssh/direct ratio.

Run: ``.venv/bin/python -m benchmarks.bench_ssh [--rounds N]`` (needs sshd: openssh-server).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks.bench_overhead import _config
from profiler.config import Config
from profiler.session import ComparisonSession, RunOptions
from profiler.store import Store
from tests.profiler.sshd import start_sshd


def steps_per_s(store: Store, config: Config, options: RunOptions) -> tuple[float, float]:
    """(steps/s, transport CPU share) of one run. Steps/s is the inverse of its median measured
    window's per-step time. The transport share, for a run through ssh, is the CPU seconds the
    ssh client (here), the sshd process carrying the channel and the agent (on the host) used
    while the child ran, per second of the run, as a fraction of one core (NaN when direct)."""
    session = ComparisonSession(config, store, options=options)
    (outcome,) = session.run()
    assert outcome.status == "ok", outcome.error
    assert session.session_id is not None
    run = store.load(session.session_id).runs[0]
    per_step = [
        e.payload["seconds"] / e.payload["steps"]
        for e in run.events_of("window")
        if e.payload.get("phase") == "measure"
    ]
    share = math.nan
    remote = run.info.get("remote")
    if remote is not None:
        parts = (remote.get(k) for k in ("agent_cpu_s", "channel_cpu_s", "client_cpu_s"))
        cpu = sum(math.nan if v is None else v for v in parts)
        share = cpu / (run.ended_t - run.started_t)
    return 1.0 / statistics.median(per_step), share


def main() -> None:
    """Print the SSH run's throughput as a ratio to the direct run's."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--steps", type=int, default=2000)
    args = parser.parse_args()
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
                got: dict[str, list[float]] = {name: [] for name in cases}
                shares: list[float] = []
                names = list(cases)
                for r in range(args.rounds):
                    for name in names if r % 2 == 0 else names[::-1]:
                        config, options = cases[name]
                        rate, share = steps_per_s(store, config, options)
                        got[name].append(rate)
                        if name == "ssh":
                            shares.append(share)
        finally:
            proc.terminate()
            proc.wait()
    # paired within each round, so the machine's drift between rounds cancels
    ratios = sorted(s / d for s, d in zip(got["ssh"], got["direct"], strict=True))
    ratio = statistics.median(ratios)
    print(f"steps/s per round: direct {[round(v) for v in got['direct']]}")
    print(f"                   ssh    {[round(v) for v in got['ssh']]}")
    print(
        f"through ssh / direct, median of {args.rounds} paired rounds: {ratio:.4f} "
        f"({1 - ratio:+.2%} slower; rounds from {ratios[0]:.3f} to {ratios[-1]:.3f}; "
        "target: at most 1% slower)"
    )
    print(
        f"transport CPU while the child ran (ssh client + sshd + agent's relaying and sampling) "
        f"per second of a remote run: median "
        f"{statistics.median(shares):.2%} of one core (max {max(shares):.2%}); the agent's "
        "sampling replaces the parent's own sampler of a direct run, so this bounds the extra"
    )


if __name__ == "__main__":
    main()
