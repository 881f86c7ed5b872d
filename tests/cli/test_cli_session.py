"""`themis-desktop session …` walks a hop and rolls it back on a real demo node."""

from __future__ import annotations

import json

from tests.rehearsal_override import override_rehearsals
from themis_desktop.cli import main
from themis_desktop.core.connection import profile_store
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.server.client import ThemisClient


def test_start_run_every_step_status_and_rollback(capsys, tmp_path, controlled_cluster):
    _, _, profile = controlled_cluster(nodes=1)
    with Journal() as journal:  # a profile as the Connection dialog saves it
        profile_store.save(journal, profile)
    url = profile.nodes[0].url
    assert main(["session", "start", "--profile", "lab", "--to", "1.8"]) == 0
    assert "1.7.0 → 1.8" in capsys.readouterr().out
    assert main(["session", "start", "--profile", "lab", "--to", "1.8"]) == 1
    assert "has an open session" in capsys.readouterr().err
    assert main(["session", "run", "upgrade", "--profile", "lab"]) == 1
    assert "upgrade cannot run now. Hop 1.7.0 → 1.8" in capsys.readouterr().err
    backups = ["--backup-dir", str(tmp_path / "b")]
    for step in ("pre-checks", "backup"):
        assert main(["session", "run", step, "--profile", "lab", *backups]) == 0, step
    override_rehearsals()
    capsys.readouterr()
    # the point of no return asks first; without a terminal and --yes it refuses
    assert main(["session", "run", "upgrade", "--profile", "lab", *backups]) == 1
    out, err = capsys.readouterr()
    assert "This hop is the point of no return" in out
    assert "rolling back means restoring the backup of" in out
    assert "every write made after the upgrade is lost" in out
    assert "not asking without a terminal: add --yes to run the upgrade step" in err
    with ThemisClient(url) as client:
        assert client.version(refresh=True).version == "1.7.0"  # the node was not touched
    assert main(["session", "status", "--profile", "lab", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["hops"][0]["state"] == "backed-up"
    for step in ("upgrade", "validate"):
        assert main(["session", "run", step, "--profile", "lab", *backups, "--yes"]) == 0, step
    capsys.readouterr()
    assert main(["session", "status", "--profile", "lab", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["hops"][0]["state"] == "done" and status["state"] == "done"
    assert status["rollback_window"]["band"] == "easy"
    decide = status["decide_by"]  # no verdict recorded: no evidence yet, the easy band ends
    assert decide["band"] == "easy" and decide["verdict"] == "no data"
    assert decide["decide_by"] and decide["warning"] and "decide by" in decide["text"]
    assert main(["session", "rollback", "--profile", "lab", "--note", "slow"]) == 1
    out, err = capsys.readouterr()
    assert "Writes made since the backups are lost" in out
    assert "not asking without a terminal: add --yes to roll back" in err
    with ThemisClient(url) as client:
        assert client.version(refresh=True).version != "1.7.0"  # still upgraded
    assert main(["session", "rollback", "--profile", "lab", "--note", "slow", "--yes"]) == 0
    assert "rolled back to 1.7.0" in capsys.readouterr().out
    with ThemisClient(url) as client:
        assert client.version(refresh=True).version == "1.7.0"
    assert main(["session", "status", "--profile", "lab"]) == 0
    assert "rolled-back" in capsys.readouterr().out


def _journal_with_session(to: str = "1.9"):
    """A saved profile "p" and a session 1.7.0 → `to` (no server needed to read it)."""
    from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
    from themis_desktop.core.upgrade.session import UpgradeSession
    from themis_desktop.core.versions.catalogue_file import load_catalogue
    from themis_desktop.core.versions.upgrade_path import plan_upgrade

    profile = Profile("p", (NodeEndpoint("http://127.0.0.1:1", "n1"),))
    with Journal() as journal:
        profile = profile_store.save(journal, profile)
        plan = plan_upgrade(load_catalogue(with_user=False), "1.7.0", to)
        return UpgradeSession.create(journal, profile, plan)


def _walk(session, hop, *states):
    from themis_desktop.core.journal.store import utc_now

    with Journal() as journal:
        for state in states:
            extra = {"finished_at": utc_now()} if state == "validating" else {}
            hop = session.transition(journal, hop, state, **extra)
    return hop


def test_after_a_crash_in_the_middle_of_a_rollback_cli_and_gui_pick_the_same_hop(capsys):
    """Issue 17, defect 12: with hops [done, rolling-back] the CLI rolled back hop 1."""
    from themis_desktop.core.upgrade import hop_runner

    session = _journal_with_session()
    first, second = session.hops
    _walk(session, first, "pre-checks", "backed-up", "upgrading", "validating", "done")
    _walk(session, second, "pre-checks", "backed-up", "upgrading", "validating", "rolling-back")
    with Journal() as journal:
        gui_pick = hop_runner.rollback_hop(session.reload(journal))
    assert gui_pick.id == second.id  # the hop whose rollback was interrupted
    assert main(["session", "rollback", "--profile", "p", "--note", "again"]) == 1  # no --yes
    out = capsys.readouterr().out
    assert f"the backups taken before {second.label}" in out
    assert "was being rolled back when that stopped" in out


def test_rollback_after_a_rollback_says_it_was_rolled_back(capsys):
    """Issue 17, defect 12: after a GUI rollback the CLI said no hop was upgraded."""
    session = _journal_with_session("1.8")
    (hop,) = session.hops
    hop = _walk(session, hop, "pre-checks", "backed-up", "upgrading", "validating", "done")
    hop = _walk(session, hop, "rolling-back")
    with Journal() as journal:
        session.transition(journal, hop, "rolled-back", note="p99 doubled")
    assert main(["session", "rollback", "--profile", "p", "--note", "x", "--yes"]) == 1
    err = capsys.readouterr().err
    assert "no hop of this session was upgraded" not in err
    assert f"Hop {hop.label} of session {session.id} was upgraded and rolled back already" in err
    assert "p99 doubled" in err


def test_acknowledge_a_trigger_from_the_command_line(capsys):
    session = _journal_with_session("1.8")
    (hop,) = session.hops
    _walk(session, hop, "pre-checks", "backed-up", "upgrading", "validating", "done")
    assert main(["session", "trigger", "critical-bug", "--profile", "p", "--note", "bad rows"]) == 0
    trigger_id = int(capsys.readouterr().out.split()[1])
    assert main(["session", "status", "--profile", "p"]) == 0
    out = capsys.readouterr().out
    assert "health: FAILING" in out
    assert f"trigger {trigger_id}: Critical bug — bad rows" in out and "not acknowledged" in out

    note = ["--note", "restored the rows from the audit log"]
    assert main(["session", "acknowledge", "--profile", "p", "--trigger", "999", *note]) == 1
    assert "has no trigger 999" in capsys.readouterr().err
    args = ["session", "acknowledge", "--profile", "p", "--trigger", str(trigger_id), *note]
    assert main(args) == 0
    assert f"trigger {trigger_id} (Critical bug) acknowledged by" in capsys.readouterr().out
    assert main(["session", "status", "--profile", "p", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    (trigger,) = status["triggers"]
    assert trigger["acknowledged"]["note"] == "restored the rows from the audit log"
    assert trigger["acknowledged"]["user"] and trigger["acknowledged"]["at"]
    assert status["health"]["state"] != "failing" and status["health"]["open_triggers"] == []
    assert status["hops"][0]["health"] == status["health"]["state"]


def test_a_step_out_of_order_is_refused_with_the_reason_and_nothing_moves(capsys):
    """`session run validate` before the upgrade used to check the old version against the
    new one, raise a failed-validation trigger and fail the hop."""
    session = _journal_with_session("1.8")
    assert main(["session", "run", "validate", "--profile", "p"]) == 1
    err = capsys.readouterr().err
    assert "validate cannot run now. Hop 1.7.0 → 1.8" in err
    assert "is not upgraded yet (planned): there is nothing to validate" in err
    with Journal() as journal:
        assert session.reload(journal).hops[0].state == "planned"
        assert session.triggers(journal) == []
    assert main(["session", "status", "--profile", "p", "--json"]) == 0
    steps = json.loads(capsys.readouterr().out)["steps"]
    assert steps["allowed"] == ["pre-checks", "backup"]
    assert "has no verified backup yet" in steps["refused"]["upgrade"]
    assert main(["session", "status", "--profile", "p"]) == 0
    assert "steps now: pre-checks, backup" in capsys.readouterr().out


def test_no_step_runs_after_the_path_stopped_at_a_rollback(capsys):
    session = _journal_with_session("1.8")
    (hop,) = session.hops
    hop = _walk(session, hop, "pre-checks", "backed-up", "upgrading", "validating", "rolling-back")
    with Journal() as journal:
        session.transition(journal, hop, "rolled-back", note="slow")
    assert main(["session", "run", "pre-checks", "--profile", "p"]) == 1
    assert "was rolled back: the path stopped there" in capsys.readouterr().err


def _on_a_terminal(args: list[str], answer: str, timeout: float = 120.0) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as its stdin/stdout; answer its [y/N] question."""
    import os
    import pty
    import select
    import subprocess
    import sys
    import time

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "themis_desktop", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        close_fds=True,
    )
    os.close(slave)
    out, answered = b"", False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # EIO: the child closed the terminal
                    break
                if not chunk:
                    break
                out += chunk
                if not answered and b"[y/N] " in out:
                    os.write(master, answer.encode() + b"\n")
                    answered = True
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return code, out.decode(errors="replace").replace("\r\n", "\n")


def test_on_a_terminal_the_upgrade_asks_and_no_is_the_default(capsys, tmp_path, controlled_cluster):
    _, _, profile = controlled_cluster(nodes=1)
    with Journal() as journal:
        profile_store.save(journal, profile)
    url = profile.nodes[0].url
    backups = ["--backup-dir", str(tmp_path / "b")]
    assert main(["session", "start", "--profile", "lab", "--to", "1.8"]) == 0
    assert main(["session", "run", "backup", "--profile", "lab", *backups]) == 0
    override_rehearsals()
    capsys.readouterr()
    upgrade = ["session", "run", "upgrade", "--profile", "lab", *backups]

    code, out = _on_a_terminal(upgrade, "n")
    assert code == 1, out
    assert "This hop is the point of no return" in out and "Upgrade 1.7.0 → 1.8" in out
    assert "Nothing was changed." in out
    code, out = _on_a_terminal(upgrade, "")  # Enter: the default is no
    assert code == 1 and "Nothing was changed." in out, out
    with ThemisClient(url) as client:
        assert client.version(refresh=True).version == "1.7.0"

    code, out = _on_a_terminal(upgrade, "y")
    assert code == 0, out
    assert "Nothing was changed." not in out
    with ThemisClient(url) as client:
        assert client.version(refresh=True).version.startswith("1.8")


def test_status_shows_which_contested_stops_the_admin_confirmed(capsys):
    from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
    from themis_desktop.core.upgrade.session import UpgradeSession
    from themis_desktop.core.versions.catalogue_file import load_catalogue
    from themis_desktop.core.versions.upgrade_path import plan_upgrade

    plan = plan_upgrade(load_catalogue(with_user=False), "1.0.0", "1.3", have=["1.1.0"])
    with Journal() as journal:
        profile = profile_store.save(
            journal, Profile("p", (NodeEndpoint("http://127.0.0.1:1", "n1"),))
        )
        UpgradeSession.create(journal, profile, plan)
    assert main(["session", "status", "--profile", "p"]) == 0
    lines = capsys.readouterr().out.splitlines()
    hops = [line for line in lines if line.startswith("  1.") or line.startswith("  2.")]
    assert "(contested, confirmed by the admin)" in hops[0]
    assert "(contested, unconfirmed)" in hops[1]
    assert main(["session", "status", "--profile", "p", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert [h["confirmed"] for h in status["hops"]] == [True, False, None]
