"""Plan an upgrade: one minor line at a time (or, when asked, one skip-level hop)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from themis_desktop.core.versions import (
    REVERSIBILITY,
    Catalogue,
    Release,
    ReleaseLine,
    VersionError,
)

HopKind = Literal["minor", "patch", "skip-level"]
GuideStatus = Literal["available", "missing", "not-needed"]

SKIP_LEVEL_CONDITIONS = (
    "Review the CHANGELOG of every intermediate version.",
    "Combine the migration steps of every intermediate hop.",
    "Test the upgrade extensively in a staging environment.",
    "Have a rollback plan ready (a verified backup of data and configuration).",
    "Consider professional support.",
)


class DowngradeError(VersionError):
    """The target is older than the current version."""


@dataclass(frozen=True)
class Hop:
    """One upgrade step from a release to a newer one."""

    source: Release
    target: Release
    kind: HopKind
    guide: GuideStatus
    breaking_changes: tuple[str, ...] = ()
    deprecations: tuple[str, ...] = ()
    reversibility: str = "binary-swap"
    reversibility_note: str = ""
    required: bool = False
    lines: tuple[str, ...] = ()  # the lines this hop enters (several for a skip-level hop)

    @property
    def title(self) -> str:
        return f"{self.source} → {self.target}"

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.source.text,
            "to": self.target.text,
            "kind": self.kind,
            "guide": self.guide,
            "breaking_changes": list(self.breaking_changes),
            "deprecations": list(self.deprecations),
            "reversibility": self.reversibility,
            "required": self.required,
        }


@dataclass(frozen=True)
class Plan:
    current: Release
    target: Release
    hops: tuple[Hop, ...]
    skip_level: bool = False
    warnings: tuple[str, ...] = ()
    conditions: tuple[str, ...] = field(default_factory=tuple)

    @property
    def point_of_no_return(self) -> int | None:
        """Index of the first hop that a binary swap cannot undo."""
        return next((i for i, h in enumerate(self.hops) if h.reversibility != "binary-swap"), None)

    @property
    def guides_missing(self) -> int:
        return sum(h.guide == "missing" for h in self.hops)

    @property
    def breaking_changes(self) -> int:
        return sum(len(h.breaking_changes) for h in self.hops)

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.current.text,
            "to": self.target.text,
            "hops": [hop.to_json() for hop in self.hops],
            "skip_level": self.skip_level,
            "warnings": list(self.warnings),
            "conditions": list(self.conditions),
            "point_of_no_return": self.point_of_no_return,
        }


def plan_upgrade(catalogue: Catalogue, current: str, target: str, skip_level: bool = False) -> Plan:
    """The sequential path from `current` to `target`, or the skip-level hop when asked."""
    start, goal = catalogue.resolve(current), catalogue.resolve(target)
    if goal.version < start.version:
        raise DowngradeError(
            f"{goal} is older than {start}: that is a rollback; see the rollback procedure."
        )
    warnings = [
        f"{r} is not in the release catalogue; it is treated as a release of the {r.line[0]}."
        f"{r.line[1]} line."
        for r in (start, goal)
        if not r.known
    ]
    if goal.prerelease:
        warnings.append(f"{goal} is a pre-release: not meant for production.")
    if goal.version == start.version:
        warnings.append(f"Already at {goal}: nothing to upgrade.")
        return Plan(start, goal, (), skip_level, tuple(warnings))
    first, last = catalogue.index_of(start.line), catalogue.index_of(goal.line)
    entered = catalogue.lines[first + 1 : last + 1]
    if first == last:
        hops: tuple[Hop, ...] = (_patch_hop(start, goal),)
    elif skip_level and len(entered) > 1:
        hops = (_skip_hop(start, goal, entered),)
        warnings.insert(
            0, "Skip-level upgrades are not recommended: upgrade one minor version at a time."
        )
        warnings += [
            f"The skipped stop {line.latest} is required for all installations."
            for line in entered[:-1]
            if line.required
        ]
        return Plan(start, goal, hops, True, tuple(warnings), SKIP_LEVEL_CONDITIONS)
    else:
        stops = [line.latest for line in entered[:-1]] + [goal]
        sources = [start, *stops[:-1]]
        hops = tuple(
            _minor_hop(a, b, line) for a, b, line in zip(sources, stops, entered, strict=True)
        )
        warnings += [
            f"No stable {line.name} release exists; the path stops at {line.latest}."
            for line in entered[:-1]
            if line.latest.prerelease
        ]
    return Plan(start, goal, hops, False, tuple(warnings))


def _minor_hop(source: Release, target: Release, line: ReleaseLine) -> Hop:
    return Hop(
        source=source,
        target=target,
        kind="minor",
        guide="available" if line.guide else "missing",
        breaking_changes=line.breaking_changes,
        deprecations=line.deprecations,
        reversibility=line.reversibility,
        reversibility_note=line.reversibility_note,
        required=line.required,
        lines=(line.name,),
    )


def _patch_hop(source: Release, target: Release) -> Hop:
    return Hop(source, target, "patch", "not-needed", lines=(f"{target.line[0]}.{target.line[1]}",))


def _skip_hop(source: Release, target: Release, entered: tuple[ReleaseLine, ...]) -> Hop:
    worst = max(entered, key=lambda line: REVERSIBILITY.index(line.reversibility))
    return Hop(
        source=source,
        target=target,
        kind="skip-level",
        guide="missing",
        breaking_changes=tuple(
            f"{line.name}: {text}" for line in entered for text in line.breaking_changes
        ),
        deprecations=tuple(
            f"{line.name}: {text}" for line in entered for text in line.deprecations
        ),
        reversibility=worst.reversibility,
        reversibility_note=worst.reversibility_note,
        required=any(line.required for line in entered),
        lines=tuple(line.name for line in entered),
    )
