"""The session page's tabs, as a person reaches them: a click on the tab's title."""

from __future__ import annotations

from PySide6.QtCore import Qt


def click_tab(qtbot, page, key: str) -> None:
    """Click the tab of `key`'s panel ("output", "preflight", "rehearsal", "prediction",
    "rollback-cost", "rollback-check") once it shows; wait until it is in front."""
    tabs = page.tabs
    bar = tabs.tabBar()
    index = tabs.indexOf(tabs.pages[key])
    qtbot.waitUntil(lambda: bar.isTabVisible(index), timeout=10_000)
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(index).center())
    qtbot.waitUntil(lambda: tabs.current_key() == key, timeout=2000)
