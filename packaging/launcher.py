"""PyInstaller entry point: the `themis-desktop` command (GUI, CLI and demo server)."""

from __future__ import annotations

import sys

from themis_desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
