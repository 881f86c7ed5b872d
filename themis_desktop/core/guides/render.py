"""Render guide Markdown to safe HTML that QTextBrowser (and a browser) shows well.

Bounded: a guide over MAX_GUIDE_BYTES is not rendered, and one that `guide_limits` finds
pathological (nesting, bracket runs) or that runs past its deadline is shown as plain text
under a warning (`Rendered.warning`), never a crash or a hang."""

from __future__ import annotations

import functools
import html
import re
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

import markdown
import pygments
from markdown.extensions import Extension
from markdown.extensions import toc as toc_extension
from markdown.extensions.toc import slugify
from markdown.treeprocessors import InlineProcessor, Treeprocessor
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound

from themis_desktop.core.guides import limits as guide_limits
from themis_desktop.core.guides.checks import unique_id
from themis_desktop.core.guides.library import MAX_GUIDE_BYTES, Guide, too_large, utf8_size
from themis_desktop.core.guides.structure import Fences, lines_of

_SAFE_SCHEMES = ("http://", "https://", "mailto:", "#", "copy:")
_MARKER = re.compile(r'<div class="highlight">\x02(\d+)\x03</div>')
_CONTROL = re.compile(r"[\x00-\x20\x7f]+")
_CHECKBOX = re.compile(r"^([ \t]*(?:[-*+]|\d+[.)])[ \t]+)\[([ xX])\](?:[ \t]+|$)", re.M)
_HIGHLIGHT_LIMIT = 256 << 10  # a bigger code block is shown without colours
_TABLE = re.compile(r"<table>")
_HEADING_LINE = re.compile(r"^#{1,6}\s")

PAGE_STYLE = """
body { font-family: 'DejaVu Sans', sans-serif; color: #1d2733; }
h1 { font-size: 20pt; } h2 { font-size: 15pt; margin-top: 18px; } h3 { font-size: 12pt; }
pre { background: #f3f5f8; padding: 6px; } code { font-family: 'DejaVu Sans Mono', monospace; }
table { border-collapse: collapse; } th { background: #eef2f6; }
.admonition { border-left: 4px solid #4c9aff; background: #eef4ff; padding: 4px 10px; }
.admonition.warning, .admonition.danger { border-color: #a4161a; background: #fdf0ef; }
a.copy { font-size: 8pt; color: #2a5db0; }
"""


@dataclass(frozen=True)
class TocEntry:
    level: int
    title: str
    anchor: str


@dataclass(frozen=True)
class Rendered:
    html: str  # the body fragment
    toc: tuple[TocEntry, ...] = ()
    code_blocks: tuple[str, ...] = field(default_factory=tuple)
    warning: str = ""  # why the guide is shown as plain text (or not at all), if it is

    def page(self, title: str) -> str:
        """A standalone HTML document."""
        return (
            f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{PAGE_STYLE}</style></head><body>{self.html}</body></html>"
        )


class _SafeLinks(Treeprocessor):
    """Drops links and images whose target is not http(s), mailto or an anchor."""

    def run(self, root: ET.Element) -> None:
        for element in root.iter():
            for attribute in ("href", "src"):
                value = element.get(attribute)
                if value is not None and _unsafe(attribute, value.strip().lower()):
                    element.set(attribute, "#")


def _unsafe(attribute: str, value: str) -> bool:
    """Links: http(s), mailto, anchors and plain relative paths. Images: none (a guide
    needs no remote pixels). Entities and control characters are decoded first, so
    `javascript&#58;` is seen for what a browser makes of it."""
    if attribute == "src":
        return True
    value = _CONTROL.sub("", html.unescape(value)).strip().lower()
    if value.startswith(_SAFE_SCHEMES):
        return False
    if value.startswith(("//", "/", "\\")):
        return True  # another host, or an absolute path on this one
    return ":" in value.split("/")[0]


