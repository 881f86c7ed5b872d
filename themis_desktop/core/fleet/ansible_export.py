"""Export a fleet upgrade as Ansible: an inventory and one playbook per hop.

`export_files(profile, plan, options)` gives the files as text (YAML dumped with
`yaml.safe_dump` from plain data): `inventory.yml` (the profile's nodes, grouped by their
role in the strategy: `canary`/`stable`, or `nodes` for a rolling upgrade, under
`themisdb`) and `upgrade-<from>-<to>.yml` per hop (`ansible_playbook`). `write_files` puts
them in a folder. The app plans, gates and records; Ansible executes.

Batches: rolling is `serial: 1`; canary follows the traffic steps as shares of the nodes
(`serial: ["5%", "20%", …]`: Ansible takes at least one node a batch, the canary first).
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml

from themis_desktop.core.connection.profiles import NodeEndpoint, Profile
from themis_desktop.core.fleet.ansible_playbook import rollback_play, upgrade_play
from themis_desktop.core.versions.upgrade_path import Hop, Plan

Strategy = Literal["rolling", "canary"]
DEFAULT_GATE_SAMPLES = 50  # `metrics watch --min-samples` default (core/metrics/comparison)
HEADER = "# Written by `themis-desktop plan export` ({what}). Themis Desktop plans, gates and\n"
HEADER += "# records; Ansible executes. Edit the variables, not the steps' order.\n"


@dataclass(frozen=True)
class ExportOptions:
    """How the playbooks run: the strategy, the soak of each gate and its evidence."""

    themis_desktop: str = "themis-desktop"  # the CLI on the hosts
    backup_dir: str = "/var/backups/themisdb"  # on the hosts; one folder per node below it
    strategy: Strategy = "rolling"
    canary_steps: tuple[float, ...] = (5, 20, 50, 100)
    soak: float = 60.0  # seconds of the baseline and of the gate's watch
    interval: float = 1.0  # seconds between samples
    min_samples: int | None = None  # the gate's evidence a side (None: the watch's 50)
    thresholds: tuple[tuple[str, float], ...] = ()  # (metric, percent) fail thresholds
    baseline_minutes: float | None = None  # None: the soak plus ten minutes for the restart
    ready_retries: int = 120  # seconds to wait for /health/ready and /version
    token_env: str = "THEMIS_DESKTOP_TOKEN"
    extra_vars: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.strategy not in ("rolling", "canary"):
            raise ValueError(
                f"an Ansible export is rolling or canary, not {self.strategy!r} (blue-green "
                "switches traffic between two environments: use `themis-desktop rollout`)"
            )
        if not 0 < self.soak <= 86400 or not 0 < self.interval <= self.soak:
            raise ValueError("the soak is above 0 s and the interval between 0 and the soak")
        if self.strategy == "canary" and (
            not self.canary_steps or any(not 0 < p <= 100 for p in self.canary_steps)
        ):
            raise ValueError("canary steps are percentages above 0 and up to 100")
        samples = int(self.soak / self.interval)
        needed = self.min_samples or DEFAULT_GATE_SAMPLES
        if samples < needed:
            raise ValueError(
                f"a soak of {self.soak:g} s at {self.interval:g} s gives {samples} samples a "
                f"side; the gate needs {needed}: lengthen the soak, shorten the interval or "
                "lower the minimum samples"
            )

    @property
    def serial(self) -> int | list[str]:
        if self.strategy == "rolling":
            return 1
        return [f"{p:g}%" for p in self.canary_steps]


def export_files(profile: Profile, plan: Plan, options: ExportOptions) -> dict[str, str]:
    """File name -> text: the inventory and a playbook per hop of `plan`."""
    if not plan.hops:
        raise ValueError(f"{profile.name} needs no upgrade: there is no hop to export")
    files = {"inventory.yml": _dump(inventory(profile, options), "the inventory")}
    for hop in plan.hops:
        name = playbook_name(hop)
        files[name] = _dump(playbook(profile, hop, options), f"the hop {hop.title}")
    return files


def write_files(folder: Path, files: dict[str, str]) -> list[Path]:
    """Write `files` into `folder` (made if missing); the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        path = folder / name
        temporary = path.with_name(f".{name}.{os.getpid()}.tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(path)
        written.append(path)
    return written


def playbook_name(hop: Hop) -> str:
    return f"upgrade-{hop.source.text}-{hop.target.text}.yml"


def inventory(profile: Profile, options: ExportOptions) -> dict[str, Any]:
    """The profile's nodes under `themisdb`, grouped by role, with the variables the
    playbooks use (`ansible_connection: local` for the demo, whose nodes run here)."""
    hosts = {host_name(node): _host_vars(profile, node) for node in profile.nodes}
    names = list(hosts)
    if options.strategy == "canary":
        groups = {
            "canary": {"hosts": {names[0]: hosts[names[0]]}},
            "stable": {"hosts": {n: hosts[n] for n in names[1:]}},
        }
    else:
        groups = {"nodes": {"hosts": hosts}}
    common: dict[str, Any] = {
        "themis_desktop": options.themis_desktop,
        "themis_backup_dir": options.backup_dir,
        "themis_token_env": options.token_env,
        "themis_package": "themisdb",
        **options.extra_vars,
    }
    if profile.service.controlled().kind == "demo":
        common["themis_control_url"] = profile.service.control_url
        common["ansible_connection"] = "local"
        common["ansible_python_interpreter"] = "{{ ansible_playbook_python }}"
    return {"all": {"vars": common, "children": {"themisdb": {"children": groups}}}}


def playbook(profile: Profile, hop: Hop, options: ExportOptions) -> list[dict[str, Any]]:
    """The upgrade play of `hop` and its rollback play."""
    baseline = options.baseline_minutes or math.ceil(options.soak / 60) + 10
    play_vars = {
        "themis_from": hop.source.text,
        "themis_to": hop.target.text,
        "themis_strategy": options.strategy,
        "themis_soak_seconds": options.soak,
        "themis_gate_interval": options.interval,
        "themis_baseline_minutes": baseline,
        "themis_ready_retries": options.ready_retries,
    }
    gate = [
        "{{ themis_desktop | quote }} metrics watch --server {{ themis_url | quote }}",
        "--baseline-minutes {{ themis_baseline_minutes }}",
        "--duration {{ themis_soak_seconds }} --interval {{ themis_gate_interval }}",
        "--enforcing",
    ]
    if options.min_samples is not None:
        gate.append(f"--min-samples {options.min_samples}")
    gate += [f"--threshold {metric}={percent:g}" for metric, percent in options.thresholds]
    return [
        upgrade_play(profile.service, options.serial, play_vars, gate),
        rollback_play(profile.service, play_vars),
    ]


def host_name(node: NodeEndpoint) -> str:
    """The node's name as an inventory host (`host:port` would be read as a port)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", node.name) or "node"


def _host_vars(profile: Profile, node: NodeEndpoint) -> dict[str, Any]:
    if not node.data_dir:
        raise ValueError(
            f"{node.name} of {profile.name} has no data dir: the backup needs it "
            "(`themis-desktop profiles add … --data-dir DIR`)"
        )
    parts = urlsplit(node.url)
    host: dict[str, Any] = {
        "themis_node": node.name,
        "themis_url": node.url,
        "themis_port": parts.port or (443 if parts.scheme == "https" else 80),
        "themis_data_dir": node.data_dir,
        "themis_config": node.config_path or "",
    }
    return host


class _Dumper(yaml.SafeDumper):
    """Safe YAML that reads well: lists indented under their key, text with line breaks as
    a literal block, long commands folded (`>-`) instead of wrapped inside quotes."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else ">" if len(value) > 80 else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def _dump(data: Any, what: str) -> str:
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=96)
    return HEADER.format(what=what) + "---\n" + text
