"""`liveblog backup | restore | rotate-epochs | copy | export | import`: the data itself, kept
safe, put back and moved.

Backup and restore work on the embedded SQLite database; PostgreSQL has its own tools
(docs/operations.md: "Backups and restore"), after which `liveblog rotate-epochs` tells readers the
history
changed. `copy` moves everything to another database (docs/operations.md: "Running at scale");
`export`
and `import` move one liveblog as a JSON document (docs/operations.md: "Export and import").
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sqlite3
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.cli.storage import held, on_database, upgrade
from app.settings import COPY_TO, Settings

if TYPE_CHECKING:
    from app.cli import Subcommands
    from app.domain.model import Liveblog
    from app.storage.db import Database
    from app.storage.sqlite_files import Summary

POSTGRES_BACKUP = (
    "backup and restore work on the embedded SQLite database; for PostgreSQL use pg_dump, and "
    "to restore: stop every process, pg_restore, `liveblog rotate-epochs`, start (docs/"
    'operations.md, "Backups and restore")'
)


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def _count(number: int, thing: str) -> str:
    """`1 liveblog`, `3 liveblogs`, `1 entry`, `0 entries`."""
    if number == 1:
        return f"1 {thing}"
    return f"{number} {thing[:-1] + 'ies' if thing.endswith('y') else thing + 's'}"


def _described(summary: Summary) -> str:
    return (
        f"{_count(summary.liveblogs, 'liveblog')}, {_count(summary.entries, 'entry')}, "
        f"schema {summary.schema}, "
        f"{_megabytes(summary.bytes)}"
    )


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    from app.storage import sqlite_files

    started = time.monotonic()
    try:
        with held(settings.database_url, settings.database_setting):
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
    from sqlalchemy.exc import SQLAlchemyError

    from app.services.epochs import rotate_epochs
    from app.storage import migrate, sqlite_files
    from app.storage.db import Database

    rotated: dict[str, str] = {}

    def prepare(url: str) -> None:
        """The backup, copied beside the database: migrated (it may be from an older version)
        and every liveblog in a new epoch, before it takes the database's place."""
        migrate.upgrade(url)

        async def new_epochs() -> None:
            db = Database(url)
            try:
                rotated.update(await rotate_epochs(db))
            finally:
                await db.dispose()

        asyncio.run(new_epochs())

    logging.getLogger("alembic").setLevel(logging.WARNING)  # keep the output to the point
    try:
        with held(settings.database_url, settings.database_setting, exclusive=True):
            restored = sqlite_files.restore(settings.database_url, Path(args.file), prepare)
    except sqlite_files.NotSqlite:
        print(f"error: {POSTGRES_BACKUP}", file=sys.stderr)
        return 2
    except sqlite_files.InUse as error:
        print(f"error: {error}; stop it, then restore", file=sys.stderr)
        return 1
    except (sqlite_files.NotABackup, OSError, sqlite3.Error, SQLAlchemyError) as error:
        print(f"error: {error}; the database was not changed", file=sys.stderr)
        return 1
    print(f"restored {args.file}: {_described(restored.restored)}")
    print(
        f"new epochs for {_count(len(rotated), 'liveblog')}: readers reload once when they "
        "reconnect"
    )
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
    print(f"new epochs for {_count(len(rotated), 'liveblog')}", file=sys.stderr)
    return 0


