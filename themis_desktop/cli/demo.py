"""`themis-desktop demo-server`: the demo ThemisDB server in the foreground."""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: Any) -> None:
    from themis_desktop.demo.main import add_arguments

    demo = commands.add_parser("demo-server", help="run the demo ThemisDB server in the foreground")
    add_arguments(demo)
    demo.set_defaults(func=cmd_demo_server)


def cmd_demo_server(args: argparse.Namespace) -> int:
    from themis_desktop.demo.main import run

    return run(args)
