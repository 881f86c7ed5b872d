"""The command line: status of nodes and profile management, in-process and as a program."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.core.loopback import free_port
from themis_desktop.cli import main


def test_status_of_a_healthy_node_exits_0(capsys, start_demo_node):
    node = start_demo_node("1.7.3")
    assert main(["status", node.url]) == 0
    out = capsys.readouterr().out
    assert "up" in out and "v1.7.3 (version-route)" in out


def test_status_json_of_an_era_a_node_and_a_down_node(capsys, start_demo_node):
    node = start_demo_node("1.0.2")
    down = f"http://127.0.0.1:{free_port()}"
    assert main(["status", "--json", node.url, down]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data[0]["version"]["version"] == "1.0.0"
    assert data[0]["version"]["exact"] is False
    assert data[0]["state"] == "up"
    assert data[1]["state"] == "down" and data[1]["error_kind"] == "refused"


def test_token_comes_from_the_environment(capsys, monkeypatch, start_demo_node):
    node = start_demo_node("1.0.2", tokens={"admin": "tok"})
    monkeypatch.setenv("THEMIS_DESKTOP_TOKEN", "tok")
    assert main(["status", node.url]) == 0
    assert "tok" not in capsys.readouterr().out


def test_profiles_add_list_status_remove(capsys, start_demo_node):
    node = start_demo_node("1.4.2")
    assert main(["profiles", "add", "lab", node.url]) == 0
    assert main(["profiles", "list"]) == 0
    assert f"lab: {node.url}" in capsys.readouterr().out
    assert main(["status", "--profile", "lab"]) == 0
    assert main(["profiles", "remove", "lab"]) == 0
    assert main(["profiles", "remove", "lab"]) == 1


def test_program_prints_its_version():
    result = subprocess.run(
        [sys.executable, "-m", "themis_desktop", "--version"], capture_output=True, text=True
    )
    assert result.returncode == 0
    assert result.stdout.startswith("themis-desktop ")


def test_path_prints_the_stops_and_the_point_of_no_return(capsys):
    assert main(["path", "--from", "1.5.0", "--to", "1.8"]) == 0
    lines = capsys.readouterr().out.splitlines()
    hops = [line for line in lines if line.startswith("  1.") or line.startswith("  2.")]
    assert hops[0].startswith("  1. 1.5.0 → 1.7.0") and "no return" not in hops[0]
    assert hops[1].startswith("  2. 1.7.0 → 1.8.2") and hops[1].endswith("← point of no return")


def test_path_json_follows_the_documented_shape(capsys):
    assert main(["path", "--from", "1.3.2", "--to", "1.4.x", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["from"] == "1.3.2" and data["to"] == "1.4.2" and data["skip_level"] is False
    assert data["hops"] == [
        {
            "from": "1.3.2",
            "to": "1.4.2",
            "kind": "minor",
            "status": "released",
            "evidence": "",
            "source": ["CHANGELOG.md"],
            "confirmed": False,
            "notes": [],
            "guide": "available",
            "breaking_changes": [],
            "deprecations": ["BinaryQuantizer and LearnedQuantizer are marked deprecated."],
            "reversibility": "binary-swap",
            "required": False,
        }
    ]


def test_path_marks_contested_stops_with_evidence_and_says_why_1_6_is_no_stop(capsys):
    assert main(["path", "--from", "1.0.0", "--to", "1.8"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    first = next(line for line in lines if line.startswith("  1. "))
    second = next(line for line in lines if line.startswith("  2. "))
    assert first.startswith("  1. 1.0.0 → 1.1.0") and first.endswith("[contested, not confirmed]")
    assert second.startswith("  2. 1.1.0 → 1.2.0") and second.endswith("[contested, not confirmed]")
    assert "? 1.1.0 is contested: " in out and "2024-09-01" in out and "2025-03-10" in out
    assert "sources: docs/releases/CHANGELOG.md, docs/de/releases/README.md" in out
    assert "· 1.6 is not a stop: upstream has no such release; the 1.7.0 notes name 1.5.0" in out
    assert "  3. 1.2.0 → 1.3.4-hotfix" in out and "1.3.5 is newer but documentation/build" in out
    assert "· 1.8.1-rc1 is never a stop: known-bad" in out
    confirm = next(line for line in lines if line.startswith("confirm: "))
    assert "--have 1.1.0 --have 1.2.0" in confirm


def test_path_json_carries_each_stops_status_and_have_confirms(capsys):
    assert main(["path", "--from", "1.0.0", "--to", "1.8", "--json", "--have", "1.1.0"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(s["version"], s["status"], s["confirmed"]) for s in data["stops"][:3]] == [
        ("1.1.0", "contested", True),
        ("1.2.0", "contested", False),
        ("1.3.4-hotfix", "released", False),
    ]
    assert [hop["status"] for hop in data["hops"]] == ["contested"] * 2 + ["released"] * 5
    assert data["have"] == ["1.1.0"] and data["unconfirmed"] == ["1.2.0"]
    assert "2025-03-10" in data["hops"][1]["evidence"]


def test_path_to_a_known_bad_release_exits_2_with_the_reason(capsys):
    assert main(["path", "--from", "1.8.0", "--to", "1.8.1-rc1"]) == 2
    err = capsys.readouterr().err
    assert "1.8.1-rc1 is known-bad and is never a stop" in err and "exit code 139" in err


def test_releases_lists_status_evidence_source_and_the_stop(capsys):
    assert main(["releases"]) == 0
    out = capsys.readouterr().out
    assert "1.1.0        2026-Q1     (low)  [contested] " in out
    assert "1.8.1-rc1    2026-04-04  (high)  [known-bad] " in out
    assert "source: docs/de/releases/RELEASE_NOTES_v1.3.5.md" in out
    assert "stop 1.3.4-hotfix: 1.3.5 is newer but" in out
    assert "HTTP/2, WebSocket, MQTT" in out  # an unquoted comma no longer cuts a summary


def test_path_skip_level_lists_the_conditions(capsys):
    assert main(["path", "--from", "1.5", "--to", "1.9", "--skip-level", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["skip_level"] and len(data["conditions"]) == 5
    assert data["hops"][0]["kind"] == "skip-level"


def test_bad_input_exits_2_with_one_line(capsys):
    assert main(["path", "--from", "1.8.2", "--to", "1.7"]) == 2
    assert main(["path", "--from", "banana", "--to", "1.8"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2
    assert "that is a rollback" in err[0] and "not a version number" in err[1]


def test_a_malformed_catalogue_file_exits_2_naming_the_line(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text('lines:\n  - line: "3.0"\n    releases:\n      - {version: 9.9.9}\n')
    assert main(["path", "--from", "1.7", "--catalogue", str(bad)]) == 2
    assert f"{bad}:4:" in capsys.readouterr().err


def test_a_bad_address_or_ca_file_is_one_line_not_a_traceback(capsys, tmp_path):
    assert main(["status", "ftp://x"]) == 2
    assert "not a ThemisDB node address" in capsys.readouterr().err
    assert main(["status", "--ca-file", str(tmp_path / "nope.pem"), "https://127.0.0.1:1"]) == 1
    out = capsys.readouterr().out
    assert "CA file" in out and "cannot be used" in out


def test_guide_list_shows_every_bundled_hop_in_order(capsys):
    assert main(["guide", "list"]) == 0
    hops = [line.split()[0] for line in capsys.readouterr().out.splitlines() if "→" in line]
    assert hops[:3] == ["1.0", "1.1", "1.2"] and hops.index("1.9") < hops.index("1.10")


def test_guide_validate_reports_file_line_severity_and_exits_1_on_errors(capsys, tmp_path):
    bad = tmp_path / "bad.md"
    bad.write_text("# Notes\n\n```\nx\n```\n")
    assert main(["guide", "validate", str(bad)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith(f"{bad}:1: warning: no front matter") for line in lines)
    assert any(line.startswith(f"{bad}:") and ": error: missing section" in line for line in lines)
    assert main(["guide", "validate", "guides"]) == 0


def test_guide_render_writes_a_standalone_safe_page(tmp_path):
    source = tmp_path / "g.md"
    source.write_text("# Guide\n\n<script>alert(1)</script>\n\n| a |\n|---|\n| 1 |\n")
    out = tmp_path / "g.html"
    assert main(["guide", "render", str(source), "-o", str(out)]) == 0
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert '<table border="1"' in page


def test_guide_steps_json_has_ids_and_phases(capsys):
    assert main(["guide", "steps", "guides/v1.7-to-v1.8.md", "--json"]) == 0
    steps = json.loads(capsys.readouterr().out)
    assert {s["phase"] for s in steps} == {
        "pre-checks",
        "backup",
        "upgrade",
        "validation",
        "rollback",
    }
    assert len({s["id"] for s in steps}) == len(steps)


def test_guide_of_a_missing_file_exits_2(capsys, tmp_path):
    assert main(["guide", "steps", str(tmp_path / "none.md")]) == 2
    assert "cannot be read" in capsys.readouterr().err


def test_backup_verify_list_and_restore_from_the_command_line(capsys, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "000001.sst").write_bytes(bytes(range(256)) * 1000)
    (data / "CURRENT").write_text("MANIFEST-000001\n")
    config = tmp_path / "config.yaml"
    config.write_text("server:\n  port: 8765\n")
    assert (
        main(
            [
                "backup",
                "--stopped",
                "--data-dir",
                str(data),
                "--config",
                str(config),
                "--themis-version",
                "1.7.0",
                "--node",
                "db1",
                "-o",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    archive = capsys.readouterr().out.strip().splitlines()[-1]
    assert archive.endswith(".tar.zst") and "themis-db1-1.7.0-" in archive
    assert main(["verify", archive]) == 0
    assert main(["verify", "--quick", archive]) == 0
    capsys.readouterr()
    assert main(["backups", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["backups"][0]["node"] == "db1" and listed["backups"][0]["verified_at"]
    assert listed["leftovers"] == []
    (data / "CURRENT").write_text("changed")
    assert main(["restore", archive, "--data-dir", str(data)]) == 2  # asks for --yes
    assert (data / "CURRENT").read_text() == "changed"
    assert main(["restore", archive, "--data-dir", str(data), "--yes"]) == 0
    assert (data / "CURRENT").read_text() == "MANIFEST-000001\n"


def test_verify_of_a_damaged_archive_exits_1_with_reasons(capsys, tmp_path):
    damaged = tmp_path / "x.tar.zst"
    damaged.write_bytes(b"not an archive at all")
    assert main(["verify", str(damaged)]) == 1
    assert "DAMAGED" in capsys.readouterr().out


def test_backups_prune_lists_then_deletes_old_backups(capsys, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "CURRENT").write_text("x")
    archives = []
    for _ in range(3):
        assert (
            main(
                [
                    "backup",
                    "--stopped",
                    "--data-dir",
                    str(data),
                    "--themis-version",
                    "1.7.0",
                    "--node",
                    "db1",
                    "--no-verify",
                    "-o",
                    str(tmp_path / "out"),
                ]
            )
            == 0
        )
        archives.append(capsys.readouterr().out.strip().splitlines()[-1])
    assert len(set(archives)) == 3  # same second, same node: never the same file
    assert main(["backups", "prune", "--keep", "1"]) == 0
    assert capsys.readouterr().out.count("would delete") == 2
    assert main(["backups", "prune", "--keep", "1", "--yes"]) == 0
    assert [p for p in archives if Path(p).exists()] == [archives[-1]]


def _restorable(capsys, tmp_path) -> tuple[str, Path]:
    """A catalogued backup of a stopped node's data dir, and that data dir changed since."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "CURRENT").write_text("MANIFEST-000001\n")
    (data / "000001.sst").write_bytes(bytes(range(256)) * 100)
    backup = ["backup", "--stopped", "--data-dir", str(data), "--themis-version", "1.7.0"]
    assert main([*backup, "--node", "db1", "-o", str(tmp_path / "out")]) == 0
    archive = capsys.readouterr().out.strip().splitlines()[-1]
    (data / "CURRENT").write_text("changed")
    return archive, data


