"""Log watch: following a log through rotation and truncation, classifying ThemisDB's and
journald's lines, grouping repeats, and a demo node's error burst raising the trigger."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from dataclasses import replace

import pytest

from tests.conftest import wait_until
from tests.rehearsal_override import override_rehearsals
from themis_desktop.core.connection import profile_store
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.logs.follow import CommandFollower, FileFollower, LogSourceError
from themis_desktop.core.logs.line_format import LogLine, parse_journald, parse_plain, signature
from themis_desktop.core.logs.store import hop_lines, phase_counts
from themis_desktop.core.logs.watch import (
    BurstDetector,
    BurstRule,
    Groups,
    HopPhase,
    LogSource,
    LogWatch,
)
from themis_desktop.core.upgrade.log_phase import current_phase, raise_burst_trigger

NOW = 1_800_000_000.0


def _line(level: str, message: str, stamp: str = "2026-11-26 14:50:04.123") -> str:
    return f"[{stamp}] [themis] [{level}] [thread 4242] {message}\n"


def _append(path, text: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(text)


# -- following ---------------------------------------------------------------------------


def test_a_new_follower_starts_at_the_end_and_holds_back_a_partial_line(tmp_path):
    log = tmp_path / "themis_server.log"
    log.write_text(_line("info", "old line"))
    follower = FileFollower(log)
    assert follower.poll() == []
    _append(log, _line("error", "first") + "[2026-11-26 14:50:05.000] [themis] [warn")
    assert [parse_plain("n1", x, NOW).message for x in follower.poll()] == ["first"]
    _append(log, "ing] [thread 1] second\n")
    assert [parse_plain("n1", x, NOW).level for x in follower.poll()] == ["warning"]
    follower.close()


def test_rotation_reads_the_old_files_tail_then_the_new_file_from_its_start(tmp_path):
    log = tmp_path / "themis_server.log"
    log.write_text("")
    follower = FileFollower(log)
    _append(log, "one\n")
    assert follower.poll() == ["one"]
    log.rename(tmp_path / "themis_server.log.1")  # logrotate moves the file …
    _append(tmp_path / "themis_server.log.1", "two\n")  # … the server still writes to it …
    assert follower.poll() == ["two"]  # (the path is missing for a moment: nothing is lost)
    log.write_text("three\nfour\n")  # … until it reopens the log under the old name
    assert follower.poll() == ["three", "four"]
    _append(log, "five\n")
    assert follower.poll() == ["five"]
    assert follower.rotations == 1
    follower.close()


def test_rotation_between_polls_loses_no_line(tmp_path):
    log = tmp_path / "themis_server.log"
    log.write_text("")
    follower = FileFollower(log)
    _append(log, "a\n")
    log.rename(tmp_path / "themis_server.log.1")
    _append(tmp_path / "themis_server.log.1", "b\n")
    log.write_text("c\n")
    assert follower.poll() == ["a", "b", "c"]
    follower.close()


def test_truncation_in_place_starts_over_from_the_beginning(tmp_path):
    log = tmp_path / "themis_server.log"
    log.write_text("")
    follower = FileFollower(log)
    _append(log, "x" * 100 + "\n")
    assert len(follower.poll()) == 1
    with log.open("r+") as f:  # logrotate's copytruncate
        f.truncate(0)
    _append(log, "after\n")
    assert follower.poll() == ["after"]
    assert follower.truncations == 1
    follower.close()


def test_a_missing_file_is_waited_for_and_then_read_from_its_start(tmp_path):
    log = tmp_path / "later.log"
    follower = FileFollower(log)
    assert follower.poll() == []
    log.write_text("hello\n")
    assert follower.poll() == ["hello"]
    follower.close()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_file_says_what_to_check(tmp_path):
    log = tmp_path / "secret.log"
    log.write_text("x\n")
    log.chmod(0)
    with pytest.raises(LogSourceError, match="may read it"):
        FileFollower(log).poll()


def test_a_command_source_streams_its_output_and_reports_its_end():
    script = "import time\nfor i in range(3):\n    print(f'line {i}', flush=True)\n"
    follower = CommandFollower([sys.executable, "-c", script])
    seen: list[str] = []

    def read_on() -> bool:
        seen.extend(follower.poll())  # raises LogSourceError once the command has ended
        return False

    with pytest.raises(LogSourceError, match="ended"):
        wait_until(read_on, timeout=10, what="the command source reporting its end")
    assert seen == ["line 0", "line 1", "line 2"]
    follower.close()


def test_a_command_that_does_not_exist_is_a_clear_error():
    with pytest.raises(LogSourceError, match="could not be run"):
        CommandFollower(["/nonexistent/journalctl"]).poll()


# -- classifying -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("trace", "debug"),
        ("debug", "debug"),
        ("info", "info"),
        ("warning", "warning"),
        ("error", "error"),
        ("critical", "critical"),
    ],
)
def test_themisdb_lines_are_classified_by_their_own_level(level, expected):
    line = parse_plain("n1", _line(level, "Server listening on 0.0.0.0:8765"), NOW)
    assert (line.level, line.message, line.thread) == (
        expected,
        "Server listening on 0.0.0.0:8765",
        "4242",
    )
    assert line.source_ts and line.ts != NOW


def test_console_colours_are_stripped_and_unknown_lines_are_classified_by_their_words():
    coloured = "[2026-11-26 14:50:04.123] [themis] [\x1b[31merror\x1b[m] [thread 7] disk full"
    assert parse_plain("n1", coloured, NOW).level == "error"
    other = parse_plain("n1", "Nov 26 12:00:01 db1 kernel: WARNING: CPU throttled", NOW)
    assert (other.level, other.ts, other.source_ts) == ("warning", NOW, False)
    assert parse_plain("n1", "just some text", NOW).level == "info"


def test_the_servers_json_log_format_keeps_its_time_level_and_thread():
    """Era B's JSON logger (POST /config {"logging": {"format": "json"}})."""
    text = (
        '{"ts":"2026-11-26T14:50:04.123","logger":"themis","level":"warning",'
        '"thread":4242,"msg":"Compaction is 3 s behind"}'
    )
    line = parse_plain("n1", text, NOW)
    assert (line.level, line.message, line.thread) == (
        "warning",
        "Compaction is 3 s behind",
        "4242",
    )
    assert line.source_ts and line.ts == parse_plain("n1", _line("info", "x"), NOW).ts


