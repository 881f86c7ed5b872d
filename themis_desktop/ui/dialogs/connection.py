"""Connection dialog: create, test, save and connect connection profiles."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from themis_desktop.core.connection import profile_store
from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.connection.router_config import RouterConfig
from themis_desktop.core.connection.secrets import TokenStore
from themis_desktop.core.connection.service_config import ServiceConfig
from themis_desktop.core.logs.watch import LogSource
from themis_desktop.core.server.models import ShapeError, clean_version
from themis_desktop.core.server.node_status import NodeStatus, poll_node
from themis_desktop.core.util.changes import Changes, Topic
from themis_desktop.ui.settings import restore_window_state, save_window_state
from themis_desktop.ui.tasks import TaskManager
from themis_desktop.ui.widgets.node_table import NodeTable
from themis_desktop.ui.widgets.service_form import ServiceForm

COLUMNS = ("URL", "Name", "Data dir", "Config file", "Version", "Log source")
COLUMN_TIPS = (
    "Address of the node, e.g. http://db1:8765 or https://db1:8765",
    "A short name for the node (defaults to host:port)",
    "The node's RocksDB directory on this host, for file-level backups (optional)",
    "The node's config.yaml on this host, backed up with the data (optional)",
    "The exact version, for servers before 1.3 that do not report it (optional)",
    "Where the node's log is read (optional): the server's log file (file:PATH, e.g. its "
    "themis_server.log), journald (journald:themisdb) or a command (command:ssh db1 tail -F …)",
)
# the widest a column other than URL grows to fit its cells (a longer text is elided)
COLUMN_CAPS = {1: 180, 2: 260, 3: 260, 4: 100, 5: 280}
PROFILES = Changes.of(Topic.PROFILES)
PREFERRED_SIZE = QSize(1100, 720)
WINDOW_MARGIN = 40  # room left around the dialog inside the main window (or screen)


def _exact_version(text: str) -> str | None:
    """The version typed in the Version column, checked; None when empty."""
    if not text:
        return None
    try:
        return clean_version(text)
    except ShapeError:
        raise ValueError(f"“{text}” is not a version number (e.g. 1.2.0).") from None


class ConnectionDialog(QDialog):
    """Edits profiles in the journal and tokens in the token store."""

    sig_connect = Signal(object)  # Profile
    sig_saved = Signal(object)  # Profile
    sig_profiles_loaded = Signal(list)
    sig_tested = Signal(list)  # list[NodeStatus]

    def __init__(self, tasks: TaskManager, tokens: TokenStore, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Connection profiles")
        self.tasks = tasks
        self.tokens = tokens
        self.profiles: dict[str, Profile] = {}
        self._wanted: str | None = None
        self._refocus_test = False
        self.delete_question: QMessageBox | None = None

        self.profile_list = QListWidget()
        self.profile_list.setMaximumWidth(200)
        self.profile_list.currentTextChanged.connect(self._on_list_current_changed)
        self.new_button = new_button = QPushButton("New profile")
        new_button.clicked.connect(self.new_profile)

        self.name = QLineEdit(placeholderText="e.g. production")
        self.nodes = NodeTable(tuple(zip(COLUMNS, COLUMN_TIPS, strict=True)), COLUMN_CAPS)
        add_node = QPushButton("Add node")
        add_node.clicked.connect(lambda: self.add_node_row())
        remove_node = QPushButton("Remove node", autoDefault=False)  # Enter never removes
        remove_node.clicked.connect(self._remove_selected_node)
        self.token = QLineEdit(echoMode=QLineEdit.EchoMode.Password)
        self.token.setPlaceholderText("bearer token (admin for backups), empty if auth is off")
        show_token = QCheckBox("Show")
        show_token.toggled.connect(
            lambda on: self.token.setEchoMode(
                QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password
            )
        )
        token_note = QLabel(
            "Kept in the OS keyring."
            if tokens.persistent
            else "No OS keyring here: the token is kept in memory until the app closes.",
            objectName="muted",
        )
        self.verify_tls = QCheckBox("Verify TLS certificates")
        self.verify_tls.setChecked(True)
        self.ca_file = QLineEdit(placeholderText="CA file (PEM) for a private CA — optional")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_ca)
        self.service = ServiceForm(self)
        self.router_kind = QComboBox()
        for kind, text in (
            ("none", "None (rolling rollouts only)"),
            ("manual", "Manual"),
            ("commands", "Command"),
            ("demo", "Demo load balancer"),
        ):
            self.router_kind.addItem(text, kind)
        self.router_kind.setToolTip("How canary and blue-green rollouts shift traffic")
        self.router_cmd = QLineEdit(
            placeholderText="e.g. ./set-lb-weights.sh {weights} (host:port=percent,…)"
        )
        self.router_kind.currentIndexChanged.connect(
            lambda: self.router_cmd.setEnabled(self.router_kind.currentData() == "commands")
        )
        self.feedback = QLabel("", objectName="feedback")
        self.feedback.setWordWrap(True)
        self.feedback.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.feedback.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # a long report (many nodes, notes) scrolls instead of squeezing the node table
        feedback_area = QScrollArea(widgetResizable=True, frameShape=QScrollArea.Shape.NoFrame)
        feedback_area.setWidget(self.feedback)
        line = self.feedback.fontMetrics().lineSpacing()
        feedback_area.setMinimumHeight(line * 2 + 4)
        feedback_area.setMaximumHeight(line * 6 + 8)
        feedback_area.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        feedback_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.test_button = QPushButton("Test")
        self.test_button.clicked.connect(self.test_connection)
        self.save_button = QPushButton("Save")
        self.save_button.clicked.connect(lambda: self.save())
        # destructive: never the default button, so Enter cannot delete (it asks first)
        self.delete_button = QPushButton("Delete", autoDefault=False)
        self.delete_button.clicked.connect(self.delete_current)
        self.connect_button = QPushButton("Connect", default=True)
        self.connect_button.clicked.connect(self.connect_current)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)

        form = QFormLayout()
        form.addRow("Name", self.name)
        node_buttons = QHBoxLayout()
        node_buttons.addWidget(add_node)
        node_buttons.addWidget(remove_node)
        node_buttons.addStretch()
        form.addRow("Nodes", self.nodes)
        form.addRow("", node_buttons)
        token_row = QHBoxLayout()
        token_row.addWidget(self.token)
        token_row.addWidget(show_token)
        form.addRow("Token", token_row)
        form.addRow("", token_note)
        form.addRow("TLS", self.verify_tls)
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca_file)
        ca_row.addWidget(browse)
        form.addRow("CA file", ca_row)
        self.service.add_to(form)
        form.addRow("Traffic", self.router_kind)
        form.addRow("Router command", self.router_cmd)

        buttons = QHBoxLayout()
        for button in (self.test_button, self.delete_button):
            buttons.addWidget(button)
        buttons.addStretch()
        for button in (close, self.save_button, self.connect_button):
            buttons.addWidget(button)
        left = QVBoxLayout()
        left.addWidget(self.profile_list)
        left.addWidget(new_button)
        right = QVBoxLayout()
        right.addLayout(form)
        right.addWidget(feedback_area)
        right.addLayout(buttons)
        layout = QHBoxLayout(self)
        layout.addLayout(left)
        layout.addLayout(right, 1)
        restored = restore_window_state(self, "connection_dialog")
        self._fit_to_room(restored)
        self.new_profile()
        self.reload()

    # -- layout -----------------------------------------------------------------

    def _fit_to_room(self, restored: bool) -> None:
        """Take the preferred (or restored) size, within the main window it opens over
        (the screen without one) and never below what the layout needs."""
        parent = self.parentWidget()
        room = (
            parent.window().size()
            if parent is not None
            else self.screen().availableGeometry().size()
        )
        room = QSize(room.width() - WINDOW_MARGIN, room.height() - WINDOW_MARGIN)
        wanted = self.size() if restored else PREFERRED_SIZE
        self.resize(wanted.boundedTo(room).expandedTo(self.minimumSizeHint()))

    # -- loading ----------------------------------------------------------------

    def reload(self) -> None:
        self.tasks.run_journal(
            profile_store.load_all, on_done=self._on_profiles_loaded, on_failed=self._show_error
        )

    def select_profile(self, name: str) -> None:
        self._wanted = name
        self._select_in_list(name)

    def _on_profiles_loaded(self, profiles: list[Profile]) -> None:
        self.profiles = {p.name: p for p in profiles}
        self.profile_list.blockSignals(True)
        self.profile_list.clear()
        self.profile_list.addItems(sorted(self.profiles))
        self.profile_list.blockSignals(False)
        if self._wanted:
            self._select_in_list(self._wanted)
        self.sig_profiles_loaded.emit(profiles)

    def _select_in_list(self, name: str) -> None:
        matches = self.profile_list.findItems(name, Qt.MatchFlag.MatchExactly)
        if not matches:
            return
        if self.profile_list.currentItem() is matches[0]:  # no change signal: show it here
            self._on_list_current_changed(name)
        self.profile_list.setCurrentItem(matches[0])

    def _on_list_current_changed(self, name: str) -> None:
        if name in self.profiles:
            self.show_profile(self.profiles[name])

    def show_profile(self, profile: Profile) -> None:
        self.name.setText(profile.name)
        self.nodes.setRowCount(0)
        for node in profile.nodes:
            self.add_node_row(node)
        self.token.setText(self.tokens.get(profile.name) or "")
        self.verify_tls.setChecked(profile.verify_tls)
        self.ca_file.setText(profile.ca_file or "")
        self.service.set_config(profile.service)
        self._show_router(profile.router)
        self.feedback.clear()

    def new_profile(self) -> None:
        # no current item either: clicking the profile that was shown shows it again
        self.profile_list.setCurrentRow(-1)
        self.profile_list.clearSelection()
        self.name.clear()
        self.nodes.setRowCount(0)
        self.add_node_row()
        self.token.clear()
        self.verify_tls.setChecked(True)
        self.ca_file.clear()
        self.service.set_config(ServiceConfig())
        self._show_router(RouterConfig())
        self.feedback.clear()
        self.name.setFocus()

    def add_node_row(self, node: NodeEndpoint | None = None) -> None:
        values = (
            (
                node.url,
                node.name,
                node.data_dir or "",
                node.config_path or "",
                node.version_override or "",
                node.log_source,
            )
            if node
            else ("http://127.0.0.1:8765", "", "", "", "", "")
        )
        self.nodes.add_row(values)

    def _remove_selected_node(self) -> None:
        rows = sorted({index.row() for index in self.nodes.selectedIndexes()}, reverse=True)
        for row in rows or [self.nodes.rowCount() - 1]:
            self.nodes.removeRow(row)

    def _browse_ca(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "CA certificate", "", "PEM (*.pem *.crt);;All (*)"
        )
        if path:
            self.ca_file.setText(path)

    # -- actions ----------------------------------------------------------------

    def profile_from_form(self) -> Profile:
        """The profile as edited; raises ValueError with a message for the user."""
        nodes = []
        for row in range(self.nodes.rowCount()):
            cells = self.nodes.texts(row)
            if not cells[0]:
                continue
            nodes.append(
                NodeEndpoint(
                    url=cells[0],
                    name=cells[1],
                    data_dir=cells[2] or None,
                    config_path=cells[3] or None,
                    version_override=_exact_version(cells[4]),
                    log_source=_log_source(cells[5], cells[1] or cells[0]),
                )
            )
        if not nodes:
            raise ValueError("Add at least one node URL (e.g. http://db1:8765).")
        names = [n.name for n in nodes]
        if len(set(names)) != len(names):
            raise ValueError("Two nodes have the same name: give each node its own name.")
        ca_file = self.ca_file.text().strip()
        if ca_file and not Path(ca_file).is_file():
            raise ValueError(f"The CA file {ca_file} does not exist.")
        service = self.service.config()
        kind = self.router_kind.currentData()
        router = RouterConfig(
            kind,
            control_url=service.control_url if kind == "demo" else "",
            command=self.router_cmd.text().strip() if kind == "commands" else "",
        )
        previous = self.profiles.get(self.name.text().strip())
        return Profile(
            name=self.name.text().strip(),
            nodes=tuple(nodes),
            verify_tls=self.verify_tls.isChecked(),
            ca_file=self.ca_file.text().strip() or None,
            uses_auth=bool(self.token.text().strip()),
            service=service,
            router=router,
            demo=previous.demo if previous else False,
            id=previous.id if previous else None,
        )

    def _show_router(self, router: RouterConfig) -> None:
        self.router_kind.setCurrentIndex(max(0, self.router_kind.findData(router.kind)))
        self.router_cmd.setText(router.command)
        self.router_cmd.setEnabled(router.kind == "commands")

    def _checked_profile(self) -> Profile | None:
        try:
            return self.profile_from_form()
        except ValueError as exc:
            self._show_error(exc)
            return None

    def save(self, then_connect: bool = False) -> None:
        profile = self._checked_profile()
        if profile is None:
            return
        persisted = self.tokens.set(profile.name, self.token.text().strip() or None)

        def saved(result: Profile) -> None:
            self._wanted = result.name
            note = "" if persisted or not self.token.text() else " (token kept in memory only)"
            self.feedback.setText(f"Saved “{result.name}”{note}.")
            self.feedback.setProperty("error", False)
            self.reload()
            if not then_connect:
                self.sig_saved.emit(result)
            if then_connect:
                self.sig_connect.emit(result)
                self.accept()

        self.tasks.run_op(
            profile_store.save,
            profile,
            journal=True,
            changes=PROFILES,  # the workspace polls the connected profile as it is now
            initiator=self,
            on_done=saved,
            on_failed=self._show_error,
        )

    def connect_current(self) -> None:
        self.save(then_connect=True)

    def delete_current(self) -> None:
        """Ask whether to delete the profile shown; No (the default) keeps it."""
        name = self.name.text().strip()
        if name not in self.profiles:
            self.new_profile()
            return
        buttons = QMessageBox.StandardButton
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Delete profile",
            f"Delete the profile “{name}”?",
            buttons.Yes | buttons.No,
            self,
        )
        box.setInformativeText(
            "Its nodes, settings and stored token are removed from this computer. Its "
            "sessions, backups and journal history are kept in the journal (and its backup "
            "archives on disk), so they can still be reviewed and reported."
        )
        box.setDefaultButton(buttons.No)
        box.setEscapeButton(buttons.No)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(
            lambda _: box.clickedButton() is box.button(buttons.Yes) and self._delete(name)
        )
        self.delete_question = box
        box.open()

    def _delete(self, name: str) -> None:
        self.tokens.set(name, None)

        def deleted(_: bool) -> None:
            self._wanted = None
            self.new_profile()
            self.feedback.setText(
                f"Deleted “{name}”. Its sessions, backups and history stay in the journal."
            )
            self.reload()

        self.tasks.run_op(
            profile_store.delete,
            name,
            journal=True,
            changes=PROFILES,
            initiator=self,
            on_done=deleted,
            on_failed=self._show_error,
        )

    def test_connection(self) -> None:
        profile = self._checked_profile()
        if profile is None:
            return
        token = self.token.text().strip() or None
        # disabling moves the focus on (to Delete): it comes back when the test ends
        self._refocus_test = self.focusWidget() is self.test_button
        self.test_button.setEnabled(False)
        self.feedback.setText("Testing…")

        def probe() -> list[NodeStatus]:
            results = []
            for node in profile.nodes:
                with profile.client(node, token, timeout=3.0) as client:
                    results.append(poll_node(client, node.name, node.version_override))
            return results

        self.tasks.run(probe, on_done=self._on_tested, on_failed=self._show_error)

    def _test_ended(self) -> None:
        self.test_button.setEnabled(True)
        if self._refocus_test:
            self.test_button.setFocus()
        self._refocus_test = False

    def _on_tested(self, results: list[NodeStatus]) -> None:
        self._test_ended()
        lines = []
        for status in results:
            if status.up:
                version = status.version.version if status.version else "version unknown"
                lines.append(f"✔ {status.name}: {status.state}, v{version}")
                lines += [f"    {note}" for note in status.notes]
            else:
                lines.append(f"✘ {status.name}: {status.error}")
        self.feedback.setText("\n".join(lines))
        self.sig_tested.emit(results)

    def _show_error(self, error: object) -> None:
        self._test_ended()
        self.feedback.setText(f"✘ {error}")

    def done(self, result: int) -> None:
        save_window_state(self, "connection_dialog")
        super().done(result)


def _log_source(spec: str, node: str) -> str:
    """A checked log source spec (core/logs/watch.py), or ValueError naming the node."""
    try:
        return LogSource.parse(spec).spec
    except ValueError as exc:
        raise ValueError(f"Log source of {node}: {exc}") from None
