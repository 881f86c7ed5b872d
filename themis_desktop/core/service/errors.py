"""The service feature's exception root, apart from `control` so that `pid_stop` and
`demo_nodes` (which `control` imports) can subclass it."""

from __future__ import annotations

from themis_desktop.core.errors import ThemisDesktopError


class ServiceError(ThemisDesktopError):
    """A step failed; `str()` says what happened, what it means and what to do."""

    def __init__(self, message: str, output: str = "", command: str = "") -> None:
        super().__init__(message)
        self.output = output
        self.command = command
