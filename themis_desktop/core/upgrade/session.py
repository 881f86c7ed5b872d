"""An upgrade session: a plan's hops, each walking a state machine kept in the journal.

    planned → pre-checks → backed-up → upgrading → validating → done
                                 ↘ (any step may fail)  → failed
    upgrading / validating / done / failed → rolling-back → rolled-back (or failed)

Every transition is an event with time and user. A hop may only start upgrading with a
verified backup of every node taken after the previous hop finished. Everything lives in
the journal, so a session survives restarts of the app.

A rollback trigger belongs to the hop it judges; it stays open (the app shows it in a
banner) until an admin acknowledges it with a note, which is an event of its own.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from themis_desktop.core.connection import profile_store
from themis_desktop.core.connection.profiles import Profile
from themis_desktop.core.errors import ThemisDesktopError
from themis_desktop.core.journal.store import Journal, current_user, parse_utc, utc_now
from themis_desktop.core.upgrade import session_store
from themis_desktop.core.upgrade.session_store import Session
from themis_desktop.core.versions.upgrade_path import Plan

logger = logging.getLogger(__name__)
HopState = Literal[
    "planned",
    "pre-checks",
    "backed-up",
    "upgrading",
    "validating",
    "done",
    "rolling-back",
    "rolled-back",
    "failed",
]
TRANSITIONS: dict[str, frozenset[str]] = {
    "planned": frozenset({"pre-checks", "failed"}),
    "pre-checks": frozenset({"pre-checks", "backed-up", "failed"}),
    "backed-up": frozenset({"pre-checks", "backed-up", "upgrading", "failed"}),
    "upgrading": frozenset({"validating", "failed", "rolling-back"}),
    "validating": frozenset({"done", "failed", "rolling-back"}),
    "done": frozenset({"rolling-back"}),
    "failed": frozenset({"pre-checks", "rolling-back", "done", "failed"}),
    "rolling-back": frozenset({"rolling-back", "rolled-back", "failed"}),  # retried
    "rolled-back": frozenset(),
}
# the journal event of entering a state (the metrics page marks some of them)
EVENT_OF_STATE = {
    "pre-checks": "hop.pre-checks",
    "backed-up": "hop.backed-up",
    "upgrading": "hop.started",
    "validating": "hop.finished",  # the new version answered /health/ready
    "done": "hop.validated",
    "failed": "hop.failed",
    "rolling-back": "rollback.started",
    "rolled-back": "rollback.finished",
}
TRIGGER_KINDS = {
    "performance": "Performance degradation (> 20 %)",
    "critical-bug": "Critical bug",
    "data-integrity": "Data integrity issue",
    "incompatibility": "Incompatibility",
    "failed-validation": "Failed validation",
    # raised by the check after a rollback (`rollback_check`): the restored cluster is worse
    # than before the hop; the rollback does not answer it
    "post-rollback": "Post-rollback check failed",
}
AFTER_ROLLBACK = frozenset({"post-rollback"})  # triggers about the cluster a rollback left


class SessionError(ThemisDesktopError):
    """A step that the session's state does not allow; the message says why and what to do."""


@dataclass(frozen=True)
class Hop:
    id: int
    session_id: int
    position: int
    from_version: str
    to_version: str
    state: HopState
    started_at: str | None = None
    finished_at: str | None = None
    backups: tuple[int, ...] = ()
    baseline_id: int | None = None
    note: str | None = None
    # into a contested release: True the admin confirmed having it, False nobody did;
    # None the target is not contested (or the session predates journal schema 9)
    confirmed: bool | None = None

    @property
    def confirmation(self) -> str:
        """What the plan knew of a contested target: "" when it was not contested."""
        if self.confirmed is None:
            return ""
        return "contested, confirmed by the admin" if self.confirmed else "contested, unconfirmed"

    @property
    def finished(self) -> datetime | None:
        """When the new version first answered `/health/ready` (the rollback window's start)."""
        return parse_utc(self.finished_at) if self.finished_at else None

    @property
    def label(self) -> str:
        return f"{self.from_version} → {self.to_version}"


