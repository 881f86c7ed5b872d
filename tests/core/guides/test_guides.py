"""Guides: front matter, template validation (each rule), steps with stable ids, safe rendering."""

from __future__ import annotations

import textwrap

import pytest

from themis_desktop.core.guides.library import GuideError, load_guide, parse_guide
from themis_desktop.core.guides.render import render_markdown
from themis_desktop.core.guides.structure import PHASES

GOOD = textwrap.dedent(
    """\
    ---
    from: "1.7"
    to: "1.8"
    updated: 2026-11-26
    status: complete
    ---
    # Migration Guide: v1.7 to v1.8

    ## Overview
    Read [the rollback procedure](#5-rollback-procedure) first.
    ## Breaking Changes
    | Change | Impact |
    |---|---|
    | 301 to /v1/ | clients follow redirects |
    ## New Features
    SSI.
    ## Deprecated Features
    None.
    ## Step-by-Step Migration
    ### 1. Pre-Migration Checks
    - [ ] Check that every node answers `GET /health/ready`.
    - [ ] Read the release notes.
    ### 2. Backup Procedures
    - [ ] Take a verified backup of data and configuration on every node.

        ```bash
        themis-desktop backup --all
        ```
    ### 3. Upgrade Steps
    - [ ] Stop the service.

        ```bash
        systemctl stop themisdb
        ```
    - [ ] Install 1.8.2.
    ### 4. Post-Migration Validation
    - [ ] Compare metrics before and after.
    ### 5. Rollback Procedure
    - [ ] Restore the pre-upgrade backup.
    ## Code Changes Required
    Follow redirects.
    ## Testing
    Staging first.
    ## Support
    Ask.
    """
)


def findings(text):
    return [(f.severity, f.message) for f in parse_guide(text).findings]


def test_a_guide_that_follows_the_template_has_no_findings():
    guide = parse_guide(GOOD)
    assert guide.findings == ()
    assert guide.hop == ("1.7", "1.8")
    assert guide.status == "complete"
    assert guide.title == "Migration Guide: v1.7 to v1.8"


def test_steps_are_grouped_by_phase_with_their_code():
    steps = parse_guide(GOOD).steps
    assert [s.phase for s in steps] == [
        "pre-checks",
        "pre-checks",
        "backup",
        "upgrade",
        "upgrade",
        "validation",
        "rollback",
    ]
    stop = steps[3]
    assert stop.text == "Stop the service."
    assert "systemctl stop themisdb" in stop.body
    assert steps[4].text == "Install 1.8.2."
    assert stop.line == GOOD.splitlines().index("- [ ] Stop the service.") + 1


def test_step_ids_survive_edits_of_unrelated_text():
    before = {s.text: s.id for s in parse_guide(GOOD).steps}
    edited = GOOD.replace("SSI.", "SSI, SAGA and Wire Protocol V2.\n\nMore text.").replace(
        "- [ ] Read the release notes.\n", "- [ ] Read the release notes.\n- [ ] A new check.\n"
    )
    after = {s.text: s.id for s in parse_guide(edited).steps}
    assert all(after[text] == ident for text, ident in before.items())
    assert len(set(after.values())) == len(after)


def test_an_explicit_step_id_is_kept():
    text = GOOD.replace("- [ ] Install 1.8.2.", "- [ ] Install 1.8.2. {#install}")
    step = next(s for s in parse_guide(text).steps if s.phase == "upgrade" and "Install" in s.text)
    assert (step.id, step.text) == ("install", "Install 1.8.2.")