def test_restore_says_what_cannot_be_undone_and_refuses_without_a_terminal(capsys, tmp_path):
    """Issue 17: the restore asks first (`ask_first`); without a terminal, --yes is needed."""
    archive, data = _restorable(capsys, tmp_path)
    assert main(["restore", archive, "--data-dir", str(data)]) == 2
    out, err = capsys.readouterr()
    assert f"Restore {archive} (the backup of db1 at 1.7.0, " in out
    assert f"the data in {data} is replaced by the backup's" in out
    assert "every write made after the backup was taken is gone" in out
    assert "this cannot be undone here" in out and "data.pre-restore-<time>" in out
    assert "not asking without a terminal: add --yes to restore (nothing was changed)" in err
    assert (data / "CURRENT").read_text() == "changed"


def test_on_a_terminal_restore_asks_and_no_is_the_default(capsys, tmp_path):
    from tests.cli.test_cli_session import _on_a_terminal

    archive, data = _restorable(capsys, tmp_path)
    restore = ["restore", archive, "--data-dir", str(data)]
    for answer in ("", "n"):  # Enter: the default is no
        code, out = _on_a_terminal(restore, answer)
        assert code == 2, out
        assert f"Replace {data}? [y/N]" in out and "Nothing was changed." in out
        assert (data / "CURRENT").read_text() == "changed"
    code, out = _on_a_terminal(restore, "y")
    assert code == 0, out
    assert f"restored {data}" in out and "previous data kept in" in out
    assert (data / "CURRENT").read_text() == "MANIFEST-000001\n"


