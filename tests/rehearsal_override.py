"""The one way tests that are not about rehearsals get past the rehearsal gate: an admin's
override with a note, recorded as the app records it (`rehearsal_gate.override`), for every
hop of every session of a journal that is not upgraded yet and has no override."""

from __future__ import annotations

from pathlib import Path

from themis_desktop.core.connection import profile_store
from themis_desktop.core.connection.profiles import Profile
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.upgrade import rehearsal_gate, rehearsal_store, session_store
from themis_desktop.core.upgrade.session import UpgradeSession

NOTE = "test: the rehearsal is not what this test is about"


def override_rehearsals(
    journal_path: Path | None = None, profile: Profile | None = None, note: str = NOTE
) -> int:
    """Record an override of the rehearsal gate for each hop not upgraded yet of every
    session in the journal (the default journal without `journal_path`); the number of
    overrides recorded. `profile`: the sessions' profile (by default, each session's own
    from the journal)."""
    done = 0
    with Journal(journal_path) as journal:
        for session in session_store.load_all(journal):
            upgrade = UpgradeSession.load(journal, session.id)
            owner = profile or _profile_of(journal, upgrade)
            for hop in upgrade.hops:
                if hop.started_at is not None:
                    continue
                if any(r.is_override for r in rehearsal_store.for_hop(journal, hop.id)):
                    continue
                rehearsal_gate.override(journal, upgrade, hop, owner, note)
                done += 1
    return done


def _profile_of(journal: Journal, session: UpgradeSession) -> Profile:
    name = session.session.profile
    found = profile_store.get(journal, name) if name else None
    return found or Profile(name or "unknown")


def override_rehearsals_on(page) -> int:
    """`override_rehearsals` for the session page's journal, then the page's rehearsal
    panel reloads its gate (as a change notice would make it)."""
    done = override_rehearsals(page.workspace.tasks.journal_path)
    page.rehearsal_panel.reload()
    return done