@pytest.mark.parametrize(
    ("edit", "severity", "message"),
    [
        (
            lambda t: t.replace("## Testing\nStaging first.\n", ""),
            "error",
            "missing section '## Testing'",
        ),
        (
            lambda t: t.replace("## New Features\nSSI.\n", "").replace(
                "## Support", "## New Features\nSSI.\n## Support"
            ),
            "error",
            "out of order",
        ),
        (
            lambda t: t.split("### 1.")[0] + "## Code Changes Required\n## Testing\n## Support\n",
            "error",
            "no checklist steps",
        ),
        (
            lambda t: t.replace(
                "### 5. Rollback Procedure\n- [ ] Restore the pre-upgrade backup.\n", ""
            ),
            "error",
            "lacks the phase 'Rollback procedure'",
        ),
        (
            lambda t: t.replace("- [ ] Compare metrics before and after.\n", "Just text.\n"),
            "warning",
            "phase 'Post-migration validation' has no steps",
        ),
        (
            lambda t: t.replace("(#5-rollback-procedure)", "(#rollback)"),
            "error",
            "link to '#rollback'",
        ),
        (
            lambda t: t.replace("```bash\n    systemctl", "```\n    systemctl"),
            "warning",
            "code block without a language",
        ),
        (
            lambda t: t.replace("---\nfrom", "---\nfrom: [\nx"),
            "error",
            "front matter is not valid YAML",
        ),
        (lambda t: t.split("---\n", 2)[2], "warning", "no front matter"),
        (lambda t: t.replace("status: complete", "status: final"), "warning", "status should be"),
        (
            lambda t: t.replace("# Migration Guide: v1.7 to v1.8", "# Upgrading"),
            "warning",
            "title should read",
        ),
        (lambda t: t.replace("v1.7 to v1.8", "v1.6 to v1.8"), "warning", "different versions"),
        (lambda t: t.replace("SSI.", "SSI <script>alert(1)</script>"), "warning", "raw HTML"),
    ],
)
def test_each_template_rule_is_a_finding_with_a_line(edit, severity, message):
    guide = parse_guide(edit(GOOD))
    matching = [f for f in guide.findings if message in f.message]
    assert matching, [str(f) for f in guide.findings]
    assert matching[0].severity == severity
    assert matching[0].line >= 1


def test_finding_lines_point_at_the_offending_line():
    text = GOOD.replace("(#5-rollback-procedure)", "(#nowhere)")
    (finding,) = parse_guide(text).findings
    assert text.splitlines()[finding.line - 1].startswith("Read [the rollback procedure](#nowhere)")


def test_a_guide_that_ignores_the_template_still_loads_with_findings():
    guide = parse_guide("# Upstream notes\n\nSome text.\n\n```\ncode\n```\n")
    assert guide.steps == ()
    assert sum(f.severity == "error" for f in guide.findings) >= 8  # every section missing
    assert render_markdown(guide.text).html.startswith("<h1")


def test_an_unreadable_guide_is_a_guide_error(tmp_path):
    with pytest.raises(GuideError, match="cannot be read"):
        load_guide(tmp_path / "missing.md")


def test_rendering_drops_scripts_and_unsafe_links():
    html = render_markdown(
        "# T\n\n<script>alert('x')</script>\n\nText <img src=x onerror=alert(1)> "
        "[click](javascript:alert(1)) [ok](https://example.org) [here](#t)\n"
    ).html
    assert "<script" not in html and "<img" not in html
    assert "javascript:" not in html
    assert 'href="https://example.org"' in html and 'href="#t"' in html


def test_rendering_has_toc_tables_with_borders_highlighting_and_copy_links():
    rendered = render_markdown(parse_guide(GOOD).text)
    assert [e.title for e in rendered.toc][:3] == [
        "Migration Guide: v1.7 to v1.8",
        "Overview",
        "Breaking Changes",
    ]
    assert '<table border="1"' in rendered.html
    assert 'style="color' in rendered.html  # inline styles, no CSS classes needed
    assert rendered.code_blocks == ("themis-desktop backup --all", "systemctl stop themisdb")
    assert 'href="copy:1"' in rendered.html
    assert "☐ Stop the service." in rendered.html
    # list items after a code block stay items
    assert rendered.html.count("<li>") == len(parse_guide(GOOD).steps)


def test_phase_order_is_the_templates():
    assert PHASES == ("pre-checks", "backup", "upgrade", "validation", "rollback")


