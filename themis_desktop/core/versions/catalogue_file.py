"""Read release catalogue files (YAML) with line numbers for every complaint."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from themis_desktop.core.errors import ThemisDesktopError
from themis_desktop.core.util import bounded_parse
from themis_desktop.core.util.paths import app_data_dir
from themis_desktop.core.util.resources import resource
from themis_desktop.core.versions.known_issue_file import EXAMPLE as _ISSUE
from themis_desktop.core.versions.known_issue_file import parse_known_issues
from themis_desktop.core.versions.releases import (
    CONFIG_CHANGES,
    CONFIG_SEVERITIES,
    NEEDS_EVIDENCE,
    RELEASE_STATUSES,
    REVERSIBILITY,
    Catalogue,
    ConfigChange,
    Release,
    ReleaseLine,
    VersionError,
    parse_version,
)

USER_CATALOGUE = "releases.yaml"
LIMITS = bounded_parse.Limits()  # size, depth, aliases and digits of a catalogue file
_LINE = "__line__"
_CONFIDENCE = ("high", "medium", "low")
_CHANGE = "{key: K, change: default, ...}"
_RELEASE = "{version: X.Y.Z, date: YYYY-MM-DD}"
_FIELDS = {"version", "date", "confidence", "summary", "status", "evidence", "source"}
_FIELDS |= {"previous", "fixes", "known_issues"}  # the fields of a release
_LISTS: tuple[tuple[str, str, str], ...] = (  # (key, its entries, an example) of each line
    ("releases", "releases", _RELEASE),
    ("config", "changes", _CHANGE),
)
_LISTS += (("known_issues", "known issues", _ISSUE),)


class CatalogueError(ThemisDesktopError, ValueError):
    """A catalogue file is malformed: the message names the file, the line and the reason."""

    def __init__(self, path: Path, line: int | None, reason: str) -> None:
        self.path, self.line, self.reason = path, line, reason
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {reason}")


class _LineLoader(yaml.SafeLoader):
    """A safe loader that records each mapping's line and keeps dates as text."""


def _mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict[Hashable, Any]:
    data = loader.construct_mapping(node, deep=True)
    data[_LINE] = node.start_mark.line + 1
    return data


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: node.value)


def _entries(path: Path) -> list[dict[str, Any]]:
    """The raw line entries of a file, each knowing its file and line number."""
    try:
        text = bounded_parse.read_text(path, LIMITS, "catalogue")
        data = bounded_parse.load_yaml(text, path, _LineLoader, LIMITS)
    except bounded_parse.InputError as exc:
        raise CatalogueError(path, exc.line, exc.reason) from None
    if not isinstance(data, dict) or not isinstance(data.get("lines"), list):
        raise CatalogueError(path, 1, "expected a mapping with a 'lines' list")
    if data.get("format", 1) != 1:
        raise CatalogueError(
            path, data[_LINE], f"unknown catalogue format {data.get('format')!r:.40}"
        )
    for item in data["lines"]:
        if not isinstance(item, dict):
            shown = repr(item)[:60]
            raise CatalogueError(path, None, f"each entry of 'lines' must be a mapping: {shown}")
        item["__file__"] = path
        for key, noun, example in _LISTS:
            value = item.get(key) or []
            if not isinstance(value, list):
                raise CatalogueError(
                    path, item[_LINE], f"'{key}' must be a list of {noun}, e.g. - {example}"
                )
            for entry in value:
                if not isinstance(entry, dict):
                    raise CatalogueError(
                        path, item[_LINE], f"each entry of '{key}' must be a mapping: - {example}"
                    )
                entry["__file__"] = path
    return data["lines"]


