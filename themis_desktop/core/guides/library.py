"""Migration guides: load (with front matter), find their structure, extract checklist steps
(headings, fences and steps are in `structure`, the step constructs in `steps`, the template
checks in `checks`).

Everything here is linear in the guide's size (no regex that backtracks over a long line),
and a guide over MAX_GUIDE_BYTES is not parsed at all: it loads as one error finding."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from themis_desktop.core.errors import ThemisDesktopError
from themis_desktop.core.guides.checks import Finding, validate
from themis_desktop.core.guides.steps import extract_steps
from themis_desktop.core.guides.structure import Heading, Step, headings_of
from themis_desktop.core.util import bounded_parse
from themis_desktop.core.util.resources import guides_dir

MAX_GUIDE_BYTES = 2 << 20
FRONT_MATTER_LIMITS = bounded_parse.Limits(max_bytes=64 << 10, max_depth=16, max_nodes=10_000)

_INDEX_NAMES = frozenset({"readme", "index", "_index"})
_HOP_TITLE = re.compile(r"v?(\d+\.\d+)[.\dxX]*(?:\s+to\s+|\s*(?:→|->)\s*)v?(\d+\.\d+)")


class GuideError(ThemisDesktopError, OSError):
    """A guide file cannot be read at all."""


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


def is_index(path: Path | None, meta: dict[str, Any]) -> bool:
    """A README or index of a folder of guides (no front matter): not a guide itself."""
    return path is not None and not meta and path.stem.lower() in _INDEX_NAMES


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
    finding = Finding(path, 1, "error", reason)
    return Guide(path, "", {}, 1, (), (), (finding,), refused=reason)


def parse_guide(raw: str, path: Path | None = None) -> Guide:
    """A guide from its Markdown; findings come from `guide_checks.validate`. A guide over
    MAX_GUIDE_BYTES is refused (see `refused_guide`)."""
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
