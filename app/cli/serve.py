"""`liveblog serve` and `liveblog migrate`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from app.settings import Settings

if TYPE_CHECKING:
    from app.cli import Subcommands

log = logging.getLogger(__name__)


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    """`settings` already holds --host, --port and --workers, validated (cli.main)."""
    from app.cli.storage import held, upgrade
    from app.main import create_app
    from app.serving import server

    if settings.workers > 1 and not settings.has_shared_broker:
        workers = "--workers " if args.workers is not None else "LIVEBLOG_WORKERS="
        print(
            f"error: {workers}{settings.workers} needs LIVEBLOG_BROKER_URL=redis://...: each "
            "worker is a process of its own, and with the in-process broker a reader on one "
            "worker would never see entries posted through another.",
            file=sys.stderr,
        )
        return 2
    # The database is in use from the migration on (`liveblog restore` refuses meanwhile); the
    # app's lifespan holds its own mark, which is what the workers of --workers hold.
    with held(settings.database_url, settings.database_setting):
        upgrade(settings.database_url, settings.database_setting)
        with _served_heads_kept(settings.database_url):
            if settings.workers > 1:
                # Each worker reads the same LIVEBLOG_* environment; only the socket is shared.
                server.run("app.main:served_app", settings)
            else:
                server.run(create_app(settings), settings)
    return 0


@contextlib.contextmanager
def _served_heads_kept(url: str) -> Iterator[None]:
    """SQLite: first give a new epoch to each liveblog the database holds older than this data
    directory last served it (a file copied over it while the server was stopped), then keep
    the record of what is served for the next start (storage/served_heads.py). PostgreSQL:
    nothing; after restoring it, `liveblog rotate-epochs` is what keeps readers safe."""
    from app.services.epochs import rotate_where_gone_back
    from app.storage import served_heads
    from app.storage.db import Database, sqlite_file

    path, database = served_heads.record_path(url), sqlite_file(url)
    if path is None or database is None:
        yield
        return
    try:
        served = served_heads.load(path)
    except served_heads.Unreadable as error:
        log.warning(
            "the record of heads served is unreadable, so the database is not checked against "
            "it this time (it is written anew): %s",
            error,
        )
        served = {}

    async def check() -> dict[str, tuple[str, str]]:
        db = Database(url)
        try:
            return await rotate_where_gone_back(db, served)
        finally:
            await db.dispose()

    for slug, (epoch, why) in asyncio.run(check()).items():
        log.warning(
            "liveblog %r is older than this data directory served it: %s (was the database "
            "file replaced while the server was stopped?). New epoch %s: its readers reload "
            "once when they reconnect",
            slug,
            why,
            epoch,
        )
    with served_heads.kept(path, database, served):
        yield


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from app.cli.storage import held, upgrade

    with held(settings.database_url, settings.database_setting):
        upgrade(settings.database_url, settings.database_setting)
    print(f"database is at the latest schema ({redacted(settings.database_url)})")
    return 0


def redacted(url: str) -> str:
    """A database URL fit to print: without its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def add_commands(commands: Subcommands) -> None:
    serve = commands.add_parser(
        "serve", help="apply pending migrations, then serve HTTP and WebSocket"
    )
    # Taken as typed: Settings checks them as it checks LIVEBLOG_HOST, _PORT and _WORKERS.
    serve.add_argument("--host", help="address to bind (default LIVEBLOG_HOST or 127.0.0.1)")
    serve.add_argument("--port", help="port to bind (default LIVEBLOG_PORT or 8000)")
    serve.add_argument(
        "--workers",
        metavar="N",
        help="server processes, 1 to 64 (default LIVEBLOG_WORKERS or 1); above 1 needs a "
        "redis:// broker",
    )
    serve.set_defaults(handler=_serve, setting_flags=("host", "port", "workers"))

    migrate = commands.add_parser("migrate", help="apply pending database migrations")
    migrate.set_defaults(handler=_migrate)