def test_a_json_log_line_with_an_unescaped_quote_is_still_the_servers_line():
    """spdlog writes the message raw: a quote in it makes the line invalid JSON."""
    text = (
        '{"ts":"2026-11-26T14:50:04.123","logger":"themis","level":"error",'
        '"thread":7,"msg":"Invalid JSON: unexpected "}" at 12"}'
    )
    line = parse_plain("n1", text, NOW)
    assert (line.level, line.message) == ("error", 'Invalid JSON: unexpected "}" at 12')


def test_journald_records_carrying_the_json_format_use_its_level():
    record = {
        "PRIORITY": "6",
        "MESSAGE": '{"ts":"2026-11-26T14:50:04.123","logger":"themis","level":"critical",'
        '"thread":9,"msg":"Out of disk"}',
    }
    assert parse_journald("n1", json.dumps(record), NOW).level == "critical"


def test_journald_records_use_the_servers_own_level_before_the_priority():
    record = {
        "__REALTIME_TIMESTAMP": "1764168604123000",
        "PRIORITY": "6",  # systemd logs stdout at info …
        "MESSAGE": "[2026-11-26 14:50:04.123] [themis] [error] [thread 9] WAL sync failed",
    }
    line = parse_journald("n1", json.dumps(record), NOW)
    assert (line.level, line.message, line.ts) == ("error", "WAL sync failed", 1764168604.123)


@pytest.mark.parametrize(
    ("priority", "expected"),
    [("0", "critical"), ("2", "critical"), ("3", "error"), ("4", "warning"), ("6", "info")],
)
def test_journald_priorities_classify_foreign_messages(priority, expected):
    record = {"PRIORITY": priority, "MESSAGE": "themisdb.service: Main process exited"}
    assert parse_journald("n1", json.dumps(record), NOW).level == expected


