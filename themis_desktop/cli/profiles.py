"""`themis-desktop profiles list|show|add|remove`: the saved connection profiles, with every
setting the Connection dialog has."""

from __future__ import annotations

import argparse
import os
from typing import Any

from themis_desktop.cli.common import CommandError, ExitCode, print_error
from themis_desktop.core.server import strict_json


def register(commands: Any) -> None:
    profiles = commands.add_parser("profiles", help="list, show, add or remove connection profiles")
    actions = profiles.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="list saved profiles").set_defaults(func=cmd_list)
    show = actions.add_parser(
        "show", help="every setting of a profile (whether a token is stored, never the token)"
    )
    show.add_argument("name")
    show.add_argument("--json", action="store_true", help="as JSON")
    show.set_defaults(func=cmd_show)
    add = actions.add_parser(
        "add",
        help="add or replace a profile",
        description="Add or replace a profile, with every setting the Connection dialog has. "
        "Per-node options are given once for every node ({node} is its name) or once per "
        "URL, in order.",
    )
    add.add_argument("name")
    add.add_argument("urls", nargs="+", metavar="URL")
    add.add_argument("--ca-file", help="CA certificate (PEM) to verify the nodes' TLS with")
    add.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    add.add_argument(
        "--token-env", metavar="VAR", help="store the token read from this environment variable"
    )
    add.add_argument(
        "--name",
        dest="node_name",
        action="append",
        metavar="NODE",
        help="a node's name (default host:port); once per URL, in order (each node needs its own)",
    )
    add.add_argument(
        "--version-override",
        action="append",
        metavar="VERSION",
        help="a node's exact version, for servers before 1.3 that do not report it; once for "
        "every node or once per URL",
    )
    add.add_argument(
        "--log",
        action="append",
        metavar="SPEC",
        help="where a node's log is read: file:PATH, journald[:UNIT] or command:CMD; once for "
        "every node ({node} is its name) or once per URL, in order",
    )
    add.add_argument(
        "--data-dir",
        action="append",
        metavar="DIR",
        help="a node's data dir on this host, for file backups and restores; once for every "
        "node ({node} is its name) or once per URL, in order",
    )
    add.add_argument(
        "--config",
        action="append",
        metavar="FILE",
        help="a node's config file on this host; once for every node or once per URL",
    )
    add.set_defaults(func=cmd_add)
    service = add.add_argument_group(
        "service control",
        "how upgrades stop, start and install the nodes' service; in the commands "
        "{node} {version} {data_dir} {config} {url} are filled in, shell-quoted",
    )
    service.add_argument(
        "--service",
        choices=("manual", "systemd", "commands", "demo", "ansible"),
        default="manual",
        help="manual: you do each step and confirm (default); systemd: systemctl on this "
        "computer; commands: the commands below; demo: a demo-server's control API; "
        "ansible: the upgrade and rollback steps run as Ansible plays whose tasks use "
        "--ansible-control",
    )
    service.add_argument(
        "--ansible-control",
        choices=("manual", "systemd", "commands", "demo"),
        help="--service ansible: how the play's tasks stop, start and install (with that "
        "control's options)",
    )
    service.add_argument(
        "--ansible-dir", metavar="DIR", help="--service ansible: where runs are kept"
    )
    service.add_argument(
        "--ansible-soak",
        type=float,
        default=60.0,
        metavar="S",
        help="--service ansible: seconds of each node's baseline and gate in the play",
    )
    service.add_argument(
        "--ansible-interval",
        type=float,
        default=1.0,
        metavar="S",
        help="--service ansible: seconds between the gate's samples",
    )
    service.add_argument(
        "--ansible-min-samples",
        type=int,
        default=0,
        metavar="N",
        help="--service ansible: the gate's evidence a side (default: the watch's own)",
    )
    service.add_argument("--unit", metavar="UNIT", help="systemd unit (default themisdb)")
    service.add_argument("--stop-cmd", metavar="CMD", help="command that stops a node")
    service.add_argument("--start-cmd", metavar="CMD", help="command that starts a node")
    service.add_argument(
        "--install-cmd",
        metavar="CMD",
        help="command that installs {version} (systemd/commands; none: you do it and confirm)",
    )
    service.add_argument(
        "--binary",
        metavar="PATH",
        help="the installed themis_server ({node} allowed; systemd/commands): its --version "
        "is checked before a node is started on a new version",
    )
    service.add_argument(
        "--reload-cmd", metavar="CMD", help="command that sends SIGHUP to a node (commands)"
    )
    service.add_argument(
        "--pid-file",
        metavar="PATH",
        help="the server's pid file ({node} allowed; commands): a stop sends SIGTERM (or runs "
        "--stop-cmd) and then SIGKILL after --stop-timeout if it still runs",
    )
    service.add_argument(
        "--stop-timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="seconds a stopped server may take to exit before SIGKILL (default 30)",
    )
    service.add_argument(
        "--write-check",
        action="store_true",
        help="readiness and validation write and read back a test key "
        "(themis-desktop:probe:<node>); without it they only read",
    )
    service.add_argument(
        "--control-url", metavar="URL", help="the `control` URL a demo-server prints (demo)"
    )
    service.add_argument(
        "--router",
        choices=("none", "demo", "manual", "commands"),
        default="none",
        help="how rollouts shift traffic between nodes (canary, blue-green need one)",
    )
    service.add_argument(
        "--router-cmd",
        metavar="CMD",
        help="--router commands: sets the weights; {weights} is host:port=percent,…",
    )
    service.add_argument(
        "--check-cmd",
        metavar="CMD",
        help="run per node when a hop is validated, e.g. a read of known keys (any kind)",
    )
    service.add_argument(
        "--rehearsal-start-cmd",
        metavar="CMD",
        help="starts a hop's target on a copy for a rehearsal: {data_dir} {version} {port} "
        "(any kind; with --rehearsal-stop-cmd)",
    )
    service.add_argument(
        "--rehearsal-stop-cmd", metavar="CMD", help="stops that copy ({port} {folder} …)"
    )
    service.add_argument(
        "--rehearsal-url", metavar="URL", help="the copy's URL (default http://127.0.0.1:{port})"
    )
    remove = actions.add_parser("remove", help="remove a profile (its sessions stay)")
    remove.add_argument("name")
    remove.set_defaults(func=cmd_remove)


