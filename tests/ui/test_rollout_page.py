"""The rollout page follows a canary rollout on a real demo cluster behind its router."""

from __future__ import annotations

from themis_desktop.core.catalogue_file import load_catalogue
from themis_desktop.core.upgrade_path import plan_upgrade


def test_the_tiles_and_timeline_follow_a_canary_rollout(
    qtbot, main_window, controlled_cluster, tmp_path
):
    from themis_desktop.ui.settings import settings

    _, _, profile = controlled_cluster(nodes=3, control_options={"router": True})
    settings().setValue("backup_dir", str(tmp_path / "backups"))
    workspace = main_window.workspace
    workspace.connect_profile(profile)
    qtbot.waitUntil(lambda: all(s and s.up for s in workspace.statuses), timeout=10_000)
    workspace.set_plan(plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8"))
    main_window.show_page("rollout")
    page = main_window.pages["rollout"]
    assert [t.role.text().endswith("stable</span>") for t in page.tiles.values()] == [True] * 3
    page.strategy.setCurrentText("canary")
    page.steps.setText("50,100")
    page.soak.setValue(1)
    shares_seen: list[list[int]] = []
    page.model.sig_rollout.connect(  # after the page's own slot: what the tiles show
        lambda _: shares_seen.append([t.traffic.value() for t in page.tiles.values()])
    )
    qtbot.waitUntil(page.start_button.isEnabled, timeout=5000)
    with qtbot.waitSignal(page.model.sig_running, timeout=10_000, check_params_cb=bool):
        page.start_button.click()
    assert not page.start_button.isEnabled() and page.pause_button.isEnabled()
    qtbot.waitUntil(lambda: not page.model.running, timeout=120_000)
    rollout = page.model.rollout
    assert rollout.status == "done", rollout.reason
    assert "canary" in page.tiles["n1"].role.text()
    assert [50, 25, 25] in shares_seen  # the canary at 50 %, as the tiles showed it
    assert all("✓" in page.timeline.item(i).text() for i in range(page.timeline.count() - 1))
    assert "gate ✓ pass" in "\n".join(
        page.timeline.item(i).text() for i in range(page.timeline.count())
    )
    qtbot.waitUntil(
        lambda: all(t.version.text() == f"v{rollout.to_version}" for t in page.tiles.values()),
        timeout=10_000,
    )