def test_journald_byte_array_messages_and_garbage_lines_do_not_break_the_watch():
    record = {"PRIORITY": "3", "MESSAGE": list(b"caf\xc3\xa9 \xff broken")}
    assert parse_journald("n1", json.dumps(record), NOW).message.startswith("café")
    assert parse_journald("n1", "-- No entries --", NOW).level == "info"
    assert parse_journald("n1", "[1, 2]", NOW).level == "info"


def test_repeats_with_other_values_share_a_signature_and_group():
    a = "GET /entities/orders:123 failed with 500: RocksDB Get returned IO error"
    b = "GET /entities/orders:98765 failed with 500: RocksDB Get returned IO error"
    assert signature(a) == signature(b)
    assert signature(a) != signature("Checkpoint created at /tmp/x")
    groups = Groups()
    groups.add(parse_plain("n1", _line("error", m), NOW) for m in (a, b, a))
    groups.add([parse_plain("n1", _line("info", "Server listening"), NOW)])
    top, info = groups.groups()
    assert (top.level, top.count, top.example) == ("error", 3, a)
    assert info.count == 1


def test_log_source_specs():
    assert LogSource.parse("") == LogSource()
    assert LogSource.parse("/var/log/themis.log") == LogSource("file", "/var/log/themis.log")
    assert LogSource.parse("journald").argv()[:3] == ["journalctl", "-u", "themisdb"]
    assert LogSource.parse("journald:themis-db2").target == "themis-db2"
    source = LogSource.parse("command:ssh db1 tail -F '/var/lib/themis db/themis_server.log'")
    assert source.argv() == ["ssh", "db1", "tail", "-F", "/var/lib/themis db/themis_server.log"]
    assert LogSource.parse(source.spec) == source
    with pytest.raises(ValueError, match="needs a command"):
        LogSource.parse("command:")


# -- bursts --------------------------------------------------------------------------------


def _errors(node: str, t0: float, n: int, spacing: float = 1.0) -> list[LogLine]:
    """`n` error lines from `node`, `spacing` seconds apart from `t0`."""
    line = parse_plain(node, _line("error", "request failed"), t0)
    return [replace(line, ts=t0 + i * spacing) for i in range(n)]


def test_a_burst_needs_enough_errors_and_a_multiple_of_the_rate_before():
    rule = BurstRule(window_s=60, min_errors=10, factor=5, baseline_s=900)
    detector = BurstDetector(rule, _watched_since=NOW - 900)
    before = HopPhase(1, 7, "1.7.0 → 1.8.0", "backed-up")
    # 4 errors a minute before the upgrade: the threshold after it is 5 × 4 = 20 a minute
    assert detector.feed(before, _errors("n1", NOW - 900, 60, spacing=15), NOW - 1) is None
    after = HopPhase(1, 7, "1.7.0 → 1.8.0", "validating", upgraded_at=NOW)
    assert detector.feed(after, _errors("n1", NOW + 1, 15, spacing=2), NOW + 31) is None
    burst = detector.feed(after, _errors("n1", NOW + 32, 10, spacing=1), NOW + 42)
    assert burst is not None and burst.node == "n1" and burst.errors >= 20
    assert burst.before_per_min == pytest.approx(4.0, rel=0.1)
    assert burst.evidence()["lines"] and "errors in 60 s on n1" in burst.note
    # one trigger per hop
    assert detector.feed(after, _errors("n1", NOW + 43, 30, spacing=0.1), NOW + 47) is None


def test_errors_before_the_new_version_answers_do_not_count_as_a_burst():
    detector = BurstDetector(BurstRule(min_errors=5))
    upgrading = HopPhase(1, 7, "1.7.0 → 1.8.0", "upgrading")
    assert detector.feed(upgrading, _errors("n1", NOW, 50, spacing=0.1), NOW + 5) is None
    validating = HopPhase(1, 7, "1.7.0 → 1.8.0", "validating", upgraded_at=NOW + 10)
    assert detector.feed(validating, [], NOW + 11) is None


# -- a demo node, end to end ------------------------------------------------------------------


