"""Log watch: how fast a log is followed and classified, and how long the Logs page blocks
the event loop when a flood of lines arrives.

1. Follow + classify: a ThemisDB-format log of `--mb` MiB (a realistic mix of info,
   warning and error lines) read with FileFollower and classified with `parse_plain`.
   Reference, in the same run: `grep -c error FILE` (a C program that only scans the bytes).
   Diagnostic (no target in DESIGN.md): the ratio says what classification costs.
2. Page stall: the Logs page with a full ring (20 000 lines) receiving batches of N lines
   (one flush of the monitor); the longest time the GUI thread spends on a batch.
   Target (DESIGN.md § 6): event-loop stall < 50 ms. Reference: the same batch appended to
   a bare QStandardItemModel behind a QTableView.

Run: .venv/bin/python bench/logs.py [--mb 64] [--batch 2000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from _table import Row, print_table  # bench/ is the script's folder

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

STALL_TARGET_MS = 50.0
MESSAGES = (
    ("info", "Checkpoint created at /var/lib/themisdb/.themis-checkpoint-{i}"),
    ("info", "Flushed memtable #{i} to L0 (64.0 MiB)"),
    ("warning", "Slow request: GET /entities/orders:{i} took 15.{i} ms (threshold 12 ms)"),
    ("error", "GET /entities/orders:{i} failed with 500: Internal server error"),
)


def write_log(path: Path, mib: int) -> int:
    lines = 0
    with path.open("w", encoding="utf-8") as f:
        while f.tell() < mib << 20:
            chunk = []
            for i in range(10_000):
                level, text = MESSAGES[i % 7 % 4]
                stamp = f"2026-11-26 14:{i // 600 % 60:02d}:{i // 10 % 60:02d}.{i % 1000:03d}"
                chunk.append(f"[{stamp}] [themis] [{level}] [thread 42] {text.format(i=i)}\n")
            f.writelines(chunk)
            lines += len(chunk)
    return lines


def follow_and_classify(path: Path) -> tuple[float, int]:
    from themis_desktop.core.logs.follow import FileFollower
    from themis_desktop.core.logs.line_format import parse_plain

    started = time.perf_counter()
    follower = FileFollower(path, from_start=True)
    count = 0
    while batch := follower.poll():
        count += sum(1 for text in batch if parse_plain("n1", text, 0.0).level)
    follower.close()
    return time.perf_counter() - started, count


def grep(path: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["grep", "-c", "error", str(path)], capture_output=True, check=False)
    return time.perf_counter() - started


def page_stall(batch: int, rounds: int = 20) -> tuple[float, float]:
    """The longest time (ms) a batch takes in the Logs page and in a bare table."""
    from PySide6.QtGui import QStandardItem, QStandardItemModel
    from PySide6.QtWidgets import QTableView

    from themis_desktop.core.logs.line_format import parse_plain
    from themis_desktop.ui.app import application, build_main_window

    app = application()
    window = build_main_window()
    window.show()
    window.show_page("logs")
    monitor = window.workspace.logs  # the Logs page is shown and follows it
    now = time.time()
    text = "[2026-11-26 14:50:04.123] [themis] [{}] [thread 1] {}"
    lines = [  # stamped now, as lines arriving live are
        replace(parse_plain(f"n{i % 3}", text.format(*MESSAGES[i % 4]), now), ts=now)
        for i in range(batch)
    ]
    ours = []
    for _ in range(rounds + 20_000 // batch):  # the first rounds fill the ring
        monitor._pending = list(lines)
        started = time.perf_counter()
        monitor._flush()
        app.processEvents()
        ours.append(time.perf_counter() - started)
    model = QStandardItemModel(0, 4)
    view = QTableView()
    view.setModel(model)
    view.show()
    reference = []
    for _ in range(rounds + 20_000 // batch):
        started = time.perf_counter()
        for line in lines:
            model.appendRow(
                [QStandardItem(str(v)) for v in (line.ts, line.node, line.level, line.message)]
            )
        if model.rowCount() > 20_000:
            model.removeRows(0, model.rowCount() - 20_000)
        view.scrollToBottom()
        app.processEvents()
        reference.append(time.perf_counter() - started)
    window.close()
    skip = 20_000 // batch
    return max(ours[skip:]) * 1000, max(reference[skip:]) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=64)
    parser.add_argument("--batch", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        os.environ["THEMIS_DESKTOP_HOME"] = home
        path = Path(home) / "themis_server.log"
        total = write_log(path, args.mb)
        grep(path)  # warm the file cache
        ours, count = follow_and_classify(path)
        reference = grep(path)
        assert count == total, (count, total)
        stall, bare = page_stall(args.batch)
    rate = total / ours
    print_table(
        [
            Row(
                f"follow + classify {args.mb} MiB ({total} lines)",
                f"{ours:.2f} s ({rate / 1000:.0f} k lines/s)",
                f"grep -c {reference:.2f} s",
                f"{ours / reference:.1f}× slower",
                "diagnostic",
                None,
            ),
            Row(
                f"Logs page, batch of {args.batch} lines, ring full",
                f"{stall:.1f} ms",
                f"bare table {bare:.1f} ms",
                f"{stall / bare:.2f}×",
                f"< {STALL_TARGET_MS:g} ms",
                stall < STALL_TARGET_MS,
            ),
        ]
    )


if __name__ == "__main__":
    main()
