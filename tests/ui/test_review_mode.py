"""Review mode: a copied journal opened read-only shows its session, backups, metrics and
events; nothing in the window can change a server, and the file stays byte for byte."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import time
from pathlib import Path

import pytest

from themis_desktop.core.connection import profile_store
from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.journal.store import Journal, utc_now
from themis_desktop.core.metrics.sampling import Sample
from themis_desktop.core.metrics.store import insert_samples
from themis_desktop.core.upgrade import session_store
from themis_desktop.core.upgrade.session import UpgradeSession
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade
from themis_desktop.ui.review import ReviewError, build_review_window, check_journal, run_review
from themis_desktop.ui.tasks import ReadOnlyJournalError


def _build_journal(path: Path, backups_dir: Path) -> None:
    """A colleague's journal: a profile, a two-hop session with its first hop done,
    two backups, an hour of samples and a few events."""
    profile = Profile(
        "lab",
        (
            NodeEndpoint("http://127.0.0.1:9", "n1", data_dir="/srv/n1"),
            NodeEndpoint("http://127.0.0.1:9", "n2", data_dir="/srv/n2"),
        ),
        uses_auth=True,
    )
    plan = plan_upgrade(load_catalogue(with_user=False), "1.7.0", "1.9")
    backups_dir.mkdir()
    with Journal(path) as journal:
        profile = profile_store.save(journal, profile)
        session = UpgradeSession.create(journal, profile, plan)
        hop = session.hops[0]
        for state in ("pre-checks", "backed-up", "upgrading"):
            hop = session.transition(journal, hop, state, user="alice")
        session.log(journal, "hop.check", "n1: ready", node="n1")
        hop = session.transition(journal, hop, "validating", user="alice", finished_at=utc_now())
        hop = session.transition(journal, hop, "done", user="alice")
        session.raise_trigger(journal, "critical-bug", "queries time out on n2", user="bob")
        for i, node in enumerate(("n1", "n2")):
            archive = backups_dir / f"{node}.tar.zst"
            archive.write_bytes(b"backup")
            journal.db["backups"].insert(
                {
                    "node": node,
                    "version": "1.7.0",
                    "path": str(archive),
                    "size": 6,
                    "sha256": f"{i}" * 64,
                    "created_at": utc_now(),
                    "verified_at": utc_now(),
                    "profile": "lab",
                    "session_id": session.id,
                    "consistent": 1,
                    "checkpoint": 1,
                }
            )
        start = time.time() - 3 * 24 * 3600  # older than the live view's 48 h
        insert_samples(
            journal,
            "lab",
            [
                Sample(node, start + 10 * i, True, {"request_rate": 100.0 + i}, version="1.7.0")
                for i in range(360)
                for node in ("n1", "n2")
            ],
        )
        journal.add_event("node.down", "n2 does not answer", node="n2")


def _files(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


@pytest.fixture
def copied_journal(tmp_path) -> Path:
    original = tmp_path / "colleague" / "journal.sqlite"
    original.parent.mkdir()
    _build_journal(original, tmp_path / "backups")
    copy = tmp_path / "review" / "alice-journal.sqlite"
    copy.parent.mkdir()
    shutil.copy2(original, copy)
    return copy


@pytest.fixture
def review(qtbot, copied_journal):
    from themis_desktop.ui.app import application

    application()
    window = build_review_window(copied_journal)
    qtbot.addWidget(window)
    window.show()
    session_page = window.pages["session"]
    qtbot.waitUntil(lambda: session_page.stepper.topLevelItemCount() == 2, timeout=10_000)
    yield window
    window.close()


def test_review_shows_the_journal_read_only_and_leaves_the_file_alone(
    qtbot, copied_journal, review
):
    window, folder = review, copied_journal.parent
    before = _files(folder)
    assert set(before) == {copied_journal.name}
    assert window.windowTitle() == "Review — alice-journal.sqlite (read-only)"

    # no server is ever contacted
    workspace = window.workspace
    assert workspace.read_only and workspace.profile.name == "lab"
    assert workspace._clients == [] and not workspace._timer.isActive()
    assert not workspace.metrics.sampling and workspace.tokens.get("lab") is None
    assert not window.header.connect_button.isEnabled()
    assert window.open_connection_dialog() is None

    # the session: its hops, its trigger, the rollback window of the finished hop
    session = window.pages["session"]
    hops = [session.stepper.topLevelItem(i).text(0) for i in range(2)]
    assert hops[0].startswith("1. 1.7.0 → 1.8.2 — done") and "planned" in hops[1]
    assert "Rollback window of 1.7.0 → 1.8.2" in session.window_label.text()
    qtbot.waitUntil(lambda: session.triggers.count() == 1)
    assert "queries time out" in session.triggers.item(0).text()
    assert not window.header.countdown.isHidden()
    for button in (*session.buttons.values(), session.rollback_button, session.new_button):
        assert not button.isEnabled()
    assert not session.raise_button.isEnabled()
    assert window.pages["versions"].from_edit.text() == "1.7.0"

    # the backups: listed, nothing that changes them
    backups = window.pages["backups"]
    qtbot.waitUntil(lambda: backups.table.rowCount() == 2)
    backups.select_row(0)
    assert backups.reveal_button.isEnabled()
    for button in (
        backups.backup_button,
        backups.verify_button,
        backups.restore_button,
        backups.delete_button,
    ):
        assert not button.isEnabled()
    record = backups.selected()
    backups.delete_selected(confirmed=True)
    assert Path(record.path).is_file()
    assert backups.back_up() is None and backups.verify_selected() is None
    assert "read-only review" in window.statusBar().currentMessage()

    # the metrics history, older than 48 h, without sampling
    metrics = window.pages["metrics"]
    qtbot.waitUntil(lambda: workspace.metrics.store.latest is not None)
    assert set(workspace.metrics.store.series) == {"n1", "n2"}
    assert not metrics.capture.isEnabled()
    with qtbot.waitSignal(workspace.metrics.sig_action_failed) as refused:
        workspace.metrics.capture_baseline(15)
    assert "read-only review" in refused.args[0]

    # a write through the journal worker fails loudly
    with qtbot.waitSignal(
        workspace.sig_message, timeout=5000, check_params_cb=lambda text: "readonly" in text
    ) as message:
        workspace.tasks.run_journal(lambda journal: journal.add_event("note", "hello"))
    assert message.args[0].startswith("read-only review")
    failures: list[Exception] = []
    workspace.tasks.run_journal(
        lambda journal: journal.add_event("note", "again"), on_failed=failures.append
    )
    qtbot.waitUntil(lambda: bool(failures))
    assert isinstance(failures[0], ReadOnlyJournalError)

    window.close()
    assert _files(folder) == before  # no byte changed, no -wal/-shm appeared
    assert not Path(window.review_folder.name).exists()  # the private snapshot is gone


def test_the_timeline_filters_by_hop_type_and_text(qtbot, review):
    window = review
    timeline = window.pages["timeline"]
    qtbot.waitUntil(lambda: timeline.timeline is not None and timeline.table.rowCount() > 0)
    types = [e.type for e in timeline.visible]
    assert types[0] == "session.started" and "node.down" in types and "trigger.raised" in types
    hop = timeline.timeline.session.hops[0]

    timeline.set_filters(hop_id=hop.id)
    hop_types = [e.type for e in timeline.visible]
    assert hop_types[:3] == ["hop.pre-checks", "hop.backed-up", "hop.started"]
    assert "hop.check" in hop_types  # no hop in its data, but during the hop
    assert "session.started" not in hop_types and "node.down" not in hop_types

    timeline.set_filters(kind="hop.")
    assert {e.type.split(".")[0] for e in timeline.visible} == {"hop"}
    timeline.set_filters(kind="trigger.raised")
    assert [e.user for e in timeline.visible] == ["bob"]
    timeline.set_filters(text="N2 DOES")
    assert [e.type for e in timeline.visible] == ["node.down"]
    assert timeline.table.rowCount() == 1
    assert timeline.table.item(0, 4).text() == "n2 does not answer"
    timeline.set_filters()
    assert timeline.table.rowCount() == len(timeline.timeline.events)


def test_files_that_are_no_journal_are_refused_with_exit_2(tmp_path, capsys):
    missing = tmp_path / "nothing.sqlite"
    garbage = tmp_path / "garbage.sqlite"
    garbage.write_bytes(b"not a database at all" * 100)
    other = tmp_path / "other.sqlite"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    for path in (missing, garbage, other):
        assert run_review(str(path)) == 2
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and str(path) in error
        with pytest.raises(ReviewError):
            check_journal(path)


def test_file_menu_exports_the_journal_without_secrets(qtbot, main_window, tmp_path):
    with Journal() as journal:
        journal.add_event("hop.command", "curl -H 'Authorization: Bearer SEKRIT-123abc' …")
    dest = tmp_path / "support.sqlite"
    task = main_window.export_journal(str(dest))
    with qtbot.waitSignal(task.sig_done, timeout=10_000) as done:
        pass
    assert done.args[0].total == 1
    assert b"SEKRIT-123abc" not in dest.read_bytes()
    assert "1 secret-looking value(s) redacted" in main_window.statusBar().currentMessage()
    actions = [a.text() for a in main_window.menuBar().actions()[0].menu().actions()]
    assert "&Open journal for review…" in actions and "&Export journal…" in actions


def test_opening_a_review_checks_the_file_first(main_window, tmp_path):
    assert not main_window.open_review(str(tmp_path / "missing.sqlite"))
    assert "does not exist" in main_window.statusBar().currentMessage()


def _view_entry(window, title: str):
    """The View menu's entry for the page titled `title`."""
    view = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    return next(a for a in view.actions() if a.text() == title)


