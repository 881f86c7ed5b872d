"""The checklist steps of a guide, in the ways upstream's guides write them.

Under each phase heading of the Step-by-Step section, and of a top-level Rollback section
when that section has no rollback phase of its own, a step is:

- a list item: `- [ ] Stop the service`, `- Stop the service`, `1. Stop the service`
  (indented lines, code blocks included, belong to it);
- a group of lines in a shell code block that a comment opens (`# 1. Stop the server`
  followed by the commands): the comment names the step, the commands are its body. A
  comment right after a command (`# Expected: 200`) or after the opening comment belongs
  to the same step; commands before any comment form a step named after the heading;
  a block in another language is a step named after the heading (or part of the
  heading's last step);
- alternatives (`#### Option A: Package manager`, `#### Option B: Docker`, or paragraphs
  `**Option A:** …`): one step with one `Option` per alternative, the admin records which.

A heading that names no phase ("### 2. Flush active streams") keeps the lines in the
phase they follow (after the pre-checks and backup: the upgrade steps). One pass over the
lines: linear in the guide's size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from themis_desktop.core.guides.structure import (
    Fences,
    Heading,
    Option,
    Step,
    heading_of,
    lines_of,
    phase_of,
    section_matches,
    step_id,
    without_number,
)

SHELL_LANGUAGES = frozenset(  # a comment in these opens a step: `# 1. Stop the server`
    {"", "bash", "sh", "shell", "console", "zsh", "ksh", "fish", "shell-session", "sh-session"}
    | {"bash-session", "powershell", "ps1", "pwsh", "ps", "cmd", "bat", "batch"}
)
_GENERAL_PHASES = {"before": "pre-checks", "during": "upgrade", "after": "validation"}
_ITEM = re.compile(r"^(?:[-*+]|\d+[.)])\s+(?:\[([ xX])\]\s+)?(.*)$")
_EXPLICIT_ID = re.compile(r"\{#([A-Za-z0-9_-]+)\}\s*$")
_OPTION = re.compile(
    r"^(?:[-*+]\s+)?(?:\*\*|__)?option\s+([a-z0-9])(?![a-z0-9])[\s*_:.)\-–—]*(.*)$", re.I
)
_NO_WORDS = re.compile(r"[\W_]*")


@dataclass
class _Item:
    line: int
    phase: str
    text: str
    body: list[str]
    options: list[_Choice] = field(default_factory=list)


@dataclass
class _Choice:
    key: str
    label: str
    line: int
    body: list[str]


def option_of(text: str) -> tuple[str, str] | None:
    """(key, label) of an alternative's heading or paragraph (`Option B: Docker`), or None."""
    if "ption" not in text[:12]:
        return None
    match = _OPTION.match(text[:2000])
    if match is None:
        return None
    label = match[2].replace("**", "").replace("__", "").strip(" :.-–—")
    return match[1].upper(), label


class Phases:
    """The phase that the lines under each heading of a step region belong to."""

    def __init__(self, fixed: str | None = None, level: int = 0) -> None:
        self.phase, self.level = fixed, level if fixed else 0
        self.fixed = fixed is not None

    def enter(self, level: int, title: str) -> bool:
        """Follow a heading (not an alternative's); True when it opens a phase."""
        if self.fixed or level < 3 or (self.phase is not None and level > self.level):
            return False  # a sub-heading: the phase goes on
        named = phase_of(title)
        if named:
            self.phase = named
        elif self.phase is None:
            self.phase = "pre-checks"
        elif self.phase in ("pre-checks", "backup"):
            self.phase = "upgrade"
        self.level = level
        return True


def step_regions(
    headings: list[Heading] | tuple[Heading, ...],
) -> list[tuple[Heading, int, str | None]]:
    """(heading, end line, fixed phase) of each region that holds steps: the Step-by-Step
    section, and a top-level Rollback section when the Step-by-Step one has no rollback."""
    regions: list[tuple[Heading, int, str | None]] = []
    for i, heading in enumerate(headings):
        if heading.level == 2 and section_matches("Step-by-Step Migration", heading.title):
            later = [h.line for h in headings[i + 1 :] if h.level <= 2]
            regions.append((heading, later[0] if later else 10**9, None))
            break
    if regions and "rollback" in phase_headings(headings, regions):
        return regions
    for i, heading in enumerate(headings):
        if heading.level == 2 and phase_of(heading.title) == "rollback":
            later = [h.line for h in headings[i + 1 :] if h.level <= 2]
            regions.append((heading, later[0] if later else 10**9, "rollback"))
            break
    return sorted(regions, key=lambda r: r[0].line)


