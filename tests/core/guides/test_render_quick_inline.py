"""The quick inline processor (render._QuickInline) builds exactly the tree markdown's own
inline processor builds: the same HTML for the bundled guides, a large generated guide and
a text of every inline construct."""

from __future__ import annotations

import sys
from pathlib import Path

from markdown.treeprocessors import InlineProcessor

from themis_desktop.core.guides import render

ROOT = Path(__file__).resolve().parents[3]
GUIDES = ROOT / "guides"

INLINE_RICH = """\
# Title with `code`, *em*, **strong** & [a link](https://example.org "t")

A line with two trailing spaces⏎
then a break, an entity &copy; &#169; &#xA9; &amp; and a bare & ampersand.
Escapes: \\*not em\\*, \\`not code\\`, \\[not a link\\], \\\\ backslash.
Emphasis: *one*, _two_, **three**, __four__, ***five***, ___six___, * lone *, _ lone _,
snake_case_word, 2 * 3 * 4, **bold with *nested em* inside**, *em with `code` inside*.
Links: [inline](http://a.b/c?d=e&f=g), [ref][r1], [short][], [r1], ![img](x.png),
![ref img][r1], ![r1], <https://auto.link/path>, <admin@example.org>, <not a link>,
[link with *em* and `code`](#anchor), [unsafe](javascript:alert(1)), `` code with ` tick ``.
Raw <b>html</b> &lt;escaped&gt; and ~~strike~~ 'quotes' "double".

[r1]: https://example.org/ref "Ref title"
[short]: https://example.org/short

- list *item* with [link](#x) and `code`
- [ ] a box, [x] a ticked one⏎
  continued _after_ a break

| a `cell` | **b** |
|---|---|
| [c](#c) | d_e_f |

> quote with *em* & <https://q.example>

```bash
echo "*not em* [not link]"  # `not code`
```
""".replace("⏎", "  ")  # two trailing spaces: a line break


def _texts() -> list[str]:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from guides import generated_guide  # bench/guides.py
    finally:
        sys.path.remove(str(ROOT / "bench"))
    texts = [guide.read_text(encoding="utf-8") for guide in sorted(GUIDES.glob("*.md"))]
    return [*texts, generated_guide(60 * 1024), INLINE_RICH]


def test_quick_inline_renders_exactly_what_markdown_s_own_renders(monkeypatch) -> None:
    texts = _texts()
    quick = [render.render_markdown(text, seconds=60) for text in texts]
    monkeypatch.setattr(render, "_QuickInline", InlineProcessor)  # markdown's own, as built
    stock = [render.render_markdown(text, seconds=60) for text in texts]
    assert len(texts) > 5
    for ours, theirs in zip(quick, stock, strict=True):
        assert not ours.warning
        assert ours == theirs


def test_every_inline_pattern_of_the_converter_has_a_trigger() -> None:
    """A pattern without one is still tried on every text (correct, only slower)."""
    md = render._markdown([])
    assert isinstance(md.treeprocessors["inline"], render._QuickInline)
    names = {item.name for item in md.inlinePatterns._priority}
    assert {"em_strong", "link", "backtick", "entity", "linebreak"} <= names
    assert names <= set(render._INLINE_TRIGGERS), names - set(render._INLINE_TRIGGERS)
