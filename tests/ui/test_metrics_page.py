"""The metrics page: live plots and table, baseline, trigger banner, distributions, export."""

from __future__ import annotations

import csv

import numpy as np
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel

from themis_desktop.core.connection import profile_store
from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.metrics.catalog import METRICS
from themis_desktop.core.upgrade import session_store
from themis_desktop.ui.dialogs.distribution import DistributionDialog


def _steady(start_demo_node, version="1.8.0"):
    return start_demo_node(
        version,
        latency_factors={version[:3]: 12.0},
        error_rates={version[:3]: 0.0},
        latency_sigma=0.05,
    )


def _connect(qtbot, window, nodes):
    profile = Profile("lab", tuple(NodeEndpoint(n.url, f"n{i}") for i, n in enumerate(nodes, 1)))
    window.workspace.connect_profile(profile)
    window.show_page("metrics")
    page = window.pages["metrics"]
    page.monitor.hold.min_samples = 5  # seconds of samples here; the 50-sample rule: core tests
    qtbot.waitUntil(lambda: page.monitor.sampling, timeout=10_000)
    return page


def _samples_of(page, node: str) -> int:
    series = page.monitor.store.series.get(node)
    return len(series) if series else 0


def _wait_samples(qtbot, page, node: str, more: int) -> None:
    target = _samples_of(page, node) + more
    qtbot.waitUntil(lambda: _samples_of(page, node) >= target, timeout=20_000)


def _baseline_and_verdict(qtbot, page):
    _wait_samples(qtbot, page, "n1", 8)
    with qtbot.waitSignal(page.monitor.sig_baselines, timeout=10_000):
        page.minutes.setValue(1)
        page.capture.click()
    _wait_samples(qtbot, page, "n1", 8)
    with qtbot.waitSignal(page.monitor.sig_evaluation, timeout=10_000) as evaluated:
        page.monitor.evaluate_now()
    return evaluated.args[0]


def test_plots_and_table_update_live(qtbot, main_window, start_demo_node):
    nodes = [_steady(start_demo_node), _steady(start_demo_node)]
    page = _connect(qtbot, main_window, nodes)
    with qtbot.waitSignal(page.monitor.sig_samples, timeout=10_000):
        pass
    line = page.plots.lines[("probe_ms", "n2")]
    first = len(line.xData)
    _wait_samples(qtbot, page, "n2", 3)
    qtbot.waitUntil(lambda: len(line.xData) > first, timeout=5000)
    assert np.nanmin(line.yData) > 0  # probe latency of a real node
    assert not page.plots._no_data["probe_ms"].isVisible()
    assert page.plots._no_data["server_p95_ms"].isVisible()  # era B: no histogram

    evaluation = _baseline_and_verdict(qtbot, page)
    assert page.table.rowCount() == len(METRICS)
    assert page.table.verdict_of("probe_ms") in ("pass", "marginal")  # 8 noisy samples a side
    assert page.table.verdict_of("server_p95_ms") == "no data"
    assert evaluation.overall in ("pass", "marginal")
    assert page.baseline_box.count() == 2  # the first baseline is the path baseline too
    assert not page.banner.isVisible()


def test_a_slower_node_raises_the_trigger_banner_with_the_numbers(
    qtbot, main_window, start_demo_node
):
    node = _steady(start_demo_node)
    page = _connect(qtbot, main_window, [node])
    _wait_samples(qtbot, page, "n1", 8)
    with qtbot.waitSignal(page.monitor.sig_baselines, timeout=10_000):
        page.monitor.capture_baseline(1)
    node.set_profile(latency_factor=12.0 * 1.5)  # the "upgraded" node is 50 % slower
    _wait_samples(qtbot, page, "n1", 10)
    with qtbot.waitSignal(page.monitor.sig_trigger, timeout=10_000) as fired:
        page.monitor.evaluate_now()
    assert fired.args[0].metric == "probe_ms"
    assert page.banner.isVisible()
    assert "Probe latency +" in page.banner.text.text()
    assert page.table.verdict_of("probe_ms") == "fail"
    page.banner.text.linkActivated.emit("#rollback")  # "the rollback procedure" link
    assert main_window.current_page == "guides"


def test_clicking_a_row_shows_both_distributions(qtbot, main_window, start_demo_node):
    page = _connect(qtbot, main_window, [_steady(start_demo_node)])
    _baseline_and_verdict(qtbot, page)
    row = next(r for r in range(page.table.rowCount()) if page.table.item(r, 0).text() == "Probe")
    page.table.cellClicked.emit(row, 0)
    dialog = page.findChild(DistributionDialog)
    assert dialog is not None and dialog.isVisible()
    names = [item.name() for item in dialog.plot.getPlotItem().listDataItems()]
    assert any(n.startswith("baseline (n = ") for n in names)
    assert any(n.startswith("now (n = ") for n in names)
    dialog.close()


def test_export_csv_and_png(qtbot, main_window, start_demo_node, tmp_path):
    page = _connect(qtbot, main_window, [_steady(start_demo_node)])
    _wait_samples(qtbot, page, "n1", 4)
    target = tmp_path / "samples.csv"
    with qtbot.waitSignal(page.sig_exported, timeout=10_000):
        page.export_csv(target)
    rows = list(csv.DictReader(target.open()))
    assert len(rows) >= 4 and rows[0]["node"] == "n1" and float(rows[-1]["probe_ms"]) > 0
    assert not list(tmp_path.glob("*.partial"))
    picture = tmp_path / "plots.png"
    with qtbot.waitSignal(page.sig_exported, timeout=5000):
        page.export_png(picture)
    image = QImage(str(picture))
    assert image.width() > 300 and image.height() > 200


