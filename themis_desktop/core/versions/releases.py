"""The release catalogue of ThemisDB and version parsing (`packaging` versions)."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from themis_desktop.core.errors import ThemisDesktopError

REVERSIBILITY = ("binary-swap", "restore-backup", "reconciliation")
_LINE_SPEC = re.compile(r"^v?(\d+)\.(\d+)(?:\.x)?$", re.IGNORECASE)
_HOTFIX = re.compile(r"^(v?\d+\.\d+\.\d+)-hotfix(\d*)$", re.IGNORECASE)
# what upstream's documents say about a release (see the header of resources/releases.yaml)
RELEASE_STATUSES = ("released", "planned", "withdrawn", "known-bad", "contested")
NEVER_A_STOP = ("planned", "withdrawn", "known-bad")  # refused as a stop or a target
NEEDS_EVIDENCE = ("withdrawn", "known-bad", "contested")


# what a known issue of a release gets in the way of (see the header of resources/releases.yaml)
KNOWN_ISSUE_AFFECTS = ("restart", "restore", "stop", "flags", "health", "backup")


@dataclass(frozen=True)
class KnownIssue:
    """A known behaviour of a release or line an admin must plan around (releases.yaml)."""

    id: str
    summary: str  # what it does, in our words
    affects: tuple[str, ...]  # some of KNOWN_ISSUE_AFFECTS
    evidence: str  # what was observed, on which build
    workaround: str  # what an admin does instead
    source: tuple[str, ...] = ()  # upstream files the cause is in
    log: str = ""  # a literal piece of the server's own log line that shows it happening


class VersionError(ThemisDesktopError, ValueError):
    """A version the user gave is malformed or unknown; the message says what is known."""


def parse_version(text: str) -> Version:
    """`1.7`, `v1.7.3`, `1.8.0-rc1`, `2.4.0-rc1` → `Version`; anything else → VersionError.

    Upstream's `1.3.4-hotfix` (not PEP 440) sorts as the post-release `1.3.4.post0`: after
    1.3.4, before 1.3.5; a `Release` keeps upstream's spelling as its text."""
    cleaned = text.strip()
    hotfix = _HOTFIX.match(cleaned)
    if hotfix:
        cleaned = f"{hotfix[1]}.post{hotfix[2] or 0}"
    try:
        return Version(cleaned)
    except (InvalidVersion, ValueError):  # ValueError: a part too long for int()
        shown = repr(text) if len(text) <= 40 else repr(text[:40]) + "…"
        raise VersionError(
            f"{shown} is not a version number (expected e.g. 1.7, v1.7.3 or 1.8.0-rc1)"
        ) from None


def line_of(version: Version) -> tuple[int, int]:
    return (version.major, version.minor)


@dataclass(frozen=True)
class Release:
    """One released version. `known` is False for a version the catalogue does not list."""

    text: str
    version: Version
    date: str = ""
    confidence: str = "low"
    summary: str = ""
    known: bool = True
    status: str = "released"  # one of RELEASE_STATUSES
    evidence: str = ""  # why the status: what upstream's documents say, in our words
    source: tuple[str, ...] = ()  # upstream files the facts come from
    previous: str = ""  # the release it was built on, as its notes name it ("": the one before)
    fixes: bool = True  # False: documentation or build only, nothing a server runs changes
    known_issues: tuple[KnownIssue, ...] = ()  # of this release alone (its line's apply too)

    @property
    def prerelease(self) -> bool:
        return self.version.is_prerelease

    @property
    def usable(self) -> bool:
        """Whether the release may be a stop or a target (not planned, withdrawn, known-bad)."""
        return self.status not in NEVER_A_STOP

    def status_text(self) -> str:
        """`known-bad: <evidence>`, `contested: <evidence>`; "" for a plain release."""
        if self.status == "released":
            return ""
        return f"{self.status}: {self.evidence}" if self.evidence else self.status

    @property
    def line(self) -> tuple[int, int]:
        return line_of(self.version)

    def __str__(self) -> str:
        return self.text


CONFIG_CHANGES = ("default", "added", "removed", "renamed", "layout")
CONFIG_SEVERITIES = ("breaks", "changes")


@dataclass(frozen=True)
class ConfigChange:
    """A configuration change a line brings (see the header of resources/releases.yaml)."""

    change: str  # one of CONFIG_CHANGES
    key: str = ""  # dotted key; empty for "layout"
    old: Any = None  # the previous default ("default")
    new: Any = None  # the new default ("default", "added")
    to: str = ""  # the new name ("renamed")
    reason: str = ""
    severity: str = ""  # "breaks" or "changes" for a removed key present (default "changes")
    legacy_until: str = ""  # ISO date the old layout stops working ("layout")
    moves: tuple[tuple[str, str], ...] = ()  # (flat file name, new path below config/)
    source: tuple[str, ...] = ()  # the upstream files the change was read from

    def moved(self, name: str) -> str | None:
        """The new place below config/ of a flat file `name` ("layout"), if known."""
        return dict(self.moves).get(name)