@dataclass(frozen=True)
class Acknowledgement:
    """An admin saw a trigger and said what they decided (the note)."""

    at: str
    user: str
    note: str


@dataclass(frozen=True)
class Trigger:
    kind: str
    note: str
    at: str
    user: str
    evidence: dict[str, Any] | None = None
    id: int = 0  # the journal event that raised it
    hop: int | None = None  # the hop it judges (None: raised before hops were recorded)
    acknowledged: Acknowledgement | None = None

    @property
    def title(self) -> str:
        return TRIGGER_KINDS.get(self.kind, self.kind)

    @property
    def open(self) -> bool:
        """Raised and not acknowledged yet."""
        return self.acknowledged is None

    @property
    def after_rollback(self) -> bool:
        """About the cluster a rollback left (not answered by the rollback of its hop)."""
        return self.kind in AFTER_ROLLBACK


class UpgradeSession:
    """A session and its hops, read from the journal; changes go through the journal."""

    def __init__(self, session: Session, hops: list[Hop], profile: str | None) -> None:
        self.session = session
        self.hops = hops
        self.profile = profile

    @property
    def id(self) -> int:
        return self.session.id

    # -- creating and loading ------------------------------------------------------

    @classmethod
    def create(cls, journal: Journal, profile: Profile, plan: Plan) -> UpgradeSession:
        """A new session for `plan` (its hops planned) on a saved `profile`."""
        if not plan.hops:
            raise SessionError(
                f"There is nothing to upgrade: {plan.current.text} is the target already."
            )
        saved = profile if profile.id else profile_store.get(journal, profile.name)
        if saved is None:
            saved = profile_store.save(journal, profile)
        with journal.transaction():
            session = session_store.start(
                journal, saved, plan.hops[0].source.text, plan.hops[-1].target.text
            )
            session_store.insert_hops(
                journal,
                session.id,
                (
                    {
                        "from_version": hop.source.text,
                        "to_version": hop.target.text,
                        "state": "planned",
                        "backups": "[]",
                        "confirmed": (
                            int(hop.confirmed) if hop.target.status == "contested" else None
                        ),
                    }
                    for hop in plan.hops
                ),
            )
        return cls.load(journal, session.id)

    @classmethod
    def load(cls, journal: Journal, session_id: int) -> UpgradeSession:
        session = session_store.get(journal, session_id)
        rows = session_store.hop_rows(journal, session_id)
        profile = session.profile  # the name it kept: its profile may have been deleted
        if session.profile_id is not None:
            profile = profile_store.name_of(journal, session.profile_id) or profile
        return cls(session, [_hop(row) for row in rows], profile)

    @classmethod
    def open_for(cls, journal: Journal, profile: str) -> UpgradeSession | None:
        """The profile's newest session that has not ended."""
        return cls._newest(journal, profile, open_only=True)

    @classmethod
    def latest_for(cls, journal: Journal, profile: str) -> UpgradeSession | None:
        """The profile's newest session, ended or not (a finished path is still watched and
        may still be rolled back)."""
        return cls._newest(journal, profile, open_only=False)

    @classmethod
    def _newest(cls, journal: Journal, profile: str, *, open_only: bool) -> UpgradeSession | None:
        saved = profile_store.get(journal, profile)
        if saved is None or saved.id is None:
            return None
        found = session_store.newest_id(journal, profile_id=saved.id, open_only=open_only)
        return cls.load(journal, found) if found is not None else None

    @property
    def ended(self) -> bool:
        return self.session.ended_at is not None

    def reload(self, journal: Journal) -> UpgradeSession:
        return UpgradeSession.load(journal, self.id)

    # -- reading -------------------------------------------------------------------

    @property
    def current(self) -> Hop | None:
        """The hop being worked on: the first that is neither done nor rolled back. After a
        rollback there is none: the path stopped there (a new session plans it again)."""
        if any(h.state == "rolled-back" for h in self.hops):
            return None
        return next((h for h in self.hops if h.state not in ("done", "rolled-back")), None)

    @property
    def last_finished(self) -> Hop | None:
        """The newest hop whose new version answered, and that was not rolled back."""
        finished = [h for h in self.hops if h.finished_at and h.state != "rolled-back"]
        return finished[-1] if finished else None

    @property
    def rolled_back(self) -> Hop | None:
        return next((h for h in reversed(self.hops) if h.state == "rolled-back"), None)

    @property
    def state(self) -> str:
        return self.session.state

    @property
    def rollback_hop(self) -> Hop | None:
        """The hop a rollback would undo: the newest one whose upgrade started and that is
        not rolled back yet (one interrupted in the middle of its rollback included: it is
        run again). The GUI and the command line both roll back this hop."""
        return next(
            (
                h
                for h in reversed(self.hops)
                if h.started_at
                and h.state in ("upgrading", "validating", "done", "failed", "rolling-back")
            ),
            None,
        )

    @property
    def judged_hop(self) -> Hop | None:
        """The hop that evidence seen now judges: the one a rollback would undo, else the
        one being worked on (a trigger raised before any upgrade belongs to it)."""
        return self.rollback_hop or self.current

    def previous(self, hop: Hop) -> Hop | None:
        return self.hops[hop.position - 1] if hop.position > 0 else None

    def hop(self, hop_id: int) -> Hop:
        return next(h for h in self.hops if h.id == hop_id)

    # -- changing ------------------------------------------------------------------

    def transition(
        self,
        journal: Journal,
        hop: Hop,
        state: HopState,
        message: str = "",
        *,
        data: dict[str, Any] | None = None,
        user: str | None = None,
        **fields: Any,
    ) -> Hop:
        """Move `hop` to `state` (checked against TRANSITIONS) and journal it."""
        current = self.reload(journal).hop(hop.id)
        if state not in TRANSITIONS[current.state]:
            raise SessionError(
                f"Hop {current.label} is {current.state}; it cannot go to {state} from there."
            )
        row: dict[str, Any] = {"state": state, **fields}
        if state == "upgrading" and not current.started_at:
            row["started_at"] = utc_now()
        if "backups" in row:
            row["backups"] = json.dumps(list(row["backups"]))
        user = user or current_user()
        with journal.transaction():
            session_store.update_hop(journal, hop.id, row)
            journal.insert_event(
                self.id,
                EVENT_OF_STATE.get(state, f"hop.{state}"),
                user,
                None,
                message or f"Hop {current.label}: {state}",
                {"hop": hop.id, "from": current.state, "to": state, **(data or {})},
            )
            session_store.update(journal, self.id, {"state": _session_state(state, hop, self)})
            if state == "rolling-back":
                session_store.update(journal, self.id, {"ended_at": None})  # open until done
            if state in ("done", "rolled-back") and (
                state == "rolled-back" or hop.position == len(self.hops) - 1
            ):
                session_store.update(journal, self.id, {"ended_at": utc_now()})
        logger.info(
            "Session %s, hop %s: %s -> %s by %s%s",
            self.id,
            current.label,
            current.state,
            state,
            user,
            f" ({message})" if message else "",
        )
        fresh = self.reload(journal)
        self.session, self.hops = fresh.session, fresh.hops
        return self.hop(hop.id)

    def log(
        self,
        journal: Journal,
        kind: str,
        message: str,
        *,
        node: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> int:
        """A step's outcome (command output, a check) in the session's journal."""
        return journal.add_event(kind, message, session_id=self.id, node=node, data=data)

    def raise_trigger(
        self,
        journal: Journal,
        kind: str,
        note: str,
        *,
        evidence: dict[str, Any] | None = None,
        user: str | None = None,
        hop: Hop | None = None,
    ) -> Trigger:
        """One of the rollback triggers (`TRIGGER_KINDS`), with the user's (or a check's)
        note; it judges `hop` (by default the hop evidence judges now, `judged_hop`)."""
        if kind not in TRIGGER_KINDS:
            raise SessionError(f"Unknown trigger {kind!r}: one of {', '.join(TRIGGER_KINDS)}.")
        if not note.strip():
            raise SessionError("Say what was seen: a trigger needs a note.")
        judged = hop or self.reload(journal).judged_hop
        data = {"kind": kind, "evidence": evidence, "hop": judged.id if judged else None}
        event = journal.add_event(
            "trigger.raised", note, session_id=self.id, data=data, user=user or current_user()
        )
        return next(t for t in self.triggers(journal) if t.id == event)

    def acknowledge(
        self, journal: Journal, trigger_id: int, note: str, *, user: str | None = None
    ) -> Trigger:
        """An admin saw trigger `trigger_id` and writes down what they decided; the trigger
        then stops asking for attention (it stays in the journal and the report)."""
        if not note.strip():
            raise SessionError(
                "Say what you decided (e.g. 'accepted: p99 within the SLA, watching'): an "
                "acknowledgement needs a note."
            )
        found = next((t for t in self.triggers(journal) if t.id == trigger_id), None)
        if found is None:
            known = ", ".join(str(t.id) for t in self.triggers(journal)) or "none"
            raise SessionError(
                f"Session {self.id} has no trigger {trigger_id} (its triggers: {known})."
            )
        if found.acknowledged is not None:
            ack = found.acknowledged
            raise SessionError(
                f"Trigger {trigger_id} was acknowledged already by {ack.user} at {ack.at}: "
                f"{ack.note}"
            )
        journal.add_event(
            "trigger.acknowledged",
            note,
            session_id=self.id,
            data={"trigger": trigger_id, "kind": found.kind},
            user=user or current_user(),
        )
        return next(t for t in self.triggers(journal) if t.id == trigger_id)

    def triggers(self, journal: Journal) -> list[Trigger]:
        """The session's triggers, oldest first, each with its acknowledgement if any."""
        events = journal.events(
            session_id=self.id, types=["trigger.raised", "trigger.acknowledged"]
        )
        acks = {
            e.data["trigger"]: Acknowledgement(e.ts, e.user or "unknown", e.message)
            for e in events
            if e.type == "trigger.acknowledged" and e.data and "trigger" in e.data
        }
        return [
            Trigger(
                e.data["kind"],
                e.message,
                e.ts,
                e.user or "unknown",
                e.data.get("evidence"),
                id=e.id,
                hop=self._hop_of(e.data, e.ts),
                acknowledged=acks.get(e.id),
            )
            for e in events
            if e.type == "trigger.raised" and e.data
        ]

    def _hop_of(self, data: dict[str, Any], at: str) -> int | None:
        """The hop a trigger judges: as recorded, else (older journals) the newest hop
        whose upgrade had started when it was raised, else the first hop."""
        ids = {h.id for h in self.hops}
        for key in (data.get("hop"), (data.get("evidence") or {}).get("hop")):
            if key in ids:
                return key
        started = [h for h in self.hops if h.started_at and h.started_at <= at]
        if started:
            return started[-1].id
        return self.hops[0].id if self.hops else None


def _session_state(state: str, hop: Hop, session: UpgradeSession) -> str:
    if state == "rolled-back":
        return "rolled-back"
    if state == "done":
        return "done" if hop.position == len(session.hops) - 1 else "in-progress"
    return "failed" if state == "failed" else "in-progress"


def _hop(row: dict[str, Any]) -> Hop:
    return Hop(
        id=row["id"],
        session_id=row["session_id"],
        position=row["position"],
        from_version=row["from_version"],
        to_version=row["to_version"],
        state=row["state"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        backups=tuple(json.loads(row["backups"] or "[]")),
        baseline_id=row["baseline_id"],
        note=row["note"],
        confirmed=None if row.get("confirmed") is None else bool(row["confirmed"]),
    )
