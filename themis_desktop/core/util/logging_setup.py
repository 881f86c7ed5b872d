"""The app's log file: Python `logging` to a rotating, private file in the data folder.

`setup_logging()` is called once by the GUI start (`ui.app`) and by the command line
(`cli.main`); every module logs through `logging.getLogger(__name__)`, under the
`themis_desktop` logger that holds the file's handler. What goes there: service starts and
stops (`service.control`), session state transitions (`upgrade.session`), every error shown
to the user, and the tracebacks of unexpected ones (`ui.excepthook`).

The files (`themis-desktop.log`, 1 MiB, and three older ones `.1` … `.3`) are private (0600)
like the journal. Known tokens never reach them: `RedactTokens` replaces every token that
`util.redaction` knows, in the message, its arguments and any traceback. A log that
cannot be written is skipped silently: it must never break an operation nor its output.
"""

from __future__ import annotations

import logging
import os
import threading
from io import TextIOWrapper
from logging.handlers import RotatingFileHandler
from pathlib import Path

from themis_desktop.core.util.paths import (
    PRIVATE_FILE_MODE,
    app_data_dir,
    make_private,
    make_private_dir,
)
from themis_desktop.core.util.redaction import redact

LOGGER = "themis_desktop"  # the package's logger: every module's logger is below it
LOG_NAME = "themis-desktop.log"
LOG_MAX_BYTES = 1 << 20  # 1 MiB per file …
LOG_BACKUPS = 3  # … and three older files: themis-desktop.log.1 … .3
FORMAT = "%(asctime)s %(levelname)s %(message)s [%(name)s]"

_lock = threading.Lock()


def log_path() -> Path:
    """The app's log file, in the data folder."""
    return app_data_dir() / LOG_NAME


class RedactTokens(logging.Filter):
    """Replaces every known token (`redaction.redact`) in a record before it is written: the
    message with its arguments, the traceback and the stack."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format: logging reports it as it always does
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class PrivateRotatingFileHandler(RotatingFileHandler):
    """A rotating log whose files only this user may read (created 0600); a file that
    cannot be written is skipped without a word (the operation logged goes on)."""

    users = 0  # `setup_logging` calls holding this handler

    def _open(self) -> TextIOWrapper:  # logging's hook for opening the file
        path = Path(self.baseFilename)
        make_private_dir(path.parent)
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(path, flags, PRIVATE_FILE_MODE)
        make_private(path)  # a file from before: narrowed
        return os.fdopen(fd, "a", encoding=self.encoding, errors=self.errors)

    def handleError(self, record: logging.LogRecord) -> None:  # logging's hook
        return  # a full disk or a read-only data folder: not the user's output's business


def setup_logging(
    path: Path | None = None,
    *,
    max_bytes: int = LOG_MAX_BYTES,
    backups: int = LOG_BACKUPS,
    level: int = logging.INFO,
) -> PrivateRotatingFileHandler:
    """Log the app (the `themis_desktop` logger, INFO and up) to `path` (the data folder's
    log by default). A second call for the same file shares its handler; each call is undone
    by one `stop_logging(handler)`."""
    target = Path(os.path.abspath(path or log_path()))
    package = logging.getLogger(LOGGER)
    with _lock:
        for handler in package.handlers:
            if isinstance(handler, PrivateRotatingFileHandler) and (
                Path(handler.baseFilename) == target
            ):
                handler.users += 1
                return handler
        handler = PrivateRotatingFileHandler(
            target, maxBytes=max_bytes, backupCount=backups, encoding="utf-8", delay=True
        )
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.addFilter(RedactTokens())
        handler.users = 1
        package.addHandler(handler)
        if package.level == logging.NOTSET or package.level > level:
            package.setLevel(level)
    return handler


def stop_logging(handler: logging.Handler) -> None:
    """Undo one `setup_logging`: the last one removes the handler and closes its file."""
    with _lock:
        if isinstance(handler, PrivateRotatingFileHandler):
            handler.users -= 1
            if handler.users > 0:
                return
        logging.getLogger(LOGGER).removeHandler(handler)
        handler.close()
