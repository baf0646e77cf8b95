"""`liveblog`: the command line. One module per noun (serve.py: serve, migrate; tokens.py:
token create|list|revoke; users.py: user create|list|disable); each parses its arguments, calls
a service and prints."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from pydantic import ValidationError

from app import __version__
from app.cli import serve, tokens, users
from app.settings import Settings

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
    tokens.add_commands(commands)
    users.add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as error:
        # One line per bad variable, named as it is set, not a validation report.
        for item in error.errors():
            name = "LIVEBLOG_" + "_".join(str(part) for part in item["loc"]).upper()
            print(f"error: {name}: {item['msg'].removeprefix('Value error, ')}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    handler = args.handler
    try:
        result: int = handler(settings, args)
    except BrokenPipeError:
        # `liveblog token list | head`: the reader left; that is not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return result
