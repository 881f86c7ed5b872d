"""Tokens go to the OS keyring, or stay in memory when there is none."""

from __future__ import annotations

import keyring
from keyring.backend import KeyringBackend

from themis_desktop.core.connection.secrets import TokenStore


class DictKeyring(KeyringBackend):
    """A real keyring backend kept in a dict (no OS keyring on CI)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.store.get((service, username))

    def set_password(self, service, username, password):
        self.store[(service, username)] = password

    def delete_password(self, service, username):
        self.store.pop((service, username), None)


def test_without_a_keyring_tokens_live_in_memory_only():
    store = TokenStore()
    assert not store.persistent
    assert store.set("prod", "t0k") is False
    assert store.get("prod") == "t0k"
    assert TokenStore().get("prod") is None


def test_with_a_keyring_tokens_persist_across_stores():
    backend = DictKeyring()
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        assert TokenStore().set("prod", "t0k") is True
        assert TokenStore().get("prod") == "t0k"
        TokenStore().set("prod", None)
        assert TokenStore().get("prod") is None
    finally:
        keyring.set_keyring(previous)
