"""Following a node's log file across a restart of its server: whatever the restart does to
the file (appends, rewrites it from the start, replaces it), every line after the restart
is read once, whole, in order."""

from __future__ import annotations

import os

from themis_desktop.core.logs.follow import FileFollower


def _append(path, text: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(text)


def _lines(prefix: str, n: int) -> str:
    return "".join(f"[2026-12-05 10:00:0{i}.000] [themis] [info] {prefix} {i}\n" for i in range(n))


def test_a_log_rewritten_at_restart_is_read_from_its_start_though_already_longer(tmp_path):
    log = tmp_path / "themis_server.log"
    log.write_text("")
    follower = FileFollower(log)
    _append(log, _lines("before", 2))
    assert len(follower.poll()) == 2
    # the restarted server opens its log anew (mode "w") and logs more than was read so far
    # before the next poll: the size alone cannot tell, the first bytes can
    log.write_text(_lines("after the restart, a longer line than before", 4))
    assert [x.split("] ")[-1] for x in follower.poll()] == [
        f"after the restart, a longer line than before {i}" for i in range(4)
    ]
    _append(log, _lines("then", 1))
    assert [x.split("] ")[-1] for x in follower.poll()] == ["then 0"]
    assert follower.truncations == 1 and follower.rotations == 0
    follower.close()


def test_a_log_replaced_by_a_new_file_at_restart_loses_no_line(tmp_path):
    log = tmp_path / "themis_server.log"
    log.write_text("")
    follower = FileFollower(log)
    _append(log, _lines("old", 1))
    assert len(follower.poll()) == 1
    _append(log, _lines("shutting down", 1))  # the old server's last words …
    fresh = tmp_path / "themis_server.log.new"
    fresh.write_text(_lines("starting", 2))
    os.replace(fresh, log)  # … and the new one's log, put in place under the same name
    assert [x.split("] ")[-1] for x in follower.poll()] == [
        "shutting down 0",
        "starting 0",
        "starting 1",
    ]
    assert follower.rotations == 1
    follower.close()


def test_appending_across_a_restart_is_not_taken_for_a_rewrite(tmp_path):
    log = tmp_path / "themis_server.log"
    log.write_text(_lines("old", 3))
    follower = FileFollower(log)
    for n in range(3):  # restart after restart, the same file grows
        _append(log, _lines(f"run {n}", 2))
        assert len(follower.poll()) == 2
    assert follower.truncations == 0 and follower.rotations == 0
    follower.close()
