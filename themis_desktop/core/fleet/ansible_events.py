"""ansible-runner's events of one job, as the session keeps them.

Each host's task result (`runner_on_ok`, `_failed`, `_skipped`, `_unreachable`) becomes an
`ansible.task` event in the session's journal — host (and the profile's node name), task,
status (`ok`, `changed`, `failed`, `failed (ignored)`, `skipped`, `unreachable`), duration,
a bounded excerpt of its output with known tokens redacted — and one line of the step's live
log; `playbook_on_task_start` is a log line, `playbook_on_stats` the `ansible.stats` event
(ok/changed/failed per host), the job's end the `ansible.run` event (its status:
`successful`, `failed`, `canceled`, `timeout`). The first failure that was not ignored is
kept to name the failing task and host; a host whose rescue ran the rollback steps is
remembered (`rescued`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from themis_desktop.core.util.redaction import redact

if TYPE_CHECKING:
    from themis_desktop.core.journal.store import Journal
    from themis_desktop.core.upgrade.hop_runner import HopContext
    from themis_desktop.core.upgrade.session import Hop, UpgradeSession

EXCERPT_CHARS = 600  # of a task's output in its journal event
RESULTS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_skipped": "skipped",
    "runner_on_unreachable": "unreachable",
}
RESCUE_PREFIX = "Rollback "  # the rescue's (and the rollback play's) task names


@dataclass(frozen=True)
class Failure:
    host: str
    node: str
    task: str
    message: str


@dataclass
class RunEvents:
    """The event handler of one job (`handle`, called in the job's thread) and what it saw."""

    ctx: HopContext
    journal: Journal
    session: UpgradeSession
    hop: Hop
    step: str  # "upgrade" or "rollback"
    hosts: dict[str, str]  # inventory host -> the profile's node name
    tasks: int = 0  # task results journaled
    failure: Failure | None = None
    last_failure: Failure | None = None
    rescued: set[str] = field(default_factory=set)  # nodes the rescue rolled back
    status: str = "running"

    def handle(self, event: dict[str, Any]) -> bool:
        """One runner event; True: ansible-runner keeps it in the run's artifacts too."""
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        if kind == "playbook_on_task_start":
            self.ctx.log(f"… Ansible: {data.get('task', '?')}")
        elif kind in RESULTS:
            self._result(kind, data)
        elif kind == "playbook_on_stats":
            self._stats(data)
        return True

    def _result(self, kind: str, data: dict[str, Any]) -> None:
        host = str(data.get("host", "?"))
        node = self.hosts.get(host, host)
        task = str(data.get("task", "?"))
        found = data.get("res")
        res: dict[str, Any] = found if isinstance(found, dict) else {}
        status = RESULTS[kind]
        if status == "ok" and res.get("changed"):
            status = "changed"
        ignored = status == "failed" and bool(data.get("ignore_errors"))
        if ignored:
            status = "failed (ignored)"
        duration = data.get("duration")
        seconds = round(float(duration), 3) if isinstance(duration, int | float) else None
        excerpt = _excerpt(res, self.ctx.token)
        self.tasks += 1
        took = f", {seconds:.1f} s" if seconds is not None else ""
        mark = {"failed": "✗", "unreachable": "✗", "skipped": "·"}.get(status, "✓")
        self.ctx.log(f"{mark} {node}: {task} — {status}{took}")
        self.session.log(
            self.journal,
            "ansible.task",
            f"{task}: {status}{took}",
            node=node,
            data={
                "hop": self.hop.id,
                "step": self.step,
                "host": host,
                "task": task,
                "status": status,
                "duration": seconds,
                "action": data.get("task_action"),
                "output": excerpt,
            },
        )
        if task.startswith(RESCUE_PREFIX) and self.step == "upgrade":
            self.rescued.add(node)
        if status in ("failed", "unreachable"):
            failure = Failure(host, node, task, excerpt)
            self.failure = self.failure or failure
            self.last_failure = failure

    def _stats(self, data: dict[str, Any]) -> None:
        counts = {
            name: {
                key: data.get(key, {}).get(host, 0)
                for key in ("ok", "changed", "failures", "skipped", "dark", "rescued")
            }
            for host, name in self.hosts.items()
        }
        text = "; ".join(
            f"{name}: ok {c['ok']}, changed {c['changed']}, failed {c['failures'] + c['dark']}"
            for name, c in counts.items()
        )
        self.ctx.log(f"Ansible recap — {text}")
        self.session.log(
            self.journal,
            "ansible.stats",
            f"Recap of the {self.step} play: {text}",
            data={"hop": self.hop.id, "step": self.step, "hosts": counts},
        )

    def finish(self, status: str, rc: int | None, ident: str, seconds: float) -> None:
        """The job ended: the `ansible.run` event (a cancelled job as `cancelled`)."""
        self.status = status
        shown = "cancelled" if status == "canceled" else status
        self.ctx.log(f"Ansible {self.step} play: {shown} after {seconds:.1f} s")
        self.session.log(
            self.journal,
            "ansible.run",
            f"The {self.step} play {shown} (rc {rc}, {self.tasks} task results, {seconds:.1f} s)",
            data={
                "hop": self.hop.id,
                "step": self.step,
                "status": shown,
                "rc": rc,
                "ident": ident,
                "tasks": self.tasks,
                "seconds": round(seconds, 3),
                "rescued": sorted(self.rescued),
            },
        )

    def failure_text(self, step: str, hop: Hop) -> str:
        """Why the step failed, in words for the user, naming the failing task and host."""
        if self.status == "canceled":
            return (
                f"Cancelled: the Ansible {step} play was stopped after {self.tasks} task "
                "results. A node may be left stopped or half-done: look at the nodes, then "
                + ("run the step again or roll back." if step == "upgrade" else "roll back again.")
            )
        if self.status == "timeout":
            return f"The Ansible {step} play ran out of time and was stopped."
        first = self.failure
        if first is None:
            return (
                f"The Ansible {step} play failed ({self.status}) before any task failed: "
                "look at the run's output in the session's run folder."
            )
        why = f": {first.message}" if first.message else ""
        text = f"The Ansible {step} play stopped: “{first.task}” failed on {first.node}{why}."
        if first.node in self.rescued:
            text += (
                f" The play's rescue rolled {first.node} back to {hop.from_version}; the nodes "
                "after it were not touched."
            )
        elif step == "upgrade":
            text += " Roll the hop back, or fix the cause and run the step again."
        return text


def _excerpt(res: dict[str, Any], token: str | None) -> str:
    """A task's message and output, bounded and without known tokens."""
    parts = []
    for key in ("msg", "stdout", "stderr"):
        value = res.get(key)
        if isinstance(value, str) and value.strip():
            parts.append(value.strip())
    text = "\n".join(parts)
    if len(text) > EXCERPT_CHARS:
        text = text[: EXCERPT_CHARS - 1] + "…"
    if token:
        text = text.replace(token, "[token]")
    return redact(text)
