"""Predicted durations: the model on recorded journal data with a fixed clock, and a real
session on the demo cluster whose steps are journaled, predicted before the hop and put
beside what happened in the report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from themis_desktop.core.connection import profile_store
from themis_desktop.core.journal.store import Journal, parse_utc
from themis_desktop.core.service.control import controller_for
from themis_desktop.core.upgrade import (
    prediction,
    prediction_text,
    rehearsal_gate,
    report,
    step_timing,
)
from themis_desktop.core.upgrade.hop_runner import (
    HopContext,
    back_up,
    pre_checks,
    rollback,
    upgrade,
    validate,
)
from themis_desktop.core.upgrade.prediction import NodeSize, predict, predict_step
from themis_desktop.core.upgrade.session import UpgradeSession
from themis_desktop.core.upgrade.step_timing import Timing
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
MB = 1_000_000


def _at(days_ago: float) -> str:
    return (
        (NOW - timedelta(days=days_ago)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def _width(step: prediction.StepPrediction) -> float:
    return step.high - step.low


def test_without_measurements_each_step_takes_its_stated_assumption():
    size = NodeSize("n1", data_bytes=500 * MB, keys=2_000_000)
    made = predict([size], [], from_version="1.7.0", to_version="1.8.2", now=NOW)
    (node,) = made.nodes
    assert [s.step for s in node.steps] == list(prediction.HOP_STEPS)
    assert [s.step for s in node.rollback] == list(prediction.ROLLBACK_STEPS)
    assert made.assumed and all(s.measured == 0 for s in node.steps)
    assert all("no measurement yet" in s.basis for s in (*node.steps, *node.rollback))
    backup = node.step("backup")
    # 1 s + 500 MB at 200 MB/s .. 5 s + 500 MB at 20 MB/s
    assert backup.low == pytest.approx(3.5) and backup.high == pytest.approx(30.0)
    ready = node.step("ready")
    assert ready.high == pytest.approx(30 + 5 + 2.0)  # the keys count too
    # a bigger node takes longer
    bigger = predict([NodeSize("n1", data_bytes=5000 * MB)], [], from_version="a", to_version="b")
    assert bigger.nodes[0].step("backup").high > backup.high
    assert "no measurement yet" in prediction_text.summary_line(made)
    assert made.downtime == node.downtime and made.downtime[1] > made.downtime[0]


def test_measurements_narrow_the_range_and_scale_with_the_data_size():
    size = NodeSize("n1", data_bytes=100 * MB)
    before = predict_step("stop", size, [], "lab")
    one = [Timing("stop", 2.0, "n1", "upgrade", profile="lab", at=_at(3))]
    after_one = predict_step("stop", size, one, "lab")
    four = one + [
        Timing("stop", s, "n1", "upgrade", profile="lab", at=_at(2 - i / 10))
        for i, s in enumerate((2.2, 1.9, 2.1))
    ]
    after_four = predict_step("stop", size, four, "lab")
    assert _width(after_four) < _width(after_one) < _width(before)
    assert after_four.low <= 1.9 and after_four.high >= 2.2 and after_four.measured == 4
    assert "4 measurement(s) on this installation" in after_four.basis
    # another installation's measurements count only while this one has none
    other = [Timing("stop", 50.0, "x", "upgrade", profile="prod", at=_at(1))]
    assert predict_step("stop", size, four + other, "lab").high < 10
    assert "other installations" in predict_step("stop", size, other, "lab").basis
    # a backup measured on 100 MB predicts a longer one for 1 GB
    backups = [Timing("backup", 4.0, "n1", "backup", profile="lab", data_bytes=100 * MB, at=_at(1))]
    small = predict_step("backup", size, backups, "lab")
    large = predict_step("backup", NodeSize("n1", data_bytes=1000 * MB), backups, "lab")
    assert large.low > small.high


def test_the_fixed_clock_decides_which_measurements_count():
    size = NodeSize("n1")
    history = [
        Timing("start", 3.0, "n1", "upgrade", profile="lab", at=_at(400)),  # over a year old
        Timing("start", 1.0, "n1", "upgrade", profile="lab", at=_at(1)),
        Timing("start", 9.0, "n1", "upgrade", profile="lab", at=_at(-1)),  # after "now"
    ]
    made = predict([size], history, from_version="a", to_version="b", profile="lab", now=NOW)
    start = made.nodes[0].step("start")
    assert start.measured == 1 and start.high < 2
    assert made.measurements == 1


def test_journaled_timings_are_read_back_and_a_second_prediction_is_narrower(tmp_path):
    with Journal(tmp_path / "journal.sqlite") as journal:
        size = NodeSize("n1", data_bytes=20 * MB)
        first = predict(
            [size], step_timing.samples(journal), from_version="1.7.0", to_version="1.8.2"
        )
        for step, seconds in (("stop", 0.4), ("install", 0.2), ("start", 0.3), ("ready", 0.8)):
            step_timing.record(journal, None, None, "n1", step, seconds, phase="upgrade")
        step_timing.record(
            journal, None, None, "n1", "backup", 1.5, phase="backup", data_bytes=20 * MB
        )
        history = step_timing.samples(journal)
        assert [t.step for t in history] == ["stop", "install", "start", "ready", "backup"]
        clock = max(parse_utc(t.at) for t in history) + timedelta(seconds=1)
        second = predict([size], history, from_version="1.7.0", to_version="1.8.2", now=clock)
    for name in ("stop", "install", "start", "ready", "backup"):
        a, b = first.nodes[0].step(name), second.nodes[0].step(name)
        assert _width(b) < _width(a), name
        assert b.measured == 1 and a.measured == 0
    assert second.nodes[0].step("stop").low <= 0.4 <= second.nodes[0].step("stop").high
    assert second.downtime[1] < first.downtime[1]
    assert not second.nodes[0].step("validation").measured  # never measured: still assumed


def test_a_prediction_survives_its_json():
    made = predict(
        [NodeSize("n1", 10, 20, 30, "no /stats")], [], from_version="1.7.0", to_version="1.8.2"
    )
    again = prediction.HopPrediction.from_json(made.to_json())
    assert again == made


@pytest.fixture
def lab(tmp_path, controlled_cluster):
    _, _, profile = controlled_cluster(nodes=2)
    journal_path = tmp_path / "journal.sqlite"
    with Journal(journal_path) as journal:
        profile = profile_store.save(journal, profile)
    lines: list[str] = []
    ctx = HopContext(
        profile,
        None,
        controller_for(profile.service),
        journal_path,
        tmp_path / "backups",
        lines.append,
    )
    return ctx, lines


def test_a_session_journals_each_step_and_the_report_puts_it_beside_the_prediction(lab):
    ctx, lines = lab
    plan = plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8")
    with ctx.journal() as journal:
        session = UpgradeSession.create(journal, ctx.profile, plan)
    hop = session.hops[0]
    pre_checks(ctx, session, hop)
    back_up(ctx, session, hop)
    assert any(line.startswith("Predicted for hop") for line in lines)
    with ctx.journal() as journal:
        hop = session.reload(journal).hop(hop.id)
        rehearsal_gate.override(journal, session, hop, ctx.profile, "prediction test")
        first = prediction.recorded(journal, session.id, hop.id)
    assert first is not None and first.assumed  # nothing measured before this session
    assert [n.node for n in first.nodes] == ["n1", "n2"]
    assert all(n.size.keys and n.size.data_bytes for n in first.nodes)  # /stats, data dir
    upgraded = upgrade(ctx, session, hop)
    validate(ctx, session, upgraded)
    with ctx.journal() as journal:
        rolled = rollback(ctx, session, session.reload(journal).hop(hop.id), "test rollback")
    assert rolled.state == "rolled-back"

    with ctx.journal() as journal:
        timings = step_timing.session_timings(journal, session.id)
        again = prediction.recorded(journal, session.id, hop.id)
        html = report.render_html(report.collect(journal, session.id))
        rows = prediction.comparison(again, timings)
        fresh = prediction.for_hop(journal, ctx.profile, None, "1.7.0", "1.8.2")
    assert again == first  # journaled once, before the hop's work
    measured = {(t.node, t.phase, t.step) for t in timings}
    for node in ("n1", "n2"):
        for phase, step in (
            ("backup", "backup"),
            ("upgrade", "stop"),
            ("upgrade", "install"),
            ("upgrade", "start"),
            ("upgrade", "ready"),
            ("validate", "validation"),
            ("rollback", "stop"),
            ("rollback", "restore"),
            ("rollback", "install"),
            ("rollback", "start"),
            ("rollback", "ready"),
        ):
            assert (node, phase, step) in measured, (node, phase, step)
    # every predicted step has its actual beside it
    assert len(rows) == 2 * (len(prediction.HOP_STEPS) + len(prediction.ROLLBACK_STEPS))
    assert all(r.actual is not None and r.low is not None for r in rows)
    assert all(r.verdict in ("within", "faster", "slower") for r in rows)
    assert "Predicted against actual" in html
    assert html.count("<td>n1</td><td>rollback</td>") == len(prediction.ROLLBACK_STEPS)
    # the journal learned: the next prediction rests on this session and is narrower
    assert not fresh.assumed
    assert fresh.total[1] - fresh.total[0] < first.total[1] - first.total[0]
    for node in fresh.nodes:
        for step in node.steps:
            assert step.measured >= 2, step  # both nodes' measurements (restores too)


def test_a_review_asks_no_node_and_a_node_that_does_not_answer_is_noted(tmp_path):
    from themis_desktop.core.connection.profiles import NodeEndpoint, Profile

    gone = tmp_path / "gone"
    profile = Profile("p", (NodeEndpoint("http://127.0.0.1:1", "n1", data_dir=str(gone)),))
    with Journal(tmp_path / "journal.sqlite") as journal:
        review = prediction.for_hop(journal, profile, None, "1.7.0", "1.8.2", ask=False)
        asked = prediction.for_hop(journal, profile, None, "1.7.0", "1.8.2", timeout=1.0)
    assert review.nodes[0].size == NodeSize("n1", note="size not asked (a read-only review)")
    size = asked.nodes[0].size
    assert size.data_bytes is None and size.keys is None and "no /stats" in size.note
    assert asked.notes == (f"n1: {size.note}",)
    assert review.nodes[0].step("backup").assumed  # still a range: the stated assumption
