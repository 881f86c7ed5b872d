"""The connection dialog saves profiles to the journal and tokens to the token store only;
Enter never deletes, Delete asks first, and the node table is usable at the window's size."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox, QStyle

from themis_desktop.core.connection import profile_store
from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.journal.store import Journal
from themis_desktop.ui.dialogs.connection import COLUMNS, ConnectionDialog


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
        assert profile_store.get(journal, "staging").nodes[0].url == node.url
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


def _open_from_the_window(qtbot, window) -> ConnectionDialog:
    """The dialog as a person opens it: Ctrl+K in the (active) main window."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    QTest.keyClick(window, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: any(d.isVisible() for d in window.findChildren(ConnectionDialog)))
    return next(d for d in window.findChildren(ConnectionDialog) if d.isVisible())


def _click_profile(qtbot, dialog: ConnectionDialog, name: str) -> None:
    qtbot.waitUntil(lambda: bool(dialog.profile_list.findItems(name, Qt.MatchFlag.MatchExactly)))
    item = dialog.profile_list.findItems(name, Qt.MatchFlag.MatchExactly)[0]
    position = dialog.profile_list.visualItemRect(item).center()
    qtbot.mouseClick(dialog.profile_list.viewport(), Qt.MouseButton.LeftButton, pos=position)
    assert dialog.name.text() == name


def _question(qtbot) -> QMessageBox:
    """The question box on screen (found as a person sees it: a window of its own)."""

    def shown() -> list[QMessageBox]:
        return [
            w
            for w in QApplication.topLevelWidgets()
            if isinstance(w, QMessageBox) and w.isVisible()
        ]

    qtbot.waitUntil(lambda: len(shown()) == 1)
    return shown()[0]


def _profile_in_journal(qtbot, dialog: ConnectionDialog, name: str) -> bool:
    """Whether the journal holds `name`, read after every journal write queued so far."""
    with qtbot.waitSignal(
        dialog.tasks.run_journal(lambda j: profile_store.get(j, name)).sig_done
    ) as read:
        pass
    return read.args[0] is not None


def _save(*profiles: Profile) -> None:
    with Journal() as journal:
        for profile in profiles:
            profile_store.save(journal, profile)


def test_enter_after_test_deletes_nothing(qtbot, main_window, start_demo_node):
    """Test disables its button while it runs, which moved the focus to Delete, and Delete
    became the default button: Enter deleted the profile. Now destructive buttons are never
    default, the focus comes back to Test, and Enter only tests again."""
    node = start_demo_node("1.8.0")
    _save(Profile("lab", (NodeEndpoint(node.url, "n1"),)))
    dialog = _open_from_the_window(qtbot, main_window)
    _click_profile(qtbot, dialog, "lab")
    with qtbot.waitSignal(dialog.sig_tested, timeout=10_000):
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)

    QTest.keyClick(dialog.focusWidget(), Qt.Key.Key_Return)
    qtbot.waitUntil(dialog.test_button.isEnabled, timeout=10_000)  # a second test, if any
    assert _profile_in_journal(qtbot, dialog, "lab")
    assert dialog.profile_list.findItems("lab", Qt.MatchFlag.MatchExactly)
    assert not any(
        isinstance(w, QMessageBox) and w.isVisible() for w in QApplication.topLevelWidgets()
    )
    assert dialog.focusWidget() is dialog.test_button
    assert not dialog.delete_button.isDefault() and not dialog.delete_button.autoDefault()


