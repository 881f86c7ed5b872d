"""Bounds for rendering a guide: nesting, costly bracket and emphasis runs, block count, time.

python-markdown recurses once per nested list, quote or indented block (a few hundred levels
exhaust Python's stack), its link scanner walks from every `[` to the matching `]` (quadratic
for thousands of unclosed or nested brackets), its block loop is quadratic in the number of
blocks, its emphasis regexes backtrack over long runs of `*`/`_`, and a big paragraph of
inline marks is slow. `pathology` finds the first four (and blocks over MAX_BLOCK) in one
linear pass before rendering; `Deadline` stops the rest: a block processor and the inline
patterns check it, so a render ends within `seconds_for(size)` (linear in the size).
Either way the guide is then shown as plain text with a warning; a nesting nothing foresaw
ends in RecursionError, which the renderer turns into the same plain text.
"""

from __future__ import annotations

import collections
import re
import threading
import time
from typing import Any

import markdown
from markdown.blockprocessors import BlockProcessor

from themis_desktop.core.guides.library import GuideError
from themis_desktop.core.guides.structure import Fences, lines_of

MAX_NESTING = 32  # lists, quotes and 4-space indents on one line (python-markdown breaks ~250)
MAX_OPEN_BRACKETS = 1000  # unclosed `[` or `](` in one paragraph
MAX_LINK_WORK = 3_000_000  # characters the link scanner would walk in all, about a second
MAX_EMPHASIS_RUN = 64  # `*`/`_` in a row (python-markdown's emphasis regexes backtrack)
MAX_BLOCK = 512 << 10  # characters between blank lines (outside code fences)
MAX_PARAGRAPHS = 100_000  # python-markdown's block loop is quadratic in their number
BASE_SECONDS, SECONDS_PER_MIB = 2.0, 4.0  # a normal guide needs about 1-2 s per MiB

_MARKER = re.compile(r"[ \t]*(?:>|(?:[-*+]|\d{1,9}[.)])(?=[ \t]|$))")
_BRACKET = re.compile(r"\]\(|[\[\])]")
_CONTAINER_START = frozenset(" \t>-*+0123456789")
_LONG_RUN = re.compile(rf"[*_]{{{MAX_EMPHASIS_RUN + 1},}}")
_RULE = re.compile(r"[ \t]*(?:[*_-][ \t]*)+")


class RenderTimeout(GuideError):
    """Rendering went on past its deadline."""


class RenderCancelled(GuideError):
    """Rendering was stopped: whoever asked for it no longer wants it (a newer request)."""


def seconds_for(size: int) -> float:
    """The time a guide of `size` bytes may take to render: linear in its size."""
    return BASE_SECONDS + SECONDS_PER_MIB * size / (1 << 20)


class Deadline:
    """A budget of this thread's CPU time (the work done, whatever else runs on the
    machine); `check` raises RenderTimeout once it is spent, and RenderCancelled once
    `cancelled` (a `threading.Event`, if given) is set."""

    def __init__(self, seconds: float, cancelled: threading.Event | None = None) -> None:
        self.seconds = seconds
        self.at = time.thread_time() + seconds
        self.calls = 0
        self.cancelled = cancelled

    def check(self) -> None:
        """Raise RenderTimeout when the budget is spent, RenderCancelled when cancelled
        (both looked at every 32nd call: reading a thread's CPU clock costs a system call)."""
        self.calls += 1
        if self.calls & 31 == 0:
            if self.cancelled is not None and self.cancelled.is_set():
                raise RenderCancelled("rendering was stopped: a newer request replaced it")
            if time.thread_time() > self.at:
                raise RenderTimeout(f"rendering took longer than {self.seconds:.2g} s")


