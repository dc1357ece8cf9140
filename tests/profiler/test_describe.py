"""Presets and `frameduel describe`: the analytic architecture, checked against published counts,
each run's reported count, and the memory free where a config would train."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from profiler.cli import main
from profiler.config import Config, ConfigError, load_config, parse_config
from profiler.describe import (
    MemoryEstimate,
    architecture,
    check_memory,
    describe,
    fits_in_memory,
    param_mismatch,
)
from profiler.nvml import GpuMonitor
from profiler.presets import PRESETS, PUBLISHED_PARAMS
from profiler.session import ComparisonSession, RunOptions
from profiler.store import Store
from tests.profiler.conftest import tiny_config

RESNET50 = """\
name: r50
frameworks: [torch, tensorflow, jax]
model:
  preset: resnet50
  num_classes: 10
train: {batch_size: 2, steps: 3, warmup_steps: 1}
data: {samples: 4}
"""


def _write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", sorted(PUBLISHED_PARAMS))
def test_presets_have_their_published_parameter_counts(name: str) -> None:
    config = Config.model_validate({"name": "p", "model": {"preset": name}})
    assert architecture(config).param_count() == PUBLISHED_PARAMS[name]


def test_every_preset_is_a_valid_model() -> None:
    for name in PRESETS:
        config = Config.model_validate({"name": "p", "model": {"preset": name}})
        assert config.model.preset == name
        assert config.model.family == PRESETS[name]["family"]


def test_a_preset_is_overridden_by_the_configs_fields_and_recorded(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, RESNET50))
    dumped = config.model_dump(mode="json")["model"]
    # the stored config is the whole architecture, plus where it started
    assert dumped["preset"] == "resnet50"
    assert dumped["num_classes"] == 10
    assert dumped["layers"] == [3, 4, 6, 3] and dumped["block"] == "bottleneck"
    # 1000 -> 10 classes: the head shrinks by 2048 x 990 + 990
    assert architecture(config).param_count() == 25_557_032 - 990 * 2049
    assert Config.model_validate(config.model_dump()) == config


@pytest.mark.parametrize(
    ("model", "words"),
    [
        ("{preset: resnet51}", "unknown preset 'resnet51'; did you mean 'resnet50'?"),
        ("{preset: resnet50, family: cnn}", "preset 'resnet50' is a resnet model"),
    ],
)
def test_a_bad_preset_names_file_line_and_field(tmp_path: Path, model: str, words: str) -> None:
    text = f"name: t\nframeworks: [torch]\nmodel: {model}\n"
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text))
    assert info.value.field == "model.preset"
    assert info.value.line == 3
    assert words in str(info.value)


def test_a_field_the_preset_does_not_have_is_an_unknown_field(tmp_path: Path) -> None:
    text = "name: t\nmodel:\n  preset: resnet18\n  heads: 4\n"
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text))
    assert (info.value.field, info.value.line) == ("model.heads", 4)


def test_describe_prints_params_flops_and_memory_per_framework(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, RESNET50)
    started = time.perf_counter()
    assert main(["describe", str(path), "--json"]) == 0
    elapsed = time.perf_counter() - started
    out = json.loads(capsys.readouterr().out)
    config = load_config(path)
    spec = architecture(config)
    assert [fw["framework"] for fw in out["frameworks"]] == ["torch", "tensorflow", "jax"]
    for fw in out["frameworks"]:
        assert fw["params"] == spec.param_count()
        assert fw["flops_per_step"] == 2 * spec.flops_per_sample()
        memory = fw["memory"]
        assert memory["weights_bytes"] == memory["gradients_bytes"] == 4 * spec.param_count()
        assert memory["optimizer_bytes"] == 0  # sgd without momentum keeps no state
        assert memory["total_bytes"] == sum(v for k, v in memory.items() if k != "total_bytes")
    assert out["preset"] == "resnet50" and out["fits"] is True
    assert elapsed < 5.0  # generous on a loaded 2-core machine; typically ~10 ms here
    assert main(["describe", str(path)]) == 0
    text = capsys.readouterr().out
    assert "preset resnet50" in text and f"{spec.param_count():,}" in text


def test_optimizer_state_and_precision_change_the_estimate(tmp_path: Path) -> None:
    base = load_config(_write(tmp_path, RESNET50))
    adam = Config.model_validate(
        {**base.model_dump(), "train": {**base.train.model_dump(), "optimizer": {"name": "adam"}}}
    )
    bf16 = Config.model_validate(
        {**base.model_dump(), "train": {**base.train.model_dump(), "precision": "bf16"}}
    )
    m, m_adam, m_bf16 = (describe(c).frameworks[0].memory for c in (base, adam, bf16))
    assert m is not None and m_adam is not None and m_bf16 is not None
    assert m_adam.optimizer_bytes == 2 * m.weights_bytes
    assert m_bf16.activations_bytes * 2 == m.activations_bytes


def test_a_custom_model_is_described_as_unknown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    module = _write(tmp_path, "def build_torch(config):\n    pass\n", "m.py")
    config = Config.model_validate(
        {
            "name": "c",
            "frameworks": ["torch"],
            "model": {
                "family": "custom",
                "module": str(module),
                "input_shape": [3],
                "num_classes": 2,
            },
        }
    )
    (fw,) = describe(config).frameworks
    assert (fw.params, fw.flops_per_step, fw.memory) == (None, None, None)
    assert check_memory(config) is None
    text = (
        f"name: c\nframeworks: [torch]\nmodel: {{family: custom, module: {module}, "
        "input_shape: [3], num_classes: 2}\n"
    )
    assert main(["describe", str(_write(tmp_path, text)), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["fits"] is None and out["frameworks"][0]["params"] is None


HUGE = """\
name: huge
frameworks: [torch]
device: cpu
model: {family: mlp, input_dim: 100000, hidden: [100000, 100000], num_classes: 2}
train:
  batch_size: 8
