"""An .npz file that inflates far beyond its size: only the rows used are inflated, and what
would not fit in memory is refused with a message. Real zip files, a real child process."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from tests.workloads.helpers import ROOT, child_env
from workloads.architectures import MLPSpec
from workloads.data import load_npz
from workloads.spec import SpecError

COLS = 16
ROWS = 200 * 2**20 // (COLS * 4)  # x inflates to 200 MiB of float32 zeros
MLP = MLPSpec(input_dim=COLS, hidden=(4,), activation="relu", dropout=0.0, num_classes=2)


def _write_member(archive: zipfile.ZipFile, name: str, dtype: str, shape: tuple[int, ...]) -> None:
    """A zeros array streamed into the zip a MiB at a time, so the test never holds it."""
    header = {"descr": np.dtype(dtype).str, "fortran_order": False, "shape": shape}
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    with archive.open(name, "w", force_zip64=True) as fh:
        np.lib.format.write_array_header_1_0(fh, header)
        chunk = bytes(2**20)
        for start in range(0, nbytes, len(chunk)):
            fh.write(chunk[: min(len(chunk), nbytes - start)])


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few hundred KiB on disk, 200 MiB of x (and 25 MiB of y labels) when inflated."""
    path = tmp_path_factory.mktemp("npz") / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        _write_member(archive, "x.npy", "<f4", (ROWS, COLS))
        _write_member(archive, "y.npy", "<i8", (ROWS,))
    assert path.stat().st_size < 2 * 2**20
    return path


def test_only_the_rows_used_are_inflated(bomb: Path) -> None:
    """The child reading 64 rows stays far below the 225 MiB the arrays inflate to."""
    script = (
        "import sys\n"
        "from workloads.architectures import MLPSpec\n"
        "from workloads.data import load_npz\n"
        f"mlp = MLPSpec(input_dim={COLS}, hidden=(4,), activation='relu', dropout=0.0, "
        "num_classes=2)\n"
        "x, y = load_npz(sys.argv[1], mlp, samples=64, loss='cross_entropy')\n"
        # VmHWM: this process image's peak RSS (ru_maxrss would include the forking parent's)
        "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
        "print(x.shape, y.shape, int(hwm.split()[1]) // 1024)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(bomb)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=child_env(bomb.parent),
        timeout=120,
        check=True,
    )
    x_shape, y_shape, peak_mib = done.stdout.rsplit(" ", 1)[0], None, int(done.stdout.split()[-1])
    assert x_shape == f"(64, {COLS}) (64,)", (x_shape, y_shape)
    assert peak_mib < 120, f"peak RSS {peak_mib} MiB while reading 64 rows"


def test_data_that_would_not_fit_in_memory_is_refused_before_inflating(bomb: Path) -> None:
    with pytest.raises(SpecError, match=r"inflate to 225 MiB .* more than half the 400 MiB"):
        load_npz(str(bomb), MLP, samples=None, loss="cross_entropy", available_bytes=400 * 2**20)
    x, _ = load_npz(str(bomb), MLP, samples=8, loss="cross_entropy", available_bytes=400 * 2**20)
    assert x.shape == (8, COLS) and x.dtype == np.float32 and not x.any()


def test_a_forged_array_header_is_refused(tmp_path: Path) -> None:
    """A header that claims far more data than the member inflates to is not believed."""
    path = tmp_path / "forged.npz"
    with zipfile.ZipFile(path, "w") as archive:
        with archive.open("x.npy", "w") as fh:
            header = {"descr": "<f4", "fortran_order": False, "shape": (10**9, COLS)}
            np.lib.format.write_array_header_1_0(fh, header)
            fh.write(bytes(64))
        _write_member(archive, "y.npy", "<i8", (4,))
    with pytest.raises(SpecError, match="damaged or forged"):
        load_npz(str(path), MLP, samples=2, loss="cross_entropy")


def test_fortran_order_arrays_still_load(tmp_path: Path) -> None:
    path = tmp_path / "f.npz"
    x = np.asfortranarray(np.arange(5 * COLS, dtype=np.float32).reshape(5, COLS))
    np.savez_compressed(path, x=x, y=np.array([0, 1, 0, 1, 1]))
    xs, ys = load_npz(str(path), MLP, samples=3, loss="cross_entropy")
    assert xs.tolist() == x[:3].tolist() and ys.tolist() == [0, 1, 0]
