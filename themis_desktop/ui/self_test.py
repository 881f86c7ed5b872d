"""`themis-desktop --self-test`: start offscreen, paint the main window, render a guide.

For packagers: proves that a build finds Qt's platform plugin, the stylesheet, the bundled
guides and the Markdown/Pygments pipeline. It runs in a temporary data folder and settings
store, so it never touches the user's journal or preferences. Prints one `ok …` line per
check; the first failure prints `FAIL …` and the exit code is 1.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

GUIDE = "v1.7-to-v1.8"  # a complete guide with tables and highlighted code
PAINT_TIMEOUT_S = 15.0


class SelfTestError(Exception):
    """A check failed; the message says which and why."""


@contextlib.contextmanager
def _environment(home: Path) -> Iterator[None]:
    """Offscreen Qt (unless a platform is set), a private home and no OS keyring."""
    values = {
        "THEMIS_DESKTOP_HOME": str(home),
        "PYTHON_KEYRING_BACKEND": os.environ.get(
            "PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring"
        ),
    }
    saved = {name: os.environ.get(name) for name in values}
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before Qt is imported
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _check_window(home: Path) -> None:
    """Build the main window as the app does, show it, wait for its first paint, close it."""
    from PySide6.QtCore import QEvent, QObject, QSettings
    from PySide6.QtWidgets import QApplication

    from themis_desktop.ui.app import application, build_main_window

    class PaintWatcher(QObject):
        painted = False

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                self.painted = True
            return False

    app = application()
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(home / "qs"))
    window = build_main_window()
    watcher = PaintWatcher(window)
    window.installEventFilter(watcher)
    try:
        window.show()
        deadline = time.monotonic() + PAINT_TIMEOUT_S
        while not watcher.painted and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.005)
        if not watcher.painted:
            raise SelfTestError(
                f"window: not painted within {PAINT_TIMEOUT_S:.0f} s "
                f"(Qt platform {QApplication.platformName()!r})"
            )
        if not window.isVisible():
            raise SelfTestError("window: shown but not visible")
        size = f"{window.width()}×{window.height()}"
    finally:
        window.removeEventFilter(watcher)
        window.close()  # saves state, stops the workspace's timers and threads
        window.deleteLater()
        app.processEvents()
        app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    print(f"ok window ({QApplication.platformName()}, {size})")


def _check_guide() -> None:
    """Load the bundled guides, render one through the app's pipeline and show it."""
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    from themis_desktop.core.guides.library import load_folder
    from themis_desktop.core.guides.render import render_guide
    from themis_desktop.core.util.resources import guides_dir
    from themis_desktop.ui.widgets.guide_view import GuideView

    folder = guides_dir()
    if not folder.is_dir():
        raise SelfTestError(f"guides: the bundled folder {folder} is missing")
    guides = {g.path.stem: g for g in load_folder(folder) if g.path is not None}
    if GUIDE not in guides:
        raise SelfTestError(f"guide {GUIDE}: not found in {folder} ({len(guides)} guides there)")
    guide = guides[GUIDE]
    rendered = render_guide(guide)
    if not rendered.toc or "<table" not in rendered.html:
        raise SelfTestError(f"guide {GUIDE}: rendered without a table of contents or tables")
    if "<span style=" not in rendered.html:
        raise SelfTestError(
            f"guide {GUIDE}: code blocks not highlighted (Pygments lexers missing?)"
        )
    view = GuideView()
    try:
        view.show_rendered(rendered, guide.title)
        if not view.browser.toPlainText().strip():
            raise SelfTestError(f"guide {GUIDE}: the guide view shows no text")
    finally:
        view.deleteLater()
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    size = len(rendered.html.encode("utf-8")) / 1024
    print(f"ok guide {GUIDE} ({size:.0f} KiB HTML, {len(guides)} guides bundled)")


def _check_libraries() -> None:
    """The compiled libraries the core needs: statistics, compression, the journal."""
    import zstandard
    from scipy.stats import mannwhitneyu

    from themis_desktop.core.connection import profile_store
    from themis_desktop.core.journal.store import Journal

    p_value = float(mannwhitneyu([1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]).pvalue)
    if not 0.0 < p_value < 0.05:
        raise SelfTestError(f"scipy.stats: Mann-Whitney U gave p = {p_value}")
    data = b"themis " * 1000
    if zstandard.ZstdDecompressor().decompress(zstandard.ZstdCompressor().compress(data)) != data:
        raise SelfTestError("zstandard: a round trip changed the data")
    with Journal() as journal:
        profile_store.load_all(journal)
    print(f"ok libraries (scipy.stats, zstandard {zstandard.__version__}, journal)")


def run_self_test() -> int:
    """Run the checks; 0 when all pass, 1 (with the reason printed) on the first failure."""
    home = Path(tempfile.mkdtemp(prefix="themis-self-test-"))
    try:
        with _environment(home):
            _check_window(home)
            _check_guide()
            _check_libraries()
    except SelfTestError as exc:
        print(f"FAIL {exc}", flush=True)
        return 1
    except Exception as exc:  # any other failure is a failed self-test, with its reason
        print(f"FAIL {type(exc).__name__}: {exc}", flush=True)
        traceback.print_exc(file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print("self-test passed", flush=True)
    return 0
