"""Drive the app on its demo instance through an upgrade session, then capture the screen.

    xvfb-run -s "-screen 0 1280x820x24" .venv/bin/python scripts/screenshot_session.py \
        docs/session.png [--from 1.8.2 --to 1.9] [--size 1180x760]

The real window (`themis-desktop --demo --demo-version 1.8.2`) is driven by clicks and keys
(QTest), as a person would: plan to 1.9, start the session, pre-checks, backup, the upgrade
step (its question answered Yes), validation; then it waits until the demo's misbehaving
1.9 has raised its triggers, and `import -window root` captures the screen.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("THEMIS_DESKTOP_HOME", tempfile.mkdtemp(prefix="themis-shot-"))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--from", dest="source", default="1.8.2")
    parser.add_argument("--to", default="1.9")
    parser.add_argument("--size", default="1180x760")
    parser.add_argument("--timeout", type=float, default=240.0)
    parser.add_argument("--settle", type=float, default=3.0, help="seconds before capturing")
    parser.add_argument(
        "--baseline", type=float, default=60.0, help="seconds of samples before the upgrade"
    )
    args = parser.parse_args()
    width, height = (int(x) for x in args.size.split("x"))

    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QMessageBox

    from themis_desktop.ui.app import application, build_main_window
    from themis_desktop.ui.demo_mode import DemoMode
    from themis_desktop.ui.settings import settings

    app = application()
    settings().setValue("backup_dir", str(Path(os.environ["THEMIS_DESKTOP_HOME"]) / "backups"))
    window = build_main_window()
    window.show()
    window.move(0, 0)
    window.resize(width, height)
    demo = DemoMode(window.workspace, version=args.source, data_size_mb=8, parent=window)
    demo.start()
    page = window.pages["session"]
    versions = window.pages["versions"]
    ctrl = Qt.KeyboardModifier.ControlModifier

    def click(widget) -> None:
        QTest.mouseClick(widget, Qt.MouseButton.LeftButton)

    def go(key: str) -> None:
        """Click the page's entry in the sidebar (Xvfb has no window manager to make the
        window active, so its Ctrl+digit shortcuts would not reach it)."""
        sidebar = window.sidebar
        item = sidebar.item(list(window.pages).index(key))
        QTest.mouseClick(
            sidebar.viewport(), Qt.MouseButton.LeftButton, pos=sidebar.visualItemRect(item).center()
        )

    def plan() -> None:
        go("versions")
        click(versions.to_edit)
        QTest.keyClick(versions.to_edit, Qt.Key.Key_A, ctrl)
        QTest.keyClicks(versions.to_edit, args.to)
        QTest.keyClick(versions.to_edit, Qt.Key.Key_Return)
        go("session")

    def answer_yes() -> None:
        click(page.upgrade_question.button(QMessageBox.StandardButton.Yes))

    def idle(step: str) -> Callable[[], bool]:
        return lambda: not page.model.busy and page.buttons[step].isEnabled()

    statuses = window.workspace
    steps: list[tuple[str, Callable[[], bool], Callable[[], object]]] = [
        (
            "connected",
            lambda: len(statuses.statuses) > 0 and all(s and s.up for s in statuses.statuses),
            plan,
        ),
        (
            "planned",
            lambda: window.workspace.plan is not None and page.new_button.isEnabled(),
            lambda: click(page.new_button),
        ),
        ("session", idle("pre-checks"), lambda: click(page.buttons["pre-checks"])),
        ("pre-checked", idle("backup"), lambda: click(page.buttons["backup"])),
        (  # the hop's baseline is the samples before the upgrade step: let some come in
            "backed up",
            lambda: idle("upgrade")() and time.monotonic() - started > args.baseline,
            lambda: click(page.buttons["upgrade"]),
        ),
        (
            "asked",
            lambda: (
                getattr(page, "upgrade_question", None) is not None
                and page.upgrade_question.isVisible()
            ),
            answer_yes,
        ),
        ("upgraded", idle("validate"), lambda: click(page.buttons["validate"])),
        (
            "triggered",
            lambda: not page.model.busy and page.banner.isVisible() and page.banner.triggers,
            lambda: None,
        ),
        (  # the header's chips show the new version (they are polled every 2 s)
            "polled",
            lambda: all(args.to in chip.text() for chip in window.header.chips),
            lambda: None,
        ),
    ]
    started = time.monotonic()
    state = {"index": 0, "settled": None, "code": 1}

    def advance() -> None:
        if time.monotonic() - started > args.timeout:
            name = steps[state["index"]][0] if state["index"] < len(steps) else "capture"
            print(f"timed out waiting for: {name}", file=sys.stderr)
            print(
                f"page {window.current_page}, banner hidden {page.banner.isHidden()}, "
                f"health {page.model.health and page.model.health.describe()}",
                file=sys.stderr,
            )
            app.quit()
            return
        if state["index"] < len(steps):
            name, ready, action = steps[state["index"]]
            if ready():
                print(f"step: {name}", flush=True)
                action()
                state["index"] += 1
            return
        if state["settled"] is None:  # let the banner, badge and log settle
            state["settled"] = time.monotonic()
            return
        if time.monotonic() - state["settled"] < args.settle:
            return
        window.raise_()
        subprocess.run(
            ["import", "-window", "root", "-crop", f"{width}x{height}+0+0", "+repage", args.out],
            check=True,
        )
        print(f"wrote {args.out}", flush=True)
        state["code"] = 0
        app.quit()

    timer = QTimer()
    timer.timeout.connect(advance)
    timer.start(250)
    try:
        app.exec()
    finally:
        window.close()
        demo.stop()
    return state["code"]


if __name__ == "__main__":
    sys.exit(main())
