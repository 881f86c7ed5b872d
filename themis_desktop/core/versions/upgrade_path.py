"""Plan an upgrade: one minor line at a time (or, when asked, one skip-level hop)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from themis_desktop.core.versions.releases import (
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


class RefusedStopError(VersionError):
    """The target is a release that is never a stop (planned, withdrawn, known-bad)."""


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
    notes: tuple[str, ...] = ()  # why the stop is this release; lines that are no stop
    confirmed: bool = False  # the admin said they have the target (a contested one)

    @property
    def title(self) -> str:
        return f"{self.source} → {self.target}"

    @property
    def status(self) -> str:
        return self.target.status

    @property
    def unconfirmed(self) -> bool:
        """A contested target nobody has confirmed: it may not exist."""
        return self.target.status == "contested" and not self.confirmed

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.source.text,
            "to": self.target.text,
            "kind": self.kind,
            "status": self.target.status,
            "evidence": self.target.evidence,
            "source": list(self.target.source),
            "confirmed": self.confirmed,
            "notes": list(self.notes),
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
    have: tuple[str, ...] = ()  # releases the admin confirmed they have (--have, GUI confirm)

    @property
    def unconfirmed(self) -> tuple[Hop, ...]:
        """The hops into a contested release nobody has confirmed yet."""
        return tuple(h for h in self.hops if h.unconfirmed)

    def confirm_hint(self) -> str:
        """What the admin should do about unconfirmed contested stops; "" when none."""
        hops = self.unconfirmed
        if not hops:
            return ""
        names = " and ".join(h.target.text for h in hops)
        were = "were" if len(hops) > 1 else "was"
        flags = " ".join(f"--have {h.target.text}" for h in hops)
        at = self.hops.index(hops[-1]) + 1
        over = ""
        if at < len(self.hops):
            source, after = hops[0].source.text, self.hops[at].lines[0]
            over = f" (e.g. --from {source} --to {after} --skip-level)"
        return (
            f"Upstream's documents disagree whether {names} {were} ever released (evidence "
            f"above). Check that you can install {'them' if len(hops) > 1 else 'it'} before you "
            f"start, then confirm what you have ({flags}). Do not stop at a release you "
            f"cannot get: plan the hop over its line instead{over}, with the skip-level "
            "conditions."
        )

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
            "stops": [
                {"version": h.target.text, "status": h.target.status, "confirmed": h.confirmed}
                for h in self.hops
            ],
            "have": list(self.have),
            "unconfirmed": [h.target.text for h in self.unconfirmed],
            "skip_level": self.skip_level,
            "warnings": list(self.warnings),
            "conditions": list(self.conditions),
            "point_of_no_return": self.point_of_no_return,
        }


def plan_upgrade(
    catalogue: Catalogue,
    current: str,
    target: str,
    skip_level: bool = False,
    have: tuple[str, ...] | list[str] = (),
) -> Plan:
    """The sequential path from `current` to `target`, or the skip-level hop when asked.

    A line's stop is its newest usable release carrying all its fixes (`ReleaseLine.stop`);
    a release that is never a stop is refused as the target. `have` lists releases the admin
    confirmed they have: a contested stop in it is marked confirmed, and a release of a
    contested line in it becomes that line's stop (what they actually have)."""
    start, goal = catalogue.resolve(current), catalogue.resolve(target)
    if goal.version < start.version:
        raise DowngradeError(
            f"{goal} is older than {start}: that is a rollback; see the rollback procedure."
        )
    if not goal.usable and goal.version != start.version:
        raise RefusedStopError(_refusal(catalogue, goal))
    confirmed = [catalogue.resolve(text) for text in have]
    warnings = [
        f"{r} is not in the release catalogue; it is treated as a release of the {r.line[0]}."
        f"{r.line[1]} line."
        for r in (start, goal)
        if not r.known
    ]
    if start.status != "released":
        warnings.append(f"You run {start}, which is {start.status_text()}")
    if goal.prerelease:
        warnings.append(f"{goal} is a pre-release: not meant for production.")
    if goal.version == start.version:
        warnings.append(f"Already at {goal}: nothing to upgrade.")
        return Plan(start, goal, (), skip_level, tuple(warnings), have=_texts(confirmed))
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
            f"The skipped stop {line.stop or line.latest} is required for all installations."
            for line in entered[:-1]
            if line.required
        ]
        hops = _confirm(hops, confirmed)
        warnings += _unused(confirmed, hops)
        return Plan(
            start, goal, hops, True, tuple(warnings), SKIP_LEVEL_CONDITIONS, _texts(confirmed)
        )
    else:
        stops = [_line_stop(line, confirmed) for line in entered[:-1]] + [goal]
        sources = [start, *stops[:-1]]
        previous = [catalogue.lines[first], *entered[:-1]]
        hops = tuple(
            _minor_hop(a, b, line, _notes(catalogue, before, line, b))
            for a, b, line, before in zip(sources, stops, entered, previous, strict=True)
        )
        warnings += [
            f"No stable {line.name} release exists; the path stops at {stop}."
            for line, stop in zip(entered[:-1], stops, strict=False)
            if stop.prerelease
        ]
    hops = _confirm(hops, confirmed)
    warnings += _unused(confirmed, hops)
    return Plan(start, goal, hops, False, tuple(warnings), have=_texts(confirmed))


