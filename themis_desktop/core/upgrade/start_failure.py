"""Why a node did not come up after its service was started, in words an admin reads:
the server's own log line, the known issue it shows (if the catalogue has one), what it
means for a rollback, and what to do."""

from __future__ import annotations

from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.known_issues import known_issues, matching_log
from themis_desktop.core.versions.releases import Catalogue, VersionError


def explain(
    node: str,
    version: str,
    line: str,
    rollback_to: str | None = None,
    catalogue: Catalogue | None = None,
) -> str:
    """`node` was started as `version` and logged `line` instead of coming up. With
    `rollback_to`, also whether a rollback to that version would meet the same issue."""
    catalogue = catalogue or load_catalogue()
    head = f"{node} did not start as {version}: its log says “{line}”."
    try:
        issue = matching_log(catalogue, version, line)
    except VersionError:
        issue = None
    if issue is None:
        return (
            f"{head} The node is down. Read the rest of its log, fix the cause, then retry the "
            "step, or roll back."
        )
    text = f"{head} This is a known issue of {version}: {issue.summary}"
    if rollback_to and _has(catalogue, rollback_to, issue.id):
        text += (
            f" It means {rollback_to} cannot be restarted on its data either: a rollback that "
            f"restores the backup and starts {rollback_to} again fails the same way."
        )
    return f"{text} What to do: {issue.workaround}"


def _has(catalogue: Catalogue, version: str, issue_id: str) -> bool:
    try:
        return any(i.id == issue_id for i in known_issues(catalogue, version))
    except VersionError:
        return False
