"""The guides page with hostile guides: a warning and the text, never a crash or a hang."""

from __future__ import annotations


def _load(qtbot, page, folder):
    with qtbot.waitSignal(
        page.sig_guides_loaded,
        timeout=10_000,
        check_params_cb=lambda guides: all(g.path.parent == folder for g in guides),
    ):
        page.load(folder)
    return {g.path.name: g for g in page.guides}


def test_nested_and_oversized_guides_show_a_warning_not_a_crash(qtbot, main_window, tmp_path):
    (tmp_path / "nested.md").write_text("# Notes\n\n" + "- " * 10_000 + "step\n")
    (tmp_path / "huge.md").write_text("# Huge\n\n" + "Plain words. " * 250_000)
    page = main_window.pages["guides"]
    guides = _load(qtbot, page, tmp_path)

    with qtbot.waitSignal(page.sig_guide_shown, timeout=10_000):
        page.show_guide(guides["nested.md"])
    shown = page.view.browser.toPlainText()
    assert "This guide is shown as plain text: line 3: lists, quotes or indents nested" in shown
    assert "- - - - " in shown

    with qtbot.waitSignal(page.sig_guide_shown, timeout=10_000):
        page.show_guide(guides["huge.md"])
    assert "guide too large: 3.1 MiB, limit 2 MiB" in page.view.browser.toPlainText()
    assert "guide too large" in page.findings.item(0).text()
