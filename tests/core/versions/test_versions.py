"""Version parsing and the release catalogue, bundled and extended by a user file."""

from __future__ import annotations

import re

import pytest
from packaging.version import Version

from themis_desktop.core.versions.catalogue_file import CatalogueError, load_catalogue
from themis_desktop.core.versions.releases import VersionError, parse_version


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1.7", "1.7"), ("v1.7.3", "1.7.3"), ("1.8.0-rc1", "1.8.0rc1"), ("2.4.0-rc1", "2.4.0rc1")],
)
def test_versions_are_parsed_like_the_docs_write_them(text, expected):
    assert parse_version(text) == Version(expected)


@pytest.mark.parametrize("text", ["banana", "1.x", "", "1.8.0 beta"])
def test_malformed_versions_say_what_is_expected(text):
    with pytest.raises(VersionError, match="not a version number"):
        parse_version(text)


def test_bundled_catalogue_covers_every_documented_line(catalogue):
    names = [line.name for line in catalogue.lines]
    assert names == [
        "1.0",
        "1.1",
        "1.2",
        "1.3",
        "1.4",
        "1.5",
        "1.7",
        "1.8",
        "1.9",
        "1.10",
        "2.0",
        "2.4",
    ]
    assert all(line.releases and line.summary for line in catalogue.lines)
    assert [line.name for line in catalogue.lines if line.guide] == ["1.4", "1.8"]
    assert catalogue.line((1, 8)).reversibility == "restore-backup"
    assert any("301" in text for text in catalogue.line((1, 8)).breaking_changes)


def test_every_release_says_how_sure_its_date_is(catalogue):
    for release in catalogue.releases():
        assert release.date and release.confidence in ("high", "medium", "low"), release


def test_a_line_resolves_to_its_latest_stable_patch(catalogue):
    assert catalogue.resolve("1.8").text == "1.8.2"
    assert catalogue.resolve("1.8.x").text == "1.8.2"
    assert catalogue.resolve("1.4").text == "1.4.2"
    assert catalogue.resolve("latest").text == "2.4.0"


def test_every_bundled_release_records_its_status_and_upstream_source():
    import yaml

    from themis_desktop.core.util.resources import resource

    raw = yaml.safe_load(resource("releases.yaml").read_text())
    for line in raw["lines"]:
        for release in line["releases"]:
            assert release.get("status") in (
                "released",
                "planned",
                "withdrawn",
                "known-bad",
                "contested",
            ), release
            assert release.get("source"), release
            assert set(release) <= {
                "version",
                "date",
                "confidence",
                "summary",
                "status",
                "evidence",
                "source",
                "previous",
                "fixes",
            }, release  # an unquoted comma in {…} would add a key and cut the summary


def test_upstream_disagrees_whether_1_1_and_1_2_shipped(catalogue):
    for text, matrix_date in (("1.1.0", "2024-09-01"), ("1.2.0", "2025-03-10")):
        release = catalogue.resolve(text)
        assert release.status == "contested" and release.usable
        assert "planned" in release.evidence and "2025-12-17" in release.evidence
        assert matrix_date in release.evidence
        assert "docs/api/API_VERSIONING.md" in release.source
        assert "docs/de/releases/README.md" in release.source
    assert "CHANGELOG.md" in catalogue.resolve("1.2.0").source  # its 1.2.x → 1.3.x notes
    assert catalogue.line((1, 1)).contested and not catalogue.line((1, 3)).contested


def test_the_1_3_stop_is_the_release_carrying_all_fixes_not_the_highest_number(catalogue):
    line = catalogue.line((1, 3))
    docs = catalogue.resolve("1.3.5")
    assert docs.previous == "1.3.3" and not docs.fixes
    assert [r.text for r in line.missing_fixes(docs)] == ["1.3.4", "1.3.4-hotfix"]
    assert line.stop.text == "1.3.4-hotfix" and catalogue.resolve("1.3").text == "1.3.4-hotfix"
    (reason,) = line.stop_reasons()
    assert reason.startswith("1.3.5 is newer but documentation/build only, built on 1.3.3")
    hotfix = catalogue.resolve("1.3.4-hotfix")
    assert hotfix.date == "2026-01-04" and hotfix.version == Version("1.3.4.post0")
    assert catalogue.resolve("1.3.4").version < hotfix.version < docs.version


def test_1_3_1_and_1_3_2_say_what_they_brought(catalogue):
    attributions = catalogue.resolve("1.3.1")
    assert "attributions" in attributions.summary and not attributions.fixes
    assert "image-analysis" in catalogue.resolve("1.3.2").summary
    assert "Fixes after" not in catalogue.resolve("1.3.2").summary


def test_1_8_1_rc1_is_known_bad_and_never_a_stop(catalogue):
    rc1 = catalogue.resolve("1.8.1-rc1")
    assert rc1.status == "known-bad" and not rc1.usable
    assert "SIGSEGV" in rc1.evidence and "139" in rc1.evidence and "1.8.1-rc2" in rc1.evidence
    assert catalogue.resolve("1.8.1-rc2").date == "2026-04-08"
    reasons = catalogue.line((1, 8)).stop_reasons()
    assert any(r.startswith("1.8.1-rc1 is never a stop") for r in reasons)


