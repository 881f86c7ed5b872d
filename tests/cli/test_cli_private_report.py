"""A session report is readable by its user only (issue 16, item 15), HTML and PDF."""

from __future__ import annotations

import os
import stat

import pytest

from themis_desktop.cli import main

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


@pytest.mark.parametrize("name", ["report.html", "report.pdf"])
def test_a_report_is_private_to_its_user(tmp_path, name):
    previous = os.umask(0o022)  # new files would be 0644
    try:
        assert main(["profiles", "add", "lab", "http://127.0.0.1:1"]) == 0
        assert main(["session", "start", "--profile", "lab", "--to", "1.8", "--from", "1.7.0"]) == 0
        out = tmp_path / name
        out.write_text("an older report, readable by all")
        os.chmod(out, 0o644)
        assert main(["report", "-o", str(out)]) == 0
    finally:
        os.umask(previous)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert out.read_bytes()[:5] in (b"<!DOC", b"%PDF-")
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary left