def _line(path: Path, item: dict[str, Any]) -> ReleaseLine:
    path = item.get("__file__", path)
    at = item[_LINE]

    def fail(reason: str) -> CatalogueError:
        return CatalogueError(path, at, reason)

    raw = item.get("line")
    if raw is not None and not isinstance(raw, str):
        raise fail(
            f"'line' must be quoted, e.g. line: \"{_short(raw)}\" (unquoted, 2.10 reads as 2.1)"
        )
    name = str(raw or "")
    try:
        version = parse_version(name)
    except VersionError:
        raise fail(f"'line' must be MAJOR.MINOR, not {_short(name)!r}") from None
    if f"{version.major}.{version.minor}" != name:
        raise fail(f"'line' must be MAJOR.MINOR, not {_short(name)!r}")
    reversibility = item.get("reversibility", "restore-backup")
    if reversibility not in REVERSIBILITY:
        raise fail(f"'reversibility' must be one of {', '.join(REVERSIBILITY)}")
    releases = tuple(
        sorted(
            (
                _release(r.get("__file__", path) if isinstance(r, dict) else path, name, r)
                for r in item.get("releases") or []
            ),
            key=lambda r: r.version,
        )
    )
    if not releases:
        raise fail(f"line {name} has no releases")
    known = {r.version for r in releases}
    for release in releases:  # a `previous` inside the line must be one of its releases
        before = parse_version(release.previous) if release.previous else None
        if before and f"{before.major}.{before.minor}" == name and before not in known:
            raise fail(f"release {release}: 'previous' {release.previous} is not in line {name}")
    return ReleaseLine(
        name=name,
        summary=str(item.get("summary", "")),
        releases=releases,
        breaking_changes=_texts(item, "breaking_changes", fail),
        deprecations=_texts(item, "deprecations", fail),
        guide=bool(item.get("guide", False)),
        guide_note=str(item.get("guide_note", "")),
        reversibility=reversibility,
        reversibility_note=str(item.get("reversibility_note", "")),
        required=bool(item.get("required", False)),
        notes=str(item.get("notes", "")),
        config_changes=tuple(_config_change(path, name, c) for c in _config_list(item, fail)),
        known_issues=parse_known_issues(item, path, CatalogueError),
    )


def _short(value: Any) -> Any:
    """`value` as an error message quotes it: long texts cut to 40 characters."""
    if isinstance(value, str) and len(value) > 40:
        return value[:40] + "…"
    return value if isinstance(value, str | int | float | bool) or value is None else "…"


def _config_list(item: dict[str, Any], fail: Any) -> list[Any]:
    value = item.get("config") or []
    if not isinstance(value, list):
        raise fail(f"'config' must be a list of changes, e.g. - {_CHANGE}")
    return value


def _config_change(path: Path, line: str, item: Any) -> ConfigChange:
    if not isinstance(item, dict):
        raise CatalogueError(path, None, f"each 'config' entry of line {line} must be a mapping")
    at = item.get(_LINE)

    def fail(reason: str) -> CatalogueError:
        return CatalogueError(item.get("__file__", path), at, reason)

    change = item.get("change")
    if change not in CONFIG_CHANGES:
        raise fail(f"'change' must be one of {', '.join(CONFIG_CHANGES)}, not {_short(change)!r}")
    key = str(item.get("key") or "")
    if change != "layout" and not key:
        raise fail(f"a '{change}' config change needs its 'key' (dotted, e.g. storage.x)")
    if change == "renamed" and not item.get("to"):
        raise fail("a 'renamed' config change needs 'to' (the new key)")
    if change == "default" and ("old" not in item or "new" not in item):
        raise fail("a 'default' config change needs 'old' and 'new'")
    if change == "added" and "new" not in item:
        raise fail("an 'added' config change needs 'new' (the key's default)")
    severity = str(item.get("severity") or "")
    if severity and severity not in CONFIG_SEVERITIES:
        raise fail(f"'severity' must be one of {', '.join(CONFIG_SEVERITIES)}")
    until = str(item.get("legacy_until") or "")
    try:
        if until:
            date.fromisoformat(until)
    except ValueError:
        raise fail(f"'legacy_until' must be a date (YYYY-MM-DD), not {_short(until)!r}") from None
    moves = item.get("moves") or {}
    if not isinstance(moves, dict):
        raise fail("'moves' maps flat file names to their new path below config/")
    source = item.get("source") or []
    source = [source] if isinstance(source, str) else source
    if not isinstance(source, list) or not all(isinstance(s, str) for s in source):
        raise fail("'source' must be an upstream file or a list of them")
    return ConfigChange(
        change=change,
        key=key,
        old=item.get("old"),
        new=item.get("new"),
        to=str(item.get("to") or ""),
        reason=" ".join(str(item.get("reason", "")).split()),
        severity=severity,
        legacy_until=until,
        moves=tuple((str(k), str(v)) for k, v in moves.items() if not str(k).startswith("__")),
        source=tuple(source),
    )


def _texts(item: dict[str, Any], key: str, fail: Any) -> tuple[str, ...]:
    value = item.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise fail(f"'{key}' must be a list of sentences")
    return tuple(value)


