"""The profiles table of the journal: connection profiles and their nodes, saved by name.

Functions over an open `Journal`; the schema (its migrations) stays in the journal.
"""

from __future__ import annotations

from typing import Any

from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.connection.router_config import RouterConfig
from themis_desktop.core.connection.service_config import ServiceConfig
from themis_desktop.core.journal.store import Journal, inserted_id, utc_now


def save(journal: Journal, profile: Profile) -> Profile:
    """Insert or update (by name) a profile and its nodes; returns it with its id."""
    now = utc_now()
    row = {
        "name": profile.name,
        "verify_tls": int(profile.verify_tls),
        "ca_file": profile.ca_file,
        "demo": int(profile.demo),
        "uses_auth": int(profile.uses_auth),
        "service": profile.service.to_json(),
        "router": profile.router.to_json(),
        "updated_at": now,
    }
    with journal.transaction():
        existing = _id(journal, profile.name) or profile.id
        if existing:
            journal.db.table("profiles").update(existing, row)
            profile_id = existing
        else:
            profile_id = inserted_id(
                journal.db.table("profiles").insert({**row, "created_at": now})
            )
        journal.db.table("profile_nodes").delete_where("profile_id = ?", [profile_id])
        journal.db.table("profile_nodes").insert_all(
            {
                "profile_id": profile_id,
                "position": i,
                "name": n.name,
                "url": n.url,
                "data_dir": n.data_dir,
                "config_path": n.config_path,
                "version_override": n.version_override,
                "log_source": n.log_source or None,
            }
            for i, n in enumerate(profile.nodes)
        )
    return profile.with_id(profile_id)


def _id(journal: Journal, name: str) -> int | None:
    rows = list(journal.db["profiles"].rows_where("name = ?", [name], select="id"))
    return rows[0]["id"] if rows else None


def load_all(journal: Journal) -> list[Profile]:
    """Every saved profile, by name."""
    return [_load(journal, row) for row in journal.select("SELECT * FROM profiles ORDER BY name")]


def get(journal: Journal, name: str) -> Profile | None:
    """The profile saved as `name`, or None."""
    rows = list(journal.db["profiles"].rows_where("name = ?", [name]))
    return _load(journal, rows[0]) if rows else None


def name_of(journal: Journal, profile_id: int) -> str | None:
    """The name of the profile saved with `profile_id`, or None when it was deleted."""
    rows = list(journal.db["profiles"].rows_where("id = ?", [profile_id], select="name"))
    return rows[0]["name"] if rows else None


def _load(journal: Journal, row: dict[str, Any]) -> Profile:
    nodes = journal.select(
        "SELECT * FROM profile_nodes WHERE profile_id = ? ORDER BY position", [row["id"]]
    )
    return Profile(
        name=row["name"],
        nodes=tuple(
            NodeEndpoint(
                url=n["url"],
                name=n["name"],
                data_dir=n["data_dir"],
                config_path=n["config_path"],
                version_override=n["version_override"],
                log_source=n.get("log_source") or "",
            )
            for n in nodes
        ),
        verify_tls=bool(row["verify_tls"]),
        ca_file=row["ca_file"],
        demo=bool(row["demo"]),
        uses_auth=bool(row["uses_auth"]),
        service=ServiceConfig.from_json(row.get("service")),
        router=RouterConfig.from_json(row.get("router")),
        id=row["id"],
    )


def delete(journal: Journal, name: str) -> bool:
    """Delete the profile `name` and its nodes; its sessions keep its name. False when there
    was none."""
    profile_id = _id(journal, name)
    if profile_id is None:
        return False
    with journal.transaction():
        journal.db.execute(
            "UPDATE sessions SET profile_id = NULL WHERE profile_id = ?", [profile_id]
        )
        journal.db.table("profile_nodes").delete_where("profile_id = ?", [profile_id])
        journal.db.table("profiles").delete(profile_id)
    return True