"""


def test_a_config_that_cannot_fit_is_refused_with_the_estimate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _write(tmp_path, HUGE)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    # 2e10 weights: 75 GiB each for weights and gradients, far above any test machine's memory;
    # 2,684 synthetic rows of 1e5 floats (the default within 1 GiB): 1.0 GiB of data
    free = psutil.virtual_memory().available
    assert free < 3 * 4 * 2 * 10**10
    message = str(info.value)
    assert info.value.field == "model" and info.value.line == 4
    assert "training needs about 150.0 GiB" in message and "weights 74.5 GiB" in message
    assert "this machine's memory has" in message
    # describe still describes it, and says it does not fit
    assert main(["describe", str(path)]) == 0
    assert "does not fit: training needs about 150.0 GiB" in capsys.readouterr().out
    assert main(["validate", str(path)]) == 2


def test_activations_that_cannot_fit_blame_the_batch_size() -> None:
    estimate = MemoryEstimate(10, 10, 0, 10**12, 10)
    problem = fits_in_memory(estimate, 10**9, "GPU 0")
    assert problem is not None
    field, message = problem
    assert field == "train.batch_size"
    assert "but GPU 0 has 953.7 MiB free" in message
    assert fits_in_memory(estimate, 10**13, "GPU 0") is None


class FakeNvmlFreeMemory:
    """NVML's boundary for one GPU with ``free`` bytes unallocated: there is no GPU here."""

    class Memory:
        def __init__(self, free: int) -> None:
            self.free, self.total, self.used = free, 2 * free, free

    def __init__(self, free: int) -> None:
        self.free = free

    def nvmlInit(self) -> None: ...
    def nvmlShutdown(self) -> None: ...
    def nvmlDeviceGetCount(self) -> int:
        return 1

    def nvmlDeviceGetHandleByIndex(self, index: int) -> str:
        return f"gpu{index}"

    def nvmlDeviceGetName(self, handle: str) -> str:
        return "Fake GPU"

    def nvmlSystemGetDriverVersion(self) -> str:
        return "0"

    def nvmlDeviceGetMemoryInfo(self, handle: str) -> Any:
        return self.Memory(self.free)


