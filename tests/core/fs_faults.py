"""Real file-system faults for tests: a tiny disk that fills up, a folder mounted read-only.

Both need mount(8), which needs root (CI runs as root). Elsewhere the tests that use them
skip, saying why: chmod cannot stand in, since root writes through it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, timeout=30)


def _can_mount() -> bool:
    return os.geteuid() == 0 and (os.path.exists("/bin/mount") or os.path.exists("/usr/bin/mount"))


@contextlib.contextmanager
def small_disk(path: Path, size: str = "2m") -> Iterator[Path]:
    """`path` as a tmpfs of `size`: writes beyond it fail with ENOSPC."""
    if not _can_mount():
        pytest.skip("needs root to mount a small file system")
    path.mkdir(parents=True, exist_ok=True)
    try:
        _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path))
    except (subprocess.CalledProcessError, OSError) as exc:
        pytest.skip(f"cannot mount a tmpfs here: {exc}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[Path]:
    """`path` bind-mounted read-only over itself: even root gets EROFS there."""
    if not _can_mount():
        pytest.skip("needs root to mount a folder read-only")
    try:
        _mount("--bind", str(path), str(path))
        _mount("-o", "remount,bind,ro", str(path))
    except (subprocess.CalledProcessError, OSError) as exc:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)
        pytest.skip(f"cannot mount read-only here: {exc}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)
