"""Cold start: from spawning a fresh process to the first paint of the main window.

Each run spawns a child Python process (this script with `--child`) and passes it the
parent's `time.time()` taken just before the spawn; the child prints, on the first Paint
event of its main window, how long after that instant it is (and when it reached each phase
before). Ours is the app's own start (`application()`, the journal opened as `run_gui` does,
`build_main_window()`, `show()`); the reference is a bare PySide6 `QMainWindow` of the same
size, measured the same way in the same run. Runs alternate ours/bare after one discarded
warm-up of each (so both see the same warm file cache).
Targets (DESIGN.md § 6, issue 23): ≤ 0.5 s and ≤ 4× the bare window; with `--demo`, the
demo cluster's first node card (the first node status the window receives, as `--demo`
starts it) within 1.5 s of the spawn.
Children run offscreen (QT_QPA_PLATFORM=offscreen unless set) with a temporary data folder,
settings store and no keyring. `--importtime` (or a MISS) adds the slowest top-level imports
of our start (`python -X importtime`). Prints the size of `dist/themis-desktop` if built.

Run: .venv/bin/python bench/startup.py [--runs 5] [--importtime] [--demo]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _table import Row, print_table  # bench/ is the script's folder

T0_ENV = "THEMIS_BENCH_T0"
ROOT = Path(__file__).resolve().parents[1]
TARGET_S, TARGET_RATIO, NODE_CARD_S = 0.5, 4.0, 1.5
SIZE = (1180, 760)  # the main window's default size
PHASES = ("python", "imports", "app", "window", "shown", "painted")


# ---------------------------------------------------------------------------- child


def child(kind: str) -> int:
    """Start ours or the bare window, print the phase marks on its first paint, exit."""
    t0 = float(os.environ[T0_ENV])
    marks = {"python": time.time() - t0}
    launcher = None
    if kind == "demo":  # as `themis-desktop --demo` (cli/main.py): the cluster first
        from themis_desktop.demo.launcher import app_demo_launcher

        launcher = app_demo_launcher("1.7.0")
        launcher.spawn()
    if kind in ("ours", "demo"):
        from PySide6.QtCore import QSettings

        from themis_desktop.core.journal.store import Journal
        from themis_desktop.ui.app import application, build_main_window

        marks["imports"] = time.time() - t0
        app = application()
        home = os.environ["THEMIS_DESKTOP_HOME"]
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, home)
        Journal().close()  # as run_gui does: create or migrate the journal up front
        marks["app"] = time.time() - t0
        window = build_main_window()
    else:
        from PySide6.QtWidgets import QApplication, QMainWindow

        marks["imports"] = time.time() - t0
        app = QApplication(sys.argv[:1])
        marks["app"] = time.time() - t0
        window = QMainWindow()
        window.resize(*SIZE)
    marks["window"] = time.time() - t0
    from PySide6.QtCore import QEvent, QObject, QTimer

    class FirstPaint(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and "painted" not in marks:
                marks["painted"] = time.time() - t0
                if kind != "demo":  # that one waits for its first node card
                    QTimer.singleShot(0, window.close)
                    QTimer.singleShot(0, app.quit)
            return False

    watcher = FirstPaint()
    window.installEventFilter(watcher)
    demo = None
    if launcher is not None:  # then the window, which connects once the cluster is ready
        from themis_desktop.ui.demo_mode import DemoMode

        def node_card(*_: object) -> None:
            if "node card" not in marks:
                marks["node card"] = time.time() - t0
                QTimer.singleShot(0, window.close)
                QTimer.singleShot(0, app.quit)

        window.workspace.sig_node_status.connect(node_card)
        demo = DemoMode(window.workspace, parent=window, launcher=launcher)
    window.show()
    if demo is not None:
        demo.start()
    marks["shown"] = time.time() - t0
    QTimer.singleShot(30_000, app.quit)  # never hang the benchmark
    app.exec()
    window.removeEventFilter(watcher)
    if demo is not None:
        demo.stop()
        print(json.dumps(marks), flush=True)
        return 0 if "node card" in marks else 1
    print(json.dumps(marks), flush=True)
    return 0 if "painted" in marks else 1


# ---------------------------------------------------------------------------- parent


def child_env(home: Path, t0: float) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env.update(
        {
            T0_ENV: repr(t0),
            "THEMIS_DESKTOP_HOME": str(home),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        }
    )
    return env


def spawn(kind: str, extra: tuple[str, ...] = ()) -> tuple[dict[str, float], str]:
    """One cold start in a fresh process: its phase marks (s after spawn) and stderr."""
    home = Path(tempfile.mkdtemp(prefix="themis-startup-"))
    try:
        t0 = time.time()
        done = subprocess.run(
            [sys.executable, *extra, str(Path(__file__).resolve()), "--child", kind],
            cwd=ROOT,
            env=child_env(home, t0),
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        shutil.rmtree(home, ignore_errors=True)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{kind} start failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(lines[-1]), done.stderr


def s(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} s (best {min(values):.3f})"


@dataclass
class Import:
    name: str
    own: float  # s
    cumulative: float  # s
    children: list[Import]


def import_tree(stderr: str) -> list[Import]:
    """The `-X importtime` log as a tree (the log lists children before their parent)."""
    pending: dict[int, list[Import]] = {}
    for line in stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        own, cumulative, name = line[len("import time:") :].split("|")
        if not own.strip().isdigit():
            continue  # the header
        level = (len(name) - len(name.lstrip(" ")) - 1) // 2
        node = Import(name.strip(), int(own) / 1e6, int(cumulative) / 1e6, [])
        node.children = pending.pop(level + 1, [])
        pending.setdefault(level, []).append(node)
    return pending.get(0, [])


def pulled_in(roots: list[Import], ours: str = "themis_desktop") -> dict[str, tuple[float, str]]:
    """Per outside package: the time its imports cost when our modules first import it
    (summed), and the first of our modules that did."""
    costs: dict[str, tuple[float, str]] = {}

    def walk(node: Import) -> None:
        for sub in node.children:
            package = sub.name.split(".")[0]
            if node.name.split(".")[0] == ours and package != ours:
                spent, via = costs.get(package, (0.0, node.name))
                costs[package] = (spent + sub.cumulative, via)
            walk(sub)

    for root in roots:
        walk(root)
    return costs


def _flatten(roots: list[Import]) -> list[Import]:
    found, todo = [], list(roots)
    while todo:
        node = todo.pop()
        found.append(node)
        todo.extend(node.children)
    return found


def bundle_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs of each (default 5)")
    parser.add_argument("--importtime", action="store_true", help="always list slow imports")
    parser.add_argument("--demo", action="store_true", help="also time the first node card")
    parser.add_argument("--child", choices=("ours", "bare", "demo"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child)

    print(f"platform {os.environ.get('QT_QPA_PLATFORM', 'offscreen')}, {args.runs} runs each")
    spawn("ours")
    spawn("bare")  # warm-up: the file cache, .pyc files
    ours: dict[str, list[float]] = {phase: [] for phase in PHASES}
    bare: dict[str, list[float]] = {phase: [] for phase in PHASES}
    for _ in range(args.runs):
        for kind, into in (("ours", ours), ("bare", bare)):
            marks, _ = spawn(kind)
            for phase in PHASES:
                into[phase].append(marks[phase])

    first, ref = ours["painted"], bare["painted"]
    ratio = statistics.median(first) / statistics.median(ref)
    fast = statistics.median(first) <= TARGET_S
    rows = [
        Row("first paint after spawn", s(first), s(ref), f"{ratio:.2f}x", "≤ 0.5 s", fast),
        Row("first paint vs bare PySide6", s(first), s(ref), f"{ratio:.2f}x", "≤ 4x", None),
    ]
    rows[1].ok = ratio <= TARGET_RATIO
    labels = {
        "python": "  interpreter up",
        "imports": "  imports done",
        "app": "  QApplication (+ journal)",
        "window": "  main window built",
        "shown": "  show() returned",
    }
    if args.demo:
        cards = [spawn("demo")[0]["node card"] for _ in range(args.runs)]
        rows.append(
            Row(
                "demo: first node card",
                s(cards),
                s(ref),
                f"{statistics.median(cards) / statistics.median(ref):.2f}x",
                "≤ 1.5 s",
                statistics.median(cards) <= NODE_CARD_S,
            )
        )
    for phase, label in labels.items():
        mine, theirs = statistics.median(ours[phase]), statistics.median(bare[phase])
        rows.append(
            Row(label, f"{mine:.3f} s", f"{theirs:.3f} s", f"{mine / theirs:.2f}x", "", None)
        )
    print()
    print_table(rows)

    dist = ROOT / "dist" / "themis-desktop"
    if dist.is_dir():
        print(f"\nbundle {dist.relative_to(ROOT)}: {bundle_size(dist) / 2**20:.0f} MiB")
    else:
        print("\nno bundle in dist/themis-desktop (bash packaging/build.sh builds it)")

    if args.importtime or not (rows[0].ok and rows[1].ok):
        _, log = spawn("ours", ("-X", "importtime"))
        roots = import_tree(log)
        total = sum(r.cumulative for r in roots)
        print(f"\nimports of our start: {total:.3f} s in all (python -X importtime, one run)")
        print("packages our modules pull in, by cost at their first import:")
        costs = sorted(pulled_in(roots).items(), key=lambda item: -item[1][0])
        for package, (spent, via) in costs[:12]:
            print(f"  {spent * 1000:7.0f} ms  {package:<22} first from {via}")
        mine = [n for n in _flatten(roots) if n.name.startswith("themis_desktop")]
        print("our own modules, by time in their own body:")
        for node in sorted(mine, key=lambda n: -n.own)[:6]:
            print(f"  {node.own * 1000:7.0f} ms  {node.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
