"""The live views leave the trace phase's windows (steps under a profiler) out of speed."""

from __future__ import annotations

import math

import numpy as np

from gui.models.rundata import RunData, phase_code
from profiler.listener import RunInfo


def test_trace_windows_are_not_plotted_as_speed() -> None:
    run = RunData(RunInfo(run_id=1, framework="torch", repeat=0, seq=0, total_steps=20))
    # t, step, samples/s, step ms, loss, phase
    run.add_windows(
        np.array(
            [
                [1.0, 10, 640.0, 100.0, 2.3, phase_code("warmup")],
                [2.0, 20, 800.0, 80.0, 2.2, phase_code("measure")],
                [3.0, 25, 320.0, 200.0, 2.1, phase_code("trace")],
            ]
        )
    )
    step_ms = run.window_values("step_time_ms")
    assert list(step_ms[:2]) == [100.0, 80.0] and math.isnan(step_ms[2])
    assert run.window_values("loss")[2] == 2.1  # the loss is still the loss
