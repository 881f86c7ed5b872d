"""The command line registers only the group a command needs: the table that says which group
registers which command word must match what the groups really register."""

from __future__ import annotations

import argparse
import subprocess
import sys

import themis_desktop.cli.main  # noqa: F401 (the module, through sys.modules)

cli_main = sys.modules["themis_desktop.cli.main"]  # `cli.main` is also the function's name


def test_command_table_matches_the_groups() -> None:
    registered: dict[str, str] = {}
    for name in cli_main.GROUP_NAMES:
        parser = argparse.ArgumentParser()
        commands = parser.add_subparsers()
        cli_main.group(name).register(commands)
        for word in commands.choices:
            registered[word] = name
    assert registered == cli_main.COMMANDS


def test_a_command_word_needs_only_its_group() -> None:
    assert cli_main.groups_for(["backup", "--stopped"]) == ("backups",)
    assert cli_main.groups_for(["--demo"]) == cli_main.GROUP_NAMES
    assert cli_main.groups_for(["nonsense"]) == cli_main.GROUP_NAMES
    parser = cli_main.build_parser(cli_main.groups_for(["verify", "x.tar.zst"]))
    assert parser.parse_args(["verify", "x.tar.zst"]).archive == "x.tar.zst"


def test_backup_command_start_imports_neither_qt_nor_the_other_groups() -> None:
    code = (
        "import sys\n"
        "from themis_desktop.cli.main import build_parser, groups_for\n"
        "build_parser(groups_for(['backup'])).parse_args(['backup', '--help'])\n"
    )
    probe = (
        "import sys, runpy\n"
        "try:\n"
        f"    exec({code!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "bad = [m for m in ('PySide6', 'numpy', 'scipy', 'httpx', 'sqlite_utils',\n"
        "    'themis_desktop.cli.metrics', 'themis_desktop.cli.session') if m in sys.modules]\n"
        "print('BAD:' + ','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out.splitlines()[-1] == "BAD:"
