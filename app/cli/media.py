"""`liveblog media prune`: uploaded photos that nothing shows any more, removed.

What counts as used, and why only media older than `--older-than` goes, is decided in
services/media_upkeep.py; this parses the age, calls it and prints one line per media (and per
stray file) removed, then a summary.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import timedelta
from typing import TYPE_CHECKING

from app.cli.storage import on_database
from app.settings import Settings

if TYPE_CHECKING:
    from app.cli import Subcommands
    from app.services.media_upkeep import Pruned
    from app.storage.db import Database
    from app.storage.objects import StoredFile

AGE = re.compile(r"(?P<number>\d{1,6})(?P<unit>[dhm])")
UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_age(text: str) -> timedelta | None:
    """`30d`, `12h`, `90m` as a timedelta; None for anything else."""
    found = AGE.fullmatch(text.strip())
    if found is None:
        return None
    return timedelta(**{UNITS[found["unit"]]: int(found["number"])})


def _megabytes(files: tuple[StoredFile, ...]) -> str:
    return f"{sum(f.size for f in files) / 1_000_000:.1f} MB"


def _files(number: int, kind: str = "file") -> str:
    return f"{number} {kind}{'' if number == 1 else 's'}"


def _report(pruned: Pruned, age: str) -> None:
    removed = "would remove" if pruned.dry_run else "removed"
    for item in pruned.media:
        media = item.media
        print(
            f"{removed} media {media.id} of {media.created_at:%Y-%m-%d} "
            f"({_files(len(item.files))}, {_megabytes(item.files)})"
        )
    for file in pruned.stray:
        print(
            f"{removed} stray file {file.name} of {file.last_modified:%Y-%m-%d} "
            f"({_megabytes((file,))})"
        )
    files = tuple(f for item in pruned.media for f in item.files)
    summary = (
        f"{'would prune' if pruned.dry_run else 'pruned'} {len(pruned.media)} media "
        f"({_files(len(files))}, {_megabytes(files)})"
    )
    if pruned.stray:
        summary += f" and {_files(len(pruned.stray), 'stray file')} ({_megabytes(pruned.stray)})"
    summary += f"; {pruned.in_use} in use kept"
    if pruned.recent:
        summary += f", {pruned.recent} newer than {age} kept"
    if pruned.dry_run:
        summary += "; nothing was removed (--dry-run)"
    print(summary)


def _prune(settings: Settings, args: argparse.Namespace) -> int:
    from app.cli.data import media_store
    from app.errors import ServiceUnavailable
    from app.services.media_upkeep import prune
    from app.storage.objects import MediaStoreError

    age = parse_age(args.older_than)
    if age is None:
        print(
            f"error: --older-than: {args.older_than!r} is not an age; expected a number and "
            "a unit: 30d (days), 12h (hours) or 90m (minutes)",
            file=sys.stderr,
        )
        return 2

    async def run(db: Database) -> Pruned:
        return await prune(db, media_store(settings), older_than=age, dry_run=args.dry_run)

    try:
        pruned = on_database(settings, run)
    except MediaStoreError as error:
        print(f"error: {error}; run it again to remove what is left", file=sys.stderr)
        return 1
    except ServiceUnavailable as busy:
        print(f"error: {busy.detail} Nothing was removed; run it again", file=sys.stderr)
        return 1
    _report(pruned, args.older_than.strip())
    return 0


def add_commands(commands: Subcommands) -> None:
    media = commands.add_parser("media", help="manage uploaded media")
    media_commands = media.add_subparsers(dest="media_command", required=True)
    prune = media_commands.add_parser(
        "prune",
        help="remove uploads that no entry, draft or revision shows, and files no upload names",
    )
    prune.add_argument(
        "--older-than",
        required=True,
        metavar="AGE",
        help="only what was uploaded longer ago than this: 30d, 12h or 90m (an upload waits "
        "for the entry being written around it)",
    )
    prune.add_argument(
        "--dry-run", action="store_true", help="say what would be removed; remove nothing"
    )
    prune.set_defaults(handler=_prune)
