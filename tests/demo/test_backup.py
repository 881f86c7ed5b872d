"""`/admin/backup` and `/admin/restore`: real checkpoints on disk."""

from __future__ import annotations

import os
import re
import time

from themis_desktop.demo.checkpoint import checkpoint_files


def names(folder) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_backup_writes_a_checkpoint_of_the_database(make_node, client, tmp_path):
    node = make_node("1.7.3")
    c = client(node)
    dest = tmp_path / "checkpoints" / "cp1"
    r = c.post("/admin/backup", json={"directory": str(dest)})
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "directory": str(dest)}
    assert names(dest) == {p.name for p in checkpoint_files(node.data_path)}
    assert names(dest) == names(node.data_path) - {"LOCK", "LOG"}
    assert not (dest.parent / "cp1.tmp").exists()
    assert {"CURRENT", "IDENTITY"} <= names(dest)
    assert any(re.fullmatch(r"MANIFEST-\d{6}", n) for n in names(dest))
    assert any(re.fullmatch(r"OPTIONS-\d{6}", n) for n in names(dest))
    assert not any(n.endswith(".yaml") or n.startswith("index") for n in names(dest))
    for sst in dest.glob("*.sst"):  # immutable tables are hard links, not copies
        assert os.path.samefile(sst, node.data_path / sst.name)
        assert sst.stat().st_size == (node.data_path / sst.name).stat().st_size


def test_backup_errors(make_node, client, tmp_path):
    c = client(make_node("1.4.1"))
    r = c.post("/admin/backup", content=b"")  # nlohmann's exception text, as the server
    assert r.status_code == 400
    assert r.json() == {
        "error": True,
        "message": "Invalid JSON: [json.exception.parse_error.101] parse error at line 1, "
        "column 1: syntax error while parsing value - unexpected end of input; expected '[', "
        "'{', or a literal",
        "status_code": 400,
    }
    existing = tmp_path / "exists"
    existing.mkdir()
    r = c.post("/admin/backup", json={"directory": str(existing)})
    assert r.status_code == 500
    assert r.json()["message"] == f"Failed to create checkpoint at {existing}"


def test_backup_default_and_relative_directories(make_node, client):
    node = make_node("1.7.3")
    c = client(node)
    before = int(time.time())
    default = c.post("/admin/backup", json={}).json()["directory"]  # as given: relative
    match = re.fullmatch(r"\./backup_(\d+)", default)
    assert match and int(match[1]) >= before
    assert (node.data_dir / default / "CURRENT").is_file()  # in the working folder
    r = c.post("/admin/backup", json={"directory": "backups/one"})
    assert r.json()["directory"] == "backups/one"
    assert (node.data_dir / "backups" / "one" / "CURRENT").is_file()


def test_restore_replaces_the_data(make_node, client, tmp_path):
    node = make_node("1.7.3")
    c = client(node)
    (node.data_path / "MARKER").write_text("before backup")
    dest = tmp_path / "cp"
    assert c.post("/admin/backup", json={"directory": str(dest)}).status_code == 200
    (node.data_path / "MARKER").unlink()
    (node.data_path / "AFTER").write_text("written after the backup")
    keys_before = c.get("/stats").json()["storage"]["rocksdb"]["estimate_num_keys"]

    r = c.post("/admin/restore", json={"directory": str(dest)})
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "restored_from": str(dest)}
    assert (node.data_path / "MARKER").read_text() == "before backup"
    assert not (node.data_path / "AFTER").exists()
    assert (dest / "MARKER").is_file()  # the checkpoint itself is untouched
    stats = c.get("/stats").json()["storage"]["rocksdb"]
    assert stats["estimate_num_keys"] == keys_before
    assert c.get("/health/ready").json()["status"] == "ready"
    assert "Database restored from" in (node.data_dir / "themis_server.log").read_text()


def test_restore_errors(make_node, client, tmp_path):
    node = make_node("1.7.3")
    c = client(node)
    r = c.post("/admin/restore", json={})
    assert r.status_code == 400
    assert r.json()["message"] == "Missing required field: directory"
    assert (
        c.post("/admin/restore", content=b"")
        .json()["message"]
        .startswith("Invalid JSON: [json.exception.parse_error.101] ")
    )
    r = c.post("/admin/restore", json={"directory": str(tmp_path / "missing")})
    assert r.status_code == 500
    assert c.get("/health/ready").json()["status"] == "ready"  # nothing deleted

    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "notes.txt").write_text("not a database")
    r = c.post("/admin/restore", json={"directory": str(garbage)})
    assert r.status_code == 500  # data deleted, checkpoint useless: the node is not ready
    assert (node.data_path / "notes.txt").is_file()
    assert c.get("/health/ready").status_code == 503


def test_restore_while_the_workload_runs(make_node, client, tmp_path):
    node = make_node("1.7.3", workload=True)
    c = client(node)
    dest = tmp_path / "cp"
    assert c.post("/admin/backup", json={"directory": str(dest)}).status_code == 200
    for _ in range(3):
        assert c.post("/admin/restore", json={"directory": str(dest)}).status_code == 200
    assert c.get("/health/ready").json()["status"] == "ready"


def test_restore_refuses_a_parent_of_the_database_before_deleting_anything(make_node, client):
    node = make_node("1.7.3")
    c = client(node)
    for directory in (".", str(node.data_dir), "/"):
        r = c.post("/admin/restore", json={"directory": directory})
        assert r.status_code == 500, directory
    assert c.get("/health/ready").json()["status"] == "ready"


def test_backup_never_deletes_a_foreign_tmp_directory(make_node, client, tmp_path):
    node = make_node("1.7.3")
    victim = tmp_path / "cp.tmp"
    victim.mkdir()
    (victim / "precious").write_text("keep me")
    assert client(node).post("/admin/backup", json={"directory": str(tmp_path / "cp")}).is_success
    assert (victim / "precious").read_text() == "keep me"
