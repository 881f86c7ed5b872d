"""Read the `known_issues` of a catalogue line or release (see resources/releases.yaml)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from themis_desktop.core.versions.releases import KNOWN_ISSUE_AFFECTS, KnownIssue

EXAMPLE = "{id: x, summary: S, affects: [restart], evidence: E, workaround: W}"
MAX_ISSUES = 32  # of one line or release
MAX_TEXT = 2000  # characters of a summary, evidence or workaround
MAX_SOURCES = 16
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_FIELDS = {"id", "summary", "affects", "evidence", "workaround", "source", "log"}
_TEXTS = ("summary", "evidence", "workaround")
_LINE = "__line__"

Fail = Callable[[Path, "int | None", str], Exception]  # CatalogueError(path, line, reason)


def parse_known_issues(item: dict[str, Any], path: Path, fail: Fail) -> tuple[KnownIssue, ...]:
    """The checked `known_issues` of a line or release mapping `item` (none: empty)."""
    value = item.get("known_issues") or []
    at = item.get(_LINE)
    if not isinstance(value, list) or len(value) > MAX_ISSUES:
        raise fail(
            path, at, f"'known_issues' must be a list of at most {MAX_ISSUES}, e.g. - {EXAMPLE}"
        )
    issues = tuple(_issue(entry, path, at, fail) for entry in value)
    ids = [issue.id for issue in issues]
    twice = next((i for i in ids if ids.count(i) > 1), None)
    if twice:
        raise fail(path, at, f"known issue {twice!r} is listed twice")
    return issues


def _issue(entry: Any, path: Path, at: int | None, fail: Fail) -> KnownIssue:
    if not isinstance(entry, dict):
        raise fail(path, at, f"each entry of 'known_issues' must be a mapping: - {EXAMPLE}")
    path, at = entry.get("__file__", path), entry.get(_LINE, at)
    unknown = sorted(str(k) for k in entry if not str(k).startswith("__") and k not in _FIELDS)
    if unknown:
        raise fail(path, at, f"known issue: unknown field {_short(unknown[0])!r}")
    issue_id = entry.get("id")
    if not isinstance(issue_id, str) or not _ID.match(issue_id):
        raise fail(
            path,
            at,
            "a known issue needs an 'id' of lower-case letters, digits and dashes "
            f"(at most 64), not {_short(issue_id)!r}",
        )
    texts = {key: _text(entry, key, issue_id, path, at, fail) for key in _TEXTS}
    affects = entry.get("affects")
    affects = [affects] if isinstance(affects, str) else affects
    if (
        not isinstance(affects, list)
        or not affects
        or not all(isinstance(a, str) and a in KNOWN_ISSUE_AFFECTS for a in affects)
    ):
        allowed = ", ".join(KNOWN_ISSUE_AFFECTS)
        raise fail(path, at, f"known issue {issue_id}: 'affects' must list some of {allowed}")
    source = entry.get("source") or []
    source = [source] if isinstance(source, str) else source
    if (
        not isinstance(source, list)
        or len(source) > MAX_SOURCES
        or not all(isinstance(s, str) and len(s) <= 300 for s in source)
    ):
        raise fail(path, at, f"known issue {issue_id}: 'source' must be upstream file names")
    log = entry.get("log") or ""
    if not isinstance(log, str) or len(log) > 300:
        raise fail(path, at, f"known issue {issue_id}: 'log' must be a piece of a log line")
    return KnownIssue(
        id=issue_id,
        summary=texts["summary"],
        affects=tuple(dict.fromkeys(affects)),
        evidence=texts["evidence"],
        workaround=texts["workaround"],
        source=tuple(source),
        log=log,
    )


def _text(entry: dict, key: str, issue_id: str, path: Path, at: int | None, fail: Fail) -> str:
    value = entry.get(key)
    text = " ".join(value.split()) if isinstance(value, str) else ""
    if not text:
        raise fail(path, at, f"known issue {issue_id}: '{key}' is required (a sentence)")
    if len(text) > MAX_TEXT:
        raise fail(path, at, f"known issue {issue_id}: '{key}' is over {MAX_TEXT} characters")
    return text


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > 40:
        return value[:40] + "…"
    return value if isinstance(value, str | int | float | bool) or value is None else "…"
