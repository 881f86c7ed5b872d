"""scipy's statistics are imported in a thread of their own, so a first verdict does not
stall the thread that asks for it (the GUI's)."""

from __future__ import annotations

import subprocess
import sys


def test_warm_statistics_imports_scipy_in_its_own_thread_once() -> None:
    probe = (
        "import sys, threading\n"
        "from themis_desktop.core.metrics import comparison\n"
        "assert 'scipy.stats' not in sys.modules\n"
        "assert not comparison.statistics_loaded()\n"
        "thread = comparison.warm_statistics()\n"
        "assert thread is not threading.current_thread() and thread.daemon\n"
        "assert comparison.warm_statistics() is thread  # once\n"
        "thread.join()\n"
        "assert comparison.statistics_loaded()\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
