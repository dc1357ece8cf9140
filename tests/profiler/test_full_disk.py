"""A full disk, for real: the store on a small tmpfs in a private mount namespace.

Needs root (CI and this project's machines run as root); skipped elsewhere, with the reason.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

CONFIG = """\
name: fill
frameworks: [torch]
threads: 1
model: {family: mlp, input_dim: 16, hidden: [8], num_classes: 3}
data: {samples: 64}
train: {batch_size: 8, steps: 100000000, warmup_steps: 2, window_steps: 1}
run: {sample_hz: 50}
"""

# Runs inside `unshare --mount`: the tmpfs vanishes with the namespace, nothing leaks out.
SCRIPT = """
set -u
mount --make-rprivate / && mount -t tmpfs -o size={size} tmpfs "$MNT" || exit 99
"$PY" -m profiler run "$CFG" --store "$MNT/s.sqlite3" >"$OUT/stdout" 2>"$OUT/stderr" &
pid=$!
if [ "{fill}" = yes ]; then
  for _ in $(seq 600); do
    n=$("$PY" -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]);
print(c.execute(\\"select count(*) from events where kind='window'\\").fetchone()[0])" \
      "$MNT/s.sqlite3" 2>/dev/null || echo 0)
    [ "$n" -ge 20 ] && break
    sleep 0.1
  done
  dd if=/dev/zero of="$MNT/filler" bs=64k 2>/dev/null
fi
wait $pid
echo $? >"$OUT/rc"
[ "{fill}" = yes ] && rm -f "$MNT/filler"
cp "$MNT"/s.sqlite3* "$OUT/" 2>/dev/null
exit 0
"""


def _run_on_tmpfs(tmp_path: Path, size: str, fill: bool) -> tuple[int, str]:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare to mount a small tmpfs in a private namespace")
    mnt, out = tmp_path / "mnt", tmp_path / "out"
    mnt.mkdir()
    out.mkdir()
    cfg = tmp_path / "fill.yaml"
    cfg.write_text(CONFIG)
    env = {**os.environ, "MNT": str(mnt), "OUT": str(out), "CFG": str(cfg), "PY": sys.executable}
    script = SCRIPT.format(size=size, fill="yes" if fill else "no")
    res = subprocess.run(
        ["unshare", "--mount", "bash", "-c", script], env=env, timeout=240, check=False
    )
    if res.returncode == 99:
        pytest.skip("cannot mount a tmpfs here")
    return int((out / "rc").read_text()), (out / "stderr").read_text()


@pytest.mark.slow
def test_a_nearly_full_disk_is_refused_before_any_run(tmp_path: Path) -> None:
    rc, stderr = _run_on_tmpfs(tmp_path, "2m", fill=False)
    assert rc == 2
    (line,) = stderr.strip().splitlines()
    assert line.startswith("frameduel: error: only 2 MiB free on the disk of ")
    assert "--store" in line


@pytest.mark.slow
def test_a_disk_filling_up_mid_run_stops_cleanly_and_keeps_what_was_recorded(
    tmp_path: Path,
) -> None:
    rc, stderr = _run_on_tmpfs(tmp_path, "80m", fill=True)
    assert rc == 1, stderr[-2000:]
    assert "could not write to the store" in stderr
    assert "full" in stderr and "everything recorded before the failure is kept" in stderr
    with sqlite3.connect(tmp_path / "out" / "s.sqlite3") as conn:
        windows = conn.execute("SELECT count(*) FROM events WHERE kind='window'").fetchone()[0]
    assert windows >= 20
