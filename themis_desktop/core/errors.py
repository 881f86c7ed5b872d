"""The one exception root of the app: every error core raises for a user to read is a
`ThemisDesktopError`.

Each feature has its own subclass (`server.errors.ThemisError`, `upgrade.session.SessionError`,
`backup.archive_format.BackupError`, `journal.connection.JournalError`, …) and its failures
subclass that. `str(error)` is the whole message for users: what happened and what to do next.

The command line maps this root to an exit code once (`cli.main`); the GUI's task runner
shows it as a message (`ui.tasks`), while any other exception is a bug: the error dialog
and the log file (`ui.excepthook`). Imports nothing of the package.
"""

from __future__ import annotations


class ThemisDesktopError(Exception):
    """An operation could not be done; the message says what happened and what to do."""
