"""The playbook of one hop: the upgrade play, node by node, and the rollback play.

The upgrade play follows the session's rules on each node, in `serial` batches with
`max_fail_percentage: 0`: a node that already runs the target is left as it is; else the
gate's baseline is sampled (`themis-desktop metrics record`), a verified backup is taken and
checked (`themis-desktop backup`, `verify`), the service is stopped, the target installed
and started, `/health/ready` and `/version` = target awaited, then the soak and gate
(`themis-desktop metrics watch`: its exit code decides, 3 fail and 4 no verdict stop the
node). When any of that fails after the backup, the block's rescue runs the six rollback
steps on that node and fails it, which ends the play before the next node is touched.

The rollback play (tagged `never, rollback`: only `--tags rollback` runs it) runs the same
six steps with the archive each node's upgrade remembered.
"""

from __future__ import annotations

from typing import Any

from themis_desktop.core.connection.service_config import ServiceConfig
from themis_desktop.core.fleet.ansible_service import service_task

FROM, TO = "{{ themis_from }}", "{{ themis_to }}"
NODE = "{{ themis_node }}"  # in messages; task names say THE_NODE (named once per batch)
THE_NODE = "the node"
CLI = "{{ themis_desktop | quote }}"
POINTER = "{{ themis_backup_dir }}/{{ inventory_hostname }}/before-{{ themis_to }}.archive"


def upgrade_play(
    service: ServiceConfig,
    serial: int | list[str],
    play_vars: dict[str, Any],
    gate_args: list[str],
) -> dict[str, Any]:
    """The upgrade play of the hop in `play_vars` (`themis_from`, `themis_to`, …)."""
    checks = [
        _read_version("themis_running"),
        {
            "name": f"Leave {THE_NODE} as it is when it runs {TO} already",
            "ansible.builtin.meta": "end_host",
            "when": "themis_running.json.version == themis_to",
        },
        {
            "name": f"Check that {THE_NODE} runs {FROM}",
            "ansible.builtin.assert": {
                "that": ["themis_running.json.version == themis_from"],
                "fail_msg": (
                    f"{NODE} runs {{{{ themis_running.json.version }}}}, not {FROM}: "
                    "this playbook is for the hop from " + FROM + " to " + TO + "."
                ),
                "quiet": True,
            },
        },
        {
            "name": f"Sample the metrics of {THE_NODE} before the upgrade (the gate's baseline)",
            "ansible.builtin.command": {
                "cmd": f"{CLI} metrics record --server {{{{ themis_url | quote }}}}"
                " --duration {{ themis_soak_seconds }} --interval {{ themis_gate_interval }}"
            },
            "changed_when": False,
        },
        {
            "name": f"Back up {THE_NODE} (a verified archive of its data and config)",
            "ansible.builtin.command": {"cmd": _backup_command()},
            "register": "themis_backup",
            "changed_when": True,
        },
        {
            "name": "Remember the archive for the rollback",
            "ansible.builtin.set_fact": {
                "themis_archive": "{{ themis_backup.stdout_lines | last }}"
            },
        },
        {
            "name": "Keep the archive's name beside it (the rollback play reads it)",
            "ansible.builtin.copy": {
                "content": "{{ themis_archive }}\n",
                "dest": POINTER,
                "mode": "0600",
            },
        },
        _verify_archive(),
    ]
    upgrade = {
        "name": f"Upgrade {THE_NODE} to {TO}",
        "block": [
            service_task(service, "stop", f"Stop the service of {THE_NODE}", TO),
            service_task(service, "install", f"Install {TO} on {THE_NODE}", TO),
            service_task(service, "start", f"Start the service of {THE_NODE}", TO),
            *_wait_until_serving("themis_to"),
            {
                "name": (
                    f"Soak and gate: watch {THE_NODE} for {{{{ themis_soak_seconds }}}} s against "
                    "its baseline (exit 3: fail, 4: no verdict)"
                ),
                "ansible.builtin.command": {"cmd": " ".join(gate_args)},
                "register": "themis_gate",
                "changed_when": False,
            },
        ],
        "rescue": [
            {
                "name": "Say why the node is rolled back",
                "ansible.builtin.set_fact": {
                    "themis_rollback_reason": (
                        "{{ ansible_failed_task.name }} failed: "
                        "{{ ansible_failed_result.msg | default('') }} "
                        "{{ ansible_failed_result.stdout | default('') }}"
                    )
                },
            },
            *rollback_steps(service),
            {
                "name": f"Stop the rollout: {THE_NODE} was rolled back to {FROM}",
                "ansible.builtin.fail": {
                    "msg": (
                        f"{NODE} did not pass the upgrade to {TO} and was rolled back to "
                        f"{FROM} from {{{{ themis_archive }}}}; the nodes after it were not "
                        "touched. Why: {{ themis_rollback_reason }}"
                    )
                },
            },
        ],
    }
    return {
        "name": f"Upgrade ThemisDB {play_vars['themis_from']} → {play_vars['themis_to']}",
        "hosts": "themisdb",
        "gather_facts": False,
        "serial": serial,
        "max_fail_percentage": 0,
        "vars": play_vars,
        "tasks": [*checks, upgrade],
    }


