"""Which steps of the session's current hop may run now, and why each other one waits.

One rule for the session page's buttons and `themis-desktop session run STEP`, derived
from the session's transition table (`session.TRANSITIONS`): a step is allowed when the
states it moves the hop through (`STEP_PATHS`) are transitions the table allows from the
hop's state, and the hop's upgrade has started for validate only (`AFTER_UPGRADE`). The
result, for reading:

    hop state                      allowed steps
    planned, pre-checks            pre-checks, backup
    backed-up                      pre-checks, backup, upgrade
    upgrading                      none (the step runs, or was interrupted: roll back)
    validating                     validate
    failed before its upgrade      pre-checks, backup
    failed after its upgrade       validate (again)
    rolling-back                   none (roll back again to finish it)
    no current hop                 none (every hop done, or the path stopped at a rollback)

Given the hop's latest pre-flight (`preflight.latest`), a blocked one also holds back the
upgrade step until its blocking checks pass again (the step itself reruns the whole suite
and refuses while it is blocked); the session page and `session status` pass it.

Rolling back is not one of these steps: `UpgradeSession.rollback_hop` says which hop it undoes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from themis_desktop.core.upgrade.session import TRANSITIONS, Hop, UpgradeSession

if TYPE_CHECKING:
    from themis_desktop.core.upgrade.preflight import Preflight
    from themis_desktop.core.upgrade.rehearsal_gate import RehearsalGate

STEPS = ("pre-checks", "backup", "upgrade", "validate")
# the states each step moves its hop through, in order (`hop_runner`'s transitions)
STEP_PATHS: dict[str, tuple[str, ...]] = {
    "pre-checks": ("pre-checks",),
    "backup": ("pre-checks", "backed-up"),  # planned or failed: pre-checks first
    "upgrade": ("upgrading", "validating"),
    "validate": ("done",),
}
AFTER_UPGRADE = frozenset({"validate"})  # the others only before the hop's upgrade started


def allowed_steps(hop: Hop) -> frozenset[str]:
    """The steps `hop` may run in its state: each step's path through `TRANSITIONS`."""
    upgraded = hop.started_at is not None
    return frozenset(
        step
        for step, path in STEP_PATHS.items()
        if _walks(hop.state, path) and (step in AFTER_UPGRADE) == upgraded
    )


def _walks(state: str, path: tuple[str, ...]) -> bool:
    for state_next in path:
        if state_next not in TRANSITIONS.get(state, frozenset()):
            return False
        state = state_next
    return True


@dataclass(frozen=True)
class StepsNow:
    """The steps of `hop` allowed now; `refused` maps each other step to why it waits."""

    hop: Hop | None
    refused: dict[str, str] = field(default_factory=dict)

    def allowed(self, step: str) -> bool:
        return step in STEPS and step not in self.refused

    def why_not(self, step: str) -> str | None:
        """Why `step` may not run now, in words for the user (None: it may)."""
        if step not in STEPS:
            return f"There is no step {step!r}: one of {', '.join(STEPS)}."
        return self.refused.get(step)

    @property
    def allowed_steps(self) -> tuple[str, ...]:
        return tuple(s for s in STEPS if s not in self.refused)


def steps_now(
    session: UpgradeSession | None,
    preflight: Preflight | None = None,
    rehearsal: RehearsalGate | None = None,
) -> StepsNow:
    """The rule of the table above, for the session's current hop; with `preflight`, the
    hop's latest pre-flight, a blocked one refuses the upgrade step too; with `rehearsal`
    (`rehearsal_gate.gate`), a hop without a passed rehearsal or an override as well."""
    if session is None:
        reason = "There is no upgrade session: start one for the planned path first."
        return StepsNow(None, dict.fromkeys(STEPS, reason))
    hop = session.current
    if hop is None:
        return StepsNow(None, dict.fromkeys(STEPS, nothing_to_run(session)))
    phase = _phase(hop)
    allowed = allowed_steps(hop)
    refused = {s: _why_not(hop, phase, s) for s in STEPS if s not in allowed}
    if (
        "upgrade" not in refused
        and preflight is not None
        and preflight.hop.id == hop.id
        and preflight.verdict == "blocked"
    ):
        refused["upgrade"] = blocked_by(preflight)
    if (
        "upgrade" not in refused
        and rehearsal is not None
        and rehearsal.hop_id == hop.id
        and rehearsal.refusal is not None
    ):
        refused["upgrade"] = rehearsal.refusal
    return StepsNow(hop, refused)


def blocked_by(preflight: Preflight) -> str:
    """Why a blocked pre-flight holds back the upgrade step, naming its blocking checks."""
    names = [r.name for r in preflight.blocking]
    which = "that check" if len(names) == 1 else "those checks"
    return (
        f"The pre-flight of hop {preflight.hop.label} is blocked by {', '.join(names)}: fix "
        f"{'it' if len(names) == 1 else 'them'} and rerun {which} first (the upgrade step "
        "refuses while the pre-flight is blocked)."
    )


def nothing_to_run(session: UpgradeSession) -> str:
    """Why no step runs when the session has no current hop."""
    rolled = session.rolled_back
    if rolled is not None:
        return (
            f"Hop {rolled.label} was rolled back: the path stopped there. Plan a new "
            "session to try the upgrade again."
        )
    return f"Every hop of session {session.id} is done: there is no step left to run."


def _phase(hop: Hop) -> str:
    if hop.state == "failed":
        return "failed after its upgrade" if hop.started_at else "failed before its upgrade"
    return hop.state


def _why_not(hop: Hop, phase: str, step: str) -> str:
    label = hop.label
    if phase == "rolling-back":
        return f"Hop {label} was being rolled back when that stopped: roll back again to finish it."
    if phase == "upgrading":
        return (
            f"The upgrade step of hop {label} has started: wait for it to finish (if it was "
            "interrupted, roll back)."
        )
    if phase in ("validating", "failed after its upgrade"):
        done = "is upgraded" if phase == "validating" else "failed after its upgrade"
        return f"Hop {label} {done} already: validate it, or roll back."
    if step == "upgrade":
        if phase == "failed before its upgrade":
            return (
                f"Hop {label} failed before its upgrade: run the pre-checks and back up "
                "again first."
            )
        return (
            f"Hop {label} has no verified backup yet: back up now first (the upgrade step "
            "needs a verified backup of every node)."
        )
    # validate before any upgrade
    return (
        f"Hop {label} is not upgraded yet ({hop.state}): there is nothing to validate; "
        "validation checks the new version after the upgrade step."
    )