def test_updates_shows_each_nodes_update_checker(capsys, monkeypatch, start_demo_node):
    monkeypatch.setenv("THEMIS_DEMO_LATEST", "1.7.2")
    era_a, era_b, v18 = (start_demo_node(v) for v in ("1.2.0", "1.7.0", "1.8.0"))
    assert main(["profiles", "add", "mixed", era_a.url, era_b.url, v18.url]) == 0
    capsys.readouterr()
    assert main(["updates", "--profile", "mixed", "--check"]) == 0
    out = capsys.readouterr().out
    assert "Update checker not enabled" in out
    assert "Update available: v1.7.2 (checked " in out
    assert "not reachable on v1.8.0" in out
    down = f"http://127.0.0.1:{free_port()}"
    assert main(["updates", "--json", era_b.url, down]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data[0]["state"] == "update_available"
    assert data[0]["latest_release"]["version"] == "1.7.2"
    assert data[1]["state"] == "failed" and data[1]["hint"]


def test_releases_and_path_show_the_known_issues_of_1_0(capsys):
    assert main(["releases"]) == 0
    out = capsys.readouterr().out
    line_1_0 = out.split("\n1.1 ")[0]
    assert "      known issue cannot-reopen-data-dir (restart, restore): " in line_1_0
    assert "      known issue hangs-on-sigterm (stop): " in line_1_0
    assert "        evidence: Seen on the real server built from upstream commit e975014" in out
    assert "        what to do: Stop it with a timeout that ends in SIGKILL" in out
    assert "        source: src/server/http_server.cpp, src/storage/rocksdb_wrapper.cpp" in out
    assert out.count("known issue ") == 4
    assert main(["path", "--from", "1.0.1", "--to", "1.1"]) == 0
    out = capsys.readouterr().out
    assert "       ⚠ Upgrade 1.0.1 → 1.1.0, stopping 1.0.1: known issue of 1.0.1: It does" in out
    assert "       ⚠ Rolling back 1.1.0 → 1.0.1: known issue of 1.0.1: It cannot open" in out
    assert main(["path", "--from", "1.7.0", "--to", "1.8"]) == 0
    assert "known issue" not in capsys.readouterr().out


def test_core_errors_map_to_exit_codes_once_and_reach_the_log(capsys, monkeypatch, isolated_home):
    """`main` maps core's root: ThemisDesktopError exits 1, bad input (a ValueError among
    them) and an unusable journal exit 2; each message is one line and is in the log file."""
    cli_main = sys.modules["themis_desktop.cli.main"]  # `cli.main` is also the function
    from themis_desktop.core.journal.connection import JournalReadOnly
    from themis_desktop.core.service.control import ServiceError
    from themis_desktop.core.upgrade.session import SessionError
    from themis_desktop.core.versions.releases import VersionError

    for error, code in (
        (SessionError("Hop 1.7 → 1.8 is planned: run the pre-checks first."), 1),
        (ServiceError("systemctl stop failed: check the unit."), 1),
        (VersionError("banana is not a version number."), 2),
        (JournalReadOnly("The journal cannot be written: free some space."), 2),
    ):

        def fails(_args, error=error):
            raise error

        monkeypatch.setattr(cli_main, "open_window", fails)
        assert main([]) == code, error
        assert capsys.readouterr().err == f"themis-desktop: {error}\n"
    log = (isolated_home / "themis-desktop.log").read_text(encoding="utf-8")
    assert "WARNING Shown: systemctl stop failed: check the unit." in log
