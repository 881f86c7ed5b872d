"""Named points where a fault-injection test may kill this process (like TiKV's fail-rs).

`THEMIS_DESKTOP_FAILPOINT=<name>` makes `hit(name)` send SIGKILL to the process itself, so a
test can prove what a crash at exactly that point leaves behind. Unset, `hit` is a lookup.
"""

from __future__ import annotations

import os
import signal

ENV = "THEMIS_DESKTOP_FAILPOINT"


def hit(name: str) -> None:
    """Die here, as `kill -9` would, when the environment names this point."""
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
