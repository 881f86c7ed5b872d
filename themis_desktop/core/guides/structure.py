"""The parts of a guide's Markdown that loading, step extraction and the template checks
share: phases, template section names, headings, code fences, steps and their ids.

It imports no other guides module, so `library` (loading), `steps` and `checks` all build
on it without importing each other in a circle."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

PHASES = ("pre-checks", "backup", "upgrade", "validation", "rollback")
PHASE_TITLES = {
    "pre-checks": "Pre-migration checks",
    "backup": "Backup procedures",
    "upgrade": "Upgrade steps",
    "validation": "Post-migration validation",
    "rollback": "Rollback procedure",
}
_PHASE_WORDS = (  # how a phase heading names itself, checked in this order
    ("rollback", "rollback"),
    ("rollback", "roll back"),
    ("rollback", "rolling back"),
    ("pre-checks", "pre-migration"),
    ("pre-checks", "pre-upgrade"),
    ("pre-checks", "pre-check"),
    ("pre-checks", "preparation"),
    ("pre-checks", "prerequisite"),
    ("backup", "backup"),
    ("backup", "back up"),
    ("validation", "post-migration"),
    ("validation", "post-upgrade"),
    ("validation", "validation"),
    ("validation", "verif"),
    ("upgrade", "upgrade"),
    ("upgrade", "migration steps"),
    ("upgrade", "deploy"),
    ("upgrade", "install"),
)
# How each template section may be named: alternatives of word beginnings that must appear
# in this order in a level-2 heading ("New Features (Action Required…)", "3. Testing", …).
SECTION_WORDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "Overview": (("overview",), ("summary",), ("introduction",)),
    "Breaking Changes": (("breaking",),),
    "New Features": (("new", "feature"), ("what's", "new")),
    "Deprecated Features": (("deprecat",),),
    "Step-by-Step Migration": (("step", "by", "step"),),
    "Code Changes Required": (("code", "change"),),
    "Testing": (("test",),),
    "Support": (("support",), ("help",)),
}
_WORD = re.compile(r"[a-z0-9']+")
_NUMBERING = re.compile(
    r"^(?:(?:step|phase)\s+\d{1,3}[.):]?\s*|\d{1,3}(?:\.\d{1,3})*[.):]?\s+|[a-z][.)]\s+)", re.I
)
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})(.*)$")
_HEADING_START = re.compile(r"#{1,6}(?=\s)")


@dataclass(frozen=True)
class Heading:
    level: int
    title: str
    line: int  # 1-based, in the whole file


@dataclass(frozen=True)
class Option:
    """One alternative of a choice step (`Option B: Docker`): the admin records which."""

    key: str  # "B"
    label: str  # "Docker"
    body: str  # its Markdown: text and commands
    line: int


@dataclass(frozen=True)
class Step:
    """One checklist item of the Step-by-Step section (see `guide_steps`)."""

    id: str
    phase: str
    text: str
    body: str
    line: int
    hop: str = ""
    options: tuple[Option, ...] = ()  # alternatives, one of which the admin takes


class Fences:
    """Follows fenced code blocks line by line, the CommonMark way: a block closes only
    with a fence of its own character, at least as long, with nothing after it."""

    def __init__(self) -> None:
        self.open: tuple[str, int] | None = None

    def step(self, line: str) -> str | None:
        """`"open"` (with `self.info`), `"close"`, `"inside"`, or None for ordinary text."""
        match = _FENCE.match(line)
        if self.open is None:
            if match and not (match[1][0] == "`" and "`" in match[2]):
                self.open, self.info = (match[1][0], len(match[1])), match[2].strip()
                return "open"
            return None
        char, length = self.open
        if match and match[1][0] == char and len(match[1]) >= length and not match[2].strip():
            self.open = None
            return "close"
        return "inside"


def lines_of(text: str) -> list[str]:
    """Lines split on newlines only (`str.splitlines` also splits on U+2028 and friends,
    which would shift every line number after them)."""
    return text.split("\n")


def heading_of(line: str) -> tuple[int, str] | None:
    """(level, title) of an ATX heading line (`## Title ##`), else None. Plain string work:
    a regex with a lazy title and optional closing hashes backtracks quadratically over a
    long run of spaces."""
    match = _HEADING_START.match(line)
    if match is None:
        return None
    rest = line[match.end() :]
    body = rest.lstrip()
    if not body:  # only spaces after the hashes: an empty title, if there are two
        return (match.end(), "") if len(rest) >= 2 else None
    title = body.rstrip().rstrip("#").rstrip()
    return match.end(), title or body[0]


def headings_of(text: str, first_line: int = 1) -> list[Heading]:
    """ATX headings outside fenced code blocks."""
    found, fences = [], Fences()
    for number, line in enumerate(lines_of(text), start=first_line):
        if fences.step(line) or not line.startswith("#"):
            continue
        heading = heading_of(line)
        if heading:
            found.append(Heading(heading[0], heading[1], number))
    return found


def phase_of(title: str) -> str | None:
    lowered = title.lower()
    return next((phase for phase, word in _PHASE_WORDS if word in lowered), None)


def without_number(title: str) -> str:
    """A heading's or comment's words without their numbering (`3.`, `Step 2:`, `b)`)."""
    title = title.strip()
    match = _NUMBERING.match(title)
    rest = title[match.end() :] if match else title
    return rest or title


def section_matches(wanted: str, title: str) -> bool:
    """Whether a level-2 heading `title` names the template section `wanted`, tolerantly:
    any case and numbering, extra words, the alternatives of SECTION_WORDS."""
    words = _WORD.findall(title[:300].lower().replace("’", "'"))
    for alternative in SECTION_WORDS.get(wanted, ((wanted.lower(),),)):
        position = 0
        for start in alternative:
            position = next(
                (i + 1 for i in range(position, len(words)) if words[i].startswith(start)), -1
            )
            if position < 0:
                break
        else:
            return True
    return False


def plain_text(text: str) -> str:
    """A step's words as a list shows them: no backticks, emphasis marks or link targets
    (and no more than 1000 characters of them)."""
    text = text if len(text) <= 1000 else text[:999] + "…"
    text = re.sub(r"\[([^\]\n]{0,300})\]\([^)\s]{0,500}\)", r"\1", text) if "](" in text else text
    return text.replace("`", "").replace("**", "").replace("__", "")


def normalize(text: str) -> str:
    """The comparison form of a step: lower case, no markup, single spaces."""
    text = re.sub(r"[`*_\[\]()]", "", text.lower())
    return re.sub(r"\s+", " ", text).strip(" .:;")


def step_id(phase: str, text: str) -> str:
    """A stable id from the phase and the step's own words, not its position."""
    digest = hashlib.sha1(normalize(text).encode()).hexdigest()[:10]
    return f"{phase}-{digest}"
