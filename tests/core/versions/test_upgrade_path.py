"""Path planning: one minor line at a time, patch hops, skip-level plans, refusals."""

from __future__ import annotations

import pytest

from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.releases import VersionError
from themis_desktop.core.versions.upgrade_path import (
    SKIP_LEVEL_CONDITIONS,
    DowngradeError,
    RefusedStopError,
    plan_upgrade,
)


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def stops(plan):
    return [hop.target.text for hop in plan.hops]


def test_from_1_0_to_1_8_every_minor_line_once_at_its_latest_patch(catalogue):
    plan = plan_upgrade(catalogue, "1.0.0", "1.8.x")
    # upstream has no 1.6 release: the 1.7.0 notes name 1.5.0 as the previous version;
    # 1.3.5 is a docs/build release built on 1.3.3: 1.3.4-hotfix carries all fixes of 1.3
    assert stops(plan) == ["1.1.0", "1.2.0", "1.3.4-hotfix", "1.4.2", "1.5.0", "1.7.0", "1.8.2"]
    assert [hop.lines for hop in plan.hops] == [
        (n,) for n in ("1.1", "1.2", "1.3", "1.4", "1.5", "1.7", "1.8")
    ]
    assert all(hop.kind == "minor" for hop in plan.hops)
    assert plan.hops[0].source.text == "1.0.0"
    assert not plan.skip_level and not plan.warnings


def test_each_hop_carries_guide_status_breaking_changes_and_reversibility(catalogue):
    plan = plan_upgrade(catalogue, "1.0.0", "1.8")
    by_line = {hop.lines[0]: hop for hop in plan.hops}
    assert by_line["1.4"].guide == "available" and by_line["1.5"].guide == "missing"
    assert len(by_line["1.8"].breaking_changes) == 3
    assert by_line["1.8"].reversibility == "restore-backup"
    assert plan.point_of_no_return == 6  # the hop into 1.8: ZSTD WAL
    assert plan.guides_missing == 5
    assert plan.breaking_changes == sum(len(h.breaking_changes) for h in plan.hops)


def test_one_minor_hop(catalogue):
    plan = plan_upgrade(catalogue, "1.3.2", "1.4.x")
    assert [(h.source.text, h.target.text, h.guide) for h in plan.hops] == [
        ("1.3.2", "1.4.2", "available")
    ]


def test_a_patch_upgrade_is_one_hop_without_a_guide(catalogue):
    plan = plan_upgrade(catalogue, "1.8.0", "1.8.2")
    (hop,) = plan.hops
    assert (hop.kind, hop.guide, hop.reversibility) == ("patch", "not-needed", "binary-swap")


def test_a_current_version_missing_from_the_catalogue_is_planned_with_a_warning(catalogue):
    plan = plan_upgrade(catalogue, "1.7.3", "1.8")
    assert stops(plan) == ["1.8.2"]
    assert "1.7.3 is not in the release catalogue" in plan.warnings[0]


def test_a_current_version_of_an_unknown_line_is_refused_with_the_nearest(catalogue):
    with pytest.raises(
        VersionError, match=r"1\.6\.0 is not in the release catalogue.*1\.5\.0, 1\.7\.0"
    ):
        plan_upgrade(catalogue, "1.6.0", "1.8")


def test_a_downgrade_is_a_rollback(catalogue):
    with pytest.raises(DowngradeError, match="that is a rollback; see the rollback procedure"):
        plan_upgrade(catalogue, "1.8.2", "1.7")


def test_a_pre_release_target_is_the_last_stop_and_is_flagged(catalogue):
    plan = plan_upgrade(catalogue, "1.5.0", "1.8.1-rc2")
    assert stops(plan) == ["1.7.0", "1.8.1-rc2"]
    assert any("pre-release" in w for w in plan.warnings)


@pytest.mark.parametrize("source", ["1.5.0", "1.8.0"])
def test_a_known_bad_release_is_refused_as_a_target_with_the_reason(catalogue, source):
    with pytest.raises(RefusedStopError) as refused:
        plan_upgrade(catalogue, source, "1.8.1-rc1")
    message = str(refused.value)
    assert message.startswith("1.8.1-rc1 is known-bad and is never a stop: ")
    assert "SIGSEGV" in message and message.endswith("Plan to 1.8.1-rc2 or later instead.")


def test_running_a_known_bad_release_plans_away_from_it_with_a_warning(catalogue):
    plan = plan_upgrade(catalogue, "1.8.1-rc1", "1.8")
    assert stops(plan) == ["1.8.2"]
    assert any(w.startswith("You run 1.8.1-rc1, which is known-bad") for w in plan.warnings)


