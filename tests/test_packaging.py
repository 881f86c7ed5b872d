"""The PyInstaller build: `packaging/build.sh` makes a bundle that starts and passes its
self-test. Slow (about a minute), but part of the default suite: it is the only test that
catches a module, plugin or data file missing from the bundle."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.version import Version

from themis_desktop import __version__

ROOT = Path(__file__).resolve().parents[1]


def test_the_version_is_written_once() -> None:
    """themis_desktop.__version__ is the one version: pyproject.toml reads it from there,
    and the installed package's metadata says the same (if not: the install predates a
    version bump, run `scripts/setup.sh` or `pip install -e .` again)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"], "pyproject.toml must not repeat the version"
    assert "version" in project["project"]["dynamic"]
    dynamic = project["tool"]["setuptools"]["dynamic"]["version"]
    assert dynamic == {"attr": "themis_desktop.__version__"}
    assert str(Version(__version__)) == __version__  # a plain PEP 440 version
    assert importlib.metadata.version("themis-desktop") == __version__


def _has_pyinstaller() -> bool:
    probe = subprocess.run([sys.executable, "-c", "import PyInstaller"], capture_output=True)
    return probe.returncode == 0


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> Iterator[Path]:
    """Build once for this module into a temporary dist folder (removed afterwards: 300 MB)."""
    base = tmp_path_factory.mktemp("pyinstaller")
    dist, work = base / "dist", base / "work"
    started = time.monotonic()
    built = subprocess.run(
        [
            "bash",
            str(ROOT / "packaging" / "build.sh"),
            *("--python", sys.executable),
            *("--distpath", str(dist), "--workpath", str(work)),
        ],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    if built.returncode != 0 and not _has_pyinstaller():
        pytest.skip(f"PyInstaller cannot be installed here: {built.stderr.strip()[-500:]}")
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    print(f"\n{built.stdout.strip().splitlines()[-1]} [{time.monotonic() - started:.0f} s]")
    executable = (
        dist / "themis-desktop" / ("themis-desktop.exe" if os.name == "nt" else "themis-desktop")
    )
    assert executable.is_file()
    yield executable
    shutil.rmtree(base, ignore_errors=True)


def _run(executable: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(
        [str(executable), *args], capture_output=True, text=True, timeout=120, env=env
    )


@pytest.mark.slow
def test_bundle_prints_its_version(bundle):
    result = _run(bundle, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"themis-desktop {__version__}"


@pytest.mark.slow
def test_bundle_passes_its_self_test(bundle):
    result = _run(bundle, "--self-test")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ok window (offscreen")
    assert lines[1].startswith("ok guide v1.7-to-v1.8 (") and "KiB HTML" in lines[1]
    assert lines[2].startswith("ok libraries")
    assert lines[-1] == "self-test passed"
    assert "Traceback" not in result.stderr
