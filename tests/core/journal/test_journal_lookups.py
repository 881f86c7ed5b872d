"""What the journal answers itself besides its events' list: one event by its id, and the
sessions still open (what the features below `upgrade` may ask of the sessions table)."""

from __future__ import annotations

import pytest
from sqlite_utils.db import NotFoundError

from themis_desktop.core.connection import profile_store
from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.journal.store import Journal, parse_utc
from themis_desktop.core.upgrade import session_store


@pytest.fixture
def journal(tmp_path):
    with Journal(tmp_path / "journal.sqlite") as j:
        yield j


def test_an_event_is_found_by_the_id_add_event_returned(journal):
    journal.add_event("note", "first")
    second = journal.add_event("preflight.check", "disk: ok", data={"check": "disk"})
    event = journal.event(second)
    assert (event.id, event.type, event.message) == (second, "preflight.check", "disk: ok")
    assert event.data == {"check": "disk"} and parse_utc(event.ts).tzinfo is not None
    with pytest.raises(NotFoundError):
        journal.event(second + 1)


def test_open_sessions_are_the_ones_not_ended_newest_first_per_profile(journal):
    lab = profile_store.save(journal, Profile("lab", nodes=(NodeEndpoint("a:1"),)))
    prod = profile_store.save(journal, Profile("prod", nodes=(NodeEndpoint("b:1"),)))
    first = session_store.start(journal, lab, "1.6.2", "1.7.3")
    ended = session_store.start(journal, lab, "1.7.3", "1.8.1")
    session_store.update(journal, ended.id, {"ended_at": "2026-12-01T10:00:00.000Z"})
    latest = session_store.start(journal, lab, "1.7.3", "1.8.1")
    other = session_store.start(journal, prod, "1.7.3", "1.8.1")
    assert journal.open_sessions(profile_id=lab.id) == [latest.id, first.id]
    assert journal.open_sessions() == [other.id, latest.id, first.id]
    assert journal.open_sessions(profile_id=prod.id + 1) == []