def cmd_list(args: argparse.Namespace) -> int:
    from themis_desktop.core.connection import profile_store
    from themis_desktop.core.journal.store import Journal

    with Journal() as journal:
        for profile in profile_store.load_all(journal):
            urls = ", ".join(n.url for n in profile.nodes)
            print(f"{profile.name}: {urls}  [service: {_service_text(profile.service)}]")
    return ExitCode.OK


def _saved(journal: Any, name: str) -> Any:
    from themis_desktop.core.connection import profile_store

    found = profile_store.get(journal, name)
    if found is None:
        raise CommandError(f"no profile named {name!r} (see `themis-desktop profiles list`)")
    return found


def cmd_show(args: argparse.Namespace) -> int:
    from themis_desktop.core.connection.secrets import TokenStore
    from themis_desktop.core.journal.store import Journal

    with Journal() as journal:
        found = _saved(journal, args.name)
        settings = found.settings()
        settings["token_stored"] = TokenStore().get(found.name) is not None
        print(strict_json.dumps(settings) if args.json else _profile_text(settings))
    return ExitCode.OK


def cmd_remove(args: argparse.Namespace) -> int:
    from themis_desktop.core.connection import profile_store
    from themis_desktop.core.connection.secrets import TokenStore
    from themis_desktop.core.journal.store import Journal

    with Journal() as journal:
        _saved(journal, args.name)
        profile_store.delete(journal, args.name)
        TokenStore().set(args.name, None)
    return ExitCode.OK