class _Safety(Extension):
    def extendMarkdown(self, md: markdown.Markdown) -> None:
        md.preprocessors.deregister("html_block")  # raw HTML blocks become text
        md.inlinePatterns.deregister("html")  # inline tags too
        md.treeprocessors.register(_SafeLinks(md), "safe_links", 0)


@functools.lru_cache(maxsize=64)
def _lexer(language: str) -> Lexer:
    try:
        return get_lexer_by_name(language or "text")
    except ClassNotFound:
        return TextLexer()


class _BlockFormatter(HtmlFormatter):
    """Pygments' HTML of one code block, exactly as `pygments.highlight` writes it, without
    the generators it stacks around every line (a guide has hundreds of small blocks)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        sample = pygments.highlight("x\n", TextLexer(), self)  # plain text: no span
        cut = sample.index("x\n")
        self._head, self._tail = sample[:cut], sample[cut + 2 :]

    def block(self, source: str, lexer: Lexer) -> str:
        lines = self._format_lines(lexer.get_tokens(source))  # type: ignore[attr-defined]
        return self._head + "".join(line for _, line in lines) + self._tail


@functools.lru_cache(maxsize=1)
def _formatter() -> _BlockFormatter:
    # inline styles: QTextBrowser knows no Pygments CSS classes. Built once: its style
    # table is the costly part of highlighting many small blocks.
    return _BlockFormatter(noclasses=True, style="friendly", cssclass="highlight")


def _highlight(source: str, language: str, *_: object, **__: object) -> str:
    """superfences' formatter for every fence: Pygments with a cached lexer and formatter."""
    if len(source) > _HIGHLIGHT_LIMIT:
        return f'<div class="highlight"><pre>{html.escape(source)}</pre></div>'
    return _formatter().block(source, _lexer(language))


def _unique_slugs() -> Any:
    """A toc `slugify` that hands out unique ids itself (as toc's `unique` would), in
    linear time for any number of equal headings."""
    ids: set[str] = set()
    jumps: dict[str, str] = {}

    def slug(value: str, separator: str) -> str:
        return unique_id(slugify(value, separator), ids, jumps)

    return slug


_PLAIN_POSTPROCESSOR_CLASSES = {"RawHtmlPostprocessor", "AndSubstitutePostprocessor"}


def _inner_html(el: ET.Element, md: markdown.Markdown) -> str:
    """toc's `render_inner_html` (a heading's HTML for its name), without running the
    post-processors when they have nothing to replace: raw_html builds a table of every
    stashed block (each code block of a guide) on each run, i.e. once per heading. The
    same text either way (tests/core/guides/test_render_highlight.py)."""
    text = toc_extension.unescape(md.serializer(el))
    text = text[text.index(">") + 1 : text.rindex("<")].strip()
    plain = {pp.__class__.__name__ for pp in md.postprocessors} <= _PLAIN_POSTPROCESSOR_CLASSES
    if plain and "\x02" not in text and "\x03" not in text:
        return text
    return toc_extension.run_postprocessors(text, md)


# patched on purpose (toc has no hook for it); the same result for every converter
toc_inner_html = getattr(toc_extension.render_inner_html, "original", None) or (
    toc_extension.render_inner_html
)
_inner_html.original = toc_inner_html  # type: ignore[attr-defined]
toc_extension.render_inner_html = _inner_html


# what a text must contain for each of markdown's inline patterns to match anywhere in it
# (any one of them); a pattern not named here is always tried
_INLINE_TRIGGERS: dict[str, tuple[str, ...]] = {
    "backtick": ("`",),
    "escape": ("\\",),
    "reference": ("[",),
    "link": ("[",),
    "image_link": ("![",),
    "image_reference": ("![",),
    "short_reference": ("[",),
    "short_image_ref": ("![",),
    "autolink": ("<",),
    "automail": ("<",),
    "linebreak": ("  \n",),
    "entity": ("&",),
    "em_strong": ("*", "_"),
    "em_strong2": ("_",),
    "strong": ("*", "_"),
    "emphasis": ("*", "_"),
    "not_strong": ("*", "_"),
}


