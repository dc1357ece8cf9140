"""JAX's fp16 dynamic loss scaling, which needs a GPU in a real run, exercised on the CPU.

The snippet runs in a child (the test process imports no framework): it builds the JAX workload
with ``precision: fp16`` past ``setup`` (which refuses fp16 without a GPU), trains a few steps,
then forces an overflowing scale and checks GradScaler's rules: growth after the interval, and a
skipped update with a halved scale when the gradients are not finite.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workloads.helpers import ROOT, child_env, make_spec

pytestmark = pytest.mark.slow

SNIPPET = """
import json, sys
import jax, jax.numpy as jnp, numpy as np
from workloads import jax_step
from workloads.jax_workload import JaxWorkload
from workloads.spec import parse_spec

jax_step._GROWTH_INTERVAL = 3  # read when the step is traced
workload = JaxWorkload(parse_spec(sys.argv[1]))
workload._device, workload._device_label = jax.devices("cpu")[0], "cpu"
workload.prepare()
out = {"parity": workload.parity_loss(), "losses": [], "scales": []}
for step in range(4):
    out["losses"].append(workload.sync(workload.train_step(step % workload.n_batches)))
    out["scales"].append(float(workload._state.loss_scale.scale))
before = [np.asarray(a) for a in jax.tree.leaves(workload._state.params)]
huge = jax_step.LossScale(jnp.asarray(3e38, jnp.float32), jnp.asarray(1, jnp.int32))
workload._state = workload._state._replace(loss_scale=huge)
workload.sync(workload.train_step(0))
after = [np.asarray(a) for a in jax.tree.leaves(workload._state.params)]
out["skipped"] = all(np.array_equal(a, b) for a, b in zip(before, after))
out["scale_after_overflow"] = float(workload._state.loss_scale.scale)
out["good_after_overflow"] = int(workload._state.loss_scale.good_steps)
print(json.dumps(out))
"""


def test_fp16_loss_scaling_grows_and_skips(tmp_path: Path) -> None:
    spec = make_spec(train__precision="fp16")
    done = subprocess.run(
        [sys.executable, "-c", SNIPPET, json.dumps(spec)],
        cwd=ROOT,
        env=child_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.splitlines()[-1])
    # the first step's loss is the parity loss up to fp16 rounding
    assert out["losses"][0] == pytest.approx(out["parity"], rel=1e-3)
    # doubled after 3 finite steps (the patched interval), then counting again
    assert out["scales"] == [2.0**16, 2.0**16, 2.0**17, 2.0**17]
    assert out["skipped"] is True
    assert out["scale_after_overflow"] == pytest.approx(1.5e38)
    assert out["good_after_overflow"] == 0
