"""The keyboard: page shortcuts, menu entries, no shortcut that two things claim.

Driven as a person does: keys are sent to the window (`QTest.keyClick`) and menu entries
are triggered (`QAction.trigger()`); a modal dialog an entry opens is closed from a timer.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QShortcut
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QWidget

CTRL = Qt.KeyboardModifier.ControlModifier
PAGE_KEYS = ["Ctrl+1", "Ctrl+2", "Ctrl+3", "Ctrl+4", "Ctrl+5", "Ctrl+6", "Ctrl+7", "Ctrl+8"]
PAGE_KEYS += ["Ctrl+9", "Ctrl+0", "Ctrl+Shift+F"]  # the eleventh page (Fleet) has its own
# the menu entries that open a dialog, and its title
DIALOGS = {
    "&Connection…": "Connection profiles",
    "&Open journal for review…": "Open journal for review",
    "&Export journal…": "Export journal",
    "&About Themis Desktop": "About Themis Desktop",
}


@pytest.fixture
def window(qtbot, main_window):
    """The main window, active (window shortcuts only work in the active window)."""
    main_window.activateWindow()
    qtbot.waitUntil(main_window.isActiveWindow)
    return main_window


def page_key(number: int) -> Qt.Key:
    """The digit key of the page at `number` (1-based): Ctrl+1 … Ctrl+9, then Ctrl+0."""
    return Qt.Key(Qt.Key.Key_0.value + number % 10)


def press_page(widget, number: int) -> None:
    """Send the shortcut of the page at `number` (1-based, PAGE_KEYS) to `widget`."""
    if number <= 10:
        QTest.keyClick(widget, page_key(number), CTRL)
    else:
        assert PAGE_KEYS[number - 1] == "Ctrl+Shift+F"
        QTest.keyClick(widget, Qt.Key.Key_F, CTRL | Qt.KeyboardModifier.ShiftModifier)


def menu_actions(window) -> list[tuple[str, QAction]]:
    """Every entry of the menu bar, with the title of its menu."""
    found = []

    def walk(menu) -> None:
        for action in menu.actions():
            if action.menu():
                walk(action.menu())
            elif not action.isSeparator():
                found.append((menu.title(), action))

    for top in window.menuBar().actions():
        walk(top.menu())
    return found


class DialogCloser:
    """Closes each modal dialog that opens (also inside a dialog's own event loop) and
    remembers its title."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.timer = QTimer(interval=10)
        self.timer.timeout.connect(self._close)
        self.timer.start()

    def _close(self) -> None:
        dialog = QApplication.activeModalWidget()
        if dialog is not None and dialog.isVisible():
            self.seen.append(dialog.windowTitle())
            if isinstance(dialog, QDialog):
                dialog.reject()
            else:
                dialog.close()

    def stop(self) -> None:
        self.timer.stop()


def test_ctrl_and_a_digit_go_to_each_page_and_ctrl_shift_f_to_the_fleet(qtbot, window):
    assert len(window.pages) == len(PAGE_KEYS)
    for number, key in reversed(list(enumerate(window.pages, start=1))):
        press_page(window, number)
        assert window.current_page == key, f"{PAGE_KEYS[number - 1]} should open {key}"
        assert window.stack.currentWidget() is window.pages[key]
        assert window.sidebar.currentRow() == number - 1


def test_page_shortcuts_work_with_the_focus_anywhere_in_a_page(qtbot, window):
    """From inside each page (the focus on its first control), Ctrl+digit opens the next."""
    keys = list(window.pages)
    for number, key in enumerate(keys, start=1):
        press_page(window, number)
        page = window.pages[key]
        inside = page.nextInFocusChain()
        if page.isAncestorOf(inside) and inside.focusPolicy() != Qt.FocusPolicy.NoFocus:
            inside.setFocus()
            qtbot.waitUntil(inside.hasFocus)
        following = number % len(keys) + 1
        press_page(QApplication.focusWidget() or window, following)
        assert window.current_page == keys[following - 1], (
            f"{PAGE_KEYS[following - 1]} pressed on {key} should open {keys[following - 1]}"
        )


def test_each_view_menu_entry_opens_its_page(qtbot, window):
    view = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    entries = [a for a in view.actions() if not a.isSeparator()]
    assert [a.text() for a in entries] == [p.TITLE for p in window.pages.values()]
    assert [a.shortcut().toString() for a in entries] == PAGE_KEYS
    for action, key in reversed(list(zip(entries, window.pages, strict=True))):
        action.trigger()
        assert window.current_page == key


def test_every_menu_entry_can_be_triggered_and_raises_nothing(qtbot, window):
    """Each entry does its job; those that open a dialog open it (closed here at once).
    An exception in any slot fails this test (pytest-qt's exception capture)."""
    entries = menu_actions(window)
    quit_entry = next(a for _menu, a in entries if a.text() == "&Quit")
    closer = DialogCloser()
    try:
        for menu, action in entries:
            if action is quit_entry:
                continue
            assert action.isEnabled() and action.isVisible(), f"{menu} → {action.text()}"
            before = len(closer.seen)
            action.trigger()
            if action.text() in DIALOGS:
                qtbot.waitUntil(lambda before=before: len(closer.seen) > before, timeout=3000)
                assert closer.seen[-1] == DIALOGS[action.text()]
            # not a wait for a condition: the event loop turns, queued slots run (and would
            # raise) now
            qtbot.wait(20)
        assert len(closer.seen) == len(DIALOGS)  # no entry opened a dialog it should not
    finally:
        closer.stop()
    quit_entry.trigger()
    assert not window.isVisible()


def test_every_menu_entry_is_reachable_from_the_keyboard(window):
    """Menus open with Alt and their letter; an entry has a letter of its own in its menu
    or a shortcut."""
    titles = [a.text() for a in window.menuBar().actions()]
    assert titles == ["&File", "&View", "&Help"]
    assert len({mnemonic(t) for t in titles}) == len(titles)
    for top in window.menuBar().actions():
        entries = [a for a in top.menu().actions() if not a.isSeparator()]
        letters = [mnemonic(a.text()) for a in entries if mnemonic(a.text())]
        assert len(set(letters)) == len(letters), f"{top.text()} uses a letter twice"
        for action in entries:
            assert mnemonic(action.text()) or not action.shortcut().isEmpty(), action.text()


def mnemonic(text: str) -> str:
    """The letter after '&' in a menu text ('' when there is none)."""
    at = text.replace("&&", "").find("&")
    return text.replace("&&", "")[at + 1].lower() if at >= 0 else ""


def _active_shortcuts(window) -> list[tuple[str, str]]:
    """(key, owner) of every enabled shortcut active while the current page is shown: the
    window's actions and the QShortcuts of the visible widgets."""
    found = [
        (sequence.toString(), f"menu entry {action.text()}")
        for action in window.findChildren(QAction)
        if action.isEnabled() and not action.menu()
        for sequence in action.shortcuts()
    ]
    for shortcut in window.findChildren(QShortcut):
        parent = shortcut.parent()
        if shortcut.isEnabled() and isinstance(parent, QWidget) and parent.isVisible():
            owner = f"{type(parent).__name__} shortcut"
            found += [(s.toString(), owner) for s in shortcut.keys()]  # noqa: SIM118 (a method)
    return found


def test_no_key_is_claimed_twice_on_any_page(qtbot, window):
    """Qt ignores a key two shortcuts claim at once ("Ambiguous shortcut overload")."""
    for number, key in enumerate(window.pages, start=1):
        press_page(window, number)
        assert window.current_page == key
        seen: dict[str, str] = {}
        for sequence, owner in _active_shortcuts(window):
            claimed = seen.get(sequence)
            assert claimed is None, f"on {key}, {sequence} is both {claimed} and {owner}"
            seen[sequence] = owner


def test_ctrl_0_opens_the_config_advisor_from_the_version_graph(qtbot, window):
    QTest.keyClick(window, Qt.Key.Key_2, CTRL)
    graph = window.pages["versions"].view
    graph.setFocus()
    qtbot.waitUntil(graph.hasFocus)
    QTest.keyClick(graph, Qt.Key.Key_0, CTRL)
    assert window.current_page == "config"
