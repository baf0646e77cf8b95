"""`liveblog serve` and `liveblog migrate`."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from app.settings import Settings

if TYPE_CHECKING:
    from app.cli import Subcommands


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    """`settings` already holds --host, --port and --workers, validated (cli.main)."""
    from app import server
    from app.main import create_app
    from app.storage import migrate
    from app.storage.sqlite_files import in_use

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
    with in_use(settings.database_url):
        migrate.upgrade(settings.database_url)
        if settings.workers > 1:
            # Each worker reads the same LIVEBLOG_* environment; only the socket is shared.
            server.run("app.main:create_app", settings)
        else:
            server.run(create_app(settings), settings)
    return 0


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from app.storage import migrate
    from app.storage.sqlite_files import in_use

    with in_use(settings.database_url):
        migrate.upgrade(settings.database_url)
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