def cmd_add(args: argparse.Namespace) -> int:
    """Save the profile; a setting that does not fit (ValueError) exits 2 with its words."""
    from themis_desktop.core.connection import profile_store
    from themis_desktop.core.connection.profiles import Profile
    from themis_desktop.core.connection.secrets import TokenStore
    from themis_desktop.core.journal.store import Journal

    token = os.environ.get(args.token_env) if args.token_env else None
    nodes = _node_settings(args)
    service = _service_config(args)
    router = _router_config(args)
    ca_file = _ca_file(args.ca_file)
    with Journal() as journal:
        profile = profile_store.save(
            journal,
            Profile(
                args.name,
                nodes,
                verify_tls=not args.insecure,
                ca_file=ca_file,
                uses_auth=bool(token),
                service=service,
                router=router,
            ),
        )
    if args.token_env:
        if not token:
            print_error(f"${args.token_env} is empty; no token stored")
        elif not TokenStore().set(profile.name, token):
            print_error("no OS keyring here; the token was not stored")
    print(f"saved profile {profile.name!r} with {len(profile.nodes)} node(s)")
    return ExitCode.OK


def _profile_text(settings: dict[str, Any]) -> str:
    """`profiles show`: a profile's settings (`Profile.settings()`) as lines to read."""
    tls, service, router = settings["tls"], settings["service"], settings["router"]
    if settings["token_stored"]:
        token = "stored on this computer"
    else:
        token = "needed, none stored here" if settings["uses_auth"] else "none (auth off)"
    lines = [f"profile {settings['name']}" + (" (demo instance)" if settings["demo"] else "")]
    for node in settings["nodes"]:
        lines += [
            f"  node {node['name']}: {node['url']}",
            f"    data dir:  {node['data_dir'] or '-'}",
            f"    config:    {node['config'] or '-'}",
            f"    version:   {_override(node['version_override'])}",
            f"    log:       {node['log_source'] or '-'}",
        ]
    lines += [
        "  TLS: "
        + ("certificates verified" if tls["verify"] else "certificates NOT verified")
        + (f" with the CA file {tls['ca_file']}" if tls["ca_file"] else ""),
        f"  token: {token}",
        f"  service control: {service['kind']}",
    ]
    fields = {
        "systemd": ("unit", "install", "binary"),
        "commands": ("stop", "start", "install", "binary"),
        "demo": ("control_url",),
    }.get(service.get("ansible_control") or service["kind"], ())
    if service["kind"] == "ansible":
        fields = ("ansible_control", "ansible_dir", "ansible_soak", "ansible_interval", *fields)
    lines += [f"    {key}: {service[key]}" for key in (*fields, "check") if service.get(key)]
    detail = router["control_url"] or router["command"]
    lines.append(f"  traffic router: {router['kind']}" + (f" {detail}" if detail else ""))
    return "\n".join(lines)


def _override(version: str | None) -> str:
    return f"{version} (set in the profile)" if version else "as the node reports it"


def _ca_file(path: str | None) -> str | None:
    """`--ca-file` as an absolute path to an existing file (as the Connection dialog asks)."""
    from pathlib import Path

    if not path:
        return None
    if not Path(path).is_file():
        raise ValueError(f"--ca-file: the CA file {path} does not exist")
    return str(Path(path).absolute())


def _per_node(nodes: tuple, option: str, values: list[str], field: str, parse=str) -> tuple:
    """The nodes with one of their settings from a repeated option: given once for every
    node (`{node}` is its name) or once per URL, in order; ValueError for a wrong count or
    a value `parse` refuses (the message names the option and the node)."""
    from dataclasses import replace

    if not values:
        return nodes
    if len(values) not in (1, len(nodes)):
        raise ValueError(f"{option}: give one for every node or one per URL ({len(nodes)})")
    values = values * len(nodes) if len(values) == 1 else values
    changed = []
    for node, value in zip(nodes, values, strict=True):
        try:
            setting = parse(value.replace("{node}", node.name))
        except ValueError as exc:
            raise ValueError(f"{option} of {node.name}: {exc}") from None
        changed.append(replace(node, **{field: setting}))
    return tuple(changed)


def _log_spec(text: str) -> str:
    from themis_desktop.core.logs.watch import LogSource

    return LogSource.parse(text).spec