def test_a_line_whose_only_release_is_known_bad_resolves_to_an_error(tmp_path):
    extra = tmp_path / "releases.yaml"
    extra.write_text(
        'lines:\n  - line: "3.0"\n    releases:\n'
        "      - {version: 3.0.0, status: known-bad, evidence: it eats data}\n"
    )
    catalogue = load_catalogue(extra)
    assert catalogue.line((3, 0)).stop is None
    with pytest.raises(VersionError, match=r"No 3\.0 release can be installed: 3\.0\.0 is never"):
        catalogue.resolve("3.0")


def test_pre_releases_are_known_by_their_upstream_spelling(catalogue):
    release = catalogue.resolve("1.8.1-rc1")
    assert release.known and release.prerelease and release.text == "1.8.1-rc1"


def test_an_unlisted_patch_of_a_known_line_is_accepted_as_unknown(catalogue):
    release = catalogue.resolve("v1.7.3")
    assert (release.text, release.known, release.line) == ("1.7.3", False, (1, 7))


def test_an_unknown_line_lists_the_nearest_known_releases(catalogue):
    with pytest.raises(VersionError) as caught:
        catalogue.resolve("1.6.1")
    assert "Nearest known releases: 1.4.2, 1.5.0, 1.7.0" in str(caught.value)
    with pytest.raises(
        VersionError, match=re.escape("Nearest known releases: 1.10.0, 2.0.0, 2.4.0")
    ):
        catalogue.resolve("3.1")


def test_a_user_catalogue_adds_releases_and_overrides_named_fields(tmp_path):
    extra = tmp_path / "releases.yaml"
    extra.write_text(
        "lines:\n"
        '  - line: "2.4"\n'
        "    releases:\n"
        "      - {version: 2.4.1, date: 2026-11-01, confidence: high, summary: Fixes.}\n"
        '  - line: "2.5"\n'
        "    summary: A newer line.\n"
        "    guide: true\n"
        "    releases:\n"
        "      - {version: 2.5.0, date: 2026-11-20, confidence: high, summary: New.}\n"
        '  - line: "1.8"\n'
        "    required: true\n"
    )
    catalogue = load_catalogue(extra)
    assert catalogue.resolve("2.4").text == "2.4.1"
    assert catalogue.newest.text == "2.5.0"
    line_18 = catalogue.line((1, 8))
    assert line_18.required and line_18.breaking_changes  # kept what the user did not name
    assert catalogue.line((2, 4)).summary  # the bundled summary stays
    assert catalogue.sources[-1] == extra


def test_the_user_catalogue_in_the_data_folder_is_picked_up(isolated_home):
    (isolated_home / "releases.yaml").write_text(
        'lines:\n  - line: "3.0"\n    releases:\n      - {version: 3.0.0, date: 2027-01}\n'
    )
    assert load_catalogue().newest.text == "3.0.0"


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("lines: [\n  {line: 1.9\n", 3, "not valid YAML"),
        ('lines:\n  - line: "x.y"\n    releases: []\n', 2, "'line' must be MAJOR.MINOR"),
        (
            'lines:\n  - line: "3.0"\n    releases:\n      - {version: 3.1.0}\n',
            4,
            "does not belong to line 3.0",
        ),
        (
            'lines:\n  - line: "3.0"\n    releases:\n      - {version: three}\n',
            4,
            "not a version number",
        ),
        (
            'lines:\n  - line: "3.0"\n    reversibility: maybe\n    releases:\n'
            "      - {version: 3.0.0}\n",
            2,
            "'reversibility' must be one of",
        ),
        (
            'lines:\n  - line: "3.0"\n    releases:\n      - {version: 3.0.0, confidence: sure}\n',
            4,
            "'confidence' must be one of",
        ),
        (
            'lines:\n  - line: "3.0"\n    breaking_changes: nope\n    releases:\n'
            "      - {version: 3.0.0}\n",
            2,
            "'breaking_changes' must be a list",
        ),
        ("format: 2\nlines: []\n", 1, "unknown catalogue format"),
        ("lines:\n  - line: 2.10\n    releases:\n      - {version: 2.10.0}\n", 2, "must be quoted"),
        (
            'lines:\n  - line: "3.0"\n    releases:\n      - {version: 3.0.0, status: rumoured}\n',
            4,
            "'status' must be one of released, planned, withdrawn, known-bad, contested",
        ),
        (
            'lines:\n  - line: "3.0"\n    releases:\n      - {version: 3.0.0, status: known-bad}\n',
            4,
            "a known-bad release needs its 'evidence'",
        ),
        (
            'lines:\n  - line: "3.0"\n    releases:\n      - {version: 3.0.1, previous: 3.0.0}\n',
            2,
            "'previous' 3.0.0 is not in line 3.0",
        ),
        (  # an unquoted comma in a flow mapping used to cut the summary silently
            'lines:\n  - line: "3.0"\n    releases:\n      - {version: 3.0.0, summary: A, B}\n',
            4,
            "unknown field 'B'",
        ),
    ],
)
def test_a_malformed_user_catalogue_is_rejected_with_line_and_reason(tmp_path, text, line, reason):
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    with pytest.raises(CatalogueError) as caught:
        load_catalogue(bad)
    assert caught.value.line == line
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"{bad}:{line}: ")