def test_on_cuda_the_gpus_free_memory_decides() -> None:
    config = Config.model_validate(
        {
            "name": "g",
            "device": "cuda",
            "model": {"preset": "resnet50"},
            "train": {"batch_size": 64},
        }
    )
    small = check_memory(config, GpuMonitor(nvml=FakeNvmlFreeMemory(4 * 2**30)))
    assert small is not None
    assert small[0] == "train.batch_size" and "but GPU 0 has 4.0 GiB free" in small[1]
    assert check_memory(config, GpuMonitor(nvml=FakeNvmlFreeMemory(80 * 2**30))) is None


def test_parse_config_can_skip_the_memory_check() -> None:
    config = parse_config(HUGE, ".yaml", check_memory=False)
    assert config.model.family == "mlp"


def test_param_mismatch_words() -> None:
    assert param_mismatch(23, "torch", 23) is None
    assert param_mismatch(None, "torch", 5) is None
    text = param_mismatch(23, "jax", 22)
    assert text is not None and "jax built 22 trainable parameters" in text and "23" in text


def test_a_run_reporting_another_parameter_count_is_flagged(store: Store) -> None:
    # tiny_config's MLP 4 -> 3 -> 2 has 23 parameters
    config = tiny_config(["params-23", "params-22"])
    session = ComparisonSession(
        config, store, options=RunOptions(worker_module="tests.profiler.misbehaving_worker")
    )
    assert session.expected_params == 23
    session.run()
    runs = {r.framework: r for r in store.load(session.session_id or -1).runs}
    assert not any("trainable" in w for w in runs["params-23"].info["warnings"])
    (warning,) = [w for w in runs["params-22"].info["warnings"] if "trainable" in w]
    assert "built 22 trainable parameters but the architecture has 23" in warning


def test_npz_images_for_a_preset_are_nhwc(tmp_path: Path) -> None:
    import numpy as np

    labels = np.arange(6) % 10
    np.savez(tmp_path / "nhwc.npz", x=np.zeros((6, 32, 32, 3), np.float32), y=labels)
    np.savez(tmp_path / "nchw.npz", x=np.zeros((6, 3, 32, 32), np.float32), y=labels)
    text = "name: t\nmodel: {preset: resnet20}\ndata: {kind: npz, path: %s}\n"
    config = load_config(_write(tmp_path, text % "nhwc.npz"))
    memory = describe(config).frameworks[0].memory
    assert memory is not None
    # the file's 6 rows fill no batch of 64: one batch, rows repeated (make_batches)
    assert memory.data_bytes == 64 * (32 * 32 * 3 * 4 + 8)
    with pytest.raises(ConfigError) as info:
        load_config(_write(tmp_path, text % "nchw.npz"))
    assert info.value.field == "data.path"
    assert "x has shape (6, 3, 32, 32); the model needs (N > 0, 32, 32, 3)" in str(info.value)


def test_the_session_stores_the_resolved_preset_and_checks_its_count(store: Store) -> None:
    config = Config.model_validate(
        {
            "name": "p",
            "model": {"preset": "resnet20", "num_classes": 4},
            "train": {"batch_size": 8, "steps": 5, "warmup_steps": 0},
            "run": {"sample_hz": 20},
        }
    ).model_copy(update={"frameworks": ["params-272214"]})
    session = ComparisonSession(
        config, store, options=RunOptions(worker_module="tests.profiler.misbehaving_worker")
    )
    # 272,474 with 10 classes; 4 classes drop 6 x 65 head parameters
    assert session.expected_params == 272_474 - 6 * 65 == 272_084
    session.run()
    stored = store.load(session.session_id or -1)
    model = stored.config["model"]
    assert model["preset"] == "resnet20" and model["num_classes"] == 4
    assert model["layers"] == [3, 3, 3] and model["stem"] == "cifar"
    (run,) = stored.runs
    assert any("built 272,214 trainable parameters" in w for w in run.info["warnings"])
