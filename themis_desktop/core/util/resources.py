"""Find bundled resource files, from a source checkout or a PyInstaller build."""

from __future__ import annotations

import sys
from pathlib import Path


def root() -> Path:
    """The folder that holds `resources/` and `guides/`."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return Path(frozen)
    return Path(__file__).resolve().parents[3]


def resource(*parts: str) -> Path:
    """Path of a file under `resources/`."""
    return root().joinpath("resources", *parts)


def guides_dir() -> Path:
    """The folder of bundled migration guides."""
    return root() / "guides"
