"""The command line: one module per command group; `main` runs it."""

from themis_desktop.cli.main import main

__all__ = ["main"]
