"""Every page is built from what it uses (the workspace and its models), never from the main
window: each one works alone in a plain widget, driven as a person does."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade
from themis_desktop.ui.pages.backups import BackupsPage
from themis_desktop.ui.pages.config import ConfigPage
from themis_desktop.ui.pages.fleet import FleetPage
from themis_desktop.ui.pages.guides import GuidesPage
from themis_desktop.ui.pages.logs import LogsPage
from themis_desktop.ui.pages.metrics import MetricsPage
from themis_desktop.ui.pages.overview import OverviewPage
from themis_desktop.ui.pages.rollout import RolloutPage
from themis_desktop.ui.pages.session import SessionPage
from themis_desktop.ui.pages.timeline import TimelinePage
from themis_desktop.ui.pages.version_graph import VersionGraphPage

PAGES = (
    OverviewPage,
    VersionGraphPage,
    GuidesPage,
    BackupsPage,
    MetricsPage,
    SessionPage,
    RolloutPage,
    TimelinePage,
    LogsPage,
    ConfigPage,
    FleetPage,
)


def _connect(qtbot, workspace, profile) -> None:
    workspace.connect_profile(profile)
    qtbot.waitUntil(
        lambda: bool(workspace.statuses) and all(s and s.up for s in workspace.statuses),
        timeout=10_000,
    )


@pytest.mark.parametrize("page_class", PAGES, ids=lambda c: c.__name__)
def test_each_page_works_alone_on_a_workspace(
    qtbot,
    workspace,
    alone,
    controlled_cluster,
    page_class,
):
    page = alone(page_class(workspace))
    assert page.isVisible() and page.TITLE
    _connect(qtbot, workspace, controlled_cluster(nodes=1)[2])
    assert page.isVisible()


def test_the_session_page_alone_starts_a_session_the_workspace_follows(
    qtbot,
    workspace,
    alone,
    controlled_cluster,
):
    """The session the model loads is the workspace's (the timeline, checklist and logs
    follow it) without the session page telling it."""
    page = alone(SessionPage(workspace))
    _connect(qtbot, workspace, controlled_cluster(nodes=1)[2])
    workspace.set_plan(plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8"))
    qtbot.waitUntil(page.new_button.isEnabled, timeout=5000)
    with qtbot.waitSignal(workspace.sig_session_changed, timeout=10_000) as changed:
        qtbot.mouseClick(page.new_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.session is not None, timeout=5000)
    assert changed.args == [page.session.id] and workspace.session_id == page.session.id
    assert page.summary.text().startswith(f"Session {page.session.id}: lab 1.7.0 → ")


def test_the_guides_page_alone_opens_its_rollback_section(
    qtbot,
    workspace,
    alone,
):
    page = GuidesPage(workspace)  # it loads the bundled guides in the background
    with qtbot.waitSignal(page.sig_guides_loaded, timeout=10_000) as loaded:
        alone(page)
    assert loaded.args[0]
    with qtbot.waitSignal(page.sig_guide_shown, timeout=10_000, check_params_cb=bool):
        workspace.set_plan(plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8"))
    assert page.show_section("rollback")
    assert "rollback" in page.view.toc.currentText().lower()


def test_the_config_page_alone_checks_and_previews_a_pick(
    qtbot,
    workspace,
    alone,
    controlled_cluster,
):
    page = alone(ConfigPage(workspace))
    _connect(qtbot, workspace, controlled_cluster(nodes=1, version="1.4.2")[2])
    page.target.setText("1.5")
    with qtbot.waitSignal(page.sig_checked, timeout=10_000, check_params_cb=bool):
        qtbot.mouseClick(page.check_button, Qt.MouseButton.LeftButton)
    keys = [page.table.item(r, 2).text() for r in range(page.table.rowCount())]
    row = keys.index("storage.memtable_size_mb")
    page.table.item(row, 0).setCheckState(Qt.CheckState.Checked)
    assert page.picked() == [page.table.item(row, 0).data(Qt.ItemDataRole.UserRole)]
    assert "memtable_size_mb: 512" in page.after.toPlainText()
    assert page.after.extraSelections() and page.apply_button.isEnabled()
    assert not page.reload_panel.isVisibleTo(page)  # nothing applied yet
