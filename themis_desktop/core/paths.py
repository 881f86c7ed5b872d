"""Where the app keeps its own files (journal, settings, demo data)."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "themis-desktop"


def app_data_dir() -> Path:
    """The user data folder; `THEMIS_DESKTOP_HOME` overrides it (tests, portable use)."""
    override = os.environ.get("THEMIS_DESKTOP_HOME")
    path = (
        Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def journal_path() -> Path:
    return app_data_dir() / "journal.sqlite"
