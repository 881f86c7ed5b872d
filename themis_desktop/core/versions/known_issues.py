"""The known issues of a release (resources/releases.yaml, `known_issues`) and what they mean
for an upgrade hop and its rollback, in words an admin reads."""

from __future__ import annotations

from packaging.version import Version

from themis_desktop.core.versions.releases import (
    Catalogue,
    KnownIssue,
    Release,
    line_of,
    parse_version,
)

# what each kind of issue means for the step it affects
MEANING = {
    "restart": "starting the node again on its data may fail and leave it down",
    "restore": "a restore may fail and leave the database closed",
    "stop": "stopping the node may need a kill after a timeout",
    "flags": "command-line arguments it does not know are ignored, not refused",
    "health": "/health may say healthy while the node serves no data",
    "backup": "taking a backup may fail",
}
UPGRADE_AFFECTS = ("stop", "flags")  # the from-version is stopped and replaced
ROLLBACK_AFFECTS = ("restart", "restore", "health")  # the from-version comes back on old data


def known_issues(
    catalogue: Catalogue, version: str | Release, affects: str | None = None
) -> list[KnownIssue]:
    """The known issues of `version` (`1.0.2`, `1.0` for a whole line, or a Release): its
    line's, then its own; only those affecting `affects` when given. A version outside the
    catalogue has none; a malformed one raises VersionError."""
    wanted = version.version if isinstance(version, Release) else _parse(version)
    line = catalogue.line(line_of(wanted))
    if line is None:
        return []
    release = next((r for r in line.releases if r.version == wanted), None)
    found = {i.id: i for i in line.known_issues}
    found.update({i.id: i for i in (release.known_issues if release else ())})
    return [i for i in found.values() if affects is None or affects in i.affects]


def describe(issue: KnownIssue) -> str:
    """One line: what it does, what it means for the steps it affects, what to do."""
    means = "; ".join(MEANING.get(a, a) for a in issue.affects)
    return f"{issue.summary} For you: {means}. What to do: {issue.workaround}"


def hop_issues(
    catalogue: Catalogue, from_version: str | Release, to_version: str | Release
) -> list[tuple[str, KnownIssue]]:
    """The issues of `from_version` that matter for the hop to `to_version`, each with its
    phase: "upgrade" (the old server is stopped, its flags checked) or "rollback" (the old
    server comes back on the data, or a backup is restored for it)."""
    issues = known_issues(catalogue, from_version)
    picked = [("upgrade", i) for i in issues if set(i.affects) & set(UPGRADE_AFFECTS)]
    picked += [("rollback", i) for i in issues if set(i.affects) & set(ROLLBACK_AFFECTS)]
    return picked


def hop_warnings(
    catalogue: Catalogue, from_version: str | Release, to_version: str | Release
) -> list[str]:
    """`hop_issues` as sentences for the pre-checks and the rollback dialog."""
    old, new = _text(from_version), _text(to_version)
    heads = {
        "upgrade": f"Upgrade {old} → {new}, stopping {old}",
        "rollback": f"Rolling back {new} → {old}",
    }
    return [
        f"{heads[phase]}: known issue of {old}: {describe(issue)}"
        for phase, issue in hop_issues(catalogue, from_version, to_version)
    ]


def rollback_warnings(catalogue: Catalogue, back_to: str | Release) -> list[str]:
    """The known issues of the version a rollback returns to that get in its way."""
    return [
        f"Rolling back to {_text(back_to)}: known issue: {describe(issue)}"
        for issue in known_issues(catalogue, back_to)
        if set(issue.affects) & set(ROLLBACK_AFFECTS)
    ]


def _parse(text: str) -> Version:
    cleaned = text.strip()
    if cleaned.lower().endswith(".x"):
        cleaned = cleaned[:-2]
    return parse_version(cleaned)


def _text(version: str | Release) -> str:
    return version.text if isinstance(version, Release) else version.strip()


def matching_log(catalogue: Catalogue, version: str | Release, line: str) -> KnownIssue | None:
    """The known issue of `version` whose `log` text is in the server's log `line`."""
    return next((i for i in known_issues(catalogue, version) if i.log and i.log in line), None)
