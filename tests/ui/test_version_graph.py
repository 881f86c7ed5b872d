"""The Versions page: graph, path from the server's version, hop and line notes, export."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QImage, QPainter, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.releases import Catalogue, Release, ReleaseLine, parse_version
from themis_desktop.core.versions.upgrade_path import plan_upgrade
from themis_desktop.ui.pages.version_graph import VersionGraphPage
from themis_desktop.ui.widgets import graph_style as gs


@pytest.fixture
def catalogue():
    return load_catalogue()


@pytest.fixture
def page(qtbot, main_window):
    main_window.show_page("versions")
    page = main_window.pages["versions"]
    qtbot.waitUntil(lambda: page.view.viewport().width() > 300)
    return page


def type_into(qtbot, edit, text):
    """Replace a field's text as a user does, and confirm it with Enter."""
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def line_name(release):
    return f"{release.line[0]}.{release.line[1]}"


def click_scene_point(view, scene_point: QPointF):
    view.centerOn(scene_point)
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(scene_point))


def test_the_page_plans_from_the_oldest_up_node_to_the_target(
    qtbot, main_window, page, start_demo_node, catalogue
):
    newer, older = start_demo_node("1.8.0"), start_demo_node("1.7.3")
    nodes = (NodeEndpoint(newer.url, "n1"), NodeEndpoint(older.url, "n2"))
    main_window.workspace.connect_profile(Profile("lab", nodes))
    qtbot.waitUntil(lambda: page.server_version == ("1.7.3", True, 2), timeout=15_000)
    assert page.plan is not None and page.plan.current.text == "1.7.3"
    assert page.view.nodes[(1, 7)].current_text == "1.7.3"
    assert "1.7.3 from lab (oldest of 2 nodes up)" in page.source_label.text()
    assert page.from_edit.placeholderText() == "1.7.3"

    for target in ("1.8", "2.4"):
        type_into(qtbot, page.to_edit, target)
        expected = plan_upgrade(catalogue, "1.7.3", target)
        stops = page.view.path_stops()
        assert stops == [(i, line_name(h.target)) for i, h in enumerate(expected.hops, 1)]
        assert sum(edge.on_path for edge in page.view.edges.values()) == len(expected.hops)
        assert page.view.nodes[expected.target.line].target_text == expected.target.text
        assert f"Hops\n{len(expected.hops)}\n" in page.summary.toPlainText()
    assert len(page.view.path_stops()) == 5  # 1.8, 1.9, 1.10, 2.0, 2.4: there is no 1.6
    summary = page.summary.toPlainText()
    assert "Rolling: none for the cluster; one node at a time" in summary
    assert "this profile has one node" not in summary  # it has two
    assert "How long a hop takes is not known" in summary

    # a typed From overrides the server's version; clearing it goes back to the server's
    type_into(qtbot, page.from_edit, "1.9")
    assert page.plan.current.line == (1, 9)
    assert "From overrides it" in page.source_label.text()
    page.from_edit.clear()
    assert page.plan.current.text == "1.7.3"


def test_without_a_version_the_page_asks_for_one(page):
    assert page.plan is None
    assert page.view.path_stops() == []
    assert "Type the version you run" in page.summary.toPlainText()
    assert "Not connected" in page.source_label.text()
    assert not page.error_label.isVisible()


def test_clicking_an_edge_shows_that_hop_and_announces_it(qtbot, page, catalogue):
    type_into(qtbot, page.from_edit, "1.7.0")
    type_into(qtbot, page.to_edit, "1.9")
    plan = plan_upgrade(catalogue, "1.7.0", "1.9")
    assert plan.point_of_no_return == 0

    edge = page.view.edges[(1, 8)]
    with qtbot.waitSignal(page.sig_hop_activated) as blocker:
        click_scene_point(page.view, edge.anchor())
    assert blocker.args[0] == plan.hops[0]
    assert page.panel.hop == plan.hops[0]
    text = page.panel.toPlainText()
    assert f"Hop 1 of 2: {plan.hops[0].title}" in text
    assert "Point of no return" in text
    assert "restore the backup taken before the hop" in text

    # an edge off the path shows the sequential hop between the two lines' latest releases
    with qtbot.waitSignal(page.sig_hop_activated) as blocker:
        click_scene_point(page.view, page.view.edges[(1, 3)].anchor())
    hop = blocker.args[0]
    assert (hop.source.line, hop.target.line) == ((1, 2), (1, 3))
    assert "Not a stop of the planned path" in page.panel.toPlainText()
    assert len(hop.breaking_changes) == len(catalogue.line((1, 3)).breaking_changes)


