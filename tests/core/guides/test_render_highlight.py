"""The block formatter writes exactly what `pygments.highlight` writes, for every code block
of the bundled guides, in whichever language they name."""

from __future__ import annotations

from pathlib import Path

import pygments

from themis_desktop.core.guides import render

GUIDES = Path(__file__).resolve().parents[3] / "guides"


def test_block_formatter_matches_pygments_for_every_bundled_block() -> None:
    blocks: list[tuple[str, str]] = []
    for guide in sorted(GUIDES.glob("*.md")):
        render._markdown(blocks).convert(guide.read_text(encoding="utf-8"))
    blocks += [("", "bash"), ("a < b && 'c' \"d\"\n\n\ttab", "python"), ("x", "no-such-language")]
    assert len(blocks) > 20
    formatter = render._formatter()
    for source, language in blocks:
        lexer = render._lexer(language)
        assert formatter.block(source + "\n", lexer) == pygments.highlight(
            source + "\n", lexer, formatter
        )


def test_heading_names_are_toc_s_own_for_every_heading() -> None:
    """The cheaper heading name gives what toc's own `render_inner_html` gives."""
    texts = [guide.read_text(encoding="utf-8") for guide in sorted(GUIDES.glob("*.md"))]
    texts.append(
        "# A & B <c> `code & <x>` *em* **strong**\n\n## [link](#a) &amp; &copy; \\\\*\n\n"
        "### <b>raw</b> and ~~x~~ 'q' \"d\"\n\n```bash\necho hi\n```\n"
    )
    checked = 0
    for text in texts:
        md = render._markdown([])
        md.convert(text)  # fills the converter's stash, as before toc runs
        tree = md.parser.parseDocument(text.split("\n")).getroot()
        for treeprocessor in md.treeprocessors:
            if treeprocessor.__class__.__name__ == "TocTreeprocessor":
                break
            new = treeprocessor.run(tree)
            tree = new if new is not None else tree
        for element in tree.iter():
            if isinstance(element.tag, str) and element.tag in ("h1", "h2", "h3", "h4"):
                assert render._inner_html(element, md) == render.toc_inner_html(element, md)
                checked += 1
    assert checked > 50