def _texts(releases: list[Release]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(r.text for r in releases))


def _line_stop(line: ReleaseLine, confirmed: list[Release]) -> Release:
    """The stop in `line`: the release the admin has in a contested line, else its stop."""
    if line.contested:
        mine = [r for r in confirmed if r.line == line.key]
        if mine:
            return max(mine, key=lambda r: r.version)
    if line.stop is None:
        reasons = "; ".join(line.stop_reasons())
        raise RefusedStopError(f"The path must stop in {line.name}, but no release can: {reasons}")
    return line.stop


def _confirm(hops: tuple[Hop, ...], confirmed: list[Release]) -> tuple[Hop, ...]:
    versions = {r.version for r in confirmed}
    return tuple(replace(h, confirmed=h.target.version in versions) for h in hops)


def _unused(confirmed: list[Release], hops: tuple[Hop, ...]) -> list[str]:
    """A --have that matches no stop of the plan changes nothing: say so."""
    targets = {h.target.version for h in hops}
    return [
        f"--have {r} changes nothing: {r} is not a stop of this path."
        for r in confirmed
        if r.version not in targets
    ]


def _refusal(catalogue: Catalogue, release: Release) -> str:
    newer = [
        r
        for r in catalogue.releases()
        if r.version > release.version and r.usable and r.prerelease <= release.prerelease
    ]
    instead = f" Plan to {newer[0]} or later instead." if newer else ""
    return f"{release} is {release.status} and is never a stop: {release.evidence}{instead}"


def _notes(
    catalogue: Catalogue, before: ReleaseLine, line: ReleaseLine, stop: Release
) -> tuple[str, ...]:
    """Why the hop into `line` stops at `stop`, and why the lines between are no stop."""
    notes: list[str] = []
    if stop.status == "contested":
        notes.append(f"{stop} is contested: {stop.evidence}")
    if line.stop is not None and stop.version == line.stop.version:
        notes += line.stop_reasons()
    (major, low), (next_major, high) = before.key, line.key
    if major == next_major and high - low > 1:
        missing = [f"{major}.{minor}" for minor in range(low + 1, high)]
        names = ", ".join(missing)
        verb = "is" if len(missing) == 1 else "are"
        first = line.releases[0]
        told = ""
        if first.previous and line.previous_of(first) is None:
            told = f"; the {first} notes name {first.previous} as the previous release"
        notes.append(f"{names} {verb} not a stop: upstream has no such release{told}.")
    return tuple(notes)


def _minor_hop(
    source: Release, target: Release, line: ReleaseLine, notes: tuple[str, ...] = ()
) -> Hop:
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
        notes=notes,
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
