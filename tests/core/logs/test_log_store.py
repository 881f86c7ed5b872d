"""The log watch's tables: counts per hop, phase, node and level add up across writes;
the kept lines come back oldest first, at a level or worse."""

from __future__ import annotations

from collections import Counter

from themis_desktop.core.journal.store import Journal
from themis_desktop.core.logs import store as log_store
from themis_desktop.core.logs.line_format import LogLine
from themis_desktop.core.upgrade import session_store

T0 = 1_800_000_000.0


def _line(level: str, message: str, ts: float, node: str = "n1") -> LogLine:
    return LogLine(node=node, ts=ts, level=level, message=message, raw=message)


def test_counts_add_up_and_kept_lines_come_back_by_level(tmp_path):
    with Journal(tmp_path / "journal.sqlite") as journal:
        session = session_store.start(journal, None, "1.7.0", "1.8.0")
        session_store.insert_hops(
            journal, session.id, [{"from_version": "1.7.0", "to_version": "1.8.0"}]
        )
        hop_id = session_store.hop_rows(journal, session.id)[0]["id"]
        error, warning = _line("error", "disk full", T0 + 1), _line("warning", "slow", T0)
        counts = Counter({("validating", "n1", "error"): 2, ("planned", "n2", "info"): 5})
        log_store.add(journal, session.id, hop_id, counts, [("validating", error)])
        log_store.add(journal, session.id, hop_id, counts, [("planned", warning)])

        assert log_store.phase_counts(journal, session.id) == {
            hop_id: {"validating": {"error": 4}, "planned": {"info": 10}}
        }
        assert [(x.phase, x.level, x.message) for x in log_store.hop_lines(journal, hop_id)] == [
            ("planned", "warning", "slow"),
            ("validating", "error", "disk full"),
        ]
        assert [x.message for x in log_store.hop_lines(journal, hop_id, min_level="error")] == [
            "disk full"
        ]
