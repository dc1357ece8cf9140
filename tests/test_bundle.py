"""The desktop bundle (PyInstaller, no framework inside) built for real, then used: `doctor`, a
headless comparison and the app, offscreen, running the demo through this checkout's own
interpreter (the user's framework environment, as far as the bundle knows)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEMO = """\
name: bundle-demo
frameworks: [torch, tensorflow]
threads: 1
model: {family: mlp, input_dim: 20, hidden: [16], num_classes: 4}
data: {kind: synthetic, samples: 256}
train: {batch_size: 16, steps: 40, warmup_steps: 5}
run: {repeats: 1}
"""


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    work = tmp_path_factory.mktemp("bundle")
    build = subprocess.run(
        [str(ROOT / "packaging" / "bundle.sh"), str(work / "dist"), str(work / "build")],
        capture_output=True,
        text=True,
        timeout=1500,
        env={**os.environ, "PYTHON": sys.executable},
        check=False,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    exe = work / "dist" / "frameduel" / "frameduel"
    assert exe.is_file()
    yield exe


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # The bundle's runs use the user's interpreter; here: this checkout's, which has the frameworks.
    return {
        **env,
        "FRAMEDUEL_PYTHON": sys.executable,
        "XDG_CONFIG_HOME": str(tmp / "config"),
        **extra,
    }


@pytest.mark.slow
def test_the_bundle_has_no_framework_and_runs_the_demo_in_the_users_interpreter(
    bundle: Path, tmp_path: Path
) -> None:
    internal = bundle.parent / "_internal"
    for framework in ("torch", "tensorflow", "jax"):
        assert not (internal / framework).exists(), f"{framework} was bundled"
    store = tmp_path / "s.sqlite3"
    doctor = subprocess.run(
        [str(bundle), "doctor", "--json", "--store", str(store)],
        capture_output=True, text=True, timeout=300, env=_env(tmp_path), check=False,
    )  # fmt: skip
    assert doctor.returncode == 0, doctor.stderr
    found = json.loads(doctor.stdout)
    assert found["frameworks"]["torch"]["available"] is True
    assert found["frameworks"]["torch"]["python"] == sys.executable

    config = tmp_path / "demo.yaml"
    config.write_text(DEMO)
    run = subprocess.run(
        [str(bundle), "run", str(config), "--store", str(store), "--json", "-"],
        capture_output=True, text=True, timeout=600, env=_env(tmp_path), check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert {r["status"] for r in json.loads(run.stdout)["runs"]} == {"ok"}


@pytest.mark.slow
def test_the_bundles_app_runs_the_demo_offscreen_and_quits_cleanly(
    bundle: Path, tmp_path: Path
) -> None:
    config = tmp_path / "demo.yaml"
    config.write_text(DEMO)
    store = tmp_path / "app.sqlite3"
    app = subprocess.Popen(
        [str(bundle), "gui", str(config), "--run", "--store", str(store)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=_env(tmp_path, QT_QPA_PLATFORM="offscreen"),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 400
        status = None
        while time.monotonic() < deadline and app.poll() is None:
            time.sleep(1.0)
            if store.exists():
                with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as db:
                    try:
                        row = db.execute("SELECT status FROM sessions ORDER BY id DESC").fetchone()
                    except sqlite3.Error:
                        row = None
                status = row[0] if row else None
                if status not in (None, "running"):
                    break
        assert app.poll() is None, app.communicate()[0][-3000:]
        assert status == "ok", f"session status {status}"
        app.send_signal(signal.SIGINT)  # Ctrl+C in the terminal: the window closes
        out, _ = app.communicate(timeout=60)
        assert app.returncode == 0, out[-3000:]
    finally:
        if app.poll() is None:
            app.kill()
            app.communicate()
