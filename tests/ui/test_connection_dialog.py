"""The connection dialog saves profiles to the journal and tokens to the token store only."""

from __future__ import annotations

from themis_desktop.core.journal import Journal
from themis_desktop.ui.connection_dialog import ConnectionDialog


def _dialog(qtbot, main_window):
    dialog = ConnectionDialog(
        main_window.workspace.tasks, main_window.workspace.tokens, main_window
    )
    qtbot.addWidget(dialog)
    return dialog


def _fill(dialog, name, url, token=""):
    dialog.name.setText(name)
    dialog.nodes.item(0, 0).setText(url)
    dialog.token.setText(token)


def test_connect_saves_the_profile_without_its_token(qtbot, main_window, start_demo_node):
    node = start_demo_node("1.7.3", tokens={"admin": "s3cret-token"})
    dialog = _dialog(qtbot, main_window)
    _fill(dialog, "staging", node.url, "s3cret-token")
    with qtbot.waitSignal(dialog.sig_connect, timeout=5000) as blocker:
        dialog.connect_button.click()
    profile = blocker.args[0]
    assert profile.name == "staging" and profile.nodes[0].url == node.url
    with Journal() as journal:
        assert journal.profile("staging").nodes[0].url == node.url
    assert b"s3cret-token" not in journal.path.read_bytes()
    assert main_window.workspace.tokens.get("staging") == "s3cret-token"


def test_test_button_reports_each_node(qtbot, main_window, start_demo_node):
    node = start_demo_node("1.8.0")
    dialog = _dialog(qtbot, main_window)
    _fill(dialog, "eight", node.url)
    with qtbot.waitSignal(dialog.sig_tested, timeout=10_000):
        dialog.test_button.click()
    assert "v1.8.0" in dialog.feedback.text()


def test_an_empty_node_list_is_explained_not_saved(qtbot, main_window):
    dialog = _dialog(qtbot, main_window)
    _fill(dialog, "empty", "")
    dialog.save_button.click()
    assert "at least one node" in dialog.feedback.text()


def test_saved_profiles_are_listed_and_can_be_deleted(qtbot, main_window):
    dialog = _dialog(qtbot, main_window)
    _fill(dialog, "a", "http://10.0.0.1:8765")
    with qtbot.waitSignal(dialog.sig_profiles_loaded, timeout=5000):
        dialog.save_button.click()
    qtbot.waitUntil(lambda: dialog.profile_list.count() == 1)
    dialog.select_profile("a")
    with qtbot.waitSignal(dialog.sig_profiles_loaded, timeout=5000):
        dialog.delete_button.click()
    assert dialog.profile_list.count() == 0