def test_combined_guide_merges_duplicates_and_names_missing_hops():
    from themis_desktop.core.guides.plan import combine
    from themis_desktop.core.versions.catalogue_file import load_catalogue
    from themis_desktop.core.versions.upgrade_path import plan_upgrade

    later = (
        GOOD.replace('"1.7"', '"1.8"')
        .replace('"1.8"\nupdated', '"1.9"\nupdated')
        .replace("- [ ] Install 1.8.2.", "- [ ] Install 1.9.1.")
    )
    guides = [parse_guide(GOOD), parse_guide(later)]
    assert guides[1].hop == ("1.8", "1.9")
    catalogue = load_catalogue()

    sequential = combine(plan_upgrade(catalogue, "1.5.0", "1.9"), guides)
    assert sequential.missing == ("1.5→1.7",)
    backup = [s for s in sequential.steps if s.phase == "backup"]
    assert len(backup) == 1 and backup[0].hops == ("1.7→1.8", "1.8→1.9")
    installs = [s.text for s in sequential.steps if s.text.startswith("Install")]
    assert installs == ["Install 1.8.2.", "Install 1.9.1."]
    # hop by hop: the second hop's own step comes after the first hop's rollback step
    texts = [s.text for s in sequential.steps]
    assert texts.index("Install 1.9.1.") > texts.index("Restore the pre-upgrade backup.")

    skip = combine(plan_upgrade(catalogue, "1.7.0", "1.9", skip_level=True), guides)
    assert "not recommended" in skip.warnings[0]
    assert sum(w.startswith("Condition:") for w in skip.warnings) == 5
    phases = [s.phase for s in skip.steps]
    assert phases == sorted(phases, key=PHASES.index)  # one upgrade: phase by phase
    markdown = skip.markdown()
    assert markdown.startswith("# Upgrade 1.7.0 → 1.9.1 (skip-level)")
    assert "- [ ] Install 1.9.1. *(1.8→1.9)*" in markdown


def test_the_best_practices_document_has_before_during_after_steps():
    from themis_desktop.core.guides.library import load_folder

    general = next(g for g in load_folder() if g.meta.get("kind") == "best-practices")
    assert general.findings == () and general.hop is None
    assert {s.phase for s in general.steps} == {"pre-checks", "upgrade", "validation"}
    assert any("48 hours" in s.text for s in general.steps if s.phase == "validation")


def test_every_bundled_guide_follows_the_template():
    from themis_desktop.core.guides.library import load_folder

    guides = load_folder()
    assert len(guides) == 12
    assert [str(f) for g in guides for f in g.findings] == []
    complete = {g.hop for g in guides if g.status == "complete" and g.hop}
    assert complete == {("1.3", "1.4"), ("1.7", "1.8")}


def test_each_copy_link_copies_the_block_it_stands_above():
    text = (
        "# T\n\n    indented code, no copy link\n\n"
        "```bash\nsystemctl stop themisdb\n```\n\n"
        "````markdown\n```\nnested fence\n```\n````\n\n"
        "~~~text\nrm -rf /var/lib/themisdb.pre-restore-*\n```\n~~~\n"
    )
    rendered = render_markdown(text)
    assert rendered.code_blocks == (
        "systemctl stop themisdb",
        "```\nnested fence\n```",
        "rm -rf /var/lib/themisdb.pre-restore-*\n```",
    )
    html = rendered.html
    for index, block in enumerate(rendered.code_blocks):
        link = html.index(f'href="copy:{index}"')
        following = html.index('<div class="highlight"', link)
        first_word = block.split()[0].strip("`")
        assert first_word in html[following : following + 2000]


@pytest.mark.parametrize(
    "target",
    [
        "javascript&#58;alert(1)",
        "vbscript&colon;x",
        "java\tscript:alert(1)",
        "//evil.example/x",
        "/etc/passwd",
        "file:///etc/passwd",
    ],
)
def test_disguised_or_foreign_links_are_dropped(target):
    html = render_markdown(f"[a]({target})").html
    assert 'href="#"' in html and "alert" not in html.split('href="')[1].split('"')[0]


def test_images_are_not_loaded_at_all():
    assert 'src="#"' in render_markdown("![x](https://tracker.example/p.png)").html


def test_a_tilde_fence_holding_backticks_does_not_confuse_the_checks():
    text = GOOD.replace("SSI.", "SSI.\n\n~~~markdown\n```\nnot a fence end\n## Not a heading\n~~~")
    guide = parse_guide(text)
    assert guide.findings == ()
    assert len(guide.steps) == len(parse_guide(GOOD).steps)


def test_unusual_line_separators_do_not_shift_line_numbers():
    text = GOOD.replace("## Overview\n", "## Overview\nOne\u2028line, one\x0cline.\n").replace(
        "(#5-rollback-procedure)", "(#nowhere)"
    )
    (finding,) = parse_guide(text).findings
    assert text.split("\n")[finding.line - 1].startswith("Read [the rollback procedure]")
