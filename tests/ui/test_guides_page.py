"""The guides page: rendered guides of the plan, findings, and a checklist kept in the journal."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QGuiApplication

from themis_desktop.core.guides import checklist
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.upgrade import session_store
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade
from themis_desktop.ui.app import build_main_window


def _page(window):
    return window.pages["guides"]


def _wait_loaded(qtbot, page):
    qtbot.waitUntil(lambda: len(page.guides) >= 11, timeout=10_000)


def _show(qtbot, page, name):
    guide = next(g for g in page.guides if g.path.name == name)
    with qtbot.waitSignal(page.sig_guide_shown, timeout=10_000):
        page.show_guide(guide)
    return guide


def test_a_guide_is_rendered_with_its_table_of_contents(qtbot, main_window):
    page = _page(main_window)
    _wait_loaded(qtbot, page)
    _show(qtbot, page, "v1.7-to-v1.8.md")
    titles = [page.view.toc.itemText(i).strip() for i in range(page.view.toc.count())]
    assert "Breaking Changes" in titles and "Step-by-Step Migration" in titles
    assert "/v1/" in page.view.browser.toPlainText()
    assert page.findings.isHidden()
    page.view.find.setText("ZSTD")
    assert page.view.find_next()


def test_copy_links_put_the_command_on_the_clipboard(qtbot, main_window):
    page = _page(main_window)
    _wait_loaded(qtbot, page)
    _show(qtbot, page, "v1.7-to-v1.8.md")
    with qtbot.waitSignal(page.view.sig_copied) as blocker:
        page.view.browser.anchorClicked.emit(QUrl("copy:0"))
    assert (
        QGuiApplication.clipboard().text() == blocker.args[0] == page.view.rendered.code_blocks[0]
    )


def test_the_plan_lists_its_hops_and_a_combined_checklist(qtbot, main_window):
    page = _page(main_window)
    _wait_loaded(qtbot, page)
    main_window.workspace.set_plan(plan_upgrade(load_catalogue(), "1.5.0", "1.8"))
    texts = [page.list.item(i).text() for i in range(page.list.count())]
    assert texts[0] == "All steps 1.5.0 → 1.8.2"
    assert page.list.currentItem().text() == "1. 1.5 → 1.7 — draft"  # the first hop is shown
    assert texts[1:3] == ["1. 1.5 → 1.7 — draft", "2. 1.7 → 1.8 — complete"]
    with qtbot.waitSignal(page.sig_guide_shown):
        page.list.setCurrentRow(0)
    assert "Take a verified backup" in page.view.browser.toPlainText()


def test_ticking_steps_is_journaled_and_restored_after_a_restart(qtbot, main_window):
    page = _page(main_window)
    _wait_loaded(qtbot, page)
    guide = _show(qtbot, page, "v1.3-to-v1.4.md")
    first, second = guide.steps[0], guide.steps[1]
    with qtbot.waitSignal(main_window.workspace.sig_session_changed, timeout=5000):
        page.checklist.tick(first.id)
    qtbot.waitUntil(lambda: page.checklist.counts() == (1, len(guide.steps)))
    page.checklist.tick(second.id)
    qtbot.waitUntil(lambda: page.checklist.counts()[0] == 2)
    session = main_window.workspace.session_id
    with Journal() as journal:
        states = checklist.states(journal, session)
        assert states[("1.3→1.4", first.id)].state == "done"
        assert states[("1.3→1.4", first.id)].user
    main_window.close()

    reopened = build_main_window()
    qtbot.addWidget(reopened)
    page = _page(reopened)
    _wait_loaded(qtbot, page)
    assert reopened.workspace.session_id == session
    _show(qtbot, page, "v1.3-to-v1.4.md")
    qtbot.waitUntil(lambda: page.checklist.counts()[0] == 2, timeout=5000)
    phase_done, phase_total = page.checklist.counts("pre-checks")
    assert phase_done == 2 and phase_total >= 2
    reopened.close()


def test_a_skip_needs_a_reason_and_shows_as_finished(qtbot, main_window):
    page = _page(main_window)
    _wait_loaded(qtbot, page)
    guide = _show(qtbot, page, "v1.7-to-v1.8.md")
    step = guide.steps[-1]
    with qtbot.waitSignal(main_window.workspace.sig_session_changed, timeout=5000):
        page.checklist.sig_step_changed.emit(step.id, "skipped", "", "single-node lab")
    qtbot.waitUntil(lambda: page.checklist.counts()[0] == 1)
    assert page.checklist.items[step.id].text(1) == "skipped"
    assert "single-node lab" in page.checklist.items[step.id].toolTip(0)


def test_a_folder_of_malformed_guides_shows_findings_not_a_crash(qtbot, main_window, tmp_path):
    (tmp_path / "upstream.md").write_text(
        "# Upgrade notes\n\n<script>x</script>\n\n```\nrun\n```\n"
    )
    (tmp_path / "binary.md").write_bytes(b"\xff\xfe\x00garbage\x00")
    page = _page(main_window)
    with qtbot.waitSignal(
        page.sig_guides_loaded,
        timeout=5000,
        check_params_cb=lambda guides: all(g.path.parent == tmp_path for g in guides),
    ):
        page.load(tmp_path)
    upstream = next(g for g in page.guides if g.path.name == "upstream.md")
    with qtbot.waitSignal(page.sig_guide_shown, timeout=5000):
        page.show_guide(upstream)
    assert not page.findings.isHidden() and page.findings.count() >= 8
    assert "<script" not in page.view.browser.toHtml()


@pytest.mark.parametrize("name", ["v1.7-to-v1.8.md"])
def test_a_guide_exports_to_pdf(qtbot, main_window, tmp_path, name):
    page = _page(main_window)
    _wait_loaded(qtbot, page)
    _show(qtbot, page, name)
    out = tmp_path / "guide.pdf"
    page.view.export_pdf(str(out))
    assert out.read_bytes().startswith(b"%PDF") and out.stat().st_size > 5000


def test_two_quick_ticks_share_one_new_session(qtbot, main_window):
    page = _page(main_window)
    _wait_loaded(qtbot, page)
    guide = _show(qtbot, page, "v1.3-to-v1.4.md")
    page.checklist.tick(guide.steps[0].id)
    page.checklist.tick(guide.steps[1].id)  # before the first one is recorded
    qtbot.waitUntil(lambda: page.checklist.counts()[0] == 2, timeout=5000)
    with Journal() as journal:
        sessions = session_store.load_all(journal)
        assert len(sessions) == 1
        assert len(checklist.states(journal, sessions[0].id)) == 2


UPSTREAM_STYLE = Path(__file__).parents[1] / "core" / "upstream_style"


def _load_folder(qtbot, page, folder):
    with qtbot.waitSignal(
        page.sig_guides_loaded,
        timeout=10_000,
        check_params_cb=lambda guides: all(g.path.parent == folder for g in guides),
    ):
        page.load(folder)


def test_an_upstream_style_guide_is_a_checklist_whose_choice_survives_a_restart(qtbot, main_window):
    page = _page(main_window)
    _wait_loaded(qtbot, page)
    _load_folder(qtbot, page, UPSTREAM_STYLE)
    assert sorted(g.path.name for g in page.guides) == ["v1.3-to-v1.4.md", "v1.7-to-v1.8.md"]
    guide = _show(qtbot, page, "v1.7-to-v1.8.md")
    assert page.checklist.counts() == (0, 15)
    assert page.checklist.counts("rollback") == (0, 5)
    rollback = next(s for s in guide.steps if s.phase == "rollback")
    assert page.checklist.items[rollback.id].text(0) == "Stop the 1.8 services."  # no **
    choice = next(s for s in guide.steps if s.options)
    row = page.checklist.items[choice.id]  # (the list is built anew when a session starts)
    assert [row.child(i).text(0) for i in range(row.childCount())] == [
        "A: Package manager",
        "B: Docker",
        "C: Manual binary",
    ]
    with qtbot.waitSignal(main_window.workspace.sig_session_changed, timeout=5000):
        page.checklist.choose(choice.id, "B")

    def shown():
        return page.checklist.items[choice.id].text(0)

    qtbot.waitUntil(lambda: shown().endswith("— chosen: B Docker"), timeout=5000)
    page.checklist.choose(choice.id, "C")  # another option replaces it
    qtbot.waitUntil(lambda: shown().endswith("— chosen: C Manual binary"), timeout=5000)
    row = page.checklist.items[choice.id]
    checks = [row.child(i).checkState(0) for i in range(row.childCount())]
    assert checks == [Qt.CheckState.Unchecked, Qt.CheckState.Unchecked, Qt.CheckState.Checked]
    assert page.checklist.counts() == (0, 15)  # a choice is not the step done
    page.checklist.tick(choice.id)
    qtbot.waitUntil(lambda: page.checklist.counts() == (1, 15), timeout=5000)
    session = main_window.workspace.session_id
    with Journal() as journal:
        state = checklist.states(journal, session)[("1.7→1.8", choice.id)]
        assert (state.state, state.choice, state.choice_label) == ("done", "C", "Manual binary")
    main_window.close()

    reopened = build_main_window()
    qtbot.addWidget(reopened)
    page = _page(reopened)
    _wait_loaded(qtbot, page)
    _load_folder(qtbot, page, UPSTREAM_STYLE)
    _show(qtbot, page, "v1.7-to-v1.8.md")
    qtbot.waitUntil(lambda: shown().endswith("— chosen: C Manual binary"), timeout=5000)
    row = page.checklist.items[choice.id]
    assert row.child(2).checkState(0) == Qt.CheckState.Checked
    assert row.checkState(0) == Qt.CheckState.Checked
    assert "Chosen: option C Manual binary" in row.toolTip(0)
    reopened.close()


def test_switching_back_to_an_opened_guide_reuses_its_rendering_and_layout(qtbot, main_window):
    page = _page(main_window)
    _wait_loaded(qtbot, page)
    _show(qtbot, page, "v1.7-to-v1.8.md")
    first_document = page.view.browser.document()
    first_rendered = page.view.rendered
    _show(qtbot, page, "v1.5-to-v1.7.md")
    assert page.view.browser.document() is not first_document
    guide = next(g for g in page.guides if g.path.name == "v1.7-to-v1.8.md")
    with qtbot.waitSignal(page.sig_guide_shown, timeout=1000):
        page.show_guide(guide)  # no render task: shown at once
    assert page.view.rendered is first_rendered
    assert page.view.browser.document() is first_document
    assert "/v1/" in page.view.browser.toPlainText()
    page.view.show_message("Rendering…")  # a message never writes into a kept guide
    assert first_document.toPlainText() != "Rendering…"
    assert "/v1/" in first_document.toPlainText()
