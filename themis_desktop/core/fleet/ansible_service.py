"""The stop, install and start tasks of a node in a playbook, by the profile's service control.

- `demo`: the demo-server's control API (`POST /nodes/<port>/stop|install|start`) through
  `ansible.builtin.uri`.
- `systemd`: `ansible.builtin.systemd` for the unit; the install is the profile's `install`
  command when it has one, else `ansible.builtin.package` (`themis_package=<version>`).
- `commands`: the profile's shell commands, their `{node}`, `{url}`, `{version}`,
  `{data_dir}` and `{config}` filled from the host's variables.
- `manual`: a pause that says what to do and waits for the admin.
Each task is plain data for `yaml.safe_dump`; `version` is a Jinja expression (the hop's
target when upgrading, its source when rolling back).
"""

from __future__ import annotations

from typing import Any, Literal

from themis_desktop.core.connection.service_config import ServiceConfig

Action = Literal["stop", "install", "start"]

# the `commands` placeholders (core/connection/service_config.py) as the host's variables
_PLACEHOLDERS = {
    "{node}": "{{ themis_node }}",
    "{url}": "{{ themis_url }}",
    "{data_dir}": "{{ themis_data_dir }}",
    "{config}": "{{ themis_config }}",
}


def service_task(service: ServiceConfig, action: Action, name: str, version: str) -> dict[str, Any]:
    """One named task that does `action` to the host's node (`version`: for install); an
    `ansible` profile's tasks use its `ansible_control`."""
    service = service.controlled()
    if service.kind == "demo":
        return _demo(action, name, version)
    if service.kind == "systemd":
        return _systemd(service, action, name, version)
    if service.kind == "commands":
        command = {"stop": service.stop, "install": service.install, "start": service.start}
        if action == "stop" and not service.stop:  # a pid file only: the app's own stop
            return _manual(name, f"Stop the ThemisDB service of {{{{ themis_node }}}} ({name}).")
        if command[action]:
            return _shell(name, command[action], version)
        return _manual(name, f"Install ThemisDB {version} on {{{{ themis_node }}}}.")
    verb = {"stop": "Stop", "start": "Start", "install": f"Install ThemisDB {version} on"}[action]
    what = "the ThemisDB service of " if action != "install" else ""
    return _manual(name, f"{verb} {what}{{{{ themis_node }}}}, then press Enter.")


def _demo(action: Action, name: str, version: str) -> dict[str, Any]:
    task: dict[str, Any] = {
        "name": name,
        "ansible.builtin.uri": {
            "url": "{{ themis_control_url }}/nodes/{{ themis_port }}/" + action,
            "method": "POST",
            "body_format": "json",
            "body": {"version": version} if action == "install" else {},
            "timeout": 60,
        },
        "changed_when": True,
    }
    return task


def _systemd(service: ServiceConfig, action: Action, name: str, version: str) -> dict[str, Any]:
    if action == "install":
        if service.install:
            return _shell(name, service.install, version, become=True)
        return {
            "name": name,
            "ansible.builtin.package": {
                "name": "{{ themis_package }}=" + version,
                "state": "present",
            },
            "become": True,
        }
    return {
        "name": name,
        "ansible.builtin.systemd": {
            "name": service.unit,
            "state": "stopped" if action == "stop" else "started",
        },
        "become": True,
    }


def _shell(name: str, command: str, version: str, become: bool = False) -> dict[str, Any]:
    for placeholder, variable in {**_PLACEHOLDERS, "{version}": version}.items():
        command = command.replace(placeholder, variable)
    task: dict[str, Any] = {"name": name, "ansible.builtin.shell": command, "changed_when": True}
    if become:
        task["become"] = True
    return task


def _manual(name: str, prompt: str) -> dict[str, Any]:
    return {"name": name, "ansible.builtin.pause": {"prompt": prompt}}
