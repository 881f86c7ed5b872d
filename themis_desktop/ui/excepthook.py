"""No exception escapes silently: the GUI's hook for exceptions nothing caught.

`install_excepthook()` (called by the GUI start) replaces `sys.excepthook` — which PySide
calls for an exception raised in a slot or a Qt virtual method — and `threading.excepthook`;
the task runner hands over a background call's exception that is not a `ThemisDesktopError`
(`report_unexpected`). Each exception is written, with its traceback and known tokens
redacted, to the app's rotating log file in the data folder (`core.util.logging_setup`:
private, 0600), and shown in one non-modal message box that says
what happened and where the details are. The hooks that were there before are still called
(by default they print the traceback on stderr).
"""

from __future__ import annotations

import logging
import sys
import threading
import traceback
from pathlib import Path
from types import TracebackType

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QMainWindow, QMessageBox, QWidget

from themis_desktop.core.util.logging_setup import (  # the limits re-exported for tests
    LOG_BACKUPS,
    LOG_MAX_BYTES,
    PrivateRotatingFileHandler,
    log_path,
    setup_logging,
    stop_logging,
)
from themis_desktop.core.util.redaction import redact

__all__ = [
    "LOG_BACKUPS",
    "LOG_MAX_BYTES",
    "ExceptionReporter",
    "install_excepthook",
    "report_unexpected",
]

DETAILS_LIMIT = 50_000  # characters of tracebacks kept in the dialog's details
logger = logging.getLogger("themis_desktop.errors")
_installed: list[ExceptionReporter] = []  # the reporters installed, the latest last


class ExceptionReporter(QObject):
    """Logs and shows every exception that reaches the hooks; lives in the GUI thread."""

    sig_reported = Signal(str, str)  # summary, traceback: queued from any thread to the GUI

    def __init__(
        self,
        path: Path | None = None,
        parent: QObject | None = None,
        *,
        max_bytes: int = LOG_MAX_BYTES,
        backups: int = LOG_BACKUPS,
    ) -> None:
        super().__init__(parent)
        self.path = path or log_path()
        self._log_limits = max_bytes, backups
        self.handler: PrivateRotatingFileHandler | None = None  # while installed
        self._dialog: QMessageBox | None = None
        self.more = 0  # errors since the dialog was opened
        self._previous_sys = None
        self._previous_threading = None
        self._reporting = threading.local()
        self.sig_reported.connect(self._show, Qt.ConnectionType.QueuedConnection)

    # the hooks ---------------------------------------------------------------------------

    def install(self) -> ExceptionReporter:
        """Become `sys.excepthook` and `threading.excepthook`, and log to the file (the
        app's log, shared with `setup_logging` when that is the same file)."""
        self._previous_sys, sys.excepthook = sys.excepthook, self._sys_hook
        self._previous_threading, threading.excepthook = threading.excepthook, self._thread_hook
        max_bytes, backups = self._log_limits
        self.handler = setup_logging(self.path, max_bytes=max_bytes, backups=backups)
        _installed.append(self)
        return self

    def uninstall(self) -> None:
        """Put the hooks back as they were (if no one replaced ours since) and close the log."""
        if sys.excepthook == self._sys_hook and self._previous_sys is not None:
            sys.excepthook = self._previous_sys
        if threading.excepthook == self._thread_hook and self._previous_threading is not None:
            threading.excepthook = self._previous_threading
        if self in _installed:
            _installed.remove(self)
        if self.handler is not None:
            stop_logging(self.handler)
            self.handler = None

    def _sys_hook(
        self, kind: type[BaseException], error: BaseException, tb: TracebackType | None
    ) -> None:
        if not issubclass(kind, KeyboardInterrupt):
            self.report(kind, error, tb, where="")
        previous = self._previous_sys or sys.__excepthook__
        previous(kind, error, tb)

    def _thread_hook(self, args: threading.ExceptHookArgs) -> None:
        if not issubclass(args.exc_type, SystemExit):  # a thread's normal way to stop
            name = args.thread.name if args.thread is not None else "?"
            self.report(args.exc_type, args.exc_value, args.exc_traceback, where=name)
        previous = self._previous_threading or threading.__excepthook__
        previous(args)

    def report(
        self,
        kind: type[BaseException],
        error: BaseException | None,
        tb: TracebackType | None,
        where: str = "",
    ) -> None:
        """Log the exception and have the dialog show it; never raises."""
        if getattr(self._reporting, "active", False):
            return  # an error while reporting one: the previous hook still prints it
        self._reporting.active = True
        try:
            details = redact("".join(traceback.format_exception(kind, error, tb)))
            message = redact(str(error)) if error is not None else ""
            summary = f"{kind.__name__}: {message}" if message else kind.__name__
            if where:
                summary += f" (in the background thread “{where}”)"
            logger.error("Unexpected error: %s\n%s", summary, details.rstrip())
            self.sig_reported.emit(summary, details)
        except Exception:  # the hook must not raise; the chained hook still prints it
            pass
        finally:
            self._reporting.active = False

    # the dialog --------------------------------------------------------------------------

    def _show(self, summary: str, details: str) -> None:
        if QApplication.instance() is None:
            return
        box = self.dialog
        if box is not None and box.isVisible():  # one dialog, however many errors
            self.more += 1
            box.setInformativeText(self._informative())
            box.setDetailedText((box.detailedText() + "\n" + details)[-DETAILS_LIMIT:])
            return
        # over the main window, and deleted by Qt (in this thread) when closed
        box = QMessageBox(
            QMessageBox.Icon.Critical,
            "Themis Desktop — unexpected error",
            "",
            QMessageBox.StandardButton.Close,
            _main_window(),
        )
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setModal(False)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setAttribute(Qt.WidgetAttribute.WA_QuitOnClose, False)  # not to keep the app up
        self._dialog = box
        self.more = 0
        box.setText(f"Something went wrong inside Themis Desktop: {summary}")
        box.setInformativeText(self._informative())
        box.setDetailedText(details[-DETAILS_LIMIT:])
        box.show()

    @property
    def dialog(self) -> QMessageBox | None:
        """The error dialog while it exists (Qt deletes it when closed)."""
        if self._dialog is not None and not shiboken6.isValid(self._dialog):
            self._dialog = None
        return self._dialog

    def _informative(self) -> str:
        more = f"{self.more} more error(s) happened since this one.\n\n" if self.more else ""
        return (
            f"{more}The app keeps running, but what you were doing may not have finished: "
            "check its result before going on, and try again if needed.\n\n"
            f"The log file has the details (please attach it when you report this): {self.path}"
        )


def _main_window() -> QWidget | None:
    """The app's (first) visible main window, if any."""
    for widget in QApplication.topLevelWidgets():
        if isinstance(widget, QMainWindow) and widget.isVisible():
            return widget
    return None


def report_unexpected(error: BaseException, where: str = "") -> None:
    """An exception caught elsewhere that is a bug (not a `ThemisDesktopError`): logged with
    its traceback and shown by the installed reporter; without one (tests, a bare
    TaskManager), only logged."""
    if _installed:
        _installed[-1].report(type(error), error, error.__traceback__, where=where)
        return
    logger.error("Unexpected error: %s", f"{type(error).__name__}: {error}", exc_info=error)


def install_excepthook(parent: QObject | None = None) -> ExceptionReporter:
    """Log and show every uncaught exception from now on; `uninstall()` undoes it."""
    return ExceptionReporter(parent=parent).install()
