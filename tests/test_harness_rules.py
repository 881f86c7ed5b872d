"""Rules for the tests themselves: no test waits for a condition with a fixed sleep.

ruff bans `time.sleep` under tests/ (TID251, pyproject.toml); a sleep that is part of what a
test builds carries `# noqa: TID251 - <why>` on its line. Waits for a condition use
tests/conftest.py's `wait_until`, qtbot.waitUntil, an event or a ready line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = re.compile(r"#\s*noqa:\s*TID251\b(?P<why>.*)$")


def ruff(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--select", "TID251", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_no_test_sleeps_unless_it_says_why():
    result = ruff("tests")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_sleep_in_a_test_is_refused_and_one_in_the_app_is_not():
    waiting = "import time\n\n\ndef test_x():\n    time.sleep(0.5)\n"
    refused = ruff("--stdin-filename", "tests/core/test_waits.py", "-", stdin=waiting)
    assert refused.returncode == 1 and "TID251" in refused.stdout, refused.stdout
    assert "wait_until" in refused.stdout  # the message says what to use instead
    imported = "from time import sleep\n"
    assert ruff("--stdin-filename", "tests/ui/test_w.py", "-", stdin=imported).returncode == 1
    app = ruff("--stdin-filename", "themis_desktop/core/retry.py", "-", stdin=waiting)
    assert app.returncode == 0, app.stdout


def test_every_allowed_sleep_says_why():
    unexplained = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if (allowed := ALLOWED.search(line)) and len(allowed["why"].strip(" -—:")) < 10
    ]
    assert not unexplained, f"say why the sleep is no wait for a condition: {unexplained}"
