"""After a config change: can SIGHUP apply it, or does the node need a restart?

What the server's code does (makr-code/ThemisDB):

- src/main_server.cpp (April-2026 code, the 1.8 line): `signalHandler` answers SIGHUP by
  setting `g_tls_reload_requested`; the main loop then calls `HttpServer::reloadTls()` (and,
  in later code, restarts the gRPC listener with fresh certificates). Nothing else: the
  config file is not read again.
- include/server/http_server.h: `reloadTls` reloads the certificate/key *files* from the
  paths kept in the running `Config`, so even a changed certificate path needs a restart.
- deploy/systemd/themisdb.service: `ExecReload=/bin/kill -HUP $MAINPID`, so
  `systemctl reload themisdb` is that SIGHUP.
- Before 1.8 (the 2025 code) main_server.cpp installs no SIGHUP handler: the signal's
  default action ends the process. So the app never offers a reload there.
- The issue that asked for this ("config reload by SIGHUP") says more than the code: the
  code reloads TLS certificates only. The app says what the code does.

Keys the server takes at run time through `POST /config` (logging, request timeout, four
feature flags) need neither; that is the config advisor's business, not this module's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from themis_desktop.core.connection.profiles import NodeEndpoint
from themis_desktop.core.connection.service_config import ServiceConfig
from themis_desktop.core.service.control import (
    Confirm,
    ServiceController,
    StepOutput,
    controller_for,
)
from themis_desktop.core.versions.releases import VersionError, parse_version

SIGHUP_SINCE = (1, 8)
SOURCE = "src/main_server.cpp (signalHandler, main loop), include/server/http_server.h"


@dataclass(frozen=True)
class ReloadPlan:
    """What a reload can do for `changed` keys on a node running `version`."""

    version: str | None
    changed: tuple[str, ...]
    sighup: bool  # the server handles SIGHUP (re-reads its TLS certificate files)
    reloadable: tuple[str, ...]  # changed keys SIGHUP applies (none: it reads no config)
    restart: tuple[str, ...]  # changed keys that take effect only after a restart
    words: str  # what to show the user

    @property
    def offer_reload(self) -> bool:
        """Whether to offer "Reload (SIGHUP)" (it re-reads the certificate files only)."""
        return self.sighup


def handles_sighup(version: str | None) -> bool | None:
    """True from 1.8, False before, None when the version is unknown or unreadable."""
    if not version:
        return None
    try:
        release = parse_version(version).release
    except VersionError:
        return None
    return tuple(release[:2]) >= SIGHUP_SINCE


def reload_plan(version: str | None, changed_keys: Sequence[str]) -> ReloadPlan:
    """The plan after applying `changed_keys` to a node that runs `version`."""
    changed = tuple(dict.fromkeys(k for k in changed_keys if k))
    sighup = handles_sighup(version)
    return ReloadPlan(
        version=version,
        changed=changed,
        sighup=bool(sighup),
        reloadable=(),
        restart=changed,
        words=_words(version, sighup, changed),
    )


def _words(version: str | None, sighup: bool | None, changed: tuple[str, ...]) -> str:
    keys = ", ".join(changed)
    restart = (
        f"Restart the node for these to take effect: {keys}." if changed else "Nothing changed."
    )
    if sighup is None:
        return (
            f"{restart} The node's version is unknown, so the app does not offer a reload: "
            "ThemisDB before 1.8 has no SIGHUP handler and the signal would end the process."
        )
    if not sighup:
        return (
            f"{restart} ThemisDB {version} has no SIGHUP handler (it came with 1.8): a SIGHUP "
            "would end the process, so use a restart, not a reload."
        )
    return (
        f"{restart} ThemisDB {version} answers SIGHUP by re-reading its TLS certificate and "
        "key files only; it does not read config.yaml again, so a reload applies none of "
        "the changed keys. Use Reload (SIGHUP) after replacing certificate files."
    )


def send_reload(controller: ServiceController, node: NodeEndpoint, plan: ReloadPlan) -> StepOutput:
    """Send the node SIGHUP through its service control (refused where it would end it)."""
    if not plan.sighup:
        raise ValueError(plan.words)
    return controller.reload(node)


def reload_by_hand(service: ServiceConfig) -> bool:
    """Whether the user sends the SIGHUP (manual control, or commands without `reload`)."""
    service = service.controlled()
    return service.kind == "manual" or (service.kind == "commands" and not service.reload)


def reload_node(
    service: ServiceConfig,
    node: NodeEndpoint,
    plan: ReloadPlan,
    confirm: Confirm | None = None,
) -> StepOutput:
    """SIGHUP to `node` through the service control `service` describes (GUI and CLI)."""
    return send_reload(controller_for(service, confirm=confirm), node, plan)
