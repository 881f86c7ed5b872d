"""Known issues in the catalogue: loaded and checked, found per version, said in words, and
sorted into what matters for an upgrade hop and for its rollback."""

from __future__ import annotations

import pytest

from themis_desktop.core.versions.catalogue_file import CatalogueError, load_catalogue
from themis_desktop.core.versions.known_issues import (
    describe,
    hop_issues,
    hop_warnings,
    known_issues,
    rollback_warnings,
)
from themis_desktop.core.versions.releases import VersionError

ERA_A_ISSUES = [
    "cannot-reopen-data-dir",
    "restore-closes-database",
    "hangs-on-sigterm",
    "ignores-unknown-arguments",
]


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def test_the_1_0_line_carries_the_issues_seen_on_the_real_build(catalogue):
    issues = known_issues(catalogue, "1.0.1")
    assert [i.id for i in issues] == ERA_A_ISSUES
    assert known_issues(catalogue, "1.0.0") == issues == known_issues(catalogue, "1.0")
    assert known_issues(catalogue, "1.0.x") == issues
    assert known_issues(catalogue, catalogue.resolve("1.0.0")) == issues
    for issue in issues:
        assert "e975014" in issue.evidence and issue.workaround and issue.source
        assert all(path.startswith(("src/", "include/")) for path in issue.source)
    reopen = issues[0]
    assert "Column families not opened: prompt_templates" in reopen.evidence
    assert reopen.affects == ("restart", "restore")
    assert "src/storage/rocksdb_wrapper.cpp" in reopen.source


def test_issues_are_filtered_by_what_they_affect(catalogue):
    assert [i.id for i in known_issues(catalogue, "1.0.1", "stop")] == ["hangs-on-sigterm"]
    assert [i.id for i in known_issues(catalogue, "1.0.1", "restore")] == ERA_A_ISSUES[:2]
    assert known_issues(catalogue, "1.0.1", "backup") == []


def test_other_and_uncatalogued_versions_have_none_and_a_malformed_one_is_an_error(catalogue):
    assert known_issues(catalogue, "1.7.0") == []
    assert known_issues(catalogue, "1.0.9") != []  # an unlisted patch of the line: the line's
    assert known_issues(catalogue, "9.9.0") == []
    with pytest.raises(VersionError):
        known_issues(catalogue, "banana")


def test_describe_says_what_it_means_and_what_to_do(catalogue):
    issue = known_issues(catalogue, "1.0.1", "stop")[0]
    text = describe(issue)
    assert "\n" not in text
    assert text.startswith(issue.summary)
    assert "stopping the node may need a kill after a timeout" in text
    assert text.endswith(f"What to do: {issue.workaround}")


def test_a_hop_from_1_0_warns_about_stopping_it_and_rolling_back_to_it(catalogue):
    phases = [(phase, i.id) for phase, i in hop_issues(catalogue, "1.0.1", "1.1.0")]
    assert phases == [
        ("upgrade", "hangs-on-sigterm"),
        ("upgrade", "ignores-unknown-arguments"),
        ("rollback", "cannot-reopen-data-dir"),
        ("rollback", "restore-closes-database"),
    ]
    warnings = hop_warnings(catalogue, "1.0.1", "1.1.0")
    assert warnings[0].startswith("Upgrade 1.0.1 → 1.1.0, stopping 1.0.1: known issue of 1.0.1:")
    assert warnings[2].startswith("Rolling back 1.1.0 → 1.0.1: known issue of 1.0.1:")
    assert "prompt_templates" in warnings[2]
    assert hop_warnings(catalogue, "1.7.0", "1.8.0") == []
    assert hop_warnings(catalogue, "1.1.0", "1.2.0") == []  # 1.0's issues stay in 1.0


def test_rollback_warnings_name_the_issues_of_the_version_rolled_back_to(catalogue):
    warnings = rollback_warnings(catalogue, "1.0.0")
    assert len(warnings) == 2 and all(w.startswith("Rolling back to 1.0.0:") for w in warnings)
    assert rollback_warnings(catalogue, "1.7.0") == []


USER_RELEASE_ISSUE = """lines:
  - line: "3.0"
    known_issues:
      - id: slow-start
        summary: Starts slowly.
        affects: restart
        evidence: Seen on 3.0.0.
        workaround: Wait.
    releases:
      - version: 3.0.0
        known_issues:
          - {id: no-backup, summary: Backups fail., affects: [backup], evidence: Seen.,
             workaround: Copy files.}
          - {id: slow-start, summary: Starts very slowly., affects: [restart], evidence: Seen.,
             workaround: Wait longer.}
      - {version: 3.0.1}
"""


def test_a_user_catalogue_adds_line_and_release_issues(tmp_path):
    extra = tmp_path / "releases.yaml"
    extra.write_text(USER_RELEASE_ISSUE)
    catalogue = load_catalogue(extra)
    first = known_issues(catalogue, "3.0.0")
    assert [(i.id, i.summary) for i in first] == [
        ("slow-start", "Starts very slowly."),  # the release's own replaces the line's
        ("no-backup", "Backups fail."),
    ]
    assert [i.summary for i in known_issues(catalogue, "3.0.1")] == ["Starts slowly."]
    assert known_issues(catalogue, "3.0.1")[0].affects == ("restart",)


def _line_with(issue: str) -> str:
    return f'lines:\n  - line: "3.0"\n    known_issues:\n      - {issue}\n' + (
        "    releases:\n      - {version: 3.0.0}\n"
    )


GOOD = "id: x, summary: S., evidence: E., workaround: W."


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        (_line_with("{" + GOOD + ", affects: [reboot]}"), 4, "'affects' must list some of"),
        (_line_with("{" + GOOD + "}"), 4, "'affects' must list some of restart, restore"),
        (
            _line_with("{id: x, summary: S., affects: [stop], evidence: E.}"),
            4,
            "known issue x: 'workaround' is required",
        ),
        (
            _line_with(
                "{id: Not An Id, summary: S., affects: [stop], evidence: E., workaround: W.}"
            ),
            4,
            "needs an 'id' of lower-case letters",
        ),
        (_line_with("{" + GOOD + ", affects: [stop], fix: later}"), 4, "unknown field 'fix'"),
        (_line_with("just a sentence"), 2, "each entry of 'known_issues' must be a mapping"),
        (
            'lines:\n  - line: "3.0"\n    known_issues: oops\n    releases:\n'
            "      - {version: 3.0.0}\n",
            2,
            "'known_issues' must be a list",
        ),
        (
            'lines:\n  - line: "3.0"\n    releases:\n      - version: 3.0.0\n'
            "        known_issues:\n"
            "          - {" + GOOD + ", affects: [stop]}\n"
            "          - {" + GOOD + ", affects: [flags]}\n",
            4,
            "known issue 'x' is listed twice",
        ),
        (
            _line_with("{" + GOOD.replace("S.", "'" + "a" * 2001 + "'") + ", affects: [stop]}"),
            4,
            "'summary' is over 2000 characters",
        ),
    ],
)
def test_a_malformed_known_issue_is_rejected_with_file_line_and_reason(
    tmp_path, text, line, reason
):
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(bad)
    assert reason in caught.value.reason
    assert caught.value.line == line
    assert str(caught.value).startswith(f"{bad}:{line}: ")