def _copy(settings: Settings, args: argparse.Namespace) -> int:
    from app.errors import ServiceUnavailable
    from app.services.transfer import NotCopied, copy_database
    from app.settings import check_database_url, redact_url
    from app.storage import sqlite_files
    from app.storage.db import Database

    target_url, target_setting = (
        (args.to, "--to") if args.to else (os.environ.get(COPY_TO, ""), COPY_TO)
    )
    if not target_url:
        print(f"error: say where to copy to: --to DATABASE_URL, or {COPY_TO}", file=sys.stderr)
        return 2
    try:
        check_database_url(target_url)
    except ValueError as error:
        print(f"error: {target_setting}: {error}", file=sys.stderr)
        return 2
    if target_url == settings.database_url:
        print("error: --to names the database this install already uses", file=sys.stderr)
        return 2
    source_url = settings.database_url
    print(
        f"copying {redact_url(source_url)} to {redact_url(target_url)}; stop every server "
        "and every other writer until it finishes (writes made meanwhile are not copied)",
        file=sys.stderr,
    )

    async def run() -> int:
        source, target = Database(source_url), Database(target_url)
        try:
            report = await copy_database(
                source, target, lambda line: print(f"  {line}", file=sys.stderr)
            )
        except NotCopied as refused:
            print(f"error: {refused.summary}", file=sys.stderr)
            for problem in refused.problems:
                print(f"  {problem}", file=sys.stderr)
            return 1
        except ServiceUnavailable as busy:
            # The target's writes are batches, each its own short transaction: one that could
            # not get the database leaves the copy to be completed by running it again.
            print(
                f"error: {busy.detail} Run the same command again to complete the copy",
                file=sys.stderr,
            )
            return 1
        finally:
            await source.dispose()
            await target.dispose()
        print(
            f"copied {sum(report.rows.values())} rows; the row counts and the checksums of "
            f"{_count(report.liveblogs, 'liveblog')} match"
        )
        print(f"new epochs for {_count(len(report.epochs), 'liveblog')} in the target")
        if report.source_moved:
            print(
                f"error: the source was written during the copy ({', '.join(report.source_moved)}"
                "): stop every writer and run the same command again to complete it",
                file=sys.stderr,
            )
            return 1
        return 0

    logging.getLogger("alembic").setLevel(logging.WARNING)  # keep the output to the point
    try:
        with (
            held(source_url, settings.database_setting),
            held(target_url, target_setting, exclusive=True),
        ):
            upgrade(source_url, settings.database_setting)
            upgrade(target_url, target_setting)
            return asyncio.run(run())
    except sqlite_files.InUse as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def _export(settings: Settings, args: argparse.Namespace) -> int:
    import orjson

    from app.errors import NotFound
    from app.services.archive import export_liveblog

    async def export(db: Database) -> dict[str, Any]:
        return await export_liveblog(db, args.slug)

    try:
        document = on_database(settings, export)
    except NotFound as error:
        print(f"error: {error.detail}", file=sys.stderr)
        return 1
    sys.stdout.buffer.write(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()
    print(f"exported {args.slug!r}: {len(document['entries'])} entries", file=sys.stderr)
    return 0


# A document's problems printed before the rest are only counted: the first few say what is
# wrong; 20,000 lines for 20,000 bad entries say nothing more.
SHOWN_ERRORS = 20


def _problems(lines: list[str]) -> None:
    for line in lines[:SHOWN_ERRORS]:
        print(f"  {line}", file=sys.stderr)
    if len(lines) > SHOWN_ERRORS:
        print(f"  … and {len(lines) - SHOWN_ERRORS:,} more errors", file=sys.stderr)


def _import(settings: Settings, args: argparse.Namespace) -> int:
    import orjson

    from app.errors import LiveblogError
    from app.services.archive import import_liveblog, read_archive
    from app.storage import sqlite_files

    try:
        raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    try:
        archive = read_archive(orjson.loads(raw))
    except orjson.JSONDecodeError as error:
        print(f"error: {args.file} is not JSON: {error}", file=sys.stderr)
        return 1
    except LiveblogError as refused:
        lines = refused.detail.splitlines()
        counted = f"{len(lines):,} error{'' if len(lines) == 1 else 's'}"
        print(f"error: {args.file} is not a liveblog export ({counted}):", file=sys.stderr)
        _problems(lines)
        return 1
    if not args.while_serving:
        # SQLite has one writer at a time, and an import is one transaction (all or nothing)
        # that holds the write lock for as long as it runs: about 1.5 ms an entry, 30 s for
        # 20,000. A server's writes meanwhile wait (storage/db.py: WRITE_WAIT_SECONDS), then
        # answer 503. So the import refuses while anything else has the database open, unless
        # told that is acceptable. (PostgreSQL has no such lock: the import writes only rows
        # of its own, beside the server's writes, and is never refused.)
        try:
            sqlite_files.check_unused(settings.database_url)
        except sqlite_files.InUse as error:
            print(
                f"error: {error}. An import holds SQLite's write lock until it ends (one "
                "transaction, all or nothing), so a server's writes would answer 503 "
                "meanwhile: stop the server and import, or pass --while-serving to import "
                "anyway",
                file=sys.stderr,
            )
            return 1

    async def load(db: Database) -> tuple[Liveblog, int]:
        return await import_liveblog(
            db, archive, slug=args.as_slug, max_body_bytes=settings.max_entry_body_bytes
        )

    try:
        liveblog, entries = on_database(settings, load)
    except LiveblogError as refused:
        print(f"error: {refused.detail.rstrip('.')}; nothing was imported", file=sys.stderr)
        return 1
    except sqlite_files.InUse as error:
        print(f"error: {error}; nothing was imported", file=sys.stderr)
        return 1
    print(f"imported {liveblog.slug!r} with {_count(entries, 'entry')}: /liveblogs/{liveblog.slug}")
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
    copy = commands.add_parser(
        "copy",
        help="copy everything into another database, e.g. from SQLite to PostgreSQL "
        "(stop writes first; run again to complete an interrupted copy)",
    )
    copy.add_argument(
        "--to",
        metavar="DATABASE_URL",
        help=f"where to (else ${COPY_TO}, which keeps a password out of the process list)",
    )
    copy.set_defaults(handler=_copy)
    export = commands.add_parser(
        "export", help="write one liveblog and its published entries to stdout as JSON"
    )
    export.add_argument("slug", metavar="SLUG")
    export.set_defaults(handler=_export)
    load = commands.add_parser(
        "import",
        help="create a liveblog from a file `liveblog export` wrote (new ids, seqs and epoch)",
    )
    load.add_argument("file", metavar="FILE", help="the export; - for standard input")
    load.add_argument(
        "--as", dest="as_slug", metavar="SLUG", help="under this slug instead of the file's"
    )
    load.add_argument(
        "--while-serving",
        action="store_true",
        help="import into a SQLite database a server has open: its writes answer 503 (with "
        "Retry-After) until the import ends; without it, the import refuses",
    )
    load.set_defaults(handler=_import)
