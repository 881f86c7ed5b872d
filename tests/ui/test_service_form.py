"""The connection dialog's service control section: fields per kind, errors inline, saved."""

from __future__ import annotations

from PySide6.QtCore import Qt

from themis_desktop.core.connection import profile_store
from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.connection.service_config import ServiceConfig
from themis_desktop.core.journal.store import Journal
from themis_desktop.ui.dialogs.connection import ConnectionDialog


def _dialog(qtbot, main_window) -> ConnectionDialog:
    dialog = ConnectionDialog(
        main_window.workspace.tasks, main_window.workspace.tokens, main_window
    )
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def _visible(dialog: ConnectionDialog) -> set[str]:
    form = dialog.service
    fields = {
        "unit": form.unit,
        "stop": form.stop,
        "start": form.start,
        "install": form.install,
        "binary": form.binary,
        "reload": form.reload,
        "pid_file": form.pid_file,
        "control_url": form.control_url,
    }
    return {name for name, widget in fields.items() if widget.isVisible()}


def _choose(dialog: ConnectionDialog, kind: str) -> None:
    dialog.service.kind.setCurrentIndex(dialog.service.kind.findData(kind))


def test_the_fields_follow_the_kind(qtbot, main_window):
    dialog = _dialog(qtbot, main_window)
    assert dialog.service.current_kind() == "manual" and _visible(dialog) == set()
    _choose(dialog, "systemd")
    assert _visible(dialog) == {"unit", "install", "binary"}
    _choose(dialog, "commands")
    assert _visible(dialog) == {"stop", "start", "install", "binary", "reload", "pid_file"}
    _choose(dialog, "demo")
    assert _visible(dialog) == {"control_url"} and dialog.service.control_url.isReadOnly()


def test_commands_without_start_are_refused_inline_and_not_saved(qtbot, main_window):
    dialog = _dialog(qtbot, main_window)
    dialog.name.setText("cmds")
    dialog.nodes.item(0, 0).setText("http://10.0.0.1:8765")
    _choose(dialog, "commands")
    dialog.service.stop.setText("ssh {node} sudo systemctl stop themisdb")
    message = "service control 'commands' needs a start command, and a stop command or a pid file"
    assert dialog.service.error.isVisible() and message in dialog.service.error.text()
    dialog.save_button.click()
    assert message in dialog.feedback.text()
    with Journal() as journal:
        assert profile_store.get(journal, "cmds") is None

    dialog.service.start.setText("ssh {node} sudo systemctl start themisdb")
    assert not dialog.service.error.isVisible()
    with qtbot.waitSignal(dialog.sig_saved, timeout=5000) as blocker:
        dialog.save_button.click()
    assert blocker.args[0].service == ServiceConfig(
        "commands",
        stop="ssh {node} sudo systemctl stop themisdb",
        start="ssh {node} sudo systemctl start themisdb",
    )
    with Journal() as journal:
        assert profile_store.get(journal, "cmds").service.kind == "commands"


def test_a_saved_profile_shows_its_service_control(qtbot, main_window):
    service = ServiceConfig(
        "systemd",
        unit="themisdb-blue",
        install="apt-get install themisdb",
        binary="/opt/{node}/bin/themis_server",
    )
    with Journal() as journal:
        profile_store.save(
            journal, Profile("blue", (NodeEndpoint("http://10.0.0.2:8765"),), service=service)
        )
    dialog = _dialog(qtbot, main_window)
    qtbot.waitUntil(lambda: dialog.profile_list.count() == 1)
    dialog.select_profile("blue")
    assert dialog.service.current_kind() == "systemd"
    assert dialog.service.unit.text() == "themisdb-blue"
    assert dialog.service.binary.text() == "/opt/{node}/bin/themis_server"
    assert dialog.profile_from_form().service == service
    dialog.new_profile()
    assert dialog.service.current_kind() == "manual"


def test_the_traffic_router_round_trips_and_keeps_the_demo_flag(qtbot, main_window):
    from themis_desktop.core.connection.router_config import RouterConfig

    router = RouterConfig("commands", command="./lb {weights}")
    with Journal() as journal:
        profile_store.save(
            journal,
            Profile("lb", (NodeEndpoint("http://10.0.0.2:8765"),), router=router, demo=True),
        )
    dialog = _dialog(qtbot, main_window)
    qtbot.waitUntil(lambda: dialog.profile_list.count() == 1)
    dialog.select_profile("lb")
    assert dialog.router_kind.currentData() == "commands" and dialog.router_cmd.isEnabled()
    profile = dialog.profile_from_form()
    assert profile.router == router and profile.demo
    dialog.router_kind.setCurrentIndex(dialog.router_kind.findData("none"))
    assert not dialog.router_cmd.isEnabled()
    assert dialog.profile_from_form().router == RouterConfig()


def test_a_pid_file_stop_timeout_and_write_check_are_saved_and_shown(qtbot, main_window):
    dialog = _dialog(qtbot, main_window)
    dialog.name.setText("pids")
    dialog.nodes.item(0, 0).setText("http://127.0.0.1:8765")
    _choose(dialog, "commands")
    dialog.service.start.setText("./start {node}")
    assert dialog.service.error.isVisible()  # neither a stop command nor a pid file yet
    dialog.service.pid_file.setText("/run/themis-{node}.pid")
    dialog.service.stop_timeout.setValue(5)
    qtbot.mouseClick(dialog.service.write_check, Qt.MouseButton.LeftButton)
    assert not dialog.service.error.isVisible()
    with qtbot.waitSignal(dialog.sig_saved, timeout=5000) as blocker:
        dialog.save_button.click()
    saved = blocker.args[0].service
    assert (saved.pid_file, saved.stop_timeout, saved.write_check, saved.stop) == (
        "/run/themis-{node}.pid",
        5.0,
        True,
        "",
    )
    dialog.new_profile()
    qtbot.waitUntil(lambda: dialog.profile_list.count() == 1)
    dialog.select_profile("pids")
    assert dialog.service.pid_file.text() == "/run/themis-{node}.pid"
    assert dialog.service.write_check.isChecked() and dialog.service.stop_timeout.value() == 5


def test_an_ansible_profile_keeps_its_executor_when_saved_from_the_dialog(qtbot, main_window):
    """Its settings come from the command line; the dialog shows and keeps them, and a new
    profile cannot pick Ansible without them."""
    service = ServiceConfig(
        "ansible", ansible_control="systemd", unit="themisdb", ansible_soak=30.0
    )
    with Journal() as journal:
        profile_store.save(
            journal, Profile("fleet", (NodeEndpoint("http://10.0.0.3:8765"),), service=service)
        )
    dialog = _dialog(qtbot, main_window)
    qtbot.waitUntil(lambda: dialog.profile_list.count() == 1)
    dialog.select_profile("fleet")
    assert dialog.service.current_kind() == "ansible"
    assert dialog.profile_from_form().service == service
    dialog.new_profile()
    _choose(dialog, "ansible")
    assert "command line" in dialog.service.error.text()
