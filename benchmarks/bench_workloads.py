"""FrameDuel's built-in workloads against minimal hand-written loops of the same models.

Run: ``.venv/bin/python -m benchmarks.bench_workloads [--threads 1] [--rounds 15]
<<<<<<< HEAD
[--families mlp,cnn,transformer,rnn,gpt,vit,bert] [--frameworks torch,tensorflow,jax]``.
=======
[--families mlp,cnn,resnet,transformer,rnn] [--frameworks torch,tensorflow,jax]``.
>>>>>>> i13-resnet

For each framework one child process builds, per family (the shipped example config, with
resident data), FrameDuel's workload and the hand-written loop of
``benchmarks/workloads_handwritten.py``, warms both up by the same steps, then alternates: one
measure window of FrameDuel's shared loop (``Workload._run_phase``, as ``Workload.run`` drives
it, events going to an in-memory recorder), then as many hand-written steps; ``rounds`` times.
Alternating short rounds in one process keeps both under the same conditions (threads, shapes,
batches, and whatever else the shared machine is doing at that moment). The verdict per family
is the median over rounds of ours / hand-written steps/s, which must be at least 0.95. Prints
one line per family and framework; exits 1 when any ratio is below.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import os
import statistics
import subprocess
import sys
from typing import Any

from profiler.config import load_config
from profiler.paths import project_root, resources_dir

THRESHOLD = 0.95
# the shipped examples, made resident (compute alone), with steps per round (~0.3-1 s)
EXAMPLES = {
    "mlp": ("demo-mlp.yaml", 200),
    "cnn": ("cnn-small.yaml", 16),
    "resnet": ("resnet-small.yaml", 4),
    "transformer": ("transformer-small.yaml", 8),
    "rnn": ("rnn-lstm.yaml", 40),
    "gpt": ("gpt-small.yaml", 8),
    "vit": ("vit-small.yaml", 8),
    "bert": ("bert-small.yaml", 8),
}
WARMUP = 10


def bench_config(family: str, threads: int) -> dict[str, Any]:
    """The family's shipped example as a config dict: resident data, ``threads`` pinned."""
    name, window = EXAMPLES[family]
    config = load_config(resources_dir() / "configs" / name)
    data = config.model_dump(mode="json")
    data["threads"] = threads
    data["device"] = "cpu"
    data["data"]["pipeline"] = "resident"
    # steps only bound what the spec accepts: the child drives the windows itself
    data["train"].update(steps=10**6, warmup_steps=WARMUP, window_steps=window)
    return data


def child(framework: str, configs: list[dict[str, Any]], rounds: int) -> None:
    """Alternate one window of ours with as many hand-written steps, ``rounds`` times per config;
    print one JSON line per config."""
    from benchmarks import workloads_handwritten
    from workloads.emitter import EventEmitter
    from workloads.spec import parse_spec
    from workloads.worker import WORKLOAD_MODULES

    class Recorder(EventEmitter):
        """Keeps the window events instead of writing them to a pipe."""

        def __init__(self) -> None:
            super().__init__(None)
            self.windows: list[dict[str, Any]] = []

        def emit(self, kind: str, **payload: Any) -> None:
            if kind == "window":
                self.windows.append(payload)

    workload_cls = importlib.import_module(WORKLOAD_MODULES[framework]).WORKLOAD
    handwritten = getattr(workloads_handwritten, f"{framework}_loop")
    for n, config in enumerate(configs):
        spec = parse_spec(
            json.dumps({"config": config, "window_steps": config["train"]["window_steps"]})
        )
        if n:  # threads are fixed once per process, by the first setup
            spec = dataclasses.replace(spec, threads=None)
        window = spec.window_steps
        # ours: the shared loop of workloads.base, exactly as Workload.run drives it
        workload = workload_cls(spec)
        workload.setup()
        workload.prepare()
        recorder = Recorder()
        workload._run_phase(recorder, "warmup", 0, spec.warmup_steps)
        timed = handwritten(config)
        timed(spec.warmup_steps)
        ours, hand = [], []
        step = spec.warmup_steps
        for _ in range(rounds):
            recorder.windows.clear()
            workload._run_phase(recorder, "measure", step, step + window)
            (measured,) = recorder.windows
            ours.append(measured["steps"] / measured["seconds"])
            hand.append(window / timed(window))
            step += window
        ratios = [a / b for a, b in zip(ours, hand, strict=True)]
        print(
            json.dumps(
                {
                    "family": spec.model.family,
                    "ours": statistics.median(ours),
                    "hand": statistics.median(hand),
                    "ratio": statistics.median(ratios),
                    "spread": [min(ratios), max(ratios)],
                }
            ),
            flush=True,
        )


def main(argv: list[str] | None = None) -> int:
    """Run every framework's child and print the comparison."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_workloads")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--families", default=",".join(EXAMPLES))
    parser.add_argument("--frameworks", default="torch,tensorflow,jax")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, json.loads(sys.stdin.read()), args.rounds)
        return 0
    configs = [bench_config(f, args.threads) for f in args.families.split(",")]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(project_root())}
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(args.threads)
    worst = float("inf")
    print(f"threads {args.threads}, {args.rounds} alternating rounds, median steps/s")
    print(f"{'framework':<11} {'family':<12} {'ours':>9} {'hand':>9} {'ratio':>6}  min-max")
    for framework in args.frameworks.split(","):
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.bench_workloads",
                "--child",
                framework,
                "--rounds",
                str(args.rounds),
            ],
            input=json.dumps(configs),
            capture_output=True,
            text=True,
            env=env,
            cwd=project_root(),
            check=False,
        )
        if out.returncode:
            print(out.stderr[-3000:], file=sys.stderr)
            return 2
        for line in out.stdout.splitlines():
            if not line.startswith("{"):
                continue
            r = json.loads(line)
            worst = min(worst, r["ratio"])
            spread = "{:.2f}-{:.2f}".format(*r["spread"])
            print(
                f"{framework:<11} {r['family']:<12} {r['ours']:9.1f} {r['hand']:9.1f} "
                f"{r['ratio']:6.3f}  {spread}"
            )
    print(f"worst ratio {worst:.3f} (needs >= {THRESHOLD})")
    return 0 if worst >= THRESHOLD else 1


if __name__ == "__main__":
    sys.exit(main())
