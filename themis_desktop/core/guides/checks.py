"""Check a guide against the migration-guide template; each finding has a line and a severity."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from markdown.extensions.toc import slugify

from themis_desktop.core.guides.steps import phase_headings, step_regions
from themis_desktop.core.guides.structure import (
    PHASE_TITLES,
    PHASES,
    SECTION_WORDS,
    Fences,
    Heading,
    Step,
    lines_of,
    section_matches,
)

Severity = Literal["error", "warning"]
Add = Callable[[int, Severity, str], None]  # records a finding: line, severity, message

SECTIONS = (
    "Overview",
    "Breaking Changes",
    "New Features",
    "Deprecated Features",
    "Step-by-Step Migration",
    "Code Changes Required",
    "Testing",
    "Support",
)
STATUSES = ("complete", "draft")
MAX_FINDINGS = 500
_TITLE = re.compile(  # `v1.7 to v1.8`, `v1.7.x → v1.8.0`, `1.7 -> 1.8`
    r"^Migration Guide:\s*v?(\d+\.\d+)(?:\.(?:\d+|x))?(?:\s+to\s+|\s*(?:→|->)\s*)"
    r"v?(\d+\.\d+)(?:\.(?:\d+|x))?$",
    re.I,
)
_SHOWN = 4  # headings a finding names as what it found
_LINK = re.compile(r"\]\(#([^)\s\]]+)\)")  # stops at the next ]: linear on runs of ](#
_ID_COUNT = re.compile(r"^(.*)_([0-9]+)$")
_RAW_HTML = re.compile(
    r"<\s*(script|iframe|object|embed|style|img|a|div|span|[a-z]+\s+on\w+=)", re.I
)


@dataclass(frozen=True)
class Finding:
    path: Path | None
    line: int
    severity: Severity
    message: str

    def __str__(self) -> str:
        return f"{self.path or '<guide>'}:{self.line}: {self.severity}: {self.message}"


def slugs_of(headings: list[Heading] | tuple[Heading, ...]) -> set[str]:
    """The anchors python-markdown's toc extension gives these headings."""
    ids: set[str] = set()
    jumps: dict[str, str] = {}
    return {unique_id(slugify(h.title, "-"), ids, jumps) for h in headings}


def unique_id(slug: str, ids: set[str], jumps: dict[str, str]) -> str:
    """`slug`, or python-markdown's toc `unique` of it (`a`, `a_1`, `a_2`, …), added to
    `ids`. The same answers, in linear time for any number of equal headings: `jumps`
    remembers, for every id met on a walk, the id the walk ended at (taken ever since)."""
    walked = []
    while slug in ids or not slug:
        walked.append(slug)
        following = jumps.get(slug)
        if following is None:
            match = _ID_COUNT.match(slug)
            if match and len(match[2]) < 4300:  # int() refuses longer ones
                following = f"{match[1]}_{int(match[2]) + 1}"
            else:
                following = f"{slug}_1"
        slug = following
    for taken in walked:
        jumps[taken] = slug
    ids.add(slug)
    return slug


def validate(
    text: str,
    first_line: int,
    headings: list[Heading],
    steps: list[Step],
    meta: dict[str, Any],
    meta_error: str | None,
    path: Path | None = None,
) -> list[Finding]:
    """All findings, sorted by line."""
    found: list[Finding] = []

    def add(line: int, severity: Severity, message: str) -> None:
        found.append(Finding(path, line, severity, message))

    _check_meta(meta, meta_error, first_line, add)
    _check_title(headings, meta, first_line, add)
    if meta.get("kind") == "best-practices":  # its own layout, not the hop template
        if not steps:
            add(first_line, "error", "no checklist steps under Before/During/After Migration")
    else:
        _check_sections(headings, first_line + len(lines_of(text)), add)
        _check_steps(headings, steps, add)
    anchors = slugs_of(headings) if "](#" in text else set()  # only links need them
    _check_text(text, first_line, anchors, add)
    return _capped(sorted(found, key=lambda f: (f.line, f.severity)))


def _capped(found: list[Finding]) -> list[Finding]:
    """At most MAX_FINDINGS findings: the rest summed up in one (an error if any is), so a
    runaway guide cannot flood a list or a terminal."""
    if len(found) <= MAX_FINDINGS:
        return found
    rest = found[MAX_FINDINGS - 1 :]
    severity: Severity = "error" if any(f.severity == "error" for f in rest) else "warning"
    summary = f"{len(rest)} more findings from here on, not listed: fix the ones above first"
    return [*found[: MAX_FINDINGS - 1], Finding(rest[0].path, rest[0].line, severity, summary)]


def _check_meta(meta: dict[str, Any], error: str | None, first: int, add: Add) -> None:
    if error:
        add(1, "error", error)
    elif not meta:
        add(1, "warning", "no front matter (from, to, updated, status)")
    elif meta.get("kind") != "best-practices":
        for key in ("from", "to", "updated", "status"):
            if key not in meta:
                add(1, "warning", f"front matter lacks '{key}'")
        if "status" in meta and meta["status"] not in STATUSES:
            add(1, "warning", f"status should be one of {', '.join(STATUSES)}")


