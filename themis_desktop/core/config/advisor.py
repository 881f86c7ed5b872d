"""The config advisor: a node's config against what the target version expects, from the
release catalogue's `config:` entries of the lines up to the target.

Which lines count: a changed default or an added key matters for the lines after `current`
(all lines when it is unknown) up to the target's line; a removed or renamed key and the
flat-layout move are about what the file still contains, so they count for every line up
to the target (for lines the node already runs, a removed or renamed key is "recommended"
clean-up: the server already ignores it).

Rules:
- default changed, key absent: "changes" (the server silently takes the new default); the
  recommendation writes the new value explicitly, the reason says how to keep the old one.
  Key at the old default: "recommended" (move to the new default). Key at another value:
  "info" (the admin chose it; nothing changes). Several changes of one key are combined.
- default changed of a built-in setting (`rocksdb.*`: no file key sets it): "changes"
  unless the document already shows the new value; kind "built-in-default", recommended
  = the new value, not applicable and nothing to do by hand (the file cannot keep the old).
- added key absent: "info", recommended = its default.
- removed key present: the catalogue's severity ("changes" unless it says "breaks"),
  recommended = remove it.
- renamed key: old name present, new one absent: "breaks" (its value would be ignored),
  recommended = move the value; both present: "recommended" (remove the old name).
- layout (flat `config/*.yaml` → `config/<category>/`): the config file itself, and every
  string value that names a flat file, warn ("changes") before the catalogue's date and
  "breaks" on or after it. Moving the file is advice with the exact new path; a value is
  rewritten when the catalogue knows the file's new place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from themis_desktop.core.config.file import MISSING, ConfigDocument, built_in, write_atomically
from themis_desktop.core.versions.releases import (
    Catalogue,
    ConfigChange,
    VersionError,
    line_of,
    parse_version,
)

if TYPE_CHECKING:
    from themis_desktop.core.server.client import ThemisClient

Severity = Literal["breaks", "changes", "recommended", "info"]
SEVERITIES: tuple[Severity, ...] = ("breaks", "changes", "recommended", "info")


class _Remove:
    def __repr__(self) -> str:
        return "REMOVE"


REMOVE: Any = _Remove()  # the recommendation is to take the key out
BUILT_IN_KIND = "built-in-default"  # a built-in setting's default moves (no file key)
_FLAT = re.compile(r"(?:^|[/\\])config[/\\]([^/\\]+\.(?:ya?ml|json))$", re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    """One difference between the config and what the target version expects."""

    id: str  # stable, for picking (the key, or `layout:<path>`)
    key: str  # dotted key, or the file path of a layout finding
    kind: str  # default-changed | built-in-default | added | removed | renamed | legacy-path
    severity: Severity
    current: Any  # the value in the config, or MISSING
    recommended: Any  # the value to write (built in: it will have), REMOVE, or MISSING
    reason: str
    since: str  # the line that brings it
    applicable: bool = True  # False: advice only (done by hand)
    to: str = ""  # a renamed key's new name

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.key,
            "kind": self.kind,
            "severity": self.severity,
            "current": _json_value(self.current),
            "recommended": _json_value(self.recommended),
            "action": action(self),
            "to": self.to or None,
            "reason": self.reason,
            "since": self.since,
            "applicable": self.applicable,
        }


def _json_value(value: Any) -> Any:
    return None if value is MISSING or value is REMOVE else value


def action(finding: Finding) -> str:
    """What applying does: set, remove, rename, or manual (advice) / keep (nothing)."""
    if finding.kind == BUILT_IN_KIND:
        return "keep"  # nothing in the file can change it
    if not finding.applicable:
        return "manual" if finding.recommended is not MISSING else "keep"
    if finding.kind == "renamed" and finding.current is not MISSING:
        return "rename" if finding.recommended is not REMOVE else "remove"
    return "remove" if finding.recommended is REMOVE else "set"


def value_text(value: Any) -> str:
    """A value as the side-by-side view shows it."""
    if value is MISSING:
        return "(not set)"
    if value is REMOVE:
        return "(remove)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def check(
    doc: ConfigDocument,
    target: str,
    catalogue: Catalogue,
    *,
    current: str | None = None,
    config_path: Path | None = None,
    today: date | None = None,
) -> list[Finding]:
    """The findings for `doc` at `target` (see the module docstring for the rules)."""
    today = today or date.today()
    high = line_of(catalogue.resolve(target).version)
    low = line_of(parse_version(current)) if current else None
    if low is not None and low > high:
        raise VersionError(f"the node runs {current}, which is newer than the target {target}")
    findings: list[Finding] = []
    defaults: dict[str, list[tuple[str, ConfigChange]]] = {}
    for line in catalogue.lines:
        if line.key > high:
            break
        passed = low is not None and line.key <= low
        for change in line.config_changes:
            if change.change in ("default", "added"):
                if not passed:
                    defaults.setdefault(change.key, []).append((line.name, change))
            elif change.change == "layout":
                findings += _layout(doc, change, line.name, config_path, today)
            else:
                findings += _gone(doc, change, line.name, passed)
    for key, changes in defaults.items():
        findings += _default(doc, key, changes)
    order = {s: i for i, s in enumerate(SEVERITIES)}
    return _unique_ids(sorted(findings, key=lambda f: order[f.severity]))


def _default(doc: ConfigDocument, key: str, changes: list[tuple[str, ConfigChange]]) -> list:
    since, last = changes[-1]
    value = doc.get(key)
    if last.change == "added" and len(changes) == 1:
        if value is not MISSING:
            return []
        note = f"New in {since}; its default is {value_text(last.new)}."
        return [_finding(key, "added", "info", value, last.new, note, last.reason, since)]
    olds = [c.old for _, c in changes if c.change == "default"]
    old, new = (olds[0] if olds else MISSING), last.new
    reasons = " ".join(dict.fromkeys(c.reason for _, c in changes if c.reason))
    if built_in(key):
        return _built_in(key, value, old, new, reasons, since)
    if value is MISSING:
        note = (
            f"Not set: from {since} the server uses {value_text(new)} instead of "
            f"{value_text(old)}. Writing {value_text(new)} makes that explicit; set "
            f"{value_text(old)} instead to keep the old behaviour."
        )
        return [_finding(key, "default-changed", "changes", value, new, note, reasons, since)]
    if value == new:
        return []
    if value == old or value in olds:
        note = (
            f"Set to the old default {value_text(value)}; the default from {since} is "
            f"{value_text(new)}. Keep the value if you chose it on purpose."
        )
        return [_finding(key, "default-changed", "recommended", value, new, note, reasons, since)]
    note = (
        f"Set to {value_text(value)} on purpose: it stays as it is (the default moves from "
        f"{value_text(old)} to {value_text(new)} in {since})."
    )
    return [
        _finding(key, "default-changed", "info", value, value, note, "", since, applicable=False)
    ]


def _built_in(key: str, value: Any, old: Any, new: Any, reasons: str, since: str) -> list:
    """A built-in RocksDB setting whose default moves: known, but not settable in the file."""
    if value == new:
        return []
    now = "" if value is MISSING else f"The node reports {value_text(value)}. "
    note = (
        f"{now}Built into the server: from {since} it is {value_text(new)} instead of "
        f"{value_text(old)}, and no key of the config file changes it (GET /config reports it "
        f"as {key}). Nothing to write: plan for the new value."
    )
    return [
        _finding(key, BUILT_IN_KIND, "changes", value, new, note, reasons, since,
                 applicable=False)
    ]  # fmt: skip


def _gone(doc: ConfigDocument, change: ConfigChange, since: str, passed: bool) -> list[Finding]:
    """A removed or renamed key still in the config."""
    value = doc.get(change.key)
    if value is MISSING:
        return []
    already = " The version the node runs already ignores it." if passed else ""
    if change.change == "removed":
        severity: Severity = "changes" if change.severity != "breaks" else "breaks"
        if passed:
            severity = "recommended"
        note = f"No longer read from {since}: the value has no effect; remove it.{already}"
        reason = change.reason
        return [_finding(change.key, "removed", severity, value, REMOVE, note, reason, since)]
    if doc.has(change.to):
        note = f"Read as {change.to} from {since}, which is set too: the old name is ignored."
        return [
            _finding(
                change.key, "renamed", "recommended", value, REMOVE, note, change.reason, since,
                to=change.to,
            )
        ]  # fmt: skip
    severity = "recommended" if passed else "breaks"
    note = (
        f"Read as {change.to} from {since}: under the old name the value is ignored, so the "
        f"server falls back to the default. Move it to {change.to}.{already}"
    )
    return [
        _finding(
            change.key, "renamed", severity, value, value, note, change.reason, since,
            to=change.to,
        )
    ]  # fmt: skip


def _finding(
    key: str,
    kind: str,
    severity: Severity,
    current: Any,
    recommended: Any,
    note: str,
    reason: str,
    since: str,
    *,
    applicable: bool = True,
    to: str = "",
) -> Finding:
    text = f"{note} {reason}".strip()
    return Finding(key, key, kind, severity, current, recommended, text, since, applicable, to)


def _layout(
    doc: ConfigDocument, change: ConfigChange, since: str, path: Path | None, today: date
) -> list[Finding]:
    until = date.fromisoformat(change.legacy_until) if change.legacy_until else None
    severity: Severity = "breaks" if until and today >= until else "changes"
    if until is None:
        when = "deprecated"
    elif severity == "breaks":
        when = f"not read any more since {until}"
    else:
        days = (until - today).days
        when = f"read with a warning for {days} more day{'s' if days != 1 else ''} (until {until})"
    out = []
    if path is not None and (match := _FLAT.search(str(path))):
        moved = change.moved(match.group(1))
        new = str(path.parent / moved) if moved else str(path.parent / "<category>" / path.name)
        exact = "" if moved else " (the catalogue does not know its category)"
        note = (
            f"The config file is in the flat legacy layout, {when}. Move it to {new}{exact} and "
            "point the service's --config at the new place; this is done by hand."
        )
        out.append(
            Finding(
                f"layout:{path}", str(path), "legacy-path", severity, str(path), new,
                f"{note} {change.reason}".strip(), since, applicable=False,
            )
        )  # fmt: skip
    for key, value in doc.flat().items():
        if not isinstance(value, str) or not (match := _FLAT.search(value)):
            continue
        moved = change.moved(match.group(1))
        new_value = value[: match.start(1)] + moved if moved else MISSING
        how = (
            f"Move the file to {new_value} and point the key there (applying changes only the "
            "key, not the file)."
            if moved
            else "Point it at the file's place under config/<category>/ once the file is moved "
            "(the catalogue does not know its category)."
        )
        note = f"Names a file in the flat legacy layout, {when}. {how}"
        out.append(
            Finding(
                f"layout:{key}", key, "legacy-path", severity, value, new_value,
                f"{note} {change.reason}".strip(), since, applicable=bool(moved),
            )
        )  # fmt: skip
    return out


def _unique_ids(findings: list[Finding]) -> list[Finding]:
    seen: dict[str, int] = {}
    out = []
    for finding in findings:
        count = seen[finding.id] = seen.get(finding.id, 0) + 1
        if count > 1:
            finding = replace(finding, id=f"{finding.id}#{count}")
        out.append(finding)
    return out


def breaking(findings: list[Finding]) -> bool:
    return any(f.severity == "breaks" for f in findings)


# -- applying ---------------------------------------------------------------------------


def picked_findings(findings: list[Finding], picked: list[str] | set[str]) -> list[Finding]:
    """The picked findings that can be applied (unknown ids are a ValueError)."""
    ids = {f.id for f in findings}
    unknown = [p for p in picked if p not in ids]
    if unknown:
        raise ValueError(f"no finding with id {', '.join(map(repr, unknown))}")
    return [f for f in findings if f.id in picked and f.applicable]


def apply(doc: ConfigDocument, findings: list[Finding], picked: list[str]) -> ConfigDocument:
    """A copy of `doc` with the picked, applicable findings applied."""
    out = doc.copy()
    for finding in findings:
        if finding.id not in picked or not finding.applicable:
            continue
        if finding.kind == "renamed" and finding.recommended is not REMOVE:
            out.set(finding.to, finding.current)
            out.delete(finding.key)
        elif finding.recommended is REMOVE:
            out.delete(finding.key)
        elif finding.recommended is not MISSING:
            out.set(finding.key, finding.recommended)
    return out


@dataclass(frozen=True)
class DiffRow:
    """One line of the side-by-side view: current → recommended, with the reason."""

    key: str
    current: str
    recommended: str
    reason: str
    severity: str
    id: str = ""


def diff_rows(doc: ConfigDocument, findings: list[Finding]) -> list[DiffRow]:
    """Rows (key, current text, recommended text, reason, severity) for a side-by-side view."""
    rows = []
    for f in findings:
        current = value_text(doc.get(f.key) if f.kind != "legacy-path" else f.current)
        recommended = value_text(f.recommended)
        if f.kind == "renamed" and f.recommended is not REMOVE:
            recommended = f"{f.to}: {recommended}"
        elif f.kind == BUILT_IN_KIND:
            current = "(no file key)" if f.current is MISSING else f"{current} (built in)"
            recommended += " (built in)"
        rows.append(DiffRow(f.key, current, recommended, f.reason, f.severity, f.id))
    return rows


def apply_to_file(path: Path, findings: list[Finding], picked: list[str]) -> Path | None:
    """Write the picked changes to the config file (re-read now); returns where the old
    file is kept. Nothing is written when none of the picked findings can be applied."""
    chosen = picked_findings(findings, picked)
    if not chosen:
        raise ValueError("none of the picked changes can be made automatically: nothing changed")
    doc = ConfigDocument.load(path)
    return write_atomically(path, apply(doc, findings, [f.id for f in chosen]).dumps())


@dataclass
class ServerResult:
    """What `POST /config` did: the keys posted, and those it could not change."""

    posted: dict[str, Any] = field(default_factory=dict)  # dotted key → value
    not_applied: dict[str, str] = field(default_factory=dict)  # dotted key → why

    def __str__(self) -> str:
        text = f"{len(self.posted)} setting(s) posted"
        if self.not_applied:
            text += "; not applied: " + "; ".join(f"{k} ({w})" for k, w in self.not_applied.items())
        return text


def apply_to_server(
    client: ThemisClient, findings: list[Finding], picked: list[str]
) -> ServerResult:
    """POST the picked changes to `/config` as one nested mapping of only the changed keys,
    then read `/config` back: keys the node did not take are reported as not applied.
    A removal cannot be said with POST /config: those are reported too."""
    result = ServerResult()
    update: dict[str, Any] = {}
    for finding in picked_findings(findings, picked):
        key, value = finding.key, finding.recommended
        if finding.kind == "renamed" and value is not REMOVE:
            key = finding.to
            result.not_applied[finding.key] = "POST /config cannot remove the old name"
        elif value is REMOVE:
            result.not_applied[finding.key] = "POST /config cannot remove a key"
            continue
        node = update
        *sections, last = key.split(".")
        for part in sections:
            node = node.setdefault(part, {})
        node[last] = value
        result.posted[key] = value
    if not update:
        return result
    client.post_config(update)
    after = ConfigDocument.from_mapping(client.config())
    for key, value in result.posted.items():
        if after.get(key) != value:
            result.not_applied[key] = (
                "the node did not take it (a real ThemisDB applies only a few keys at run "
                "time): change the config file instead"
            )
    return result
