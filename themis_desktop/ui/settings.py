"""Preferences in QSettings, and the one helper that saves and restores window state."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow, QWidget

ORGANIZATION = "themis-desktop"
APPLICATION = "themis-desktop"


def settings() -> QSettings:
    """The app's settings store (an INI file in the user's config folder)."""
    return QSettings(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANIZATION, APPLICATION
    )


def backup_folder() -> Path:
    """Where backups go (the Backups page's folder; the data folder by default)."""
    from themis_desktop.core.util.paths import default_backup_dir

    return Path(settings().value("backup_dir") or default_backup_dir())


def _target_key(profile: str) -> str:
    return "upgrade_target/" + quote(profile, safe="")  # a "/" in a name is no subgroup


def remembered_target(profile: str) -> str:
    """The upgrade target chosen for `profile` on the Versions page; "" when none was."""
    return str(settings().value(_target_key(profile), "") or "")


def remember_target(profile: str, target: str) -> None:
    """Keep `target` for `profile` ("" forgets it: the next minor line is proposed again)."""
    store = settings()
    if target:
        store.setValue(_target_key(profile), target)
    else:
        store.remove(_target_key(profile))


def save_window_state(widget: QWidget, key: str) -> None:
    store = settings()
    store.setValue(f"{key}/geometry", widget.saveGeometry())
    if isinstance(widget, QMainWindow):
        store.setValue(f"{key}/state", widget.saveState())


def restore_window_state(widget: QWidget, key: str) -> bool:
    """Restore geometry (and dock/toolbar state); False when nothing was saved."""
    store = settings()
    geometry = store.value(f"{key}/geometry")
    if not isinstance(geometry, QByteArray | bytes) or not widget.restoreGeometry(geometry):
        return False
    state = store.value(f"{key}/state")
    if isinstance(widget, QMainWindow) and isinstance(state, QByteArray | bytes):
        widget.restoreState(state)
    return True
