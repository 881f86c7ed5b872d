"""What starting, aborting or switching back a rollout will do, in words, for the question
asked first (the window's and the command line's).

Each says what happens, to which nodes, and what cannot be undone. The abort's words come
from the same `abort_plan` the runner follows, so the question and the abort agree.
"""

from __future__ import annotations

from dataclasses import dataclass

from themis_desktop.core.rollout.next_steps import join_names as _join
from themis_desktop.core.rollout.runner import Rollout, abort_plan


@dataclass(frozen=True)
class Question:
    title: str
    text: str  # the question, one sentence
    details: tuple[str, ...]  # what happens and what cannot be undone, a sentence each


def start_question(
    rollout: Rollout, profile: str, reversibility: str = "restore-backup", note: str = ""
) -> Question:
    """Before a planned rollout runs. `reversibility`/`note`: the hop's, from the catalogue
    ("binary-swap", "restore-backup" or "reconciliation")."""
    r = rollout
    names = list(r.roles)
    hop = f"{r.from_version} → {r.to_version}"
    text = (
        f"Upgrade {_join(names)} of “{profile}” from {r.from_version} to {r.to_version} "
        f"with a {r.strategy} rollout?"
    )
    details = [_how(r, names), "Each node is backed up first, and the backup verified."]
    if reversibility == "binary-swap":
        details.append(
            f"{hop} can be undone by reinstalling {r.from_version} (a binary swap); the "
            "backups are the safety net."
        )
    else:
        lost = (
            "writes made after the upgrade are lost unless reconciled by hand"
            if reversibility == "reconciliation"
            else "writes made after the upgrade are lost"
        )
        details.append(
            f"{hop} is a point of no return: once a node runs {r.to_version}, rolling it back "
            f"means restoring its backup, and {lost}." + (f" {note}" if note else "")
        )
    return Question("Start the rollout", text, tuple(details))


def abort_question(rollout: Rollout) -> Question:
    """Before an abort: where the traffic goes, which nodes are restored, which stay."""
    r = rollout
    serve, restore = abort_plan(r)
    kept = [n for n in r.upgraded() if n not in restore and n not in r.restored]
    text = f"Abort the {r.strategy} rollout {r.from_version} → {r.to_version}?"
    details = ["The rollout stops: a soak at once, any other step when it ends."]
    if serve:
        group = f"blue ({_join(serve)})" if r.strategy == "blue-green" else _join(serve)
        details.append(f"Traffic goes back to {group}, still on {r.from_version}.")
    for name in restore:
        details.append(
            f"{name} ({r.roles.get(name, 'canary')}) is stopped, restored from the backup "
            f"taken before its upgrade, reinstalled at {r.from_version} and serves again. "
            f"This cannot be undone: writes made to {name} after the backup are lost."
        )
    if kept:
        details.append(
            f"{_join(kept)} {'stays' if len(kept) == 1 else 'stay'} on {r.to_version} "
            "without traffic; then you choose the next step: roll back from the backup, "
            "resume, or return traffic."
        )
    if not restore and not kept:
        details.append("No node has been upgraded yet: no data is touched.")
    return Question("Abort the rollout", text, tuple(details))


def switch_back_question(rollout: Rollout) -> Question:
    """Before a blue-green rollout's traffic goes back to blue: what happens to each side,
    and what switching back cannot undo (writes green took while it served)."""
    r = rollout
    blue = _join([n for n, role in r.roles.items() if role == "blue"])
    green = _join([n for n, role in r.roles.items() if role.startswith("green")])
    details = [
        f"Traffic goes back to blue ({blue}), still on {r.from_version}; green ({green}) "
        f"keeps {r.to_version} and gets no traffic, and the rollout is marked aborted."
    ]
    if any(role == "green (serving)" for role in r.roles.values()):
        details.append(
            "Writes that green took while it served are on green's nodes: unless the "
            "cluster copies them to blue, blue serves without them, and switching back "
            "cannot bring them over (reconcile them by hand if they matter)."
        )
    else:
        details.append("Green has not served traffic yet: no writes are left behind on it.")
    return Question("Switch back to blue", "Switch traffic back to blue?", tuple(details))


def _how(r: Rollout, names: list[str]) -> str:
    if r.strategy == "rolling":
        return (
            f"Node by node ({' then '.join(names)}): each is drained, upgraded and serves "
            "again, gated against the cluster before the rollout, while the others serve."
        )
    if r.strategy == "canary":
        canary = next(n for n, role in r.roles.items() if role == "canary")
        stable = [n for n in names if n != canary]
        shares = [  # the weights each gated soak watches
            before.weights.get(canary, 0)
            for before, step in zip(r.steps, r.steps[1:], strict=False)
            if step.kind == "soak" and before.kind == "weights"
        ]
        percents = " → ".join(f"{p:g} %" for p in shares)
        return (
            f"{canary} is the canary: upgraded first, it gets {percents} of the traffic, each "
            f"step soaked and gated against {_join(stable)}; a failing gate aborts and "
            f"restores it. Then {_join(stable)} {'is' if len(stable) == 1 else 'are'} upgraded."
        )
    blue = [n for n, role in r.roles.items() if role == "blue"]
    green = [n for n, role in r.roles.items() if role == "green"]
    return (
        f"Green ({_join(green)}) is upgraded and validated while blue ({_join(blue)}) serves, "
        f"then traffic switches to green. Blue stays on {r.from_version}, so switching back "
        "stays possible."
    )