def _check_title(headings: list[Heading], meta: dict[str, Any], first: int, add: Add) -> None:
    titles = [h for h in headings if h.level == 1]
    if not titles:
        add(first, "error", "no title: the guide must start with '# Migration Guide: vX.Y to vX.Y'")
        return
    if meta.get("kind") == "best-practices":
        return
    match = _TITLE.match(titles[0].title[:200])
    if not match:
        add(
            titles[0].line,
            "warning",
            f"title should read 'Migration Guide: vX.Y to vX.Y', found {_quote(titles[0].title)}",
        )
    elif meta.get("from") and (match[1], match[2]) != (str(meta["from"]), str(meta.get("to"))):
        add(titles[0].line, "warning", "title and front matter name different versions")


def _check_sections(headings: list[Heading], end_line: int, add: Add) -> None:
    """Each template section once, in order; matched tolerantly (`section_matches`)."""
    present = [h for h in headings if h.level == 2]
    matches = {
        wanted: [i for i, h in enumerate(present) if section_matches(wanted, h.title)]
        for wanted in SECTIONS
    }
    expected_at, previous = 0, None  # index in `present` of the last section found in order
    for number, wanted in enumerate(SECTIONS):
        candidates = matches[wanted]
        if not candidates:
            later = [i for w in SECTIONS[number + 1 :] for i in matches[w] if i >= expected_at]
            following = min(later) if later else len(present)
            start = previous + 1 if previous is not None else 0
            found = [h.title for h in present[start:following]]
            where = [
                f"after {_quote('## ' + present[previous].title)}" if previous is not None else "",
                f"before {_quote('## ' + present[following].title)}"
                if following < len(present)
                else "",
            ]
            add(
                present[following].line if following < len(present) else end_line,
                "error",
                f"missing section '## {wanted}': expected a heading such as '## {wanted}'"
                f"{_other_names(wanted)} {' and '.join(w for w in where if w) or 'in the guide'}, "
                f"found {_list(found) if found else 'no other section there'}",
            )
            continue
        in_order = [i for i in candidates if i >= expected_at]
        if in_order:
            expected_at = previous = in_order[0]
            continue
        at = candidates[0]
        after, there = _quote("## " + present[expected_at].title), _quote("## " + present[at].title)
        add(
            present[at].line,
            "error",
            f"section '## {wanted}' is out of order: expected after {after}, "
            f"found {there} before it",
        )


def _other_names(wanted: str) -> str:
    """The other names a section may have, for a finding: ` (or 'what's … new')`."""
    spelled = [" … ".join(words) for words in SECTION_WORDS.get(wanted, ())[1:]]
    return f" (or one with {' or '.join(repr(s) for s in spelled)})" if spelled else ""


def _quote(title: str) -> str:
    return repr(title if len(title) <= 80 else title[:77] + "…")


def _list(titles: list[str]) -> str:
    shown = ", ".join(_quote("## " + t) for t in titles[:_SHOWN])
    return shown + (f" and {len(titles) - _SHOWN} more" if len(titles) > _SHOWN else "")


def _check_steps(headings: list[Heading], steps: list[Step], add: Add) -> None:
    regions = step_regions(headings)
    section = next((start for start, _, fixed in regions if fixed is None), None)
    if section is None:
        return  # reported as a missing section
    if not steps:
        add(
            section.line,
            "error",
            "the Step-by-Step section has no checklist steps: expected '- [ ]' items, numbered "
            "lists or commented commands in code blocks under its phase headings",
        )
    phases = phase_headings(headings, regions)
    for phase in PHASES:
        heading = phases.get(phase)
        if heading is None:
            _missing_phase(section, phase, phases, steps, add)
        elif not any(s.phase == phase for s in steps):
            add(
                heading.line,
                "warning",
                f"phase '{PHASE_TITLES[phase]}' has no steps: expected '- [ ]' items, a numbered "
                f"list or commented commands under {_quote(heading.title)}, found only text",
            )


def _missing_phase(
    section: Heading, phase: str, phases: dict[str, Heading], steps: list[Step], add: Any
) -> None:
    """A phase without a heading: an error, or a warning when another phase's step does it
    (upstream's 1.7→1.8 guide backs up as one of its pre-migration checks)."""
    word = {"pre-checks": "check", "backup": "backup", "upgrade": "upgrade"}.get(phase, phase)
    elsewhere = next((s for s in steps if word in s.text.lower()), None)
    found = [h.title for h in sorted(phases.values(), key=lambda h: h.line)]
    expected = f"expected a heading such as '### {PHASES.index(phase) + 1}. {PHASE_TITLES[phase]}'"
    where = ", ".join(_quote(t) for t in found[:_SHOWN]) or "no phase headings"
    if elsewhere is not None:
        add(
            section.line,
            "warning",
            f"Step-by-Step lacks the phase '{PHASE_TITLES[phase]}': {expected}, found it as the "
            f"step {_quote(elsewhere.text)} (line {elsewhere.line}) of phase "
            f"'{PHASE_TITLES[elsewhere.phase]}'",
        )
    else:
        add(
            section.line,
            "error",
            f"Step-by-Step lacks the phase '{PHASE_TITLES[phase]}': {expected}, found {where}",
        )


def _check_text(text: str, first: int, anchors: set[str], add: Add) -> None:
    fences = Fences()
    for number, line in enumerate(lines_of(text), start=first):
        state = fences.step(line)
        if state == "open" and not fences.info:
            add(number, "warning", "code block without a language")
        if state:
            continue
        for target in _LINK.findall(line):
            if target not in anchors:
                add(number, "error", f"link to '#{target}', which no heading defines")
        if _RAW_HTML.search(line):
            add(number, "warning", "raw HTML: it is shown as text, not rendered")