def _node_settings(args: argparse.Namespace) -> tuple:
    """The profile's nodes with their `--name` (first: the others' `{node}` is the name
    given), `--version-override`, `--log`, `--data-dir` and `--config` settings."""
    from pathlib import Path

    from themis_desktop.core.connection.profiles import NodeEndpoint
    from themis_desktop.core.server.models import clean_version

    def absolute(path: str) -> str:  # a profile outlives the working folder
        return str(Path(path).absolute())

    def name(text: str) -> str:
        if not text.strip():
            raise ValueError("a node's name cannot be empty")
        return text.strip()

    def version(text: str) -> str:
        try:
            return clean_version(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a version number (e.g. 1.2.0)") from None

    nodes = tuple(NodeEndpoint(url) for url in args.urls)
    nodes = _per_node(nodes, "--name", args.node_name or [], "name", name)
    names = [node.name for node in nodes]
    if len(set(names)) != len(names):
        raise ValueError(
            "two nodes have the same name: give each node its own with --name, once per URL"
        )
    nodes = _per_node(
        nodes, "--version-override", args.version_override or [], "version_override", version
    )
    nodes = _per_node(nodes, "--log", args.log or [], "log_source", _log_spec)
    nodes = _per_node(nodes, "--data-dir", args.data_dir or [], "data_dir", absolute)
    return _per_node(nodes, "--config", args.config or [], "config_path", absolute)


def _router_config(args: argparse.Namespace) -> Any:
    """How rollouts shift traffic (`--router`); demo uses the --control-url too."""
    from themis_desktop.core.rollout.traffic import RouterConfig

    if args.router_cmd and args.router != "commands":
        raise ValueError("--router-cmd goes with --router commands")
    return RouterConfig(
        args.router,
        control_url=(args.control_url or "") if args.router == "demo" else "",
        command=args.router_cmd or "",
    )


def _service_config(args: argparse.Namespace) -> Any:
    """The ServiceConfig of `profiles add`; ValueError for options of another kind."""
    from themis_desktop.core.connection.service_config import ServiceConfig

    given = {
        "--unit": args.unit,
        "--stop-cmd": args.stop_cmd,
        "--start-cmd": args.start_cmd,
        "--install-cmd": args.install_cmd,
        "--binary": args.binary,
        "--reload-cmd": args.reload_cmd,
        "--pid-file": args.pid_file,
        "--control-url": args.control_url,
        "--ansible-control": args.ansible_control,
        "--ansible-dir": args.ansible_dir,
    }
    kind = args.service
    if kind == "ansible" and not args.ansible_control:
        raise ValueError("--service ansible needs --ansible-control (the play's stop/start)")
    allowed = {
        "manual": (),
        "systemd": ("--unit", "--install-cmd", "--binary"),
        "commands": (
            "--stop-cmd",
            "--start-cmd",
            "--install-cmd",
            "--binary",
            "--reload-cmd",
            "--pid-file",
        ),
        "demo": ("--control-url",),
    }[args.ansible_control if kind == "ansible" else kind]
    if kind == "ansible":
        allowed = (*allowed, "--ansible-control", "--ansible-dir")
    stray = [name for name, value in given.items() if value and name not in allowed]
    if stray:
        raise ValueError(f"{', '.join(stray)} does not apply to --service {args.service}")
    return ServiceConfig(
        args.service,
        unit=args.unit or "themisdb",
        stop=args.stop_cmd or "",
        start=args.start_cmd or "",
        install=args.install_cmd or "",
        control_url=args.control_url or "",
        check=args.check_cmd or "",
        binary=args.binary or "",
        reload=args.reload_cmd or "",
        pid_file=args.pid_file or "",
        stop_timeout=args.stop_timeout,
        write_check=args.write_check,
        rehearsal_start=args.rehearsal_start_cmd or "",
        rehearsal_stop=args.rehearsal_stop_cmd or "",
        rehearsal_url=args.rehearsal_url or "",
        ansible_control=(args.ansible_control or "") if kind == "ansible" else "",
        ansible_dir=args.ansible_dir or "",
        ansible_soak=args.ansible_soak,
        ansible_interval=args.ansible_interval,
        ansible_min_samples=args.ansible_min_samples,
    )


def _service_text(service: Any) -> str:
    """`manual`, `systemd themisdb`, `commands`, `demo http://…` for `profiles list`."""
    control = service.controlled()
    detail = {"systemd": control.unit, "demo": control.control_url}.get(control.kind, "")
    via = f"ansible → {control.kind}" if service.kind == "ansible" else service.kind
    return f"{via} {detail}".strip()