class _DeadlineCheck(BlockProcessor):
    """Tried first on every block (and never taking one): checks the deadline."""

    def __init__(self, parser: Any, deadline: Deadline) -> None:
        super().__init__(parser)
        self.deadline = deadline

    def test(self, parent: Any, block: str) -> bool:
        self.deadline.check()
        return False

    def run(self, parent: Any, blocks: list[str]) -> bool:  # pragma: no cover - never taken
        return False


def guard(md: markdown.Markdown, deadline: Deadline) -> None:
    """Make the converter `md` check `deadline` on every block, on every text the inline
    patterns are tried on (the first pattern is asked for its regex once per text) and on
    every inline match (a slow inline run is many matches); and make two quadratic steps
    linear: superfences' reassembly and the block loop's `pop(0)`."""
    md.parser.blockprocessors.register(_DeadlineCheck(md.parser, deadline), "deadline", 1000)
    first = next(iter(md.inlinePatterns), None)
    if first is not None:
        regex = first.getCompiledRegExp()

        def compiled() -> re.Pattern[str]:
            deadline.check()
            return regex

        # patched on this converter's own pattern object on purpose (markdown has no hook)
        first.getCompiledRegExp = compiled  # type: ignore[method-assign]
    for pattern in md.inlinePatterns:
        handle = pattern.handleMatch

        def checked(*args: Any, handle: Any = handle) -> Any:
            deadline.check()
            return handle(*args)

        # patched on purpose, as above; `checked` passes on whatever the pattern's own
        # handleMatch takes (inline and legacy patterns differ: the stubs know only one)
        pattern.handleMatch = checked  # type: ignore[method-assign, assignment]
    _linear_reassembly(md)
    parser = md.parser
    # patched on purpose, as above; the block processors only pop and insert at the front,
    # which the deque does in O(1) (the stubs ask for the list markdown itself passes)
    parser.parseChunk = lambda parent, text: parser.parseBlocks(  # type: ignore[method-assign]
        parent,
        _Blocks(text.split("\n\n")),  # type: ignore[arg-type]
    )


class _Blocks(collections.deque[str]):
    """The blocks python-markdown's block processors take off the front (`pop(0)`) and put
    back (`insert(0, …)`): a deque makes each O(1) instead of O(blocks), so parsing is
    linear, not quadratic, in the number of blocks."""

    def pop(self, index: int = -1) -> str:
        if index == 0:
            return self.popleft()
        if index == -1:
            return super().pop()
        value = self[index]
        del self[index]
        return value


def _linear_reassembly(md: markdown.Markdown) -> None:
    """pymdownx.superfences puts its fenced blocks back with one list splice per block
    (quadratic: seconds for a 2 MiB guide); do it in one pass when the blocks are in order,
    as superfences records them."""
    fences = next((p for p in md.preprocessors if hasattr(p, "reassemble")), None)
    if fences is None:
        return
    original = fences.reassemble

    def reassemble(lines: list[str]) -> list[str]:
        stack = getattr(fences, "stack", None)  # (block, first line, end line), in order
        if not isinstance(stack, list):
            return original(lines)
        ends = [0] + [end for _, _, end in stack]
        if any(start < end for (_, start, _), end in zip(stack, ends, strict=False)):
            return original(lines)  # not in order: superfences' own way
        out: list[str] = []
        position = 0
        for fenced, start, end in stack:
            out += lines[position:start]
            out.append(fenced)
            position = end
        stack.clear()
        return out + lines[position:]

    fences.reassemble = reassemble