def phase_headings(
    headings: list[Heading] | tuple[Heading, ...],
    regions: list[tuple[Heading, int, str | None]] | None = None,
) -> dict[str, Heading]:
    """The first heading that opens each phase (a top-level Rollback section's own heading)."""
    found: dict[str, Heading] = {}
    for start, end, fixed in step_regions(headings) if regions is None else regions:
        if fixed:
            found.setdefault(fixed, start)
            continue
        phases = Phases()
        for heading in headings:
            inside = start.line < heading.line < end and not option_of(heading.title)
            if inside and phases.enter(heading.level, heading.title) and phases.phase:
                found.setdefault(phases.phase, heading)
    return found


def extract_steps(
    text: str,
    headings: list[Heading],
    first_line: int = 1,
    hop: str = "",
    best_practices: bool = False,
) -> list[Step]:
    """The guide's steps in order; for the best-practices document, the list items under its
    Before / During / After Migration sections."""
    lines = lines_of(text)
    last = first_line + len(lines)
    if best_practices:
        return _finish(_general_items(lines, first_line), hop)
    items: list[_Item] = []
    for start, end, fixed in step_regions(headings):
        reader = _Reader(items, Phases(fixed, start.level), without_number(start.title))
        for number in range(start.line + 1, min(end, last)):
            reader.line(number, lines[number - first_line])
        reader.end()
    return _finish(items, hop)


class _Reader:
    """Reads the lines of one step region into items."""

    def __init__(self, items: list[_Item], phases: Phases, title: str) -> None:
        self.items, self.phases, self.fences = items, phases, Fences()
        self.title = title  # the nearest heading, without numbering: names command-only steps
        self.under_title = 0  # steps found under that heading so far
        self.current: _Item | None = None  # a list item taking its indented lines
        self.choice: _Item | None = None  # the step whose alternatives are being read
        self.choice_level = 0  # heading level of its alternatives (7: paragraphs)
        self.block: list[str] | None = None  # a code block under a phase, not an item's
        self.block_line, self.block_info = 0, ""

    def line(self, number: int, line: str) -> None:
        state = self.fences.step(line)
        if self.block is not None:
            self.block.append(line)
            if state == "close":
                self._block_done()
            return
        if state is not None:
            if self.choice is not None:
                self.choice.options[-1].body.append(line)
            elif self.current is not None:
                self.current.body.append(line)
            elif state == "open" and self.phases.phase:
                self.block, self.block_line, self.block_info = [line], number, self.fences.info
            return
        heading = heading_of(line) if line.startswith("#") else None
        if heading:
            self._heading(number, *heading)
            return
        if line[:1] not in (" ", "\t") and line.strip():
            option = option_of(line) if self.phases.phase else None
            if option and (self.choice is None or self.choice_level == 7):
                self._option(number, option, 7, line)
                return
        if self.choice is not None:
            self.choice.options[-1].body.append(line)
            return
        item = None if line[:1] in (" ", "\t") else _ITEM.match(line)
        if item and self.phases.phase:
            self.current = self._add(number, item[2].strip(), [line])
        elif self.current is not None and (line[:1] in (" ", "\t") or not line.strip()):
            self.current.body.append(line)
        elif line.strip():
            self.current = None

    def end(self) -> None:
        if self.block is not None:
            self._block_done()

    def _heading(self, number: int, level: int, title: str) -> None:
        self.current = None
        if self.choice is not None and level > self.choice_level:
            self.choice.options[-1].body.append(f"{'#' * level} {title}")
            return
        option = option_of(title) if self.phases.phase else None
        if option:
            if self.choice is not None and level != self.choice_level:
                self.choice = None  # alternatives of another kind: a new choice
            self._option(number, option, level, f"{'#' * level} {title}")
            return
        self.choice = None
        self.phases.enter(level, title)
        self.title, self.under_title = without_number(title), 0

    def _option(self, number: int, option: tuple[str, str], level: int, line: str) -> None:
        self.current = None
        if self.choice is None:
            self.choice = self._add(number, "", [])
            self.choice_level = level
        self.choice.options.append(_Choice(option[0], option[1], number, [line]))
        self.choice.text = self.title or "Choose how"  # `_finish` adds the keys

    def _add(self, number: int, text: str, body: list[str]) -> _Item:
        item = _Item(number, self.phases.phase or "upgrade", text, body)
        self.items.append(item)
        self.under_title += 1
        return item

    def _block_done(self) -> None:
        block, self.block = self.block or [], None
        closed = len(block) > 1 and self.fences.open is None
        opening, inner = block[0], block[1 : len(block) - 1 if closed else len(block)]
        closing = block[-1] if closed else opening.strip()[:3]
        language = self.block_info.split()[0].strip("{}.").lower() if self.block_info else ""
        groups = _command_groups(inner, self.block_line + 1, language)
        for n, (line, text, lines) in enumerate(groups):
            body = [opening, *lines, closing]
            if text is None and n == 0 and self.under_title:
                self.items[-1].body += ["", *body]
            else:
                self._add(line if text else self.block_line, text or self.title, body)
        if not groups and not self.under_title:  # an empty block under a bare heading
            self._add(self.block_line, self.title, block)


