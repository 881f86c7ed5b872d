"""The main window: header of nodes, sidebar of pages, status bar."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from themis_desktop import __version__
from themis_desktop.core.connection.profiles import Profile
from themis_desktop.core.server.node_status import NodeStatus
from themis_desktop.ui.lazy_pages import PAGES, LazyPages
from themis_desktop.ui.models.workspace import Workspace
from themis_desktop.ui.review_file import ReviewError, check_journal, start_review_process
from themis_desktop.ui.settings import restore_window_state, save_window_state, settings
from themis_desktop.ui.widgets.countdown_follower import CountdownFollower
from themis_desktop.ui.widgets.node_strip import NodeStrip

if TYPE_CHECKING:
    from themis_desktop.ui.dialogs.connection import ConnectionDialog

WINDOW_KEY = "main_window"
NOTICE_S = 30.0  # how long a notice stays in the status bar, routine messages held back


class MainWindow(QMainWindow):
    sig_closing = Signal()

    def __init__(self, workspace: Workspace, review_of: str | None = None) -> None:
        """`review_of`: the journal file shown read-only (the workspace is read-only too)."""
        super().__init__()
        self.workspace = workspace
        self.review_of = review_of
        self.setWindowTitle("Themis Desktop")
        self.setMinimumSize(QSize(720, 480))

        self.header = NodeStrip()
        self.header.connect_button.clicked.connect(self.open_connection_dialog)
        self.sidebar = QListWidget(objectName="sidebar")
        self.sidebar.setFixedWidth(190)
        self.stack = QStackedWidget()
        # each page is built the first time it is shown or asked for (`self.pages[key]`)
        self.pages = LazyPages(self.stack, workspace, self._on_page_built)
        for spec in PAGES:
            self.pages.add(spec)
            self._add_sidebar_item(spec.key)
        self.pages["overview"]  # the first page: cheap, and shown at once
        self.countdown_follower = CountdownFollower(  # the session's or a rollout's window
            self.header.countdown, workspace.upgrade, workspace.rollouts, workspace.tasks
        )
        self.header.show_connecting(workspace.connecting)  # "Starting the demo instance…"
        workspace.sig_connecting.connect(self.header.show_connecting)
        workspace.upgrade.sig_health.connect(self.header.show_health)  # the session's one state
        self.header.countdown.sig_band_changed.connect(self._notify_band)
        self.sidebar.currentRowChanged.connect(self._on_sidebar_current_row_changed)

        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        body.addWidget(self.sidebar)
        body.addWidget(self.stack, 1)
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(self.header)
        outer.addLayout(body, 1)
        self.setCentralWidget(central)

        self.poll_label = QLabel("")
        self.statusBar().addPermanentWidget(self.poll_label)
        if not workspace.tokens.persistent:
            warning = QLabel("No OS keyring: tokens are kept in memory only")
            warning.setObjectName("muted")
            self.statusBar().addPermanentWidget(warning)
        if workspace.read_only:
            self.header.connect_button.setEnabled(False)
            self.statusBar().addPermanentWidget(QLabel("Read-only review: nothing can change"))
        self._build_menus()

        workspace.sig_profile_changed.connect(self._on_workspace_profile_changed)
        workspace.sig_node_status.connect(self._on_workspace_node_status)
        self._notice_until = 0.0
        workspace.sig_message.connect(self._show_message)
        workspace.sig_notice.connect(self._show_notice)
        self._on_workspace_profile_changed(workspace.profile)
        self._restore()

    def _show_message(self, text: str) -> None:
        """A routine message, for 5 s; it never hides a notice still being shown."""
        if time.monotonic() >= self._notice_until:
            self.statusBar().showMessage(text, 5000)

    def _show_notice(self, text: str) -> None:
        """A message that must be read (e.g. an interrupted restore finished): 30 s, not
        replaced by routine ones meanwhile."""
        self._notice_until = time.monotonic() + NOTICE_S
        self.statusBar().showMessage(text, int(NOTICE_S * 1000))

    def add_page(self, key: str, page: QWidget) -> None:
        """A page built already, after the others."""
        self.pages.add_built(key, page)
        self._add_sidebar_item(key)

    def _add_sidebar_item(self, key: str) -> None:
        item = QListWidgetItem(self.pages.title(key))
        item.setData(Qt.ItemDataRole.UserRole, key)
        self.sidebar.addItem(item)

    def _on_page_built(self, key: str, page: QWidget) -> None:
        """Wire a page, once built, to the window and the pages that follow it."""
        if key == "overview":
            page.sig_connect_requested.connect(self.open_connection_dialog)
        elif key == "versions":  # the path the guides, session, rollout and config follow
            page.sig_plan_changed.connect(self.workspace.set_plan)
            if self.workspace.plan is None:  # a plan set before the page was built stays
                self.workspace.set_plan(page.plan)
        elif key == "metrics":
            page.sig_open_rollback.connect(self.show_rollback_procedure)
        elif key == "session":
            page.sig_open_guides.connect(lambda: self.show_page("guides"))

    def _on_sidebar_current_row_changed(self, row: int) -> None:
        """Build the page (if not yet) and show it."""
        if row >= 0:
            self.stack.setCurrentWidget(self.pages[list(self.pages)[row]])

    def _notify_band(self, band: str, text: str) -> None:
        """A desktop notification (where the desktop has a tray) and the status bar."""
        from PySide6.QtWidgets import QSystemTrayIcon

        self.statusBar().showMessage(text, 30_000)
        if QSystemTrayIcon.isSystemTrayAvailable():
            if not hasattr(self, "_tray"):
                self._tray = QSystemTrayIcon(self.windowIcon(), self)
                self._tray.show()
            self._tray.showMessage("Themis Desktop", text)
        self.last_notification = text

    def show_rollback_procedure(self) -> None:
        """The guides page at the rollback procedure of the guide shown."""
        self.show_page("guides")
        self.pages["guides"].show_section("rollback")

    def show_page(self, key: str) -> None:
        self.sidebar.setCurrentRow(list(self.pages).index(key))

    @property
    def current_page(self) -> str:
        return list(self.pages)[max(0, self.stack.currentIndex())]

    def open_connection_dialog(self) -> ConnectionDialog | None:
        from themis_desktop.ui.dialogs.connection import ConnectionDialog

        if self.workspace.refuse("Connecting"):
            return None
        dialog = ConnectionDialog(self.workspace.tasks, self.workspace.tokens, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.sig_connect.connect(self._on_dialog_connect)
        if self.workspace.profile and not self.workspace.profile.demo:
            dialog.select_profile(self.workspace.profile.name)
        dialog.open()
        return dialog

    def _on_dialog_connect(self, profile: Profile) -> None:
        settings().setValue("last_profile", profile.name)
        self.workspace.connect_profile(profile)

    def ask_token(self, profile: Profile) -> QInputDialog:
        """Ask for a profile's token that no keyring kept; reconnect with it when given."""
        where = "in the OS keyring" if self.workspace.tokens.persistent else "in memory only"
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Token needed")
        dialog.setLabelText(
            f"“{profile.name}” uses a bearer token, and none is stored on this machine.\n"
            f"Enter it to allow backups and admin actions (kept {where})."
        )
        dialog.setTextEchoMode(QLineEdit.EchoMode.Password)

        def accepted(token: str) -> None:
            if token.strip() and self.workspace.profile == profile:
                self.workspace.tokens.set(profile.name, token.strip())
                self.workspace.connect_profile(profile)

        dialog.textValueSelected.connect(accepted)
        dialog.open()
        self.token_dialog = dialog
        return dialog

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        live = [
            self._action(file_menu, "&Connection…", "Ctrl+K", self.open_connection_dialog),
            self._action(
                file_menu, "&Refresh now", QKeySequence.StandardKey.Refresh, self.workspace.poll_now
            ),
        ]
        for action in live:
            action.setEnabled(not self.workspace.read_only)
        file_menu.addSeparator()
        self._action(file_menu, "&Open journal for review…", None, self.open_review)
        self._action(file_menu, "&Export journal…", None, self.export_journal)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", QKeySequence.StandardKey.Quit, self.close)
        view_menu = self.menuBar().addMenu("&View")
        for number, key in enumerate(self.pages, start=1):
            title = self.pages.title(key)
            shortcut = self.pages.shortcut(key) or (f"Ctrl+{number % 10}" if number <= 10 else None)
            self._action(view_menu, title, shortcut, functools.partial(self.show_page, key))
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&About Themis Desktop", None, self._show_about)

    def _action(self, menu, text, shortcut, slot: Callable[[], object]) -> QAction:
        """A menu entry that calls `slot()` with no argument. (`triggered` passes `checked`,
        which a slot with a default argument — `lambda k=key:`, `open_review(path=None)` —
        would take as that argument.)"""
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda: slot())
        menu.addAction(action)
        return action

    def open_review(self, path: str | None = None) -> bool:
        """Open a journal read-only in a new window of its own (a new process)."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(
                self, "Open journal for review", "", "Journal (*.sqlite *.db);;All files (*)"
            )
            if not path:
                return False
        try:
            check_journal(path)
        except ReviewError as exc:
            self.statusBar().showMessage(str(exc), 15_000)
            return False
        started = start_review_process(path)
        self.statusBar().showMessage(
            f"Opening {path} for review…" if started else f"The review of {path} could not start.",
            8000,
        )
        return started

    def export_journal(self, path: str | None = None):
        """Export the journal with secrets stripped (in the background); returns the task."""
        from themis_desktop.core.journal.export import export_journal
        from themis_desktop.core.util.paths import journal_path

        if path is None:
            path, _ = QFileDialog.getSaveFileName(
                self, "Export journal", "themis-journal-export.sqlite", "Journal (*.sqlite)"
            )
            if not path:
                return None
        source = self.workspace.tasks.journal_path or journal_path()
        self.statusBar().showMessage(f"Exporting the journal to {path}…")
        return self.workspace.tasks.run(
            export_journal,
            source,
            path,
            self.workspace.tokens.get,  # the keyring's tokens for the journal's profiles
            on_done=lambda report: self.statusBar().showMessage(report.summary(), 15_000),
            on_failed=lambda exc: self.statusBar().showMessage(
                f"The journal could not be exported to {path}: {exc}", 15_000
            ),
        )

    def _show_about(self) -> None:
        QMessageBox.about(
            self,
            "About Themis Desktop",
            f"<b>Themis Desktop {__version__}</b><p>The upgrade console for ThemisDB: "
            "version path, guides, live metrics, verified backups and the rollback window.</p>",
        )

    def _on_workspace_profile_changed(self, profile: Profile | None) -> None:
        if self.workspace.read_only:
            self.header.show_profile(profile)
            self.setWindowTitle(f"Review — {self.review_of or 'journal'} (read-only)")
            return
        if profile and profile.uses_auth and self.workspace.tokens.get(profile.name) is None:
            self.ask_token(profile)
        self.header.show_profile(profile)
        title = "Themis Desktop"
        if profile:
            title += f" — {profile.name}" + (" (demo instance)" if profile.demo else "")
        self.setWindowTitle(title)

    def _on_workspace_node_status(self, index: int, status: NodeStatus) -> None:
        self.header.show_status(index, status)
        statuses = [s for s in self.workspace.statuses if s]
        down = [s.name for s in statuses if not s.up]
        self.poll_label.setText(
            f"{len(down)} node(s) down: {', '.join(down)}"
            if down
            else f"{len(statuses)} node(s) up"
        )

    def _restore(self) -> None:
        if not restore_window_state(self, WINDOW_KEY):
            self.resize(1180, 760)
        if not self.workspace.read_only:  # a review shows the reviewed journal's session
            session = settings().value("session_id")
            if session not in (None, ""):
                self.workspace.set_session(int(session))
            self.workspace.sig_session_changed.connect(
                lambda sid: settings().setValue("session_id", "" if sid is None else sid)
            )
        last = settings().value("last_page", "overview")
        self.show_page(last if last in self.pages else "overview")

    def closeEvent(self, event: QCloseEvent) -> None:
        save_window_state(self, WINDOW_KEY)
        settings().setValue("last_page", self.current_page)
        self.workspace.stop()
        self.sig_closing.emit()
        super().closeEvent(event)