def test_stopping_the_window_stops_the_samplers(qtbot, main_window, start_demo_node):
    page = _connect(qtbot, main_window, [_steady(start_demo_node)])
    main_window.close()
    assert not page.monitor.sampling


def test_an_unreachable_prometheus_gives_a_clear_error(qtbot, main_window, start_demo_node):
    from tests.core.loopback import free_port

    page = _connect(qtbot, main_window, [_steady(start_demo_node)])
    with qtbot.waitSignal(page.monitor.sig_action_failed, timeout=10_000) as failed:
        page.monitor.baseline_from_prometheus(f"http://127.0.0.1:{free_port()}", 15)
    assert "Prometheus" in failed.args[0] and "refused" in failed.args[0].lower()
    assert page.error_box.isVisible()
    assert page.baseline_box.count() == 0  # nothing half-made


def test_the_crosshair_tells_the_values_under_the_pointer(qtbot, main_window, start_demo_node):
    from PySide6.QtCore import QPointF

    page = _connect(qtbot, main_window, [_steady(start_demo_node)])
    _wait_samples(qtbot, page, "n1", 5)
    page._redraw()
    plot = page.plots.plots["probe_ms"]
    latest = page.monitor.store.latest
    texts = []
    page.plots.sig_hover.connect(texts.append)
    for x in (latest, latest - 600):
        plot.getViewBox().setXRange(x - 900, latest, padding=0)
        y = sum(plot.getViewBox().viewRange()[1]) / 2
        page.plots._on_mouse_moved(plot.getViewBox().mapViewToScene(QPointF(x, y)))
    assert "Probe latency" in texts[0] and "n1: " in texts[0] and " ms" in texts[0]
    assert texts[1].endswith("n1: no data")  # ten minutes before the first sample


def test_markers_are_the_connected_profiles_only(qtbot, main_window, start_demo_node):
    from themis_desktop.core.journal.store import Journal

    page = _connect(qtbot, main_window, [_steady(start_demo_node)])
    with Journal() as journal:
        other = profile_store.save(
            journal, Profile("other", (NodeEndpoint("http://10.0.0.9:1", "x"),))
        )
        ours = profile_store.get(journal, "lab") or profile_store.save(
            journal, page.workspace.profile
        )
        for profile, text in ((other, "theirs"), (ours, "ours")):
            session = session_store.start(journal, profile, "1.7.0", "1.8.0")
            journal.add_event("hop.started", text, session_id=session.id)
    page.monitor.refresh_markers()

    def started() -> list[str]:
        return [m[2] for m in page.monitor.markers if m[1] == "hop.started"]

    qtbot.waitUntil(lambda: started() != [], timeout=5000)
    assert started() == ["ours"]


def test_a_raised_trigger_stays_in_the_banner_until_acknowledged_with_a_note(
    qtbot, main_window, start_demo_node
):
    """Issue 17: the banner hid when a later verdict passed, and Dismiss hid a raised
    trigger. Now it shows the session's raised, unacknowledged triggers (the same state as
    the session page) until an admin acknowledges each with a note (journaled)."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from themis_desktop.core.journal.store import Journal
    from themis_desktop.core.upgrade.session import UpgradeSession
    from themis_desktop.core.versions.catalogue_file import load_catalogue
    from themis_desktop.core.versions.upgrade_path import plan_upgrade

    page = _connect(qtbot, main_window, [_steady(start_demo_node)])
    plan = plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8")
    with Journal() as journal:
        session = UpgradeSession.create(journal, page.workspace.profile, plan)
        raised = session.raise_trigger(
            journal, "critical-bug", "queries time out on n1", user="bob"
        )
    with qtbot.waitSignal(page.workspace.upgrade.sig_health, timeout=10_000):
        page.workspace.upgrade.reload()
    qtbot.waitUntil(page.banner.isVisible, timeout=5000)
    assert list(page.banner.ack_buttons) == [raised.id]
    assert "queries time out on n1" in page.banner.findChild(QLabel, "triggerRow").text()
    assert not page.banner.dismiss.isVisible()  # a raised trigger is not dismissed

    evaluation = _baseline_and_verdict(qtbot, page)  # a later verdict that passes
    assert evaluation.trigger is None
    # not a wait for a condition: the health state is derived again with the live verdict,
    # and the banner must stay
    qtbot.wait(300)
    assert page.banner.isVisible()
    assert main_window.pages["session"].banner.triggers == page.banner.triggers  # one state

    qtbot.mouseClick(page.banner.ack_buttons[raised.id], Qt.MouseButton.LeftButton)
    dialog = page.ack_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    assert not dialog.ok.isEnabled()  # a note is required
    QTest.keyClicks(dialog.note, "bug filed upstream; the timeouts are on a test table")
    qtbot.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not page.banner.isVisible(), timeout=10_000)
    assert not main_window.pages["session"].banner.triggers
    with Journal() as journal:
        (event,) = journal.events(types=["trigger.acknowledged"])
    assert event.data["trigger"] == raised.id
    assert event.user and event.ts and "test table" in event.message
