"""`--self-test` in-process: the main window paints and a bundled guide renders."""

from __future__ import annotations

import os

from themis_desktop.ui.self_test import GUIDE, run_self_test


def test_self_test_passes_and_prints_one_line_per_check(qapp, capsys, isolated_home):
    assert run_self_test() == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("ok window")
    assert lines[1].startswith(f"ok guide {GUIDE} (")
    assert "KiB HTML" in lines[1]
    assert lines[-1] == "self-test passed"
    # it used its own home and gave the test's back
    assert os.environ["THEMIS_DESKTOP_HOME"] == str(isolated_home)
    assert not any(isolated_home.iterdir())


def test_self_test_fails_with_the_reason_when_the_guides_are_missing(
    qapp, capsys, monkeypatch, tmp_path
):
    from themis_desktop.core.util import resources

    monkeypatch.setattr(resources, "guides_dir", lambda: tmp_path / "nowhere")
    assert run_self_test() == 1
    out = capsys.readouterr().out
    assert "ok window" in out
    assert f"FAIL guides: the bundled folder {tmp_path / 'nowhere'} is missing" in out
