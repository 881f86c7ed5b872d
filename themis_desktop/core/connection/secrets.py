"""Tokens: kept in the OS keyring (or in memory for this run), and never written anywhere.

Every token the store hands out or is given is registered with `util.redaction.remember`,
so `redact` removes it from whatever the app writes or shows.
"""

from __future__ import annotations

import contextlib
from types import ModuleType

from themis_desktop.core.util.redaction import remember

SERVICE = "themis-desktop"


def _keyring() -> ModuleType:
    """The keyring package, imported at first use (~40 ms, off the window's first paint)."""
    import keyring
    import keyring.errors

    return keyring


class TokenStore:
    """Keeps one bearer token per connection profile, never in the journal. Every token it
    hands out or is given is registered with `remember`."""

    def __init__(self) -> None:
        self._memory: dict[str, str] = {}

    @property
    def persistent(self) -> bool:
        """True when tokens survive a restart (a real keyring backend exists)."""
        from keyring.backends import fail, null

        backend = _keyring().get_keyring()
        return not isinstance(backend, fail.Keyring | null.Keyring)

    def get(self, profile: str) -> str | None:
        token = self._get(profile)
        remember(token)
        return token

    def _get(self, profile: str) -> str | None:
        if profile in self._memory:
            return self._memory[profile]
        if not self.persistent:
            return None
        try:
            return _keyring().get_password(SERVICE, profile)
        except _keyring().errors.KeyringError:
            return None

    def set(self, profile: str, token: str | None, persist: bool = True) -> bool:
        """Store (or with None, forget) a token. Returns True when it was persisted.

        `persist=False` keeps it in memory only (throwaway tokens such as the demo's).
        """
        remember(token)
        self._memory.pop(profile, None)
        if persist and self.persistent:
            try:
                if token:
                    _keyring().set_password(SERVICE, profile, token)
                else:
                    self._delete(profile)
                return True
            except _keyring().errors.KeyringError:
                pass
        if token:
            self._memory[profile] = token
        return False

    def _delete(self, profile: str) -> None:
        with contextlib.suppress(_keyring().errors.PasswordDeleteError):
            _keyring().delete_password(SERVICE, profile)
