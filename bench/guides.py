"""Render a generated 200 KiB guide; compare with plain `markdown.markdown` on the same text.

Targets (issue 23): our whole pipeline (parse, validate, extract steps, render with
highlighting) < 200 ms and <= 1.5x the plain conversion measured beside it in the same run
(best of 7 each); switching back to an already opened guide in the guide view (its document
kept) < 30 ms, repaint included, beside a fresh `setHtml` of the same guide.
Run: .venv/bin/python bench/guides.py
"""

from __future__ import annotations

import itertools
import os
import statistics
import time

import markdown
from _table import Row, print_table  # bench/ is the script's folder

from themis_desktop.core.guides.library import parse_guide
from themis_desktop.core.guides.render import render_guide

TARGET_MS, TARGET_RATIO, SWITCH_MS = 200, 1.5, 30
SIZE = 200 * 1024


def generated_guide(size: int = SIZE) -> str:
    """A template-conforming guide of about `size` bytes: sections, tables, code, steps."""
    head = (
        '---\nfrom: "1.7"\nto: "1.8"\nupdated: 2026-11-26\nstatus: draft\n---\n'
        "# Migration Guide: v1.7 to v1.8\n\n## Overview\nSee [rollback](#5-rollback-procedure).\n"
    )
    parts = [head]
    n = 0
    while sum(map(len, parts)) < size * 0.45:
        n += 1
        parts.append(
            f"\n### Topic {n}\n\nThemisDB node {n} keeps `storage.memtable_size_mb` at 512 and "
            "answers `GET /version` quickly; compare metrics before and after. "
            * 3
            + "\n\n| key | before | after |\n|---|---|---|\n"
            + "".join(f"| storage.option_{n}_{i} | {i} | {i * 2} |\n" for i in range(6))
            + "\n```bash\ncurl -s http://HOST:PORT/version | python3 -m json.tool\n"
            f"systemctl restart themisdb  # node {n}\n```\n"
        )
    parts.append(
        "\n## Breaking Changes\nNone.\n## New Features\nMany.\n## Deprecated Features\n"
        "None.\n## Step-by-Step Migration\n"
    )
    phases = [
        "1. Pre-Migration Checks",
        "2. Backup Procedures",
        "3. Upgrade Steps",
        "4. Post-Migration Validation",
        "5. Rollback Procedure",
    ]
    step_bytes = 150
    per_phase = max(1, int((size - sum(map(len, parts)) - 200) / step_bytes / len(phases)))
    for phase in phases:
        parts.append(f"### {phase}\n")
        for i in range(per_phase):
            parts.append(
                f"- [ ] Check item {i} of {phase.lower()} on every node of the cluster.\n\n"
                f"    ```bash\n    themis-desktop status --profile prod  # {i}\n    ```\n"
            )
    parts.append("## Code Changes Required\nNone.\n## Testing\nStaging.\n## Support\nAsk.\n")
    return "".join(parts)


def best_ms(fn, runs: int = 7) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return min(times), statistics.median(times)


def switch_ms(text: str) -> tuple[float, float, float]:
    """Best time to show an already opened guide again (two guides opened, then switched
    between), and to show it with a fresh `setHtml` (the reference); repaint included; and
    the longest event-loop stall after a switch (`_stall_after`)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication, QTextBrowser

    from themis_desktop.core.guides.library import parse_guide as parse
    from themis_desktop.ui.widgets.guide_view import GuideView

    app = QApplication.instance() or QApplication([])
    view = GuideView()
    view.resize(900, 700)
    view.show()
    first = render_guide(parse(text))
    second = render_guide(parse(text.replace("Topic", "Subject")))
    for rendered in (first, second):  # both opened once
        view.show_rendered(rendered, "guide")
        app.processEvents()

    def switch() -> None:
        view.show_rendered(first, "first")
        view.browser.viewport().repaint()
        view.show_rendered(second, "second")
        view.browser.viewport().repaint()

    plain_view = QTextBrowser()  # the reference: a browser of its own, none of the view's
    plain_view.resize(view.browser.size())
    plain_view.show()

    def fresh() -> None:
        plain_view.setHtml(first.html)
        plain_view.viewport().repaint()

    switched, _ = best_ms(switch)
    reference, _ = best_ms(fresh, runs=3)
    plain_view.close()
    view.show_rendered(second, "second")
    _stall_after(app, lambda: None)  # the layouts started above end first
    stall = _stall_after(app, lambda: view.show_rendered(first, "first"))
    view.close()
    return switched / 2, reference, stall


def _stall_after(app, action) -> float:
    """The longest gap (ms) between the ticks of a 10 ms timer in the 1.5 s after `action`:
    QTextBrowser lays a new document out in growing steps on the GUI thread, which a timed
    `show_rendered` would miss; a kept guide (a browser each) is laid out already."""
    from PySide6.QtCore import QEventLoop, QTimer

    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    loop = QEventLoop()
    timer.start()
    QTimer.singleShot(0, action)
    QTimer.singleShot(1500, loop.quit)
    loop.exec()
    timer.stop()
    return max((b - a) * 1000 for a, b in itertools.pairwise(ticks))


def main() -> None:
    text = generated_guide()
    guide = parse_guide(text)
    print(
        f"guide: {len(text) / 1024:.0f} KiB, {len(guide.steps)} steps, "
        f"{len(guide.findings)} findings"
    )
    ours_best, ours_median = best_ms(lambda: render_guide(parse_guide(text)))
    plain_best, plain_median = best_ms(
        lambda: markdown.markdown(text, extensions=["tables", "fenced_code"])
    )
    ratio = ours_best / plain_best
    switched, fresh, stall = switch_ms(text)
    print_table(
        [
            Row(
                "guide parse + render, 200 KiB",
                f"{ours_best:.1f} ms (median {ours_median:.1f})",
                f"{plain_best:.1f} ms (median {plain_median:.1f})",
                f"{ratio:.2f}x",
                f"< {TARGET_MS} ms",
                ours_best < TARGET_MS,
            ),
            Row(
                "guide render vs plain markdown",
                f"{ours_best:.1f} ms",
                f"{plain_best:.1f} ms",
                f"{ratio:.2f}x",
                f"<= {TARGET_RATIO}x",
                ratio <= TARGET_RATIO,
            ),
            Row(
                "switch to an opened guide",
                f"{switched:.1f} ms",
                f"{fresh:.1f} ms (setHtml)",
                f"{switched / fresh:.2f}x",
                f"< {SWITCH_MS} ms",
                switched < SWITCH_MS,
            ),
            Row(
                "  then the layout's longest stall",
                f"{stall:.0f} ms",
                "",
                "",
                "",
                None,
            ),
        ]
    )
    print(f"(best of 7; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
