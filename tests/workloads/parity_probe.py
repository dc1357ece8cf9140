"""``python -m tests.workloads.parity_probe FRAMEWORK``: many tiny models in one child process.

Reads a JSON list of ``--spec`` objects on stdin; for each, builds the framework's workload as
the worker does, and prints one JSON line: trainable parameters, the parity loss, and the loss
of every one of the spec's training steps (each read back at once: tests want values, not
speed). Starting one process per framework instead of one per model keeps the parity tests
fast. The first spec's threads apply to the whole process (frameworks fix them at start).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import sys

from workloads.spec import parse_spec
from workloads.worker import WORKLOAD_MODULES


def main() -> int:
    """Probe every spec on stdin; one JSON line each on stdout."""
    framework = sys.argv[1]
    module = importlib.import_module(WORKLOAD_MODULES[framework])
    for n, obj in enumerate(json.load(sys.stdin)):
        spec = parse_spec(json.dumps(obj))
        if n:
            # threads (and TensorFlow's visible devices) can be set only once per process
            spec = dataclasses.replace(spec, threads=None)
        workload = module.WORKLOAD(spec)
        workload.setup()
        workload.prepare()
        params = workload.param_count()
        parity = workload.parity_loss()
        losses = [
            workload.sync(workload.train_step(i % workload.n_batches)) for i in range(spec.steps)
        ]
        print(json.dumps({"params": params, "parity_loss": parity, "losses": losses}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
