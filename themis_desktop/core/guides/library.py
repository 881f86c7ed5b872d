"""Migration guides: load (with front matter), find their structure, extract checklist steps
(the step constructs are in `guide_steps`, the template checks in `guide_checks`).

Everything here is linear in the guide's size (no regex that backtracks over a long line),
and a guide over MAX_GUIDE_BYTES is not parsed at all: it loads as one error finding."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from themis_desktop.core.util import bounded_parse
from themis_desktop.core.util.resources import guides_dir

MAX_GUIDE_BYTES = 2 << 20
FRONT_MATTER_LIMITS = bounded_parse.Limits(max_bytes=64 << 10, max_depth=16, max_nodes=10_000)

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
_INDEX_NAMES = frozenset({"readme", "index", "_index"})
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})(.*)$")
_HEADING_START = re.compile(r"#{1,6}(?=\s)")
_HOP_TITLE = re.compile(r"v?(\d+\.\d+)[.\dxX]*(?:\s+to\s+|\s*(?:→|->)\s*)v?(\d+\.\d+)")


class GuideError(OSError):
    """A guide file cannot be read at all."""


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


@dataclass(frozen=True)
class Guide:
    path: Path | None
    text: str  # the Markdown without its front matter
    meta: dict[str, Any]
    body_start: int  # file line number of `text`'s first line
    headings: tuple[Heading, ...]
    steps: tuple[Step, ...]
    findings: tuple[Any, ...] = field(default=())
    refused: str = ""  # why the guide was not parsed (too large); then it has no text

    @property
    def title(self) -> str:
        first = next((h for h in self.headings if h.level == 1), None)
        return first.title if first else (self.path.stem if self.path else "Untitled guide")

    @property
    def hop(self) -> tuple[str, str] | None:
        """(`from`, `to`) lines from the front matter or the title, when known."""
        if self.meta.get("from") and self.meta.get("to"):
            return str(self.meta["from"]), str(self.meta["to"])
        match = _HOP_TITLE.search(self.title[:200])  # a title is short; a runaway line not
        return (match[1], match[2]) if match else None

    @property
    def status(self) -> str:
        return str(self.meta.get("status", "unknown"))

    @property
    def errors(self) -> int:
        return sum(f.severity == "error" for f in self.findings)


def split_front_matter(raw: str) -> tuple[dict[str, Any], str, int, str | None]:
    """(meta, text, first line of text, error) — a missing front matter is no error."""
    if not raw.startswith("---"):
        return {}, raw, 1, None
    lines = [line + "\n" for line in raw.split("\n")]  # newlines only: see lines_of
    end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
    if end is None:
        return {}, raw, 1, "front matter starts with --- but never ends"
    try:
        meta = (
            bounded_parse.load_yaml(
                "".join(lines[1:end]),
                "front matter",
                yaml.SafeLoader,
                FRONT_MATTER_LIMITS,
                first_line=2,
                what="front matter",
            )
            or {}
        )
    except bounded_parse.InputError as exc:
        reason = exc.reason if exc.reason.startswith("not valid YAML") else f"refused: {exc.reason}"
        where = f" (line {exc.line})" if exc.line else ""
        return {}, _rest(lines, end), end + 2, f"front matter is {reason}{where}"
    if not isinstance(meta, dict):
        return {}, _rest(lines, end), end + 2, "front matter is not a mapping"
    return {str(k): v for k, v in meta.items()}, _rest(lines, end), end + 2, None


def _rest(lines: list[str], end: int) -> str:
    return "".join(lines[end + 1 :])[:-1]  # without the newline added to the last line


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


def is_index(path: Path | None, meta: dict[str, Any]) -> bool:
    """A README or index of a folder of guides (no front matter): not a guide itself."""
    return path is not None and not meta and path.stem.lower() in _INDEX_NAMES


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


def too_large(size: int) -> str:
    """The reason a guide of `size` bytes is not parsed nor rendered."""
    shown, limit = bounded_parse.size_text(size), bounded_parse.size_text(MAX_GUIDE_BYTES)
    return f"guide too large: {shown}, limit {limit} (split it into one guide per hop)"


def utf8_size(text: str) -> int:
    """The size of `text` in UTF-8, computed only when it could matter."""
    if len(text) * 4 <= MAX_GUIDE_BYTES:
        return len(text)
    return len(text.encode("utf-8", "surrogatepass"))


def refused_guide(path: Path | None, reason: str) -> Guide:
    """A guide that is not parsed: no text, one error finding that says why."""
    from themis_desktop.core.guides.checks import Finding

    finding = Finding(path, 1, "error", reason)
    return Guide(path, "", {}, 1, (), (), (finding,), refused=reason)


def parse_guide(raw: str, path: Path | None = None) -> Guide:
    """A guide from its Markdown; findings come from `guide_checks.validate`. A guide over
    MAX_GUIDE_BYTES is refused (see `refused_guide`)."""
    from themis_desktop.core.guides.checks import validate
    from themis_desktop.core.guides.steps import extract_steps

    size = utf8_size(raw)
    if size > MAX_GUIDE_BYTES:
        return refused_guide(path, too_large(size))
    meta, text, first, meta_error = split_front_matter(raw)
    headings = headings_of(text, first)
    hop = "→".join(map(str, (meta.get("from"), meta.get("to")))) if meta.get("from") else ""
    general = meta.get("kind") == "best-practices"
    steps = extract_steps(text, headings, first, hop, best_practices=general)
    findings = validate(text, first, headings, steps, meta, meta_error, path)
    return Guide(path, text, meta, first, tuple(headings), tuple(steps), tuple(findings))


def load_guide(path: Path) -> Guide:
    """The guide in file `path`, never reading more than MAX_GUIDE_BYTES + 1 bytes of it;
    GuideError when it cannot be read at all."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_GUIDE_BYTES + 1)
            size = max(len(data), os.fstat(handle.fileno()).st_size)
    except OSError as exc:
        raise GuideError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    if len(data) > MAX_GUIDE_BYTES:
        return refused_guide(path, too_large(size))
    raw = data.decode("utf-8", errors="replace")
    if "\r" in raw:  # as text mode reads it
        raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    return parse_guide(raw, path)


def load_folder(folder: Path | None = None) -> list[Guide]:
    """Every `*.md` guide of a folder (default: the bundled guides), in hop order; guides
    without a hop (general documents) come last."""
    folder = Path(folder) if folder else guides_dir()
    found = [load_guide(p) for p in sorted(folder.glob("*.md")) if p.name.lower() != "readme.md"]
    return sorted((g for g in found if not is_index(g.path, g.meta)), key=_hop_order)


def _hop_order(guide: Guide) -> tuple:
    hop = guide.hop
    try:
        return (0, *(tuple(int(x) for x in side.split(".")) for side in hop)) if hop else (1,)
    except ValueError:
        return (1,)