def _command_groups(
    lines: list[str], first: int, language: str
) -> list[tuple[int, str | None, list[str]]]:
    """(line, name, lines) of each step a code block holds: a shell block is split at the
    comments that open a group of lines; other languages are one unnamed group."""
    if language not in SHELL_LANGUAGES:
        return [(first, None, lines)] if any(line.strip() for line in lines) else []
    groups: list[tuple[int, str | None, list[str]]] = []
    previous, continued = "start", False
    for number, raw in enumerate(lines, start=first):
        stripped = raw.strip()
        if not stripped:
            previous = "blank"
            if groups:
                groups[-1][2].append(raw)
            continue
        comment = not continued and _is_comment(stripped)
        name = _comment_text(stripped) if comment and previous in ("start", "blank") else None
        if name:
            groups.append((number, name, [raw]))
        elif groups:
            groups[-1][2].append(raw)
        else:
            groups.append((number, None, [raw]))
        previous = "comment" if comment else "command"
        continued = not comment and stripped.endswith("\\")
    for _, _, group in groups:
        while group and not group[-1].strip():
            group.pop()
    return groups


def _is_comment(stripped: str) -> bool:
    if stripped[0] == "#":
        return not stripped.startswith("#!")
    return stripped[:4].upper() == "REM " or stripped.startswith("::")


def _comment_text(stripped: str) -> str | None:
    """The step a comment names (`# 1. Stop the server` → `Stop the server`), or None for a
    comment without words (`# -----`)."""
    text = stripped[4:] if stripped[:4].upper() == "REM " else stripped.lstrip("#:")
    text = without_number(text.strip())
    return None if _NO_WORDS.fullmatch(text) else text


def _general_items(lines: list[str], first_line: int) -> list[_Item]:
    """The list items under the best-practices document's Before/During/After sections."""
    items: list[_Item] = []
    phase, fences = None, Fences()
    current: _Item | None = None
    for number, line in enumerate(lines, start=first_line):
        if fences.step(line):
            if current is not None:
                current.body.append(line)
            continue
        heading = heading_of(line) if line.startswith("#") else None
        if heading:
            current = None
            level, title = heading
            words = title.split(maxsplit=1)
            phase = _GENERAL_PHASES.get(words[0].lower()) if level == 2 and words else None
            continue
        item = None if line[:1] in (" ", "\t") else _ITEM.match(line)
        if item and phase:
            current = _Item(number, phase, item[2].strip(), [line])
            items.append(current)
        elif current is not None and (line[:1] in (" ", "\t") or not line.strip()):
            current.body.append(line)
        elif line.strip():
            current = None
    return items


def _finish(items: list[_Item], hop: str) -> list[Step]:
    result, seen = [], set()
    next_suffix: dict[str, int] = {}  # base id → the first suffix not yet known to be taken
    for item in items:
        if item.options:
            keys = [o.key for o in item.options]
            shown = ", ".join(keys[:12]) + (", …" if len(keys) > 12 else "")
            item.text = f"{item.text}: choose one of {shown}"
        explicit = _EXPLICIT_ID.search(item.text)
        text = item.text[: explicit.start()].rstrip() if explicit else item.text
        ident = explicit[1] if explicit else step_id(item.phase, text)
        base, n = ident, next_suffix.get(ident, 2)
        if ident in seen:  # base-2, base-3, …: resumed where the last duplicate stopped
            while (ident := f"{base}-{n}") in seen:
                n += 1
            next_suffix[base] = n + 1
        seen.add(ident)
        body = "\n".join(item.body).rstrip()
        options = tuple(
            Option(o.key, o.label, "\n".join(o.body).rstrip(), o.line) for o in item.options
        )
        result.append(Step(ident, item.phase, text, body, item.line, hop, options))
    return result


__all__: list[Any] = ["Phases", "extract_steps", "option_of", "phase_headings", "step_regions"]