def test_clicking_a_line_shows_its_release_notes(qtbot, page, catalogue):
    node = page.view.nodes[(1, 8)]
    click_scene_point(page.view, node.box().center())
    line = catalogue.line((1, 8))
    assert page.panel.line == line and page.view.selected == (1, 8)
    text = page.panel.toPlainText()
    assert line.summary in text
    for release in line.releases:
        assert f"{release.text} · {release.date}" in text
    for sentence in line.breaking_changes:
        assert sentence in text
    assert "Releases" in text


def test_arrow_keys_move_the_selection_and_enter_opens_it(qtbot, page):
    type_into(qtbot, page.from_edit, "1.4.2")
    view = page.view
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert view.selected == (1, 4)  # the first key press starts at the current line
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert view.selected == (1, 5)
    qtbot.keyClick(view, Qt.Key.Key_Left)
    qtbot.keyClick(view, Qt.Key.Key_Left)
    assert view.selected == (1, 3)
    qtbot.keyClick(view, Qt.Key.Key_Down)
    below = view.selected
    assert view.nodes[below].pos().y() > view.nodes[(1, 3)].pos().y()
    qtbot.keyClick(view, Qt.Key.Key_Up)
    assert view.selected[0] == 1 and view.nodes[view.selected].pos().y() < (
        view.nodes[below].pos().y()
    )
    with qtbot.waitSignal(view.sig_line_activated) as blocker:
        qtbot.keyClick(view, Qt.Key.Key_Return)
    assert blocker.args[0].key == view.selected
    assert page.panel.line.key == view.selected


