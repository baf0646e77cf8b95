"""`liveblog`: the command line. One module per noun (serve.py: serve, migrate; config.py:
config; tokens.py: token create|list|revoke; users.py: user create|list|disable; data.py:
backup, restore, rotate-epochs); each parses
its arguments, calls a service and prints.

A command whose flags override settings lists them as `setting_flags` (serve: host, port,
workers): `main()` lays them over the environment and validates both as one, so `--port 99999`
is refused as `LIVEBLOG_PORT=99999` is, one line naming the flag, exit code 2."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from app import __version__, logs
from app.cli import config, data, serve, tokens, users
from app.settings import InvalidSettings, load_settings

if TYPE_CHECKING:
    # What each command module adds its commands to.
    Subcommands = argparse._SubParsersAction[argparse.ArgumentParser]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="liveblog", description="Real-time liveblog service (settings: LIVEBLOG_* variables)."
    )
    parser.add_argument("--version", action="version", version=f"liveblog {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve.add_commands(commands)
    config.add_commands(commands)
    tokens.add_commands(commands)
    users.add_commands(commands)
    data.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    flags = {
        name: getattr(args, name)
        for name in getattr(args, "setting_flags", ())
        if getattr(args, name) is not None
    }
    try:
        settings = load_settings(flags)
    except InvalidSettings as error:
        # One line per bad value, named as it was set, then what it accepts; no traceback.
        for problem in error.problems:
            print(f"error: {problem}", file=sys.stderr)
        return 2
    logs.configure(settings)  # every line of the process, alembic's and uvicorn's too
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    from app.storage.sqlite_files import InUse

    handler = args.handler
    try:
        result: int = handler(settings, args)
    except InUse as error:  # a restore is running
        print(f"error: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # `liveblog token list | head`: the reader left; that is not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return result