def test_delete_asks_first_no_keeps_the_profile_and_yes_deletes_it(qtbot, main_window):
    _save(Profile("lab", (NodeEndpoint("http://10.0.0.1:8765"),)))
    dialog = _open_from_the_window(qtbot, main_window)
    _click_profile(qtbot, dialog, "lab")

    qtbot.mouseClick(dialog.delete_button, Qt.MouseButton.LeftButton)
    question = _question(qtbot)
    text = f"{question.text()} {question.informativeText()}"
    assert "“lab”" in text
    assert "sessions, backups and journal history are kept in the journal" in text
    assert question.defaultButton() is question.button(QMessageBox.StandardButton.No)
    QTest.keyClick(question, Qt.Key.Key_Return)  # Enter answers No
    qtbot.waitUntil(lambda: not question.isVisible())
    assert _profile_in_journal(qtbot, dialog, "lab")

    qtbot.mouseClick(dialog.delete_button, Qt.MouseButton.LeftButton)
    question = _question(qtbot)
    qtbot.mouseClick(question.button(QMessageBox.StandardButton.No), Qt.MouseButton.LeftButton)
    assert _profile_in_journal(qtbot, dialog, "lab")

    qtbot.mouseClick(dialog.delete_button, Qt.MouseButton.LeftButton)
    question = _question(qtbot)
    with qtbot.waitSignal(dialog.sig_profiles_loaded, timeout=5000):
        qtbot.mouseClick(question.button(QMessageBox.StandardButton.Yes), Qt.MouseButton.LeftButton)
    assert not _profile_in_journal(qtbot, dialog, "lab")
    assert dialog.profile_list.count() == 0
    assert "Deleted “lab”" in dialog.feedback.text()


def test_new_profile_then_the_same_profile_again_shows_it(qtbot, main_window):
    _save(Profile("lab", (NodeEndpoint("http://10.0.0.1:8765"),)))
    dialog = _open_from_the_window(qtbot, main_window)
    _click_profile(qtbot, dialog, "lab")
    qtbot.mouseClick(dialog.new_button, Qt.MouseButton.LeftButton)
    assert dialog.name.text() == ""
    _click_profile(qtbot, dialog, "lab")  # the one shown before: shown again, not blank
    assert dialog.nodes.item(0, 0).text() == "http://10.0.0.1:8765"
    qtbot.mouseClick(dialog.new_button, Qt.MouseButton.LeftButton)
    dialog.select_profile("lab")  # as the window asks for a profile by name
    assert dialog.name.text() == "lab"


def _shows_whole(metrics, text: str, width: int, margin: int) -> bool:
    return metrics.horizontalAdvance(text) + 2 * margin <= width


@pytest.mark.parametrize("size", [(1024, 700), (1180, 760)])
def test_the_node_table_is_usable_at_the_window_size(qtbot, main_window, controlled_cluster, size):
    """At the default window sizes, with two of four nodes down (a long report): no header
    is cut, each demo URL is shown whole, the columns fit the table, and after Test the
    table still shows four rows (the report scrolls instead of squeezing it), all inside
    the window."""
    cluster, _, profile = controlled_cluster(nodes=4)
    cluster.stop_node(2)
    cluster.stop_node(3)
    _save(profile)
    main_window.resize(*size)
    dialog = _open_from_the_window(qtbot, main_window)
    _click_profile(qtbot, dialog, "lab")
    with qtbot.waitSignal(dialog.sig_tested, timeout=10_000):
        qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    for _ in range(3):  # not a wait for a condition: posted layout requests run
        qtbot.wait(20)
    assert dialog.feedback.text().count("connection was refused") == 2

    table, header = dialog.nodes, dialog.nodes.horizontalHeader()
    style = table.style()
    header_margin = style.pixelMetric(QStyle.PixelMetric.PM_HeaderMargin, None, header)
    cell_margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, table) + 1
    for column, title in enumerate(COLUMNS):
        width = table.columnWidth(column)
        assert _shows_whole(header.fontMetrics(), title, width, header_margin), (title, width)
    for row in range(table.rowCount()):
        url = table.item(row, 0).text()
        assert url.startswith("http://127.0.0.1:")
        assert _shows_whole(table.fontMetrics(), url, table.columnWidth(0), cell_margin), url
    assert header.length() <= table.viewport().width()  # the last column is not cut off
    assert table.viewport().height() >= 4 * table.rowHeight(0)
    assert dialog.width() <= size[0] and dialog.height() <= size[1]