def _review_without_its_profile(qtbot, path: Path):
    """The review of `path` once it has shown its session."""
    from themis_desktop.ui.app import application

    application()
    window = build_review_window(path)
    qtbot.addWidget(window)
    window.show()
    session_page = window.pages["session"]
    qtbot.waitUntil(lambda: session_page.stepper.topLevelItemCount() == 2, timeout=10_000)
    return window


def test_a_session_whose_profile_was_deleted_is_reviewed_under_its_own_name(qtbot, tmp_path):
    """The profile "lab" was deleted after the session (as Delete in the Connection dialog
    or `profiles remove` do): the review still shows session 1 as lab's, marked deleted,
    with its hops, timeline, backups and metrics."""
    path = tmp_path / "journal.sqlite"
    _build_journal(path, tmp_path / "backups")
    with Journal(path) as journal:
        assert profile_store.delete(journal, "lab")
        assert (
            profile_store.load_all(journal) == []
            and session_store.load_all(journal)[0].profile_id is None
        )
    window = _review_without_its_profile(qtbot, path)

    assert window.header.profile_label.text() == "profile lab (deleted)"
    assert "deleted from the journal" in window.header.profile_label.toolTip()
    assert window.statusBar().currentMessage().endswith(": session 1 of profile lab (deleted)")

    _view_entry(window, "Upgrade session").trigger()
    session = window.pages["session"]
    assert window.current_page == "session"
    assert session.summary.text().startswith("Session 1: lab 1.7.0 → 1.9")
    assert "Connect to a profile" not in session.summary.text()
    assert session.stepper.topLevelItem(0).text(0).startswith("1. 1.7.0 → 1.8.2 — done")

    _view_entry(window, "Timeline").trigger()
    timeline = window.pages["timeline"]
    qtbot.waitUntil(lambda: timeline.timeline is not None)
    assert timeline.summary.text().startswith("Session 1: lab (deleted) 1.7.0 → 1.9")

    backups = window.pages["backups"]  # kept by the profile's name: still shown
    qtbot.waitUntil(lambda: backups.table.rowCount() == 2)
    qtbot.waitUntil(lambda: set(window.workspace.metrics.store.series) == {"n1", "n2"})
    window.close()


def test_an_older_journal_whose_profile_was_deleted_finds_the_name_in_its_backups(qtbot, tmp_path):
    """A journal of the previous schema (7) did not keep the session's profile name; its
    profile was deleted there. The review's copy is migrated and takes the name from the
    backups recorded for the session; the file itself stays as it was."""
    path = tmp_path / "journal.sqlite"
    _build_journal(path, tmp_path / "backups")
    with Journal(path) as journal:
        profile_store.delete(journal, "lab")
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE sessions DROP COLUMN profile")  # as the previous app wrote it
    conn.execute("PRAGMA user_version = 7")
    conn.commit()
    conn.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()

    window = _review_without_its_profile(qtbot, path)
    assert window.header.profile_label.text() == "profile lab (deleted)"
    _view_entry(window, "Timeline").trigger()
    timeline = window.pages["timeline"]
    qtbot.waitUntil(lambda: timeline.timeline is not None)
    assert timeline.summary.text().startswith("Session 1: lab (deleted)")
    window.close()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