def pathology(text: str) -> str | None:
    """Why `text` would break python-markdown or make it quadratic (with the line), or None.
    One pass over the lines outside code fences; cheap on a normal guide."""
    paragraphs = text.count("\n\n")  # python-markdown takes blocks off the front of a list
    if paragraphs > MAX_PARAGRAPHS:
        return _paragraphs()
    fences = Fences()
    block_start, offset, work = 1, 0, 0
    squares: list[int] = []  # offsets of unclosed `[` in the current paragraph
    links: list[int] = []  # offsets of unclosed `](`
    for number, line in enumerate(lines_of(text), start=1):
        if (fences.open or "``" in line or "~~" in line) and (state := fences.step(line)):
            if state == "open":  # a code block is a block of its own too
                paragraphs += 2
                if paragraphs > MAX_PARAGRAPHS:
                    return _paragraphs()
            continue
        if not line or line.isspace():  # a paragraph ends: its unclosed brackets were
            if squares or links:  # scanned up to here
                work += sum(offset - at for at in squares) + sum(offset - at for at in links)
                if work > MAX_LINK_WORK:
                    return _brackets(block_start)
                squares.clear()
                links.clear()
            block_start, offset = number + 1, 0
            continue
        if line[0] == "#":  # a heading is a block of its own (see guide_render)
            paragraphs += 2
            if paragraphs > MAX_PARAGRAPHS:
                return _paragraphs()
        elif line[0] in _CONTAINER_START:
            depth = _nesting(line)
            if depth > MAX_NESTING:
                return (
                    f"line {number}: lists, quotes or indents nested {depth} deep "
                    f"(more than {MAX_NESTING})"
                )
        run = _emphasis_run(line)
        if run:
            return f"line {number}: a run of {run} emphasis marks (more than {MAX_EMPHASIS_RUN})"
        if "[" in line or "](" in line:
            for match in _BRACKET.finditer(line):
                token, at = match.group(), offset + match.start()
                if token == "[":
                    squares.append(at)
                elif token == "]":
                    if squares:
                        work += at - squares.pop()
                elif token == "](":
                    if squares:
                        work += at - squares.pop()
                    links.append(at)
                elif links:
                    work += at - links.pop()
            if len(squares) + len(links) > MAX_OPEN_BRACKETS or work > MAX_LINK_WORK:
                return _brackets(block_start)
        offset += len(line) + 1
        if offset > MAX_BLOCK:
            return (
                f"line {block_start}: a block of more than {MAX_BLOCK >> 10} KiB without a "
                "blank line"
            )
    work += sum(offset - at for at in squares) + sum(offset - at for at in links)
    return _brackets(block_start) if work > MAX_LINK_WORK else None


def _paragraphs() -> str:
    return f"more than {MAX_PARAGRAPHS} paragraphs, headings, code blocks or blank lines"


def _brackets(line: int) -> str:
    return (
        f"line {line}: a paragraph with thousands of unclosed or nested brackets "
        "(rendering it would take minutes)"
    )


def _emphasis_run(line: str) -> int:
    """The length of an over-long run of `*`/`_` in `line` (not a rule of stars), else 0."""
    if "**" not in line and "__" not in line and "*_" not in line and "_*" not in line:
        return 0
    run = _LONG_RUN.search(line)
    if run is None or _RULE.fullmatch(line):  # a rule is a block, not emphasis
        return 0
    return len(run.group())


def _nesting(line: str) -> int:
    """How many containers (list items, quotes, 4-space indents) a line opens, at most a
    little more than MAX_NESTING."""
    body = line.lstrip(" \t")
    lead = len(line) - len(body)
    depth = (lead + 3 * line.count("\t", 0, lead)) // 4
    if depth > MAX_NESTING or body[:1] not in ">-*+0123456789":
        return depth
    position = lead
    while depth <= MAX_NESTING:
        match = _MARKER.match(line, position)
        if match is None or match.end() == position:
            break
        depth += 1
        position = match.end()
    return depth


_EMPHASIS_TAG = re.compile(r"<(/?)(?:strong|em)>")


def emphasis_depth(html: str) -> int:
    """How deep `<strong>`/`<em>` nest in rendered HTML (short `***a ` runs, each under
    MAX_EMPHASIS_RUN, can still nest hundreds deep, which the text view renders slowly)."""
    depth = deepest = 0
    for tag in _EMPHASIS_TAG.finditer(html):
        depth += -1 if tag.group(1) else 1
        deepest = max(deepest, depth)
    return deepest