def test_contested_stops_carry_their_evidence_until_the_admin_confirms_them(catalogue):
    plan = plan_upgrade(catalogue, "1.0.0", "1.8")
    by_target = {hop.target.text: hop for hop in plan.hops}
    assert [h.target.text for h in plan.unconfirmed] == ["1.1.0", "1.2.0"]
    assert by_target["1.1.0"].status == "contested" and not by_target["1.1.0"].confirmed
    assert any("2024-09-01" in note for note in by_target["1.1.0"].notes)
    assert "--have 1.1.0 --have 1.2.0" in plan.confirm_hint()
    assert "--from 1.0.0 --to 1.3 --skip-level" in plan.confirm_hint()
    confirmed = plan_upgrade(catalogue, "1.0.0", "1.8", have=["1.1.0", "1.2"])
    assert not confirmed.unconfirmed and not confirmed.confirm_hint()
    assert confirmed.have == ("1.1.0", "1.2.0")
    assert [s["confirmed"] for s in confirmed.to_json()["stops"][:3]] == [True, True, False]


def test_a_confirmed_release_of_a_contested_line_becomes_its_stop(catalogue):
    plan = plan_upgrade(catalogue, "1.0.0", "1.3", have=["1.2.3"])
    assert stops(plan) == ["1.1.0", "1.2.3", "1.3.4-hotfix"]
    assert plan.hops[1].confirmed and plan.hops[1].source.text == "1.1.0"


def test_a_have_that_is_no_stop_is_reported_not_ignored(catalogue):
    plan = plan_upgrade(catalogue, "1.5.0", "1.8", have=["1.4.0"])
    assert "--have 1.4.0 changes nothing: 1.4.0 is not a stop of this path." in plan.warnings


def test_the_hops_say_why_1_6_is_no_stop_and_why_1_3_stops_at_the_hotfix(catalogue):
    plan = plan_upgrade(catalogue, "1.0.0", "1.8")
    notes = {hop.target.text: hop.notes for hop in plan.hops}
    assert notes["1.7.0"] == (
        "1.6 is not a stop: upstream has no such release; the 1.7.0 notes name 1.5.0 as the "
        "previous release.",
    )
    assert "lacks the fixes of 1.3.4, 1.3.4-hotfix" in notes["1.3.4-hotfix"][0]
    assert notes["1.8.2"][0].startswith("1.8.1-rc1 is never a stop: known-bad")
    assert plan.to_json()["hops"][5]["notes"] == list(notes["1.7.0"])


def test_intermediate_stops_skip_pre_releases(catalogue):
    plan = plan_upgrade(catalogue, "1.3.0", "1.5")
    assert stops(plan) == ["1.4.2", "1.5.0"]


def test_same_version_is_an_empty_plan(catalogue):
    plan = plan_upgrade(catalogue, "1.8.2", "1.8")
    assert plan.hops == () and "nothing to upgrade" in plan.warnings[0]


def test_skip_level_is_one_flagged_hop_with_what_it_jumps_over(catalogue):
    plan = plan_upgrade(catalogue, "1.5.0", "1.9", skip_level=True)
    (hop,) = plan.hops
    assert plan.skip_level and hop.kind == "skip-level"
    assert hop.lines == ("1.7", "1.8", "1.9")
    assert hop.guide == "missing"
    assert hop.reversibility == "restore-backup"
    assert any(text.startswith("1.8: ") for text in hop.breaking_changes)
    assert any(text.startswith("1.7: ") for text in hop.deprecations)
    assert plan.conditions == SKIP_LEVEL_CONDITIONS and len(plan.conditions) == 5
    assert "not recommended" in plan.warnings[0]


def test_skipping_a_required_stop_is_warned(tmp_path):
    extra = tmp_path / "r.yaml"
    extra.write_text('lines:\n  - line: "1.8"\n    required: true\n')
    plan = plan_upgrade(load_catalogue(extra), "1.7.0", "2.0", skip_level=True)
    assert any("1.8.2 is required" in w for w in plan.warnings)
    assert plan.hops[0].required


def test_skip_level_between_neighbours_is_the_ordinary_hop(catalogue):
    plan = plan_upgrade(catalogue, "1.7.0", "1.8", skip_level=True)
    assert not plan.skip_level and plan.hops[0].kind == "minor"


def test_plan_json_has_the_documented_shape(catalogue):
    data = plan_upgrade(catalogue, "1.7.0", "1.8").to_json()
    assert set(data) >= {"from", "to", "hops", "skip_level", "warnings"}
    assert set(data["hops"][0]) >= {"from", "to", "guide", "breaking_changes", "reversibility"}
