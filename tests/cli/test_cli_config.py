"""`themis-desktop config check|apply` on real files and a real demo node."""

from __future__ import annotations

import io
import json

from themis_desktop.cli import main

CONFIG = "# n1\nserver:\n  port: 8765\nstorage:\n  rocksdb_path: /var/lib/themisdb\n"


def _config(tmp_path, name="themis.yaml", text=CONFIG):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_check_without_breaking_findings_exits_0_and_prints_the_table(tmp_path, capsys):
    path = _config(tmp_path)
    assert main(["config", "check", "--config", str(path), "--target", "1.5", "--from", "1.4"]) == 0
    out = capsys.readouterr().out
    assert "1 finding(s)" in out and "CHANGES" in out
    assert "storage.memtable_size_mb" in out and "(not set) → 512" in out


def test_check_of_a_legacy_path_after_the_cut_off_exits_1_with_json(tmp_path, capsys):
    path = _config(tmp_path, "config/config.yaml")
    args = ["config", "check", "--config", str(path), "--target", "1.7", "--from", "1.4"]
    assert main([*args, "--today", "2027-01-01", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["target"] == "1.7" and data["current"] == "1.4" and data["breaking"] is True
    (layout,) = [f for f in data["findings"] if f["kind"] == "legacy-path"]
    assert layout["severity"] == "breaks" and layout["action"] == "manual"
    assert layout["recommended"].endswith("config/core/config.yaml")
    memtable = next(f for f in data["findings"] if f["key"] == "storage.memtable_size_mb")
    assert memtable == {**memtable, "current": None, "recommended": 512, "applicable": True}
    assert set(memtable) >= {"id", "kind", "severity", "reason", "since"}
    assert main([*args, "--today", "2026-12-31", "--json"]) == 0  # a warning still
    assert json.loads(capsys.readouterr().out)["breaking"] is False


def test_check_errors_exit_2_with_the_line(tmp_path, capsys):
    bad = _config(tmp_path, text="server:\n  port: 8765\n  host: [a\n")
    assert main(["config", "check", "--config", str(bad), "--target", "1.5"]) == 2
    assert f"{bad}:3" in capsys.readouterr().err
    good = _config(tmp_path, "good.yaml")
    assert main(["config", "check", "--config", str(good), "--target", "9.9"]) == 2
    assert "not in the release catalogue" in capsys.readouterr().err
    assert main(["config", "check", "--config", str(tmp_path / "none.yaml"), "--target", "1.5"])
    assert "no such file" in capsys.readouterr().err


def test_check_of_a_server_asks_its_version(start_demo_node, capsys):
    node = start_demo_node("1.4.0")
    assert main(["config", "check", "--server", node.url, "--target", "1.5", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["current"] == "1.4.0"
    (memtable,) = data["findings"]
    assert memtable["severity"] == "recommended" and memtable["current"] == 128


def test_apply_with_yes_writes_and_keeps_the_old_file(tmp_path, capsys):
    path = _config(tmp_path)
    args = ["config", "apply", "--config", str(path), "--target", "1.5", "--from", "1.4"]
    assert main([*args, "--yes"]) == 0
    out = capsys.readouterr().out
    (backup,) = tmp_path.glob("themis.yaml.*.bak")
    assert f"kept as {backup}" in out and backup.read_text() == CONFIG
    assert path.read_text() == CONFIG + "  memtable_size_mb: 512\n"
    assert main([*args, "--yes"]) == 0  # nothing left to do
    assert "Nothing to change" in capsys.readouterr().out


def test_apply_asks_and_refuses_without_a_terminal(tmp_path, capsys, monkeypatch):
    path = _config(tmp_path)
    args = ["config", "apply", "--config", str(path), "--target", "1.5", "--from", "1.4"]
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # not a TTY
    assert main(args) == 2
    assert "--yes" in capsys.readouterr().err and path.read_text() == CONFIG
    assert main([*args, "--only", "server.nope", "--yes"]) == 2
    assert "no finding for server.nope" in capsys.readouterr().err

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    assert main(args) == 0 and path.read_text() == CONFIG
    monkeypatch.setattr("sys.stdin", Terminal("y\n"))
    assert main([*args, "--only", "storage.memtable_size_mb"]) == 0
    assert "memtable_size_mb: 512" in path.read_text()


def test_check_to_17_shows_the_built_in_write_buffers_and_apply_leaves_them_alone(tmp_path, capsys):
    """The RocksDB wrapper's defaults move in 1.7 (include/storage/rocksdb_wrapper.h) and no
    file key sets them (src/main_server.cpp): shown, never written, never 'by hand'."""
    path = _config(tmp_path, text=CONFIG + "  memtable_size_mb: 512\n")
    args = ["--config", str(path), "--target", "1.7", "--from", "1.5"]
    assert main(["config", "check", *args]) == 0
    out = capsys.readouterr().out
    assert "rocksdb.max_write_buffer_number  (since 1.7)  [built in, nothing to do]" in out
    assert "(no file key) → 6 (built in)" in out and "[by hand]" not in out
    assert main(["config", "check", *args, "--json"]) == 0
    findings = json.loads(capsys.readouterr().out)["findings"]
    buffers = next(f for f in findings if f["key"] == "rocksdb.db_write_buffer_size_mb")
    assert (buffers["kind"], buffers["action"], buffers["recommended"]) == (
        "built-in-default",
        "keep",
        2048,
    )
    before = path.read_text()
    assert main(["config", "apply", *args, "--yes"]) == 0
    out = capsys.readouterr().out
    assert "Nothing to change automatically" in out and "by hand" not in out
    assert path.read_text() == before


def test_check_to_18_names_the_stream_writer_compression(tmp_path, capsys):
    path = _config(tmp_path)
    args = ["config", "check", "--config", str(path), "--target", "1.8", "--from", "1.7"]
    assert main([*args, "--json"]) == 0
    findings = {f["key"]: f for f in json.loads(capsys.readouterr().out)["findings"]}
    assert findings["storage.stream_writer.compression"]["recommended"] == "zstd"
    assert findings["server.versioned_routing.redirect_unversioned"]["severity"] == "info"
