"""Issue 23's start-up: the main window paints before its pages are built; a page is built
(and its module imported) the first time it is shown or asked for."""

from __future__ import annotations

import subprocess
import sys

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from themis_desktop.ui.lazy_pages import PAGES

CTRL = Qt.KeyboardModifier.ControlModifier


def test_only_the_overview_is_built_when_the_window_shows(qtbot, main_window):
    qtbot.waitExposed(main_window)
    built = [key for key in main_window.pages if main_window.pages.is_built(key)]
    assert built == ["overview"]
    assert main_window.current_page == "overview"
    assert [main_window.sidebar.item(i).text() for i in range(len(PAGES))] == [
        spec.title for spec in PAGES
    ]


def test_ctrl_5_builds_and_shows_the_metrics_page(qtbot, main_window):
    from themis_desktop.ui.pages.metrics import MetricsPage

    main_window.activateWindow()
    qtbot.waitUntil(main_window.isActiveWindow)
    assert not main_window.pages.is_built("metrics")
    QTest.keyClick(main_window, Qt.Key.Key_5, CTRL)
    qtbot.waitUntil(lambda: main_window.current_page == "metrics")
    page = main_window.stack.currentWidget()
    assert isinstance(page, MetricsPage)
    assert page is main_window.pages["metrics"]
    qtbot.waitUntil(page.isVisible)


def test_a_page_following_the_plan_builds_the_versions_page_first(qtbot, main_window):
    """The guides follow the plan the versions page makes: building them builds it."""
    assert not main_window.pages.is_built("versions")
    main_window.show_page("guides")
    assert main_window.pages.is_built("versions")
    assert main_window.current_page == "guides"
    versions = main_window.pages["versions"]
    versions.from_edit.setText("1.7.0")
    versions.from_edit.editingFinished.emit()
    qtbot.waitUntil(lambda: main_window.workspace.plan is versions.plan is not None)


def test_the_titles_are_the_page_classes_titles(qtbot, main_window):
    for spec in PAGES:
        assert spec.title == main_window.pages[spec.key].TITLE


def test_the_first_paint_imports_no_plotting_journal_helpers_http_numpy_or_keyring():
    """What the window's start imports (the modules the app and its main window need)."""
    heavy = ("pyqtgraph", "sqlite_utils", "scipy", "numpy", "httpx", "keyring")
    heavy += ("themis_desktop.ui.pages.metrics",)
    code = (
        "import sys\n"
        "import themis_desktop.ui.app, themis_desktop.ui.main_window\n"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