class _QuickInline(InlineProcessor):
    """markdown's inline processor, which tries every inline pattern's regex on every text
    of the tree, in turn: this one first skips a pattern whose trigger (`_INLINE_TRIGGERS`)
    the text does not contain, a plain substring test. The same tree either way
    (tests/core/guides/test_render_speed.py); a fifth of a large guide's conversion.
    Overrides the name-mangled `__applyPattern` on purpose (markdown has no hook for it)."""

    def __init__(self, md: markdown.Markdown) -> None:
        super().__init__(md)
        registry = md.inlinePatterns
        # a plain list in priority order: the registry sorts itself on every index
        self.inlinePatterns = list(registry)  # type: ignore[assignment]
        self._triggers: list[tuple[str, ...] | None] = [None] * len(registry)
        for name, triggers in _INLINE_TRIGGERS.items():
            if name in registry:
                self._triggers[registry.get_index_for_name(name)] = triggers

    def _InlineProcessor__applyPattern(
        self, pattern: Any, data: str, patternIndex: int, startIndex: int = 0
    ) -> tuple[str, bool, int]:
        triggers = self._triggers[patternIndex]
        if triggers is not None and not any(t in data for t in triggers):
            if patternIndex == 0:
                pattern.getCompiledRegExp()  # once per text: `guide_limits.guard` checks here
            return data, False, 0
        return super()._InlineProcessor__applyPattern(  # type: ignore[misc]
            pattern, data, patternIndex, startIndex
        )


def _markdown(blocks: list[tuple[str, str]]) -> markdown.Markdown:
    """A converter whose fence formatter also collects each block's source, in the order
    the blocks appear: what a Copy button copies is exactly what its block shows."""

    def highlight_and_keep(source: str, language: str, *args: object, **kwargs: object) -> str:
        # a short marker now, the highlighted HTML after the conversion: markdown's raw-HTML
        # handling would otherwise scan every big inline-styled block again
        blocks.append((source.rstrip("\n"), language))
        return f'<div class="highlight">\x02{len(blocks) - 1}\x03</div>'

    fences = [{"name": "*", "class": "highlight", "format": highlight_and_keep}]
    md = markdown.Markdown(
        extensions=["tables", "pymdownx.superfences", "toc", "admonition", "sane_lists", _Safety()],
        extension_configs={
            "pymdownx.superfences": {"custom_fences": fences},
            # no [TOC] marker to look for: the view shows `toc_tokens` in its own list
            "toc": {"permalink": False, "slugify": _unique_slugs(), "marker": ""},
        },
        output_format="html",
    )
    # nor the HTML table of contents toc builds, serializes and post-processes at the end
    # (a tenth of a large guide's rendering): only its tokens are used. Patched on this
    # converter's own processor on purpose (toc has no option for it)
    toc = md.treeprocessors["toc"]
    toc.build_toc_div = lambda _tokens: ET.Element("div")  # type: ignore[attr-defined]
    # line breaks between block tags for a human reader of the HTML: QTextBrowser needs none
    md.treeprocessors.deregister("prettify")
    md.treeprocessors.register(_QuickInline(md), "inline", 20)  # replaces markdown's own
    return md


def _separate_blocks(text: str) -> str:
    """Blank lines around headings and after code fences, as CommonMark would read them:
    python-markdown otherwise lets a table or list swallow the heading that follows."""
    lines, fences = lines_of(text), Fences()
    out: list[str] = []
    for i, line in enumerate(lines):
        # only a line with `` or ~~ can open a fence: the others skip the regex
        state = fences.step(line) if fences.open or "``" in line or "~~" in line else None
        heading = state is None and line[:1] == "#" and _HEADING_LINE.match(line) is not None
        if heading and out and out[-1].strip():
            out.append("")
        out.append(line)
        if (heading or state == "close") and i + 1 < len(lines) and lines[i + 1].strip():
            out.append("")
    return "\n".join(out)


