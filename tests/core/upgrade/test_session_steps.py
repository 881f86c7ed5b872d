"""The steps an admin may run now, by the current hop's state, and why the others wait:
the one rule behind the session page's buttons and `session run STEP`."""

from __future__ import annotations

import pytest

from themis_desktop.core.connection import profile_store
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.upgrade.session import Hop, UpgradeSession
from themis_desktop.core.upgrade.session_store import Session
from themis_desktop.core.upgrade.steps import STEPS, steps_now

NOW = "2026-11-26T12:00:00.000Z"


def _session(*hops: tuple[str, bool]) -> UpgradeSession:
    """A session 1.7.0 → … whose hops have these (state, upgrade started) pairs."""
    versions = ["1.7.0", "1.8.2", "1.9.0", "2.0.0"]
    made = [
        Hop(i + 1, 1, i, versions[i], versions[i + 1], state, started_at=NOW if started else None)
        for i, (state, started) in enumerate(hops)
    ]
    session = Session(1, 1, "1.7.0", made[-1].to_version, "in-progress", NOW, "ann")
    return UpgradeSession(session, made, "p")


# the hop's state, whether its upgrade started → the steps allowed now
RULE = [
    ("planned", False, {"pre-checks", "backup"}),
    ("pre-checks", False, {"pre-checks", "backup"}),
    ("backed-up", False, {"pre-checks", "backup", "upgrade"}),
    ("upgrading", True, set()),
    ("validating", True, {"validate"}),
    ("failed", False, {"pre-checks", "backup"}),  # failed before its upgrade: start again
    ("failed", True, {"validate"}),  # failed after its upgrade: validate again (or roll back)
    ("rolling-back", True, set()),  # only a rollback finishes it
]


@pytest.mark.parametrize(("state", "started", "allowed"), RULE)
def test_the_steps_allowed_in_each_state_of_the_hop(state, started, allowed):
    steps = steps_now(_session((state, started)))
    assert set(steps.allowed_steps) == allowed
    for step in STEPS:
        assert steps.allowed(step) == (step in allowed)
        assert (steps.why_not(step) is None) == (step in allowed)


# the hop's state, whether its upgrade started, a refused step → what the reason says
REASONS = [
    ("planned", False, "upgrade", "has no verified backup yet: back up now first"),
    ("pre-checks", False, "upgrade", "has no verified backup yet: back up now first"),
    ("planned", False, "validate", "is not upgraded yet (planned): there is nothing to validate"),
    ("backed-up", False, "validate", "is not upgraded yet (backed-up)"),
    ("upgrading", True, "validate", "has started: wait for it to finish"),
    ("upgrading", True, "pre-checks", "if it was interrupted, roll back"),
    ("validating", True, "upgrade", "is upgraded already: validate it, or roll back"),
    ("validating", True, "backup", "is upgraded already: validate it, or roll back"),
    ("failed", False, "upgrade", "failed before its upgrade: run the pre-checks and back up"),
    ("failed", False, "validate", "is not upgraded yet (failed)"),
    ("failed", True, "backup", "failed after its upgrade already: validate it, or roll back"),
    ("rolling-back", True, "validate", "was being rolled back when that stopped: roll back"),
]


@pytest.mark.parametrize(("state", "started", "step", "words"), REASONS)
def test_each_refused_step_says_why_and_what_to_do(state, started, step, words):
    reason = steps_now(_session((state, started))).why_not(step)
    assert reason.startswith("Hop 1.7.0 → 1.8.2 ") or "hop 1.7.0 → 1.8.2" in reason
    assert words in reason


def test_the_rule_judges_the_current_hop_the_first_not_done():
    steps = steps_now(_session(("done", True), ("planned", False)))
    assert steps.hop.label == "1.8.2 → 1.9.0"
    assert steps.allowed_steps == ("pre-checks", "backup")
    assert "Hop 1.8.2 → 1.9.0 has no verified backup" in steps.why_not("upgrade")


def test_nothing_runs_when_every_hop_is_done_or_the_path_stopped_at_a_rollback():
    done = steps_now(_session(("done", True), ("done", True)))
    assert done.hop is None and done.allowed_steps == ()
    assert done.why_not("pre-checks") == (
        "Every hop of session 1 is done: there is no step left to run."
    )
    stopped = steps_now(_session(("rolled-back", True), ("planned", False)))
    assert stopped.hop is None and stopped.allowed_steps == ()
    assert "Hop 1.7.0 → 1.8.2 was rolled back: the path stopped there" in stopped.why_not("backup")
    nothing = steps_now(None)
    assert nothing.allowed_steps == () and "no upgrade session" in nothing.why_not("backup")


def test_an_unknown_step_is_never_allowed():
    steps = steps_now(_session(("planned", False)))
    assert not steps.allowed("rollback")
    assert "one of pre-checks, backup, upgrade, validate" in steps.why_not("rollback")


def test_the_rule_follows_a_session_walked_in_the_journal():
    """The same answers for a session read back from a real journal as it moves on."""
    from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
    from themis_desktop.core.versions.catalogue_file import load_catalogue
    from themis_desktop.core.versions.upgrade_path import plan_upgrade

    with Journal() as journal:
        profile = profile_store.save(
            journal, Profile("p", (NodeEndpoint("http://127.0.0.1:1", "n1"),))
        )
        plan = plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8")
        session = UpgradeSession.create(journal, profile, plan)
        seen = [steps_now(session).allowed_steps]
        for state in ("pre-checks", "backed-up", "upgrading", "failed"):
            session.transition(journal, session.current, state)
            seen.append(steps_now(session.reload(journal)).allowed_steps)
    assert seen == [
        ("pre-checks", "backup"),
        ("pre-checks", "backup"),
        ("pre-checks", "backup", "upgrade"),
        (),
        ("validate",),  # failed after its upgrade started
    ]


def test_the_steps_follow_the_sessions_transition_table(monkeypatch):
    """Issue 20: the rule is derived from `session.TRANSITIONS`, not a second table: a
    state the table does not let go to upgrading allows no upgrade step."""
    from themis_desktop.core.upgrade import session as session_module

    session = _session(("backed-up", False))
    assert steps_now(session).allowed("upgrade")
    narrowed = session_module.TRANSITIONS["backed-up"] - {"upgrading"}
    monkeypatch.setitem(session_module.TRANSITIONS, "backed-up", narrowed)
    assert not steps_now(session).allowed("upgrade")
    assert steps_now(session).allowed("backup")
