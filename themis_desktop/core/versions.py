"""The release catalogue of ThemisDB and version parsing (`packaging` versions)."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

REVERSIBILITY = ("binary-swap", "restore-backup", "reconciliation")
_LINE_SPEC = re.compile(r"^v?(\d+)\.(\d+)(?:\.x)?$", re.IGNORECASE)


class VersionError(ValueError):
    """A version the user gave is malformed or unknown; the message says what is known."""


def parse_version(text: str) -> Version:
    """`1.7`, `v1.7.3`, `1.8.0-rc1`, `2.4.0-rc1` → `Version`; anything else → VersionError."""
    cleaned = text.strip()
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

    @property
    def prerelease(self) -> bool:
        return self.version.is_prerelease

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

    @property
    def key(self) -> tuple[int, int]:
        major, minor = self.name.split(".")
        return (int(major), int(minor))

    @property
    def latest(self) -> Release:
        """The newest stable release, or the newest pre-release when there is no stable one."""
        stable = [r for r in self.releases if not r.prerelease]
        return max(stable or self.releases, key=lambda r: r.version)


@dataclass(frozen=True)
class Catalogue:
    """All known release lines, oldest first."""

    lines: tuple[ReleaseLine, ...]
    sources: tuple[Path, ...] = field(default_factory=tuple)
    problems: tuple[str, ...] = ()  # why the user catalogue was left out, if it was

    @classmethod
    def load(cls, extra: Path | None = None) -> Catalogue:
        """The bundled catalogue, extended by `extra` when given (its errors are raised), else
        by the user catalogue in the data folder (an unreadable one is left out: `problems`)."""
        from themis_desktop.core.catalogue_file import load_catalogue

        return load_catalogue(extra)

    def line(self, key: tuple[int, int]) -> ReleaseLine | None:
        return next((line for line in self.lines if line.key == key), None)

    def index_of(self, key: tuple[int, int]) -> int:
        return [line.key for line in self.lines].index(key)

    def releases(self) -> list[Release]:
        return sorted((r for line in self.lines for r in line.releases), key=lambda r: r.version)

    @property
    def newest(self) -> Release:
        return self.lines[-1].latest

    def resolve(self, text: str) -> Release:
        """A release from what a user typed: `1.8` or `1.8.x` (latest of the line), `1.8.2`,
        `latest`. A patch missing from a known line is accepted as `known=False`."""
        if text.strip().lower() == "latest":
            return self.newest
        spec = _LINE_SPEC.match(text.strip())
        if spec:
            line = self.line((int(spec[1]), int(spec[2])))
            if line is None:
                raise VersionError(
                    self._unknown_message(text, parse_version(f"{spec[1]}.{spec[2]}"))
                )
            return line.latest
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