def render_markdown(
    text: str, seconds: float | None = None, cancelled: threading.Event | None = None
) -> Rendered:
    """Markdown → safe HTML with a table of contents and copy links for code blocks; plain
    text under a warning when the text is pathological or takes longer than `seconds`
    (default: `guide_limits.seconds_for` its size). Raises `RenderCancelled` soon after
    `cancelled` is set."""
    size = utf8_size(text)
    if size > MAX_GUIDE_BYTES:
        return refused(too_large(size))
    problem = guide_limits.pathology(text)
    if problem:
        return plain(text, f"This guide is shown as plain text: {problem}.")
    deadline = guide_limits.Deadline(seconds or guide_limits.seconds_for(size), cancelled)
    blocks: list[tuple[str, str]] = []
    md = _markdown(blocks)
    guide_limits.guard(md, deadline)
    try:
        rendered = _render(md, _separate_blocks(text), blocks, deadline)
    except guide_limits.RenderTimeout as exc:
        return plain(text, f"This guide is shown as plain text: {exc}.")
    except RecursionError:  # a nesting `pathology` does not foresee
        return plain(text, "This guide is shown as plain text: it is nested too deeply.")
    depth = guide_limits.emphasis_depth(rendered.html)
    if depth > guide_limits.MAX_NESTING:
        return plain(
            text,
            f"This guide is shown as plain text: emphasis nested {depth} deep "
            f"(more than {guide_limits.MAX_NESTING}).",
        )
    return rendered


def plain(text: str, warning: str) -> Rendered:
    """`text` as escaped preformatted text under `warning` (linear, always safe)."""
    return Rendered(f"{_warning_html(warning)}<pre>{html.escape(text)}</pre>", warning=warning)


def refused(reason: str) -> Rendered:
    """No guide at all, only why."""
    warning = f"This guide is not shown: {reason}."
    return Rendered(_warning_html(warning), warning=warning)


def _warning_html(warning: str) -> str:
    return f'<div class="admonition warning"><p>{html.escape(warning)}</p></div>'


def _render(
    md: markdown.Markdown,
    text: str,
    blocks: list[tuple[str, str]],
    deadline: guide_limits.Deadline,
) -> Rendered:
    text = _CHECKBOX.sub(lambda m: m[1] + ("☑ " if m[2].strip() else "☐ "), text)
    body = md.convert(text)
    deadline.check()
    body = _TABLE.sub('<table border="1" cellspacing="0" cellpadding="5">', body)

    highlighted: dict[tuple[str, str], str] = {}  # a block repeated is highlighted once

    def code_block(match: re.Match[str]) -> str:
        deadline.check()
        index = int(match[1])
        block = blocks[index]
        html_ = highlighted.get(block)
        if html_ is None:
            html_ = highlighted[block] = _highlight(block[0] + "\n", block[1])
        return f'<p><a class="copy" href="copy:{index}">⧉ Copy</a></p>' + html_

    body = _MARKER.sub(code_block, body)
    toc = tuple(_flatten(md.toc_tokens))  # type: ignore[attr-defined]
    return Rendered(body, toc, tuple(source for source, _ in blocks))


def render_guide(guide: Guide, cancelled: threading.Event | None = None) -> Rendered:
    """The guide rendered, or why it is not (a guide refused when it was loaded)."""
    if guide.refused:
        return refused(guide.refused)
    return render_markdown(guide.text, cancelled=cancelled)


def _flatten(tokens: list[dict]) -> list[TocEntry]:
    entries = []
    for token in tokens:
        entries.append(TocEntry(token["level"], html.unescape(token["name"]), token["id"]))
        entries += _flatten(token.get("children", []))
    return entries
