"""Review mode: a colleague's journal shown read-only, with nothing that could change a server.

The journal is first copied consistently (read-only, or as immutable when no app has it
open, so not even `-wal`/`-shm` files appear beside it) into a private folder; the window
then reads that copy through a read-only `TaskManager`, so every write attempt fails.
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from themis_desktop.core.connection import profile_store
from themis_desktop.core.connection.profiles import Profile
from themis_desktop.core.connection.secrets import TokenStore
from themis_desktop.core.journal.export import snapshot
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.upgrade import session_store
from themis_desktop.core.upgrade.session import UpgradeSession
from themis_desktop.ui.app import _close_on_signals, application
from themis_desktop.ui.excepthook import install_excepthook
from themis_desktop.ui.main_window import MainWindow
from themis_desktop.ui.models.workspace import Workspace
from themis_desktop.ui.pages.timeline import profile_label
from themis_desktop.ui.review_file import ReviewError as ReviewError
from themis_desktop.ui.review_file import check_journal as check_journal
from themis_desktop.ui.tasks import TaskManager

SNAPSHOT_NAME = "review.sqlite"


class NoTokens(TokenStore):
    """A review reads no token from the keyring and keeps none."""

    persistent = True  # nothing to warn about: no token is ever needed

    def get(self, profile: str) -> str | None:
        return None

    def set(self, profile: str, token: str | None, persist: bool = True) -> bool:
        return False


def prepare_snapshot(path: str | Path, folder: Path) -> Path:
    """Check `path`, copy it into `folder` and bring the copy to this app's schema."""
    check_journal(path)
    copy = folder / SNAPSHOT_NAME
    try:
        snapshot(Path(path), copy, immutable_if_closed=True)
        Journal(copy).close()  # migrates the copy of an older app's journal
        conn = sqlite3.connect(copy)
        conn.execute("PRAGMA journal_mode = DELETE")  # read-only readers leave no -wal/-shm
        conn.close()
    except sqlite3.DatabaseError as exc:
        raise ReviewError(f"{path} cannot be read completely ({exc}).") from exc
    return copy


@dataclass(frozen=True)
class Reviewed:
    """What a review shows: the journal's newest session and the profile to show it with.
    A session whose profile was deleted gets a stand-in with the name it kept (no nodes:
    they went with the profile), so its backups, metrics and rollouts, kept by that name,
    are still shown."""

    profile: Profile | None
    session: UpgradeSession | None
    profile_deleted: bool = False

    @property
    def label(self) -> str:
        """`lab`, or `profile lab (deleted)`; `profile unknown` when no name was kept."""
        if self.session is not None and self.profile_deleted:
            name = profile_label(self.session)
            return f"profile {name}" if self.session.profile else name
        return self.profile.name if self.profile else "?"


def _newest(journal: Journal) -> Reviewed:
    """The newest session that knows its profile (else the newest at all), and its profile;
    without sessions, the first profile."""
    sessions = session_store.load_all(journal)
    chosen = next((s for s in reversed(sessions) if s.profile_id or s.profile), None)
    chosen = chosen or (sessions[-1] if sessions else None)
    if chosen is None:
        profiles = profile_store.load_all(journal)
        return Reviewed(profiles[0] if profiles else None, None)
    session = UpgradeSession.load(journal, chosen.id)
    if chosen.profile_id is not None:
        profile = next(
            (p for p in profile_store.load_all(journal) if p.id == chosen.profile_id), None
        )
        if profile is not None:
            return Reviewed(profile, session)
    stand_in = Profile(session.profile) if session.profile else None
    return Reviewed(stand_in, session, profile_deleted=True)


def build_review_window(path: str | Path) -> MainWindow:
    """The main window on a read-only snapshot of the journal at `path` (not shown yet).

    Raises `ReviewError` for a missing file or a file that is not a journal.
    """
    folder = tempfile.TemporaryDirectory(prefix="themis-review-")
    try:
        copy = prepare_snapshot(path, Path(folder.name))
    except BaseException:
        folder.cleanup()
        raise
    tasks = TaskManager(copy, read_only=True)
    workspace = Workspace(tasks, NoTokens())
    window = MainWindow(workspace, review_of=Path(path).name)
    window.setWindowFilePath(str(path))
    tasks.setParent(window)
    workspace.setParent(window)
    window.review_folder = folder  # removed when the window closes
    window.sig_closing.connect(folder.cleanup)

    def show(found: Reviewed) -> None:
        profile, session = found.profile, found.session
        if session is not None:
            workspace.upgrade.pinned = session.id  # shown whether its profile exists or not
        if profile is not None:
            workspace.connect_profile(profile)  # read-only: loads, never connects
        elif session is not None:
            workspace.upgrade.reload()
        if session is not None:
            workspace.set_session(session.id)
            _show_path(window, session)
        if found.profile_deleted:
            window.header.profile_label.setText(found.label)
            window.header.profile_label.setToolTip(
                "This profile was deleted from the journal after the session; the session, "
                "its backups, metrics and events are kept, its nodes' addresses are not."
            )
        window.review_loaded = found
        window.statusBar().showMessage(
            f"Reviewing {path} read-only"
            + (f": session {session.id} of {found.label}" if session else ""),
            10_000,
        )

    tasks.run_journal(
        _newest,
        on_done=show,
        on_failed=lambda exc: window.statusBar().showMessage(f"The journal cannot be read: {exc}"),
    )
    return window


def _show_path(window: MainWindow, session: UpgradeSession) -> None:
    """The Versions page shows the session's path."""
    versions = window.pages["versions"]
    versions.skip_check.setChecked(len(session.hops) == 1)
    versions.from_edit.setText(session.session.from_version)
    versions.to_edit.setText(session.session.to_version)
    versions.refresh()


def run_review(path: str) -> int:
    """`themis-desktop --review JOURNAL`: 0 when the window was closed, 2 for a bad file."""
    try:
        check_journal(path)
    except ReviewError as exc:
        print(f"themis-desktop: {exc}", file=sys.stderr)
        return 2
    app = application()
    try:
        window = build_review_window(path)
    except ReviewError as exc:
        print(f"themis-desktop: {exc}", file=sys.stderr)
        return 2
    install_excepthook(app)  # logged and shown, as in the app (the process ends with exec)
    window.show()
    _close_on_signals(app)
    return app.exec()