def test_zoom_with_keys_and_ctrl_wheel_then_fit(qtbot, page):
    view = page.view
    view.fit_to_view()
    fitted = view.transform().m11()
    qtbot.keyClick(view, Qt.Key.Key_Plus)
    assert view.transform().m11() == pytest.approx(fitted * 1.25)
    assert not view.auto_fit
    centre = QPointF(view.viewport().rect().center())
    wheel = QWheelEvent(
        centre,
        QPointF(view.viewport().mapToGlobal(centre.toPoint())),
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.ControlModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(view.viewport(), wheel)
    assert view.transform().m11() == pytest.approx(fitted * 1.25 * 1.15)
    qtbot.keyClick(view, Qt.Key.Key_F)
    assert view.auto_fit and view.transform().m11() == pytest.approx(fitted)
    shown = view.mapFromScene(view.sceneRect()).boundingRect()
    assert view.viewport().rect().adjusted(-2, -2, 2, 2).contains(shown)


def test_export_writes_a_valid_png_and_svg(qtbot, page, tmp_path):
    type_into(qtbot, page.from_edit, "1.7.0")
    png = page.export_png(tmp_path / "graph.png")
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000
    image = QImage(str(png))
    assert not image.isNull()
    assert image.width() >= page.view.sceneRect().width()

    svg = page.export_svg(tmp_path / "graph.svg")
    root = ET.parse(svg).getroot()
    assert root.tag.endswith("svg")
    assert "2.4" in svg.read_text(encoding="utf-8")  # the line names are text, not pixels

    with pytest.raises(OSError):
        page.export_svg(tmp_path / "missing" / "graph.svg")


def test_skip_level_draws_one_dashed_red_edge_and_lists_the_conditions(qtbot, page, catalogue):
    type_into(qtbot, page.from_edit, "1.5.0")
    type_into(qtbot, page.to_edit, "2.0")
    page.skip_check.setChecked(True)
    (edge,) = page.view.overlays
    assert edge.kind == "skip-level"
    assert edge.pen().style() == Qt.PenStyle.CustomDashLine and edge.pen().color() == gs.RED
    assert not any(e.on_path for e in page.view.edges.values())
    assert page.view.path_stops() == [(1, "2.0")]
    text = page.summary.toPlainText()
    plan = plan_upgrade(catalogue, "1.5.0", "2.0", skip_level=True)
    assert "not recommended" in text
    for condition in plan.conditions:
        assert condition in text
    with qtbot.waitSignal(page.sig_hop_activated) as blocker:
        click_scene_point(page.view, edge.anchor())
    assert blocker.args[0].kind == "skip-level"

    page.skip_check.setChecked(False)
    assert page.view.overlays == []
    assert len(page.view.path_stops()) == len(plan_upgrade(catalogue, "1.5.0", "2.0").hops)


def test_a_patch_upgrade_is_a_loop_on_its_line(qtbot, page):
    type_into(qtbot, page.from_edit, "1.3.0")
    type_into(qtbot, page.to_edit, "1.3.4")
    (edge,) = page.view.overlays
    assert edge.kind == "patch"
    assert page.view.path_stops() == [(1, "1.3")]
    assert page.view.nodes[(1, 3)].current_text == "1.3.0"


def test_a_downgrade_shows_the_rollback_message(qtbot, page):
    type_into(qtbot, page.from_edit, "2.0")
    type_into(qtbot, page.to_edit, "1.8")
    assert page.plan is None and page.view.path_stops() == []
    assert page.error_label.isVisible()
    assert "that is a rollback; see the rollback procedure" in page.error_label.text()
    assert "restore the backup" in page.error_label.text()
    assert page.view.nodes[(2, 0)].current_text and page.view.nodes[(1, 8)].target_text


@pytest.mark.parametrize(
    ("field", "text", "message"),
    [
        ("from_edit", "1.x.y", "From: '1.x.y' is not a version number"),
        ("to_edit", "3.1", "To: ThemisDB 3.1 is not in the release catalogue"),
    ],
)
def test_a_bad_version_shows_the_error_in_the_page(qtbot, page, field, text, message):
    type_into(qtbot, page.from_edit, "1.7.0")
    type_into(qtbot, getattr(page, field), text)
    assert page.error_label.isVisible()
    assert message in page.error_label.text()
    assert page.plan is None and "No plan" in page.summary.toPlainText()
    type_into(qtbot, getattr(page, field), "1.8")
    assert not page.error_label.isVisible() and page.plan is not None


def synthetic_catalogue(majors: int = 3, minors: int = 15) -> Catalogue:
    lines = []
    for major in range(1, majors + 1):
        for minor in range(minors):
            text = f"{major}.{minor}.0"
            release = Release(text, parse_version(text), "2026-01", "low")
            lines.append(ReleaseLine(f"{major}.{minor}", f"Line {major}.{minor}", (release,)))
    return Catalogue(tuple(lines))


def test_a_catalogue_of_45_lines_wraps_into_rows_without_overlaps(qtbot, main_window):
    page = VersionGraphPage(main_window.workspace, catalogue=synthetic_catalogue())
    qtbot.addWidget(page)
    page.resize(1100, 700)
    page.show()
    qtbot.waitExposed(page)
    view = page.view
    view.fit_to_view()
    boxes = [node.box() for node in view.nodes.values()]
    assert len(boxes) == 45
    assert not any(a.intersects(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])
    columns = {round(box.left()) for box in boxes}
    assert 2 <= len(columns) == view.columns < 15
    rows_of_major_2 = {round(n.box().top()) for k, n in view.nodes.items() if k[0] == 2}
    rows_of_major_1 = {round(n.box().top()) for k, n in view.nodes.items() if k[0] == 1}
    assert min(rows_of_major_2) > max(rows_of_major_1)  # each major starts a new row
    type_into(qtbot, page.from_edit, "1.2")
    type_into(qtbot, page.to_edit, "3.14")
    assert len(page.view.path_stops()) == 42


def test_ctrl_plus_and_minus_zoom_anywhere_in_the_page(qtbot, page):
    main = page.window()
    main.activateWindow()
    qtbot.waitUntil(main.isActiveWindow)
    page.to_edit.setFocus()
    qtbot.waitUntil(page.to_edit.hasFocus)
    page.view.fit_to_view()
    fitted = page.view.transform().m11()
    qtbot.keyClick(page.to_edit, Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert page.view.transform().m11() == pytest.approx(fitted * 1.25)
    qtbot.keyClick(page.to_edit, Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert page.view.transform().m11() == pytest.approx(fitted)
    assert page.to_edit.text() == ""  # the field did not take the keys


def test_a_broken_user_catalogue_falls_back_to_the_bundled_one(qtbot, isolated_home):
    from themis_desktop.ui.app import build_main_window

    (isolated_home / "releases.yaml").write_text("lines: [\n  {line: 1.9\n")
    window = build_main_window()
    qtbot.addWidget(window)
    page = window.pages["versions"]
    assert "Your release catalogue cannot be read" in page.error_label.text()
    assert [line.name for line in page.catalogue.lines][-1] == "2.4"
    window.close()


def connect_lab(qtbot, window, node, name="lab"):
    window.workspace.connect_profile(Profile(name, (NodeEndpoint(node.url, "n1"),)))
    page = window.pages["versions"]
    qtbot.waitUntil(lambda: page.server_version is not None, timeout=15_000)
    return page


def test_a_fresh_start_proposes_the_next_minor_one_hop(qtbot, main_window, start_demo_node):
    """Without opening Versions, the planned path a session starts from is one minor hop."""
    assert main_window.current_page == "overview"
    page = connect_lab(qtbot, main_window, start_demo_node("1.7.0"))
    plan = main_window.workspace.plan
    assert (plan.current.text, plan.target.text, len(plan.hops)) == ("1.7.0", "1.8.2", 1)
    assert page.to_edit.text() == "" and page.to_edit.placeholderText() == "1.8 (next minor)"
    assert page.target_label.text().startswith("Target 1.8.2: the next minor line")

    session = main_window.pages["session"]
    qtbot.waitUntil(session.new_button.isEnabled, timeout=5000)
    with qtbot.waitSignal(
        main_window.workspace.upgrade.sig_session,
        timeout=10_000,
        check_params_cb=lambda s: s is not None,  # a reload may announce "no session" first
    ) as started:
        qtbot.mouseClick(session.new_button, Qt.MouseButton.LeftButton)
    assert [(h.from_version, h.to_version) for h in started.args[0].hops] == [("1.7.0", "1.8.2")]


def test_the_chosen_target_is_remembered_per_profile_across_a_restart(
    qtbot, main_window, start_demo_node
):
    from themis_desktop.ui.app import build_main_window

    node = start_demo_node("1.7.0")
    page = connect_lab(qtbot, main_window, node)
    type_into(qtbot, page.to_edit, "1.9")
    assert main_window.workspace.plan.target.text == "1.9.1"
    assert "Target 1.9.1, as chosen for lab" in page.target_label.text()
    main_window.close()

    again = build_main_window()
    qtbot.addWidget(again)
    try:
        page = connect_lab(qtbot, again, node)
        assert page.to_edit.text() == "1.9"
        assert again.workspace.plan.target.text == "1.9.1" and len(again.workspace.plan.hops) == 2
        page = connect_lab(qtbot, again, node, name="other")  # another profile: its own
        assert page.to_edit.text() == "" and again.workspace.plan.target.text == "1.8.2"
        page = connect_lab(qtbot, again, node)
        assert page.to_edit.text() == "1.9"
        page.to_edit.clear()  # forgotten: the next minor again
        assert again.workspace.plan.target.text == "1.8.2"
    finally:
        again.close()
    third = build_main_window()
    qtbot.addWidget(third)
    try:
        assert connect_lab(qtbot, third, node).to_edit.text() == ""
    finally:
        third.close()


def test_a_remembered_target_the_nodes_have_reached_gives_way_to_the_next_minor(
    qtbot, main_window, start_demo_node
):
    from themis_desktop.ui.settings import remember_target

    remember_target("lab", "1.8")  # chosen before the upgrade to 1.8.2
    page = connect_lab(qtbot, main_window, start_demo_node("1.8.2"))
    assert page.to_edit.text() == ""
    assert main_window.workspace.plan.target.text == "1.9.1"


def click_link(qtbot, browser, text):
    """Click the link whose text is `text` in a QTextBrowser, as a user does."""
    found = browser.document().find(text)
    assert not found.isNull(), f"{text!r} not shown"
    cursor = browser.textCursor()
    cursor.setPosition(found.selectionStart() + 2)
    browser.setTextCursor(cursor)
    browser.ensureCursorVisible()
    point = browser.cursorRect(cursor).center()
    QTest.mouseClick(browser.viewport(), Qt.MouseButton.LeftButton, pos=point)


def amber_pixels_on_left_border(view, key):
    box = view.nodes[key].box()
    image = QImage(40, 40, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.white)
    painter = QPainter(image)
    source = QRectF(box.left() - 20, box.top() + 60, 40, 40)  # below the chips, on the border
    view.scene().render(painter, QRectF(0, 0, 40, 40), source)
    painter.end()
    return sum(
        image.pixelColor(x, y).name() == gs.AMBER.name() for x in range(40) for y in range(40)
    )


def test_contested_and_known_bad_lines_are_drawn_as_such_with_a_legend(qtbot, page, tmp_path):
    view = page.view
    assert view.nodes[(1, 1)].status_chips == (("contested", "warn"),)
    assert view.nodes[(1, 2)].status_chips == (("contested", "warn"),)
    assert view.nodes[(1, 8)].status_chips == (("1 known-bad", "bad"),)
    assert view.nodes[(1, 7)].status_chips == ()
    assert amber_pixels_on_left_border(view, (1, 1)) > 5  # the dashed amber border
    assert amber_pixels_on_left_border(view, (1, 7)) == 0
    assert "[contested]" in view.nodes[(1, 1)].toolTip()
    assert "[known-bad]" in view.nodes[(1, 8)].toolTip()
    svg = page.export_svg(tmp_path / "graph.svg").read_text()
    assert "contested: may never have shipped" in svg and "never a stop" in svg


def test_a_contested_line_and_a_known_bad_release_name_their_evidence(qtbot, page, catalogue):
    click_scene_point(page.view, page.view.nodes[(1, 2)].box().center())
    text = page.panel.toPlainText()
    assert "Contested: upstream's documents disagree whether it was released." in text
    assert catalogue.resolve("1.2.0").evidence in text
    assert "Sources (makr-code/ThemisDB): docs/releases/CHANGELOG.md" in text
    click_scene_point(page.view, page.view.nodes[(1, 8)].box().center())
    text = page.panel.toPlainText()
    assert "Known-bad: never a stop." in text and "SIGSEGV" in text
    assert "A path stops at 1.8.2" in text
    click_scene_point(page.view, page.view.nodes[(1, 3)].box().center())
    text = page.panel.toPlainText()
    assert "A path stops at 1.3.4-hotfix" in text and "1.3.5 is newer but" in text


def test_the_plan_asks_to_confirm_contested_stops_and_records_the_answer(qtbot, page):
    type_into(qtbot, page.from_edit, "1.0.0")
    type_into(qtbot, page.to_edit, "1.8")
    summary = page.summary.toPlainText()
    assert "2 contested stop(s) to confirm" in summary
    assert "1.1.0 may never have been released" in summary and "2024-09-01" in summary
    assert [h.target.text for h in page.plan.unconfirmed] == ["1.1.0", "1.2.0"]
    assert page.view.path_stops()[:3] == [(1, "1.1"), (2, "1.2"), (3, "1.3")]

    with qtbot.waitSignal(page.sig_plan_changed) as blocker:
        click_link(qtbot, page.summary, "I have 1.1.0")
    plan = blocker.args[0]
    assert plan.have == ("1.1.0",) and plan.hops[0].confirmed
    assert [h.target.text for h in plan.unconfirmed] == ["1.2.0"]
    assert "1 contested stop(s) to confirm" in page.summary.toPlainText()
    assert "confirmed by you" in page.summary.toPlainText()

    with qtbot.waitSignal(page.sig_plan_changed) as blocker:
        click_link(qtbot, page.summary, "I do not have 1.1.0")
    assert blocker.args[0].have == () and not blocker.args[0].hops[0].confirmed


def test_a_known_bad_target_is_refused_with_the_reason(qtbot, page):
    type_into(qtbot, page.from_edit, "1.8.0")
    type_into(qtbot, page.to_edit, "1.8.1-rc1")
    assert page.plan is None
    message = page.error_label.text()
    assert "1.8.1-rc1 is known-bad and is never a stop" in message and "exit code 139" in message
    assert "Plan to 1.8.1-rc2 or later instead." in message


def test_an_edge_off_the_path_shows_the_hop_between_the_lines_stops(qtbot, page, catalogue):
    type_into(qtbot, page.from_edit, "1.7.0")
    type_into(qtbot, page.to_edit, "1.8")
    with qtbot.waitSignal(page.sig_hop_activated) as blocker:
        click_scene_point(page.view, page.view.edges[(1, 3)].anchor())
    hop = blocker.args[0]
    # 1.3.5 is the highest number but lacks 1.3.4's fixes: the hop ends at the line's stop
    assert hop.target.text == catalogue.line((1, 3)).stop.text == "1.3.4-hotfix"
    assert hop.source.text == catalogue.line((1, 2)).stop.text
    assert "1.3.4-hotfix" in page.panel.toPlainText()


def test_the_page_shows_the_servers_own_update_status_and_checks_now(
    qtbot, main_window, start_demo_node, monkeypatch
):
    monkeypatch.setenv("THEMIS_DEMO_LATEST", "1.7.2!")
    page = connect_lab(qtbot, main_window, start_demo_node("1.7.0"))
    qtbot.waitUntil(lambda: "Critical update available: v1.7.2" in page.update_label.text())
    assert "(n1)" in page.update_label.text()
    qtbot.waitUntil(page.check_button.isEnabled)
    monkeypatch.setenv("THEMIS_DEMO_LATEST", "offline")
    qtbot.mouseClick(page.check_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "update check failed" in page.update_label.text(), timeout=10_000)


@pytest.mark.parametrize(
    ("version", "text"),
    [("1.2.0", "not enabled"), ("1.8.0", "not reachable on v1.8.0")],
)
def test_a_server_without_a_reachable_update_checker_says_so(
    qtbot, main_window, start_demo_node, version, text
):
    page = connect_lab(qtbot, main_window, start_demo_node(version))
    qtbot.waitUntil(lambda: text in page.update_label.text(), timeout=10_000)
    assert not page.check_button.isEnabled()


def test_the_1_0_line_shows_its_known_issues_on_the_node_and_in_the_notes(
    qtbot, page, catalogue, tmp_path
):
    from themis_desktop.core.versions.known_issues import known_issues

    issues = known_issues(catalogue, "1.0")
    node = page.view.nodes[(1, 0)]
    assert node.status_chips == ((f"{len(issues)} known issues", "warn"),)
    assert "Known issues:" in node.toolTip() and "prompt_templates" in node.toolTip()
    click_scene_point(page.view, node.box().center())
    assert page.panel.line == catalogue.line((1, 0))
    text = page.panel.toPlainText()
    assert f"Known issues of every 1.0 release ({len(issues)}):" in text
    for issue in issues:
        assert issue.summary in text and issue.workaround in text
    assert "Column families not opened: prompt_templates" in text
    assert "Sources (makr-code/ThemisDB): src/server/http_server.cpp" in text
    assert "Affects: stopping the node may need a kill after a timeout." in text
    assert "known issues: plan around them" in page.export_svg(tmp_path / "g.svg").read_text()
