"""`liveblog backup | restore | rotate-epochs | copy | export | import`: the data itself, kept
safe, put back and moved.

Backup and restore work on the embedded SQLite database; PostgreSQL has its own tools
(docs/operations.md: "Backups and restore"), after which `liveblog rotate-epochs` tells readers
the history changed. Media in a directory go with the database: into `FILE.media` beside the
backup, and back into the store before a restored database takes its place; media in a bucket
stay there, kept by the bucket's own versioning or copies. `copy` moves everything to another
database (docs/operations.md: "Running at scale"); `export` and `import` move one liveblog as a
JSON document, its photos included (docs/operations.md: "Export and import").
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
from typing import TYPE_CHECKING

from app.cli.storage import held, on_database, upgrade
from app.settings import COPY_TO, Settings

if TYPE_CHECKING:
    from app.cli import Subcommands
    from app.services.archive import Exported, Imported
    from app.storage.db import Database
    from app.storage.objects import MediaStore
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


def media_store(settings: Settings, directory: Path | None = None) -> MediaStore:
    """The media store the settings name, or the one in `directory` (a backup's)."""
    from app.storage.objects import MediaStore

    if directory is not None:
        return MediaStore.open(str(directory), settings.data_dir)
    return MediaStore.open(
        settings.media_url, settings.data_dir, endpoint=settings.media_s3_endpoint
    )


def _in_bucket(settings: Settings) -> bool:
    return settings.media_url.startswith("s3://")


def _media_beside(backup: Path) -> Path:
    """Where a backup's media files go: `nightly.db` → `nightly.db.media/`, so the two travel
    and are deleted together."""
    return backup.with_name(backup.name + ".media")


# What backup and restore say of media in a bucket, which they leave where it is.
BUCKET_BACKUP = (
    "media files are not in the backup: they stay in {where}; keep them with the bucket's "
    "versioning, or copy them with `aws s3 sync {where} DIR` (docs/operations.md, "
    '"Backups and restore")'
)
BUCKET_RESTORE = (
    "media files were not in the backup: they are in {where}; bring back any the bucket lost "
    "from its versions, or with `aws s3 sync DIR {where}` (docs/operations.md, "
    '"Backups and restore")'
)


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    from app.services.media_upkeep import copy_missing
    from app.storage import sqlite_files
    from app.storage.objects import MediaStoreError

    started = time.monotonic()
    backup = Path(args.file)
    try:
        with held(settings.database_url, settings.database_setting):
            summary = sqlite_files.backup(settings.database_url, backup)
    except sqlite_files.NotSqlite:
        print(f"error: {POSTGRES_BACKUP}", file=sys.stderr)
        return 2
    except (sqlite_files.NotABackup, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if _in_bucket(settings):
        took = time.monotonic() - started
        print(f"backed up to {args.file} in {took:.1f} s: {_described(summary)}")
        print(BUCKET_BACKUP.format(where=settings.media_url.rstrip("/")))
        return 0
    # After the database: every row in its snapshot names files stored before the row was.
    media = _media_beside(backup)
    try:
        copied = asyncio.run(copy_missing(media_store(settings), media_store(settings, media)))
    except (MediaStoreError, OSError) as error:
        print(
            f"error: {error}; the database is backed up, its media files are not", file=sys.stderr
        )
        return 1
    took = time.monotonic() - started
    print(
        f"backed up to {args.file} in {took:.1f} s: {_described(summary)}, "
        f"{_count(copied.files, 'media file')} in {media} ({copied.copied} copied)"
    )
    return 0


def _restore(settings: Settings, args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from app.services.epochs import rotate_epochs
    from app.services.media_upkeep import Copied, copy_missing
    from app.storage import migrate, sqlite_files
    from app.storage.db import Database
    from app.storage.objects import MediaStoreError

    rotated: dict[str, str] = {}
    media = _media_beside(Path(args.file))
    put_back: dict[str, Copied] = {}  # the store's place → what was copied into it

    def prepare(url: str) -> None:
        """The backup, copied beside the database: migrated (it may be from an older version)
        and every liveblog in a new epoch, before it takes the database's place; its media
        files put back first, so that no restored row names a file the store lacks."""
        migrate.upgrade(url)

        async def new_epochs() -> None:
            if media.is_dir():
                store = media_store(settings)
                put_back[store.where] = await copy_missing(media_store(settings, media), store)
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
    except (
        sqlite_files.NotABackup,
        MediaStoreError,
        OSError,
        sqlite3.Error,
        SQLAlchemyError,
    ) as error:
        print(f"error: {error}; the database was not changed", file=sys.stderr)
        return 1
    print(f"restored {args.file}: {_described(restored.restored)}")
    for where, done in put_back.items():
        print(
            f"put back {_count(done.copied, 'media file')} missing from {where} "
            f"({done.files} in {media})"
        )
    if not put_back and _in_bucket(settings):
        print(BUCKET_RESTORE.format(where=settings.media_url.rstrip("/")))
    elif not put_back:
        print(f"no media files beside the backup ({media}): the media store is as it was")
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
    from app.storage.objects import MediaStoreError

    async def export(db: Database) -> Exported:
        return await export_liveblog(db, args.slug, media_store(settings))

    try:
        exported = on_database(settings, export)
    except NotFound as error:
        print(f"error: {error.detail}", file=sys.stderr)
        return 1
    except MediaStoreError as error:
        print(f"error: {error}; nothing was exported", file=sys.stderr)
        return 1
    for name in exported.missing:
        print(
            f"warning: {name} is missing from the media store: the photo it is a file of is "
            "left out (its entries show it broken here too)",
            file=sys.stderr,
        )
    document = exported.document
    sys.stdout.buffer.write(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    sys.stdout.flush()
    media = (
        f", {exported.media} media ({_count(exported.files, 'file')}, {_megabytes(exported.bytes)})"
        if exported.media
        else ""
    )
    print(f"exported {args.slug!r}: {len(document['entries'])} entries{media}", file=sys.stderr)
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

    async def load(db: Database) -> Imported:
        return await import_liveblog(
            db,
            archive,
            slug=args.as_slug,
            max_body_bytes=settings.max_entry_body_bytes,
            store=media_store(settings) if archive.media else None,
        )

    try:
        imported = on_database(settings, load)
    except LiveblogError as refused:
        print(f"error: {refused.detail.rstrip('.')}; nothing was imported", file=sys.stderr)
        return 1
    except sqlite_files.InUse as error:
        print(f"error: {error}; nothing was imported", file=sys.stderr)
        return 1
    slug = imported.liveblog.slug
    media = (
        f" and {len(archive.media)} media ({imported.media} new, "
        f"{_count(imported.files, 'file')} stored)"
        if archive.media
        else ""
    )
    print(f"imported {slug!r} with {_count(imported.entries, 'entry')}{media}: /liveblogs/{slug}")
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
