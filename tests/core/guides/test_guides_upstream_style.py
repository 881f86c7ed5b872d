"""Guides written the way ThemisDB's own docs/migration writes them work as checklists.

The fixture guides in `upstream_style/` (our own words, upstream's constructs) have no front
matter, numbered phase headings with other names, commented commands in code blocks,
alternatives as `Option A/B/C`, a top-level rollback section, and sections named with
extra words. Each construct yields the steps it should, and the validator says what it
expected and what it found instead of reporting false errors.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from themis_desktop.core.guides.library import load_folder, load_guide, parse_guide
from themis_desktop.core.guides.plan import combine
from themis_desktop.core.guides.structure import plain_text
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade

FOLDER = Path(__file__).parents[1] / "upstream_style"


def _guide(body: str, sections: str = ""):
    """A guide of upstream's shape around `body` (the Step-by-Step section's content)."""
    text = (
        "# Migration Guide: v1.7.x → v1.8.0\n\n## Overview\nText.\n## Breaking Changes\nNone.\n"
        "## New Features\nSome.\n## Deprecated Features\nNone.\n"
        f"## Step-by-Step Migration\n\n{textwrap.dedent(body)}\n"
        + (sections or "## Code Changes Required\nNone.\n## Testing\nStaging.\n## Support\nAsk.\n")
    )
    return parse_guide(text)


def _messages(guide, severity=None):
    return [f.message for f in guide.findings if severity in (None, f.severity)]


# -- the folder: every step in order, the alternatives as choices ------------------------


def test_a_folder_in_upstreams_style_yields_every_step_of_the_1_7_guide_in_order():
    guides = {g.path.name: g for g in load_folder(FOLDER)}
    assert set(guides) == {"v1.3-to-v1.4.md", "v1.7-to-v1.8.md"}  # README and index skipped
    guide = guides["v1.7-to-v1.8.md"]
    assert guide.hop == ("1.7", "1.8")  # from a title with "→" and ".x"
    assert [(s.phase, plain_text(s.text)) for s in guide.steps] == [
        ("pre-checks", "Record the running version"),
        ("pre-checks", "Confirm every node reports healthy"),
        ("pre-checks", "Take a full backup"),
        ("upgrade", "Drain open write streams (BC-2)"),
        ("upgrade", "Install 1.8 on each node: choose one of A, B, C"),
        ("upgrade", "See the redirect an old path gets"),
        ("upgrade", "Call the versioned path directly"),
        ("upgrade", "Delete storage.stream_writer.compression from config.yaml"),
        ("validation", "Check the reported version"),
        ("validation", "Compare the metrics with the baseline"),
        ("rollback", "Stop the 1.8 services."),
        ("rollback", "Restore the pre-upgrade backup."),
        ("rollback", "Reinstall the 1.7 packages."),
        ("rollback", "Check data integrity: read a few known keys."),
        ("rollback", "Resume traffic and write down what went wrong."),
    ]
    lines = [s.line for s in guide.steps]
    assert lines == sorted(lines)
    choice = guide.steps[4]
    assert [(o.key, o.label) for o in choice.options] == [
        ("A", "Package manager"),
        ("B", "Docker"),
        ("C", "Manual binary"),
    ]
    assert "sudo apt-get install themisdb=1.8.2" in choice.options[0].body
    assert "docker compose up -d" in choice.options[1].body
    assert "docker" not in choice.options[2].body
    # the Option A/B paragraphs of Breaking Changes are prose, not a step
    assert not any("base URLs" in o.label for s in guide.steps for o in s.options)
    assert len({s.id for s in guide.steps}) == len(guide.steps)


def test_the_1_3_guide_in_upstreams_style_yields_its_steps():
    guide = load_guide(FOLDER / "v1.3-to-v1.4.md")
    assert [(s.phase, s.text) for s in guide.steps] == [
        ("pre-checks", "Read the 1.4 changelog"),
        ("pre-checks", "Back up the database and its configuration"),
        ("pre-checks", "Rehearse the upgrade on a staging node"),
        ("backup", "Archive the data directory"),
        ("backup", "Copy the configuration aside"),
        ("upgrade", "Upgrade Steps: choose one of A, B"),
        ("validation", "Ask for the version"),
        ("validation", "Look for errors in the log"),
        ("validation", "Configuration Updates (Optional)"),
        ("rollback", "Stop the service"),
        ("rollback", "Put the 1.3 configuration back"),
        ("rollback", "Start the service"),
    ]
    assert guide.errors == 0
    assert _messages(guide) == ["no front matter (from, to, updated, status)"]
    config = guide.steps[8]  # the yaml block and the restart after it are one step
    assert "enabled: true" in config.body and "systemctl restart" in config.body


def test_a_combined_plan_carries_the_alternatives():
    guides = load_folder(FOLDER)
    combined = combine(plan_upgrade(load_catalogue(), "1.7.0", "1.8"), guides)
    choice = next(s for s in combined.steps if s.options)
    assert [o.key for o in choice.options] == ["A", "B", "C"]
    assert "    - Option B: Docker" in combined.markdown()


# -- each construct --------------------------------------------------------------------


def test_a_numbered_comment_names_a_step_that_carries_its_commands():
    guide = _guide(
        """\
        ### 3. Upgrade Steps

        ```bash
        # 1. Stop the server
        sudo systemctl stop themisdb
        sudo systemctl status themisdb --no-pager
        # Expected: inactive (dead)

        # 2. Install the new package
        # (the version pinned)
        sudo apt-get install themisdb=1.8.2 \\
          # not a comment: the line continues
        ```
        """
    )
    stop, install = guide.steps
    assert (stop.phase, stop.text, install.text) == (
        "upgrade",
        "Stop the server",
        "Install the new package",
    )
    assert stop.body.startswith("```bash\n# 1. Stop the server\nsudo systemctl stop")
    assert "# Expected: inactive (dead)" in stop.body and stop.body.endswith("```")
    assert "(the version pinned)" in install.body and "not a comment" in install.body


def test_commands_without_a_comment_are_a_step_named_after_their_heading():
    guide = _guide(
        """\
        ### 2. Flush the streams

        ```sh
        themisctl streams flush
        themisctl streams list   # should be empty
        ```

        Then, when it is empty:

        ```yaml
        storage: {stream_writer: {compression: zlib}}
        ```
        """
    )
    (step,) = guide.steps
    assert (step.phase, step.text) == ("pre-checks", "Flush the streams")
    assert "themisctl streams list" in step.body and "compression: zlib" in step.body


def test_other_languages_and_code_outside_the_phases_are_no_steps():
    guide = _guide(
        """\
        ### 1. Pre-Migration Checks

        ```python
        # not a shell comment: the whole block is one step
        client.get("/version")
        ```
        """,
        "## Code Changes Required\n\n```bash\n# Update the client\npip install x\n```\n"
        "## Testing\n\n```bash\n# Smoke test\ncurl /health\n```\n## Support\nAsk.\n",
    )
    assert [s.text for s in guide.steps] == ["Pre-Migration Checks"]


def test_alternatives_as_headings_or_paragraphs_become_one_step_with_a_choice():
    guide = _guide(
        """\
        ### 3. Upgrade Steps

        #### Option A: Package manager (recommended)

        ```bash
        sudo apt-get install themisdb=1.8.2
        ```

        ##### Notes for RHEL

        Use dnf.

        #### Option B: Docker

        ```bash
        docker pull themisdb/themisdb:1.8.2
        ```

        ### 4. Post-Migration Validation

        **Option A (quick):** ask `GET /version`.

        **Option B:** run the integration suite.

        ### 5. Rollback Procedure

        - [ ] Restore the backup.
        """
    )
    install, validate, restore = guide.steps
    assert install.text == "Upgrade Steps: choose one of A, B"
    assert [(o.key, o.label) for o in install.options] == [
        ("A", "Package manager (recommended)"),
        ("B", "Docker"),
    ]
    assert "Use dnf." in install.options[0].body and "dnf" not in install.options[1].body
    assert (validate.phase, [o.label for o in validate.options]) == (
        "validation",
        ["(quick): ask `GET /version`", "run the integration suite"],
    )
    assert (restore.phase, restore.options) == ("rollback", ())


def test_a_top_level_rollback_section_holds_the_rollback_steps():
    guide = _guide(
        """\
        ### 1. Pre-Migration Checks
        - [ ] Read the notes.
        ### 2. Backup Procedures
        - [ ] Back up.
        ### 3. Upgrade Steps
        - [ ] Upgrade.
        ### 4. Post-Migration Validation
        - [ ] Validate.
        """,
        "## Code Changes Required\nNone.\n## Testing\nStaging.\n"
        "## Rollback Procedure\n\nIf it fails:\n\n1. **Stop the services.**\n"
        "2. **Restore the backup.**\n\n### Afterwards\n\n```bash\n# Verify\ncurl /version\n```\n"
        "## Support\nAsk.\n",
    )
    rollback = [s.text for s in guide.steps if s.phase == "rollback"]
    assert rollback == ["**Stop the services.**", "**Restore the backup.**", "Verify"]
    assert _messages(guide) == ["no front matter (from, to, updated, status)"]


def test_phase_headings_with_other_numbering_and_words_are_recognised():
    guide = _guide(
        """\
        ### Step 1: Pre-upgrade checks
        - [ ] Check.
        ### 2) Back up the node
        - [ ] Back up.
        ### Phase 3 - Deploy the release
        - [ ] Deploy.
        ### 4. Drain clients
        - [ ] Drain.
        ### 5. Verification after the upgrade
        - [ ] Verify.
        ### 6. Rolling back
        - [ ] Roll back.
        """
    )
    assert [s.phase for s in guide.steps] == [
        "pre-checks",
        "backup",
        "upgrade",
        "upgrade",
        "validation",
        "rollback",
    ]
    assert _messages(guide) == ["no front matter (from, to, updated, status)"]


# -- the validator: tolerant, and saying what it expected and found ----------------------


def test_sections_named_with_extra_words_are_recognised():
    guide = parse_guide(
        (FOLDER / "v1.3-to-v1.4.md")
        .read_text()
        .replace("## New API Features", "## New Features (Action Required or Recommended)")
        .replace("## Support", "## Getting Help")
        .replace("## Testing", "## 7. Testing the migration")
    )
    assert guide.errors == 0, _messages(guide)


def test_a_missing_section_says_what_was_expected_where_and_what_was_found():
    guide = load_guide(FOLDER / "v1.7-to-v1.8.md")
    errors = _messages(guide, "error")
    assert errors == [
        "missing section '## Deprecated Features': expected a heading such as "
        "'## Deprecated Features' after '## New Features (Some Need Action)' and before "
        "'## Step-by-Step Migration', found no other section there",
        "missing section '## Code Changes Required': expected a heading such as "
        "'## Code Changes Required' after '## Step-by-Step Migration' and before "
        "'## Getting Help', found '## Rollback Procedure', '## Configuration Diff (v1.7 → v1.8)'",
        "missing section '## Testing': expected a heading such as '## Testing' after "
        "'## Step-by-Step Migration' and before '## Getting Help', found '## Rollback "
        "Procedure', '## Configuration Diff (v1.7 → v1.8)'",
    ]
    # no false errors: the New Features heading has extra words, rollback is top-level,
    # the backup is a pre-migration step, "Getting Help" is the support section
    (backup,) = [m for m in _messages(guide, "warning") if "Backup procedures" in m]
    assert "found it as the step 'Take a full backup' (line 50)" in backup


def test_out_of_order_missing_phase_and_title_findings_name_what_they_found():
    guide = _guide(
        "### 1. Pre-Migration Checks\n- [ ] Check.\n### 3. Upgrade Steps\n- [ ] Go.\n"
        "### 4. Post-Migration Validation\n- [ ] Look.\n",
        "## Testing\nStaging.\n## Code Changes Required\nNone.\n## Support\nAsk.\n",
    )
    messages = _messages(guide)
    assert (
        "section '## Testing' is out of order: expected after '## Code Changes Required', "
        "found '## Testing' before it"
    ) in messages
    (rollback,) = [m for m in messages if "'Rollback procedure'" in m]
    assert rollback == (
        "Step-by-Step lacks the phase 'Rollback procedure': expected a heading such as "
        "'### 5. Rollback procedure', found '1. Pre-Migration Checks', '3. Upgrade Steps', "
        "'4. Post-Migration Validation'"
    )
    untitled = parse_guide("# Upgrading to 1.8\n")
    assert "found 'Upgrading to 1.8'" in " ".join(_messages(untitled))
