"""Change notices: what a core write changed, so that views reload only what it touched.

Every core operation that writes says which topics it changed (Anki's `OpChanges`):

- an operation with nothing else to return may return a `Changes`;
- an operation that returns a value, or may fail half-way, fills a `ChangeLog` it is
  given (`HopContext.changed`, or a `changes=` argument) as each write lands;
- a plain journal writer (a catalogue record, a checklist tick, a profile save) changes
  the one topic its name says; its caller declares that topic when it runs it.

The GUI's task runner hands the result to one `Workspace.sig_changed(changes, initiator)`
once per operation; the CLI ignores it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from enum import StrEnum


class Topic(StrEnum):
    """What a view may show and a write may change."""

    BACKUPS = "backups"  # the backup catalogue (and restore points)
    SESSIONS = "sessions"  # upgrade sessions, their hops and triggers
    EVENTS = "events"  # the journal's event log
    ROLLOUTS = "rollouts"  # rollouts and their progress
    CHECKLIST = "checklist"  # checklist ticks, notes and choices
    BASELINES = "baselines"  # metrics baselines and recorded verdicts
    PROFILES = "profiles"  # connection profiles
    NODES = "nodes"  # a node's service: stopped, installed, started
    REHEARSALS = "rehearsals"  # dress rehearsals of a hop on a copy, and their overrides


class Changes(frozenset[Topic]):
    """What one operation changed: an immutable set of topics (empty: nothing)."""

    def __new__(cls, topics: Iterable[Topic | str] = ()) -> Changes:
        return super().__new__(cls, (Topic(t) for t in topics))

    @classmethod
    def of(cls, *topics: Topic | str) -> Changes:
        return cls(topics)

    def touches(self, *topics: Topic | str) -> bool:
        """True when any of `topics` changed."""
        return any(Topic(t) in self for t in topics)

    def __or__(self, other: Iterable[Topic | str]) -> Changes:  # type: ignore[override]
        return Changes((*self, *other))

    def __repr__(self) -> str:
        return f"Changes({', '.join(sorted(self))})"


NOTHING = Changes()


class ChangeLog:
    """A collector an operation fills as its writes land (also when it fails half-way);
    safe to fill from a worker thread while the GUI thread reads a snapshot."""

    def __init__(self) -> None:
        self._topics: set[Topic] = set()
        self._lock = threading.Lock()

    def add(self, *topics: Topic | str) -> None:
        with self._lock:
            self._topics.update(Topic(t) for t in topics)

    def update(self, topics: Iterable[Topic | str]) -> None:
        self.add(*topics)

    def changes(self) -> Changes:
        with self._lock:
            return Changes(self._topics)

    def __contains__(self, topic: object) -> bool:
        with self._lock:
            return topic in self._topics

    def __bool__(self) -> bool:
        with self._lock:
            return bool(self._topics)

    def __repr__(self) -> str:
        return f"ChangeLog({', '.join(sorted(self._topics))})"
