"""`liveblog`: the command line. One module per noun (serve.py: serve, migrate; config.py:
config; tokens.py: token create|list|revoke; users.py: user create|list|disable; data.py:
backup, restore, rotate-epochs, copy, export, import; media.py: media prune); each parses
its arguments, calls a service and prints.

A command whose flags override settings lists them as `setting_flags` (serve: host, port,
workers): `main()` lays them over the environment and validates both as one, so `--port 99999`
is refused as `LIVEBLOG_PORT=99999` is, one line naming the flag, exit code 2.

A newcomer's other mistakes get one line each, never a traceback: a LIVEBLOG_* variable that
names no setting is a warning naming the closest setting; a database that cannot be opened
(cli/storage.py) is an error naming the setting to fix, exit code 2; Ctrl-C anywhere, or Ctrl-D
at a prompt, is "cancelled", exit code 130 or 1."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from app import __version__, logs
from app.cli import config, data, media, serve, tokens, users
from app.settings import InvalidSettings, load_settings, unknown_variables

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
    media.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _run(argv)
    except KeyboardInterrupt:
        # Ctrl-C: the person at the terminal stopped the command, which is no failure to show
        # a traceback for. (`serve` stops on it as asked, and returns 0, before this.)
        _cancelled()
        return 130  # 128 + SIGINT: what a shell reports for a command Ctrl-C ended


def _run(argv: Sequence[str] | None) -> int:
    args = _parser().parse_args(argv)
    # Each a variable that would be ignored, its default silently used instead.
    for unknown in unknown_variables():
        print(f"warning: {unknown}", file=sys.stderr)
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
    from app.cli.prompts import Cancelled
    from app.cli.storage import CannotOpen
    from app.storage.sqlite_files import InUse

    handler = args.handler
    try:
        result: int = handler(settings, args)
    except CannotOpen as error:  # the setting to fix, and why
        print(f"error: {error}", file=sys.stderr)
        return 2
    except InUse as error:  # a restore is running
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Cancelled:  # Ctrl-D at a prompt
        _cancelled()
        return 1
    except BrokenPipeError:
        # `liveblog token list | head`: the reader left; that is not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return result


def _cancelled() -> None:
    # On a terminal the cursor is still on the prompt's line, or after the echoed ^C.
    print("\ncancelled" if sys.stderr.isatty() else "cancelled", file=sys.stderr)
