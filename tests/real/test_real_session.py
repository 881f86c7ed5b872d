"""A whole upgrade session on the real 1.0.x server, run through a `commands` profile that
starts it in the background and stops it by its pid file (SIGTERM, then SIGKILL: it never
exits on SIGTERM). On this single version a restart stands in for the new binary, and the
real server does what it really does: it cannot reopen its data dir. The app must say so
in the server's own words, never show the node as ready, and know that a rollback by
restore meets the same wall."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.conftest import wait_until
from tests.real.conftest import answers
from tests.rehearsal_override import override_rehearsals
from themis_desktop.core.connection import profile_store
from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.connection.service_config import ServiceConfig
from themis_desktop.core.journal.store import Journal
from themis_desktop.core.server.client import ThemisClient
from themis_desktop.core.server.node_status import poll_node
from themis_desktop.core.service.control import controller_for
from themis_desktop.core.service.pid_stop import alive, read_pid
from themis_desktop.core.upgrade.hop_runner import (
    HopContext,
    back_up,
    pre_checks,
    rollback,
    upgrade,
)
from themis_desktop.core.upgrade.session import SessionError, UpgradeSession
from themis_desktop.core.versions.catalogue_file import load_catalogue
from themis_desktop.core.versions.upgrade_path import plan_upgrade

STOP_TIMEOUT_S = 3.0
REASON = "Column families not opened: prompt_templates"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def real_lab(real_binary, tmp_path):
    """A profile whose `commands` service control runs the real binary; started once."""
    work, pid, log = tmp_path / "work", tmp_path / "server.pid", tmp_path / "server.log"
    work.mkdir()
    port = _free_port()
    start = (
        f"cd {work} && setsid {real_binary} --host 127.0.0.1 --port {port} --db {{data_dir}} "
        f">> {log} 2>&1 < /dev/null & echo $! > {pid}"
    )
    service = ServiceConfig(
        "commands",
        start=start,
        install="true",  # the same binary stands in for the new version
        pid_file=str(pid),
        stop_timeout=STOP_TIMEOUT_S,
        write_check=True,
    )
    url, data_dir = f"http://127.0.0.1:{port}", str(tmp_path / "db")
    node = NodeEndpoint(url, "real-1", data_dir=data_dir, log_source=f"file:{log}")
    profile = Profile("real", (node,), service=service)
    journal_path = tmp_path / "journal.sqlite"
    with Journal(journal_path) as journal:
        profile = profile_store.save(journal, profile)
    lines: list[str] = []
    ctx = HopContext(
        profile, None, controller_for(service), journal_path, tmp_path / "backups", lines.append
    )
    ctx.ready_timeout = 20.0
    ctx.controller.start(node)
    _wait_up(node.url)
    yield ctx, lines, pid
    ctx.controller.stop(node)  # whatever state the test left: no process behind


def _wait_up(url: str) -> None:
    wait_until(lambda: answers(url), timeout=20, what=f"the real server at {url} comes up")


def _fresh(ctx: HopContext, session: UpgradeSession) -> UpgradeSession:
    with ctx.journal() as journal:
        return session.reload(journal)


def test_a_real_session_reports_the_failed_restart_in_the_servers_words(real_lab):
    ctx, lines, pid_file = real_lab
    node = ctx.profile.nodes[0]
    plan = plan_upgrade(load_catalogue(with_user=False), "1.0.0", "1.0.1")
    with ctx.journal() as journal:
        session = UpgradeSession.create(journal, ctx.profile, plan)
    override_rehearsals(ctx.journal_path)
    hop = session.hops[0]

    checks = pre_checks(ctx, session, hop)
    assert all(c.ok for c in checks), [c for c in checks if not c.ok]
    served = next(c for c in checks if c.name == "serves data")
    assert "written and read back" in served.detail
    known = [c.detail for c in checks if c.name == "known issue"]
    assert any("cannot open a data directory it has opened before" in k for k in known)

    back_up(ctx, session, hop)
    server_pid = read_pid(Path(pid_file))
    with pytest.raises(SessionError) as failed:
        upgrade(ctx, session, _fresh(ctx, session).hop(hop.id))
    message = str(failed.value)
    assert REASON in message  # the server's own log line
    assert "known issue of 1.0.1" in message
    assert "1.0.0 cannot be restarted on its data either" in message
    assert "was not ready within" not in message  # said at once, not after the timeout

    # the first server did not exit on SIGTERM and was killed after the profile's timeout
    assert server_pid is not None and not alive(server_pid)
    with Journal(ctx.journal_path) as journal:
        stops = journal.events(session_id=session.id, types=["service.step"])
    assert any("killed (SIGKILL)" in (e.data or {}).get("output", "") for e in stops)

    # never shown as ready: the hop failed and the node does not answer
    with ctx.journal() as journal:
        assert UpgradeSession.load(journal, session.id).hop(hop.id).state == "failed"
    with ThemisClient(node.url, timeout=2) as client:
        assert poll_node(client, node.name).error

    # the rollback restores the backup and starts 1.0.0 again: the same wall, said the same way
    with pytest.raises(SessionError) as again:
        rollback(ctx, _fresh(ctx, session), _fresh(ctx, session).hop(hop.id), "restart failed")
    assert REASON in str(again.value) and "known issue of 1.0.0" in str(again.value)
    print(*lines, message, again.value, sep="\n")  # what an admin reads (pytest -s)
