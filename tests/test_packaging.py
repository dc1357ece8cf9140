"""What a user installs: the wheel's contents, the desktop entry, AppStream data, and an installed
FrameDuel that notices when another distribution's ``profiler`` (a real name on the package index)
writes over its files. Real tools throughout: pip, desktop-file-validate, appstreamcli."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
DESKTOP = PACKAGING / "frameduel.desktop"
METAINFO = PACKAGING / "org.frameduel.FrameDuel.metainfo.xml"


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is missing: `make setup` installs it (Makefile DEB_PACKAGES)"
    return path


def test_the_desktop_entry_validates_and_opens_configs() -> None:
    run = subprocess.run(
        [_tool("desktop-file-validate"), str(DESKTOP)], check=False, capture_output=True, text=True
    )
    assert run.returncode == 0 and "error" not in run.stdout, run.stdout + run.stderr
    entry = dict(line.split("=", 1) for line in DESKTOP.read_text().splitlines() if "=" in line)
    assert entry["Exec"] == "frameduel gui %F"
    mime = set(entry["MimeType"].rstrip(";").split(";"))
    assert {"application/yaml", "application/toml", "application/json"} <= mime


def test_the_appstream_metainfo_validates() -> None:
    run = subprocess.run(
        [_tool("appstreamcli"), "validate", "--no-net", str(METAINFO)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert '<launchable type="desktop-id">frameduel.desktop</launchable>' in METAINFO.read_text()


def _clean_env(**extra: str) -> dict[str, str]:
    """This environment without PYTHONPATH (a checkout on it looks installed to pip), plus extra."""
    return {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, **extra}


def _build_wheel(source: Path, out: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
        capture_output=True,
        env=_clean_env(PIP_NO_INDEX="1"),
    )
    (wheel,) = out.glob("*.whl")
    return wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    # Built from a copy: setuptools writes build/ and *.egg-info beside the sources.
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    skip = (".venv", ".git", ".cache", "out", "build", "*.egg-info", "__pycache__", "docs", "tests")
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(*skip))
    yield _build_wheel(src, work / "dist")


def test_the_wheel_ships_every_package_resources_desktop_entry_and_licence(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = {
        p.parent.relative_to(ROOT).as_posix()
        for top in ("profiler", "workloads", "gui")
        for p in (ROOT / top).rglob("__init__.py")
    }
    missing = sorted(p for p in packages if f"{p}/__init__.py" not in names)
    assert not missing, f"packages missing from the wheel (pyproject [tool.setuptools]): {missing}"
    for resource in (ROOT / "resources").rglob("*"):
        if resource.is_file() and "__pycache__" not in resource.parts:
            rel = resource.relative_to(ROOT / "resources").as_posix()
            assert f"profiler/resources/{rel}" in names, rel
    data = "frameduel-0.1.0.data/data/share"
    assert f"{data}/applications/frameduel.desktop" in names
    assert f"{data}/metainfo/{METAINFO.name}" in names
    assert f"{data}/icons/hicolor/scalable/apps/frameduel.svg" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


def test_the_sdist_carries_resources_packaging_and_licence_into_its_wheel(
    tmp_path: Path,
) -> None:
    """pip builds a wheel from the sdist when no wheel fits: nothing may be lost on the way."""
    src = tmp_path / "src"
    skip = (".venv", ".git", ".cache", "out", "build", "dist", "*.egg-info", "__pycache__")
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(*skip))
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--no-isolation", "-o", str(tmp_path / "sd"),
         str(src)],
        check=True,
        capture_output=True,
        env=_clean_env(),
    )  # fmt: skip
    (sdist,) = (tmp_path / "sd").glob("frameduel-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
        tar.extractall(tmp_path / "unpacked", filter="data")
    for needed in ("LICENSE", "README.md", "packaging/frameduel.desktop", METAINFO.name):
        assert needed in names or f"packaging/{needed}" in names, needed
    for resource in (ROOT / "resources").rglob("*"):
        if resource.is_file() and "__pycache__" not in resource.parts:
            assert resource.relative_to(ROOT).as_posix() in names
    (unpacked,) = (tmp_path / "unpacked").iterdir()
    wheel = _build_wheel(unpacked, tmp_path / "wheel")
    inside = set(zipfile.ZipFile(wheel).namelist())
    assert "profiler/resources/configs/demo-mlp.yaml" in inside
    assert "profiler/resources/icons/frameduel.svg" in inside


def _venv_with(tmp_path: Path, *wheels: Path) -> Path:
    """A virtualenv (no pip of its own; made on first use) with ``wheels`` installed by this pip."""
    venv = tmp_path / "venv"
    if not venv.exists():
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    for w in wheels:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "--python",
                str(python),
                "install",
                "-q",
                "--no-deps",
                "--no-index",
                str(w),
            ],
            check=True,
            capture_output=True,
            env=_clean_env(),
        )
    return python


_REPORT = """
import json
from profiler.install_check import claimants, problems
from profiler.paths import resources_dir
print(json.dumps({"problems": problems(), "claimants": claimants(),
                  "resources": str(resources_dir())}))
"""


def _report(python: Path, **env: str) -> dict[str, Any]:
    run = subprocess.run(
        [str(python), "-c", _REPORT],
        capture_output=True,
        text=True,
        check=True,
        env=_clean_env(**env),
        cwd=python.parent,
    )
    result: dict[str, Any] = json.loads(run.stdout)
    return result


def test_an_installed_frameduel_finds_its_resources_and_notices_a_foreign_profiler(
    wheel: Path, tmp_path: Path
) -> None:
    python = _venv_with(tmp_path, wheel)
    sound = _report(python)
    assert sound["problems"] == [] and sound["claimants"] == {}
    resources = Path(sound["resources"])
    assert "site-packages" in resources.parts
    assert (resources / "icons" / "frameduel.svg").is_file()
    assert (resources / "configs" / "demo-mlp.yaml").is_file()

    # A foreign `workloads` first on the path: FrameDuel would send someone else's code to its
    # children.
    foreign = tmp_path / "elsewhere" / "workloads"
    foreign.mkdir(parents=True)
    (foreign / "__init__.py").write_text("")
    shadowed = _report(python, PYTHONPATH=str(foreign.parent))
    assert any("another package named 'workloads'" in p for p in shadowed["problems"])

    # A distribution called `profiler` (as on the public index) installed beside FrameDuel
    # writes over profiler/__init__.py: pip says nothing, FrameDuel now does.
    impostor = tmp_path / "impostor"
    (impostor / "profiler").mkdir(parents=True)
    (impostor / "profiler" / "__init__.py").write_text("IMPOSTOR = True\n")
    (impostor / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "profiler"\nversion = "9.9"\n'
        '[tool.setuptools]\npackages = ["profiler"]\n'
    )
    _venv_with(tmp_path, _build_wheel(impostor, tmp_path / "impostor-dist"))
    broken = _report(python)
    assert any(
        "profiler/__init__.py is not the file FrameDuel installed" in p for p in broken["problems"]
    ), broken
    assert broken["claimants"] == {"profiler": ["profiler"]}