@dataclass(frozen=True)
class ReleaseLine:
    """A minor line and what the hop into it brings."""

    name: str
    summary: str
    releases: tuple[Release, ...]
    breaking_changes: tuple[str, ...] = ()
    deprecations: tuple[str, ...] = ()
    guide: bool = False
    guide_note: str = ""
    reversibility: str = "restore-backup"
    reversibility_note: str = ""
    required: bool = False
    notes: str = ""
    config_changes: tuple[ConfigChange, ...] = ()
    known_issues: tuple[KnownIssue, ...] = ()  # of every release of the line

    @property
    def key(self) -> tuple[int, int]:
        major, minor = self.name.split(".")
        return (int(major), int(minor))

    @property
    def latest(self) -> Release:
        """The newest stable release, or the newest pre-release when there is no stable one."""
        stable = [r for r in self.releases if not r.prerelease]
        return max(stable or self.releases, key=lambda r: r.version)

    @property
    def contested(self) -> bool:
        """Whether upstream's documents disagree that the line was released at all."""
        return all(r.status == "contested" for r in self.releases)

    def previous_of(self, release: Release) -> Release | None:
        """The release of this line `release` was built on: the one its notes name, else the
        one before it by number; None when that is in another line (or there is none)."""
        if release.previous:
            wanted = parse_version(release.previous)
            return next((r for r in self.releases if r.version == wanted), None)
        older = [r for r in self.releases if r.version < release.version]
        return max(older, key=lambda r: r.version) if older else None

    def ancestry(self, release: Release) -> list[Release]:
        """`release` and the releases of this line it was built on, newest first."""
        chain: list[Release] = []
        at: Release | None = release
        while at is not None and at not in chain:
            chain.append(at)
            at = self.previous_of(at)
        return chain

    def missing_fixes(self, release: Release) -> list[Release]:
        """The releases of this line with fixes that `release` was not built on (a newer
        pre-release does not count: a stable release cannot carry what came after it)."""
        chain = self.ancestry(release)
        return [
            r
            for r in self.releases
            if r.fixes
            and r.status != "planned"
            and r not in chain
            and not (r.prerelease and r.version > release.version)
        ]

    @property
    def stop(self) -> Release | None:
        """Where a path through this line stops: the newest usable release that carries all
        fixes of the line (stable first), not the highest number; None when no release of
        the line may be a stop."""
        usable = [r for r in self.releases if r.usable]
        pool = [r for r in usable if not r.prerelease] or usable
        complete = [r for r in pool if not self.missing_fixes(r)]
        return max(complete or pool, key=lambda r: r.version) if pool else None

    def stop_reasons(self) -> tuple[str, ...]:
        """Why the stop is the release it is: each release of the line that is never a stop,
        and each newer one passed over because it lacks fixes of the line."""
        stop = self.stop
        reasons = [f"{r} is never a stop: {r.status_text()}" for r in self.releases if not r.usable]
        if stop is None:
            return tuple(reasons)
        for r in self.releases:
            if not r.usable or r.version <= stop.version or (r.prerelease and not stop.prerelease):
                continue
            missing = ", ".join(m.text for m in self.missing_fixes(r))
            built_on = self.previous_of(r)
            what = "documentation/build only, " if not r.fixes else ""
            reasons.append(
                f"{r} is newer but {what}built on {built_on or 'another line'}: it lacks the "
                f"fixes of {missing}; {stop} carries all fixes of {self.name}"
            )
        if self.missing_fixes(stop):
            missing = ", ".join(m.text for m in self.missing_fixes(stop))
            reasons.append(f"no {self.name} release carries all fixes: {stop} lacks {missing}")
        return tuple(reasons)


@dataclass(frozen=True)
class Catalogue:
    """All known release lines, oldest first."""

    lines: tuple[ReleaseLine, ...]
    sources: tuple[Path, ...] = field(default_factory=tuple)
    problems: tuple[str, ...] = ()  # why the user catalogue was left out, if it was

    def line(self, key: tuple[int, int]) -> ReleaseLine | None:
        return next((line for line in self.lines if line.key == key), None)

    def index_of(self, key: tuple[int, int]) -> int:
        return [line.key for line in self.lines].index(key)

    def releases(self) -> list[Release]:
        return sorted((r for line in self.lines for r in line.releases), key=lambda r: r.version)

    @property
    def newest(self) -> Release:
        last = self.lines[-1]
        return last.stop or last.latest

    def resolve(self, text: str) -> Release:
        """A release from what a user typed: `1.8` or `1.8.x` (the line's stop: its newest
        release carrying all its fixes), `1.8.2`, `latest`. A patch missing from a known line
        is accepted as `known=False`."""
        if text.strip().lower() == "latest":
            return self.newest
        spec = _LINE_SPEC.match(text.strip())
        if spec:
            line = self.line((int(spec[1]), int(spec[2])))
            if line is None:
                raise VersionError(
                    self._unknown_message(text, parse_version(f"{spec[1]}.{spec[2]}"))
                )
            if line.stop is None:
                reasons = "; ".join(line.stop_reasons())
                raise VersionError(f"No {line.name} release can be installed: {reasons}")
            return line.stop
        version = parse_version(text)
        for release in self.releases():
            if release.version == version:
                return release
        if self.line(line_of(version)) is None:
            raise VersionError(self._unknown_message(text, version))
        return Release(text.strip().lstrip("vV"), version, known=False)

    def nearest(self, version: Version, count: int = 3) -> list[Release]:
        """The `count` known releases closest to `version` in release order."""
        releases = self.releases()
        at = bisect.bisect_left([r.version for r in releases], version)
        below, above = releases[:at][::-1], releases[at:]
        picks: list[Release] = []
        while len(picks) < count and (below or above):
            for side in (below, above):
                if side and len(picks) < count:
                    picks.append(side.pop(0))
        return sorted(picks, key=lambda r: r.version)

    def _unknown_message(self, text: str, version: Version) -> str:
        near = ", ".join(r.text for r in self.nearest(version))
        lines = ", ".join(line.name for line in self.lines)
        return (
            f"ThemisDB {text.strip()} is not in the release catalogue (lines {lines}). "
            f"Nearest known releases: {near}. A newer release can be added with a user catalogue."
        )