def _release(path: Path, line: str, item: Any) -> Release:
    if not isinstance(item, dict) or "version" not in item:
        raise CatalogueError(path, None, f"a release of line {line} needs a 'version'")
    at = item[_LINE]
    text = str(item["version"])
    try:
        version = parse_version(text)
    except VersionError as exc:
        raise CatalogueError(path, at, str(exc)) from None
    unknown = sorted(str(k) for k in item if not str(k).startswith("__") and k not in _FIELDS)
    if unknown:  # mostly a flow mapping's unquoted comma: {summary: A, B} makes B a key
        raise CatalogueError(
            path,
            at,
            f"release {text}: unknown field {_short(unknown[0])!r} (a text with a comma inside "
            '{…} must be quoted: summary: "A, B")',
        )
    if f"{version.major}.{version.minor}" != line:
        raise CatalogueError(path, at, f"release {text} does not belong to line {line}")
    confidence = item.get("confidence", "low")
    if confidence not in _CONFIDENCE:
        raise CatalogueError(path, at, f"'confidence' must be one of {', '.join(_CONFIDENCE)}")
    status = item.get("status", "released")
    if status not in RELEASE_STATUSES:
        statuses = ", ".join(RELEASE_STATUSES)
        raise CatalogueError(path, at, f"'status' must be one of {statuses}: {_short(status)!r}")
    evidence = " ".join(str(item.get("evidence") or "").split())
    if status in NEEDS_EVIDENCE and not evidence:
        raise CatalogueError(
            path, at, f"a {status} release needs its 'evidence': what the sources say, and where"
        )
    source = item.get("source") or []
    source = [source] if isinstance(source, str) else source
    if not isinstance(source, list) or not all(isinstance(s, str) for s in source):
        raise CatalogueError(path, at, "'source' must be an upstream file or a list of them")
    previous = str(item.get("previous") or "")
    try:
        if previous and parse_version(previous) >= version:
            raise CatalogueError(path, at, f"'previous' of {text} must be an older release")
    except VersionError as exc:
        raise CatalogueError(path, at, f"'previous': {exc}") from None
    fixes = item.get("fixes", True)
    if not isinstance(fixes, bool):
        raise CatalogueError(path, at, "'fixes' must be true or false (false: docs/build only)")
    return Release(
        text=text,
        version=version,
        date=str(item.get("date", "")),
        confidence=confidence,
        summary=str(item.get("summary", "")),
        status=status,
        evidence=evidence,
        source=tuple(source),
        previous=previous,
        fixes=fixes,
        known_issues=parse_known_issues(item, path, CatalogueError),
    )


def merge(base: list[dict[str, Any]], extra: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`extra` adds lines and releases; for a line both have, the keys it names win."""
    lines = {str(item.get("line")): item for item in base}
    for item in extra:
        name = str(item.get("line"))
        if name not in lines:
            lines[name] = item
            continue
        merged = {**lines[name], **{k: v for k, v in item.items() if k != "releases"}}
        releases = {str(r.get("version")): r for r in lines[name].get("releases") or []}
        for release in item.get("releases") or []:
            if isinstance(release, dict):
                release["__file__"] = item["__file__"]
                releases[str(release.get("version"))] = release
        merged["releases"] = list(releases.values())
        lines[name] = merged
    return list(lines.values())


def load_catalogue(extra: Path | None = None, with_user: bool = True) -> Catalogue:
    """The bundled catalogue, plus `extra` or (unless `with_user` is False) the user
    catalogue in the app data folder.

    An error in `extra` is raised (CatalogueError, or VersionError from the bundled lines):
    the user asked for that file. The user catalogue of the data folder is read at every
    start, so an error there must not stop the app or a command: the bundled catalogue is
    returned with the error (`file:line: reason`) in `problems`."""
    bundled = resource(USER_CATALOGUE)
    if extra is not None:
        return _build(bundled, extra)
    user = app_data_dir() / USER_CATALOGUE
    if not (with_user and user.exists()):
        return _build(bundled, None)
    try:
        return _build(bundled, user)
    except (CatalogueError, VersionError) as exc:
        problem = str(exc) if isinstance(exc, CatalogueError) else f"{user}: {exc}"
        return replace(_build(bundled, None), problems=(problem,))


def left_out(problem: str) -> str:
    """A warning for a user catalogue `load_catalogue` left out (one of `problems`)."""
    return (
        f"warning: {problem} — your release catalogue is left out and only the bundled one "
        "is used: fix the file or remove it"
    )


def _build(bundled: Path, user: Path | None) -> Catalogue:
    entries = _entries(bundled)
    sources = [bundled]
    if user is not None:
        entries = merge(entries, _entries(user))
        sources.append(user)
    lines = sorted((_line(bundled, item) for item in entries), key=lambda line: line.key)
    return Catalogue(tuple(lines), tuple(sources))
