"""`liveblog backup | restore | rotate-epochs`: the data itself, kept safe and put back.

Backup and restore work on the embedded SQLite database; PostgreSQL has its own tools
(README: "Backups"), after which `liveblog rotate-epochs` tells readers the history changed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli.storage import on_database
from app.settings import Settings

if TYPE_CHECKING:
    from app.cli import Subcommands
    from app.storage.db import Database
    from app.storage.sqlite_files import Summary

POSTGRES_BACKUP = (
    "backup and restore work on the embedded SQLite database; for PostgreSQL use pg_dump, and "
    "to restore: stop every process, pg_restore, `liveblog rotate-epochs`, start (README: "
    '"Backups")'
)


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def _described(summary: Summary) -> str:
    return (
        f"{summary.liveblogs} liveblogs, {summary.entries} entries, schema {summary.schema}, "
        f"{_megabytes(summary.bytes)}"
    )


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    from app.storage import sqlite_files

    started = time.monotonic()
    try:
        with sqlite_files.in_use(settings.database_url):
            summary = sqlite_files.backup(settings.database_url, Path(args.file))
    except sqlite_files.NotSqlite:
        print(f"error: {POSTGRES_BACKUP}", file=sys.stderr)
        return 2
    except (sqlite_files.NotABackup, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    took = time.monotonic() - started
    print(f"backed up to {args.file} in {took:.1f} s: {_described(summary)}")
    return 0


def _restore(settings: Settings, args: argparse.Namespace) -> int:
    from app.services.epochs import rotate_epochs
    from app.storage import sqlite_files

    async def new_epochs(db: Database) -> dict[str, str]:
        return await rotate_epochs(db)

    try:
        with sqlite_files.in_use(settings.database_url, exclusive=True):
            restored = sqlite_files.restore(settings.database_url, Path(args.file))
            # The backup may predate migrations; then every liveblog counts in a new epoch.
            rotated = on_database(settings, new_epochs, mark_in_use=False)
    except sqlite_files.NotSqlite:
        print(f"error: {POSTGRES_BACKUP}", file=sys.stderr)
        return 2
    except sqlite_files.InUse as error:
        print(f"error: {error}; stop it, then restore", file=sys.stderr)
        return 1
    except (sqlite_files.NotABackup, OSError) as error:
        print(f"error: {error}; the database was not changed", file=sys.stderr)
        return 1
    print(f"restored {args.file}: {_described(restored.restored)}")
    print(f"new epochs for {len(rotated)} liveblogs: readers reload once when they reconnect")
    if restored.replaced is not None:
        print(f"the database it replaced is kept as {restored.replaced}")
    return 0


def _rotate_epochs(settings: Settings, args: argparse.Namespace) -> int:
    from app.errors import NotFound
    from app.services.epochs import rotate_epochs

    async def rotate(db: Database) -> dict[str, str]:
        return await rotate_epochs(db, args.slugs or None)

    try:
        rotated = on_database(settings, rotate)
    except NotFound as error:
        print(f"error: {error.detail}", file=sys.stderr)
        return 1
    for slug, epoch in rotated.items():
        print(f"{slug}  {epoch}")
    print(f"new epochs for {len(rotated)} liveblogs", file=sys.stderr)
    return 0


def add_commands(commands: Subcommands) -> None:
    backup = commands.add_parser(
        "backup",
        help="write a consistent copy of the SQLite database to FILE (the server may keep running)",
    )
    backup.add_argument("file", metavar="FILE", help="where the backup goes (replaced if there)")
    backup.set_defaults(handler=_backup)
    restore = commands.add_parser(
        "restore",
        help="replace the SQLite database by a backup (stop the server first); "
        "every liveblog gets a new epoch",
    )
    restore.add_argument("file", metavar="FILE", help="a file `liveblog backup` wrote")
    restore.set_defaults(handler=_restore)
    rotate = commands.add_parser(
        "rotate-epochs",
        help="give liveblogs new epochs, so readers reload instead of resuming "
        "(after restoring PostgreSQL by hand)",
    )
    rotate.add_argument("slugs", metavar="SLUG", nargs="*", help="only these (default: all)")
    rotate.set_defaults(handler=_rotate_epochs)