def rollback_play(service: ServiceConfig, play_vars: dict[str, Any]) -> dict[str, Any]:
    """The rollback on demand (`--tags rollback`, `--limit` the nodes): the six steps with
    the archive taken before each node's upgrade."""
    return {
        "name": f"Roll ThemisDB back from {play_vars['themis_to']} to {play_vars['themis_from']}",
        "hosts": "themisdb",
        "gather_facts": False,
        "serial": 1,
        "max_fail_percentage": 0,
        "tags": ["never", "rollback"],
        "vars": {**play_vars, "themis_rollback_reason": "asked for (--tags rollback)"},
        "tasks": [
            _read_version("themis_running", ignore_down=True),
            {
                "name": f"Leave {THE_NODE} as it is when it runs {FROM} already",
                "ansible.builtin.meta": "end_host",
                "when": "themis_running.json.version | default('') == themis_from",
            },
            {
                "name": "Read the name of the archive taken before the upgrade",
                "ansible.builtin.slurp": {"src": POINTER},
                "register": "themis_pointer",
            },
            {
                "name": "Remember the archive",
                "ansible.builtin.set_fact": {
                    "themis_archive": "{{ themis_pointer.content | b64decode | trim }}"
                },
            },
            *rollback_steps(service),
        ],
    }


def rollback_steps(service: ServiceConfig) -> list[dict[str, Any]]:
    """The six steps (DESIGN.md §1): stop, restore data and config, reinstall the previous
    version, verify data integrity, resume, document."""
    return [
        service_task(service, "stop", f"Rollback 1/6: stop the service of {THE_NODE}", FROM),
        {
            "name": f"Rollback 2/6: restore the backup of {THE_NODE} (data and config)",
            "ansible.builtin.command": {"cmd": _restore_command()},
            "register": "themis_restore",
            "changed_when": True,
        },
        service_task(service, "install", f"Rollback 3/6: reinstall {FROM} on {THE_NODE}", FROM),
        {
            "name": "Rollback 4/6: verify data integrity (every restored file was checked)",
            "ansible.builtin.assert": {
                "that": ["'restored ' ~ themis_data_dir in themis_restore.stdout"],
                "fail_msg": "the restore did not say it restored {{ themis_data_dir }}",
                "quiet": True,
            },
        },
        {**_verify_archive(), "name": "Rollback 4/6: verify the archive restored from"},
        service_task(service, "start", f"Rollback 5/6: resume the service of {THE_NODE}", FROM),
        *_wait_until_serving("themis_from", prefix="Rollback 5/6: "),
        {
            "name": "Rollback 6/6: document what happened",
            "ansible.builtin.copy": {
                "dest": (
                    "{{ themis_backup_dir }}/{{ inventory_hostname }}/"
                    "rollback-{{ themis_from }}-{{ themis_to }}.txt"
                ),
                "mode": "0600",
                "content": (
                    f"{NODE} was rolled back from {TO} to {FROM}.\n"
                    "Restored from: {{ themis_archive }}\n"
                    "Why: {{ themis_rollback_reason | default('not said') }}\n"
                    "Gate: {{ themis_gate.stdout | default('not run') }}\n"
                ),
            },
        },
    ]


def _read_version(register: str, ignore_down: bool = False) -> dict[str, Any]:
    task: dict[str, Any] = {
        "name": f"Read the version {THE_NODE} runs",
        "ansible.builtin.uri": {"url": "{{ themis_url }}/version", "return_content": True},
        "register": register,
        "changed_when": False,
    }
    if ignore_down:
        task["failed_when"] = False
    return task


def _wait_until_serving(version_var: str, prefix: str = "") -> list[dict[str, Any]]:
    """Wait for `/health/ready` (200) and for `/version` to say the version in `version_var`."""
    return [
        {
            "name": f"{prefix}Wait until {THE_NODE} is ready (/health/ready)",
            "ansible.builtin.uri": {"url": "{{ themis_url }}/health/ready", "status_code": 200},
            "register": "themis_ready",
            "until": "themis_ready.status == 200",
            "retries": "{{ themis_ready_retries }}",
            "delay": 1,
            "changed_when": False,
        },
        {
            "name": f"{prefix}Wait until {THE_NODE} says it runs {{{{ {version_var} }}}}"
            " (/version)",
            "ansible.builtin.uri": {"url": "{{ themis_url }}/version", "return_content": True},
            "register": "themis_version",
            "until": f"themis_version.json.version | default('') == {version_var}",
            "retries": "{{ themis_ready_retries }}",
            "delay": 1,
            "changed_when": False,
        },
    ]


def _verify_archive() -> dict[str, Any]:
    return {
        "name": "Verify the archive (every file against its manifest)",
        "ansible.builtin.command": {"cmd": f"{CLI} verify {{{{ themis_archive | quote }}}}"},
        "changed_when": False,
    }


def _backup_command() -> str:
    return (
        f"{CLI} backup --server {{{{ themis_url | quote }}}}"
        " --data-dir {{ themis_data_dir | quote }}"
        "{% if themis_config %} --config {{ themis_config | quote }}{% endif %}"
        " --node {{ themis_node | quote }}"
        " -o {{ (themis_backup_dir ~ '/' ~ inventory_hostname) | quote }}"
    )


def _restore_command() -> str:
    return (
        f"{CLI} restore {{{{ themis_archive | quote }}}}"
        " --data-dir {{ themis_data_dir | quote }}"
        "{% if themis_config %} --config-dir {{ themis_config | dirname | quote }}{% endif %}"
        " --server {{ themis_url | quote }} --node {{ themis_node | quote }}"
        " --binary-version {{ themis_from }} --yes"
    )