def test_a_demo_nodes_error_burst_after_the_upgrade_raises_the_advisory_trigger(
    tmp_path, controlled_cluster
):
    from themis_desktop.core.service.control import controller_for
    from themis_desktop.core.upgrade.hop_runner import HopContext, back_up, pre_checks, upgrade
    from themis_desktop.core.upgrade.session import UpgradeSession
    from themis_desktop.core.versions.catalogue_file import load_catalogue
    from themis_desktop.core.versions.upgrade_path import plan_upgrade

    # 1.8 misbehaves on this node: one request in five fails and is logged as an error
    _, _, profile = controlled_cluster(nodes=1, workload=True, error_rates={"1.8": 0.2})
    journal_path = tmp_path / "journal.sqlite"
    with Journal(journal_path) as journal:
        profile = profile_store.save(journal, profile)
        assert profile_store.get(journal, "lab").nodes[0].log_source.endswith("themis_server.log")
        plan = plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8")
        session = UpgradeSession.create(journal, profile, plan)
    override_rehearsals(journal_path)
    ctx = HopContext(
        profile, None, controller_for(profile.service), journal_path, tmp_path / "b", print
    )
    seen = []
    watch = LogWatch(
        "lab",
        [(n.name, LogSource.parse(n.log_source)) for n in profile.nodes],
        phase_of=current_phase,
        raise_trigger=raise_burst_trigger,
        journal_path=journal_path,
        on_lines=seen.extend,
        rule=BurstRule(window_s=60, min_errors=20, factor=5),
        interval=0.1,
    )
    watch.start()
    try:
        pre_checks(ctx, session, session.hops[0])
        back_up(ctx, session, session.hops[0])
        upgrade(ctx, session, session.hops[0])
        triggers: list = []

        def triggered() -> bool:
            with Journal(journal_path) as journal:
                triggers[:] = UpgradeSession.load(journal, session.id).triggers(journal)
            return bool(triggers)

        wait_until(triggered, timeout=30, interval=0.2, what="a trigger from the log watch")
    finally:
        watch.stop()
    (trigger,) = triggers
    assert trigger.kind == "failed-validation" and trigger.user == "log watch"
    assert trigger.evidence["source"] == "logs" and trigger.evidence["node"] == "n1"
    assert any("failed with 500" in x["message"] for x in trigger.evidence["lines"])
    assert any(re.search(r"ThemisDB server v1\.8\.\d+ starting", x.message) for x in seen)
    with Journal(journal_path) as journal:
        hop = UpgradeSession.load(journal, session.id).hops[0]
        counts = phase_counts(journal, session.id)[hop.id]
        assert counts["validating"]["error"] >= 20
        assert counts["pre-checks"].get("info", 0) > 0  # e.g. the checkpoint of the backup
        stored = hop_lines(journal, hop.id)
        assert stored and all(x.level in ("warning", "error", "critical") for x in stored)
        assert current_phase(journal, "lab").phase == "validating"


def test_the_end_of_the_log_is_shown_at_start_but_counted_only_once(tmp_path):
    from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
    from themis_desktop.core.upgrade.session import UpgradeSession
    from themis_desktop.core.versions.catalogue_file import load_catalogue
    from themis_desktop.core.versions.upgrade_path import plan_upgrade

    log = tmp_path / "themis_server.log"
    log.write_text("".join(_line("error", f"before the watch {i}") for i in range(5)))
    journal_path = tmp_path / "journal.sqlite"
    with Journal(journal_path) as journal:
        profile = profile_store.save(
            journal, Profile("lab", (NodeEndpoint("http://127.0.0.1:1", "n1"),))
        )
        plan = plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.8")
        session = UpgradeSession.create(journal, profile, plan)
        seen: list[LogLine] = []
        watch = LogWatch(
            "lab",
            [("n1", LogSource("file", str(log)))],
            phase_of=current_phase,
            on_lines=seen.extend,
        )
        watch.step(journal, time.time())
        assert [x.message for x in seen] == [f"before the watch {i}" for i in range(5)]
        _append(log, _line("error", "while watched"))
        watch.step(journal, time.time())
        assert seen[-1].message == "while watched"
        counts = phase_counts(journal, session.id)[session.hops[0].id]
        assert counts == {"planned": {"error": 1}}
        assert [x.message for x in hop_lines(journal, session.hops[0].id)] == ["while watched"]
        watch.nodes[0].follower.close()
