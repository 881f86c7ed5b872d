"""What the command groups share: exit codes, the error printer, asking first, the
version of a node.

Each command module registers its subparser with `register(commands)` and sets
`func=<its command>`; `cli.main` dispatches and turns errors into exit codes once.
"""

from __future__ import annotations

import logging
import sys
from enum import IntEnum
from typing import Any

TOKEN_ENV = "THEMIS_DESKTOP_TOKEN"
PROG = "themis-desktop"
logger = logging.getLogger(__name__)


class ExitCode(IntEnum):
    """The exit codes of every command. Some commands give 3 and 4 their own meaning
    (the aliases below); 0, 1 and 2 mean the same everywhere."""

    OK = 0
    FAILED = 1  # the operation failed or found a problem; nothing half-done is hidden
    USAGE = 2  # bad input, a refusal to ask without a terminal, an unusable journal
    DEGRADED = 3  # metrics watch: the verdict is fail
    NO_DATA = 4  # metrics: too little data for a verdict (no verdict is not a pass)

    DOWN = 1  # metrics snapshot: the node does not answer as ThemisDB
    BREAKS = 1  # config check: a finding would break at the target
    ERROR_BURST = 3  # logs follow: a burst of errors raised the failed-validation trigger
    ABORTED = 3  # rollout: aborted
    PAUSED = 4  # rollout: paused (resume it)
    WARNINGS = 1  # session preflight: ready with warnings
    BLOCKED = 3  # session preflight: a blocking check fails


class CommandError(Exception):
    """A command stops: `main` prints the message (`print_error`) and exits with `code`."""

    def __init__(self, message: object, code: int = ExitCode.FAILED) -> None:
        super().__init__(str(message))
        self.code = ExitCode(code)


def print_error(message: object) -> None:
    """`themis-desktop: <message>` on stderr: what happened and what to do next; also in
    the log file (tokens redacted there too)."""
    logger.warning("Shown: %s", message)
    print(f"{PROG}: {message}", file=sys.stderr)


def _answer(prompt: str) -> bool:
    try:
        answer = input(f"{prompt} [y/N] ")
    except EOFError:
        answer = ""
    return answer.strip().lower() in ("y", "yes")


def confirm(text: str) -> bool:
    """A manual step (service control, traffic router): the admin does it and says so on a
    terminal; without one it is not done."""
    if not sys.stdin.isatty():
        return False
    return _answer(text)


def ask(prompt: str, yes: bool, action: str) -> bool | None:
    """With `yes`, True; on a terminal, the answer to `prompt` [y/N] (no is the default;
    "Nothing was changed." after a no); without a terminal, None after saying to add --yes."""
    if yes:
        return True
    if not sys.stdin.isatty():
        print_error(f"not asking without a terminal: add --yes to {action} (nothing was changed).")
        return None
    if _answer(prompt):
        return True
    print("Nothing was changed.")
    return False


def ask_first(text: str, prompt: str, yes: bool, action: str) -> bool:
    """Before a step that changes servers or data and cannot all be undone: with `yes`, go
    ahead; else show `text` and `ask` (refused without a terminal). False: nothing was done."""
    if yes:
        return True
    print(text, flush=True)
    return bool(ask(prompt, yes, action))


def release_catalogue(path: str | None) -> Any:
    """The bundled release catalogue, extended by the `--catalogue` file when given (its
    errors are raised: CatalogueError, a ValueError), else by the user catalogue in the
    data folder; one that is left out is said on stderr (the bundled one serves)."""
    from pathlib import Path

    from themis_desktop.core.versions.catalogue_file import left_out, load_catalogue

    loaded = load_catalogue(Path(path) if path else None)
    for problem in loaded.problems:
        print_error(left_out(problem))
    return loaded


def detect_version(profile: Any, token_env: str) -> str:
    """The exact version the profile's first node runs (its override, else asked);
    SessionError, saying to give --from, when it cannot be known."""
    import os

    from themis_desktop.core.server.errors import ThemisError
    from themis_desktop.core.upgrade.session import SessionError

    node = profile.nodes[0]
    if node.version_override:
        return node.version_override
    try:
        with profile.client(node, os.environ.get(token_env)) as client:
            info = client.version()
    except ThemisError as exc:
        raise SessionError(f"The version of {node.name} is unknown ({exc}); give --from.") from None
    if not info.exact:
        raise SessionError(f"{node.name} only says it is an era-A server; give --from.")
    return info.version
