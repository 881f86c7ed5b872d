"""`themis_desktop.core` must work where Qt cannot even be imported."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import themis_desktop.core


def test_every_core_module_imports_with_qt_blocked():
    """Every module of every feature package (walk_packages: none drops out)."""
    prefix = "themis_desktop.core."
    found = pkgutil.walk_packages(themis_desktop.core.__path__, prefix)
    modules = [m.name.removeprefix(prefix) for m in found]
    code = (
        "import sys\n"
        "for blocked in ('PySide6', 'shiboken6', 'pyqtgraph'):\n"
        "    sys.modules[blocked] = None\n"
        f"for name in {modules!r}:\n"
        "    __import__('themis_desktop.core.' + name)\n"
        "print(len([m for m in sys.modules if m.startswith('themis_desktop.core.')]))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) == len(modules) >= 5
