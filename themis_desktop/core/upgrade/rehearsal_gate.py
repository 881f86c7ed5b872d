"""The rehearsal gate: a hop's upgrade step needs a passed dress rehearsal of that hop
taken after its latest verified backup (like the backup gate), or an admin's override with
a note.

`gate(journal, session, hop, profile)` says where a hop stands (`RehearsalGate`: its
refusal in words, None when the upgrade step may run); `steps.steps_now` takes it as its
`rehearsal` argument (the session page, `session status`/`run`), and `hop_runner.upgrade`
asks it again before anything is touched. `override` records the admin's decision
(a `rehearsal.override` event in the session's journal and a row of the rehearsals table,
both shown in the report). An override holds for its hop, whatever backups or rehearsals
come after it.
"""

from __future__ import annotations

from dataclasses import dataclass

from themis_desktop.core.connection.profiles import Profile
from themis_desktop.core.journal.store import Journal, parse_utc
from themis_desktop.core.upgrade import rehearsal_store
from themis_desktop.core.upgrade.hop_backups import hop_backups
from themis_desktop.core.upgrade.rehearsal_store import Rehearsal
from themis_desktop.core.upgrade.session import Hop, SessionError, UpgradeSession

OVERRIDE_HINT = (
    "rehearse it (the session page's Rehearse, or `themis-desktop session rehearse`), or "
    "override the gate with a note (Override with a note…, or `themis-desktop session "
    "override-rehearsal --note …`)"
)


@dataclass(frozen=True)
class RehearsalGate:
    """Where hop `hop_id` stands with the gate: `refusal` (None: the upgrade step may run),
    the rehearsal it relies on or the one that failed (`latest`), and an override."""

    hop_id: int
    refusal: str | None
    latest: Rehearsal | None = None
    override: Rehearsal | None = None
    since: str | None = None  # the latest verified backup's time

    @property
    def state(self) -> str:
        """passed, overridden, failed, inconclusive, stale, missing."""
        if self.override is not None:
            return "overridden"
        if self.refusal is None:
            return "passed"
        if self.latest is None:
            return "missing"
        if _before(self.latest.started_at, self.since):
            return "stale"
        return "failed" if self.latest.verdict == "fail" else self.latest.verdict

    def to_dict(self) -> dict[str, object]:
        return {
            "hop_id": self.hop_id,
            "state": self.state,
            "refusal": self.refusal,
            "since_backup": self.since,
            "latest": self.latest.to_dict() if self.latest else None,
            "override": self.override.to_dict() if self.override else None,
        }


def gate(journal: Journal, session: UpgradeSession, hop: Hop, profile: Profile) -> RehearsalGate:
    """The gate of `hop` now (see the module docstring)."""
    rows = rehearsal_store.for_hop(journal, hop.id)
    latest = next((r for r in rows if r.kind == "rehearsal"), None)
    override = next((r for r in rows if r.is_override), None)
    backups = [r for r in hop_backups(journal, session, hop, profile).values() if r is not None]
    since = max((r.created_at for r in backups), default=None)
    if override is not None:
        return RehearsalGate(hop.id, None, latest, override, since)
    label = hop.label
    if latest is None:
        why = f"Hop {label} has not been rehearsed on a copy yet: {OVERRIDE_HINT}."
        return RehearsalGate(hop.id, why, None, None, since)
    if _before(latest.started_at, since):
        why = (
            f"The rehearsal of hop {label} ({latest.started_at}) is older than its latest "
            f"verified backup ({since}): {OVERRIDE_HINT}."
        )
        return RehearsalGate(hop.id, why, latest, None, since)
    if latest.passed:
        return RehearsalGate(hop.id, None, latest, None, since)
    why = (
        f"The latest rehearsal of hop {label} on a copy did not pass ({latest.verdict}: "
        f"{latest.reason}). Find out why on the copy's evidence, then "
        f"{OVERRIDE_HINT}."
    )
    return RehearsalGate(hop.id, why, latest, None, since)


def _before(when: str, since: str | None) -> bool:
    """Whether `when` is before `since` (journal times; a backup's have whole seconds)."""
    return since is not None and parse_utc(when) < parse_utc(since)


def require(journal: Journal, session: UpgradeSession, hop: Hop, profile: Profile) -> RehearsalGate:
    """The gate of `hop`; SessionError with its refusal when the upgrade step may not run."""
    state = gate(journal, session, hop, profile)
    if state.refusal is not None:
        raise SessionError(f"The upgrade step cannot run now. {state.refusal} Nothing was changed.")
    return state


def override(
    journal: Journal, session: UpgradeSession, hop: Hop, profile: Profile, note: str
) -> Rehearsal:
    """Record an admin's override of the gate of `hop` with `note` (required)."""
    note = note.strip()
    if not note:
        raise SessionError(
            "An override of the rehearsal gate needs a note saying why the upgrade may go on "
            "without a passed rehearsal: give one (--note on the command line)."
        )
    before = gate(journal, session, hop, profile)
    reason = before.refusal or "the gate was open"
    with journal.transaction():
        row = rehearsal_store.add_override(
            journal,
            session_id=session.id,
            hop_id=hop.id,
            profile=profile.name,
            from_version=hop.from_version,
            to_version=hop.to_version,
            note=note,
            reason=reason,
        )
        session.log(
            journal,
            "rehearsal.override",
            f"Rehearsal gate of hop {hop.label} overridden: {note}",
            data={"hop": hop.id, "note": note, "rehearsal": row.id, "was": before.state},
        )
    return row


def current_gate(journal: Journal, session: UpgradeSession | None) -> RehearsalGate | None:
    """The gate of the session's current hop (None without one, or when the session's
    profile is gone), for `steps_now`'s `rehearsal` argument."""
    from themis_desktop.core.connection import profile_store

    if session is None or session.current is None or not session.profile:
        return None
    profile = profile_store.get(journal, session.profile)
    if profile is None:
        return None
    return gate(journal, session, session.current, profile)
