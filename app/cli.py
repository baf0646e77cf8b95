"""`liveblog serve | migrate | token create | token revoke`: parse arguments, then call in."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from pydantic import ValidationError

from app.settings import Settings

if TYPE_CHECKING:
    from app.storage.db import Database

T = TypeVar("T")


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from app import server
    from app.main import create_app
    from app.storage import migrate

    if args.host:
        settings.host = args.host
    if args.port is not None:
        settings.port = args.port
    if args.workers is not None:
        settings.workers = args.workers
    if settings.workers > 1 and not settings.has_shared_broker:
        print(
            f"error: --workers {settings.workers} needs LIVEBLOG_BROKER_URL=redis://...: each "
            "worker is a process of its own, and with the in-process broker a reader on one "
            "worker would never see entries posted through another.",
            file=sys.stderr,
        )
        return 2
    migrate.upgrade(settings.database_url)
    if settings.workers > 1:
        # Each worker reads the same LIVEBLOG_* environment; only the socket is shared.
        server.run("app.main:create_app", settings)
    else:
        server.run(create_app(settings), settings)
    return 0


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from app.storage import migrate

    migrate.upgrade(settings.database_url)
    print(f"database is at the latest schema ({_redacted(settings.database_url)})")
    return 0


def _on_tokens(settings: Settings, use: Callable[[Database], Awaitable[T]]) -> T:
    """Run `use` against the migrated database, for the token commands."""
    from app.storage import migrate
    from app.storage.db import Database

    logging.getLogger("alembic").setLevel(logging.WARNING)  # keep the output to the point
    migrate.upgrade(settings.database_url)

    async def run() -> T:
        db = Database(settings.database_url)
        try:
            return await use(db)
        finally:
            await db.dispose()

    return asyncio.run(run())


def _token_name(args: argparse.Namespace) -> str | None:
    name: str = args.name.strip()
    if not name or len(name) > 100:
        print("error: --name must be 1 to 100 characters", file=sys.stderr)
        return None
    return name


def _token_create(settings: Settings, args: argparse.Namespace) -> int:
    from app.services.tokens import create_token

    name = _token_name(args)
    if name is None:
        return 2
    token = _on_tokens(settings, lambda db: create_token(db, name))
    print(f"Created API token for {name!r}. It is shown only once; store it now:")
    print(token)
    return 0


def _token_revoke(settings: Settings, args: argparse.Namespace) -> int:
    from app.services.tokens import revoke_tokens

    name = _token_name(args)
    if name is None:
        return 2
    count = _on_tokens(settings, lambda db: revoke_tokens(db, name))
    if count == 0:
        print(f"error: no token is held under {name!r}", file=sys.stderr)
        return 1
    print(
        f"Revoked {count} token(s) of {name!r}. Running servers refuse them within their "
        "LIVEBLOG_TOKEN_CACHE_SECONDS (10 s unless set)."
    )
    return 0


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="liveblog", description="Real-time liveblog service (settings: LIVEBLOG_* variables)."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser(
        "serve", help="apply pending migrations, then serve HTTP and WebSocket"
    )
    serve.add_argument("--host", help="address to bind (default LIVEBLOG_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default LIVEBLOG_PORT or 8000)")
    serve.add_argument(
        "--workers",
        type=int,
        choices=range(1, 65),
        metavar="N",
        help="server processes (default LIVEBLOG_WORKERS or 1); above 1 needs a redis:// broker",
    )
    serve.set_defaults(handler=_serve)

    migrate = commands.add_parser("migrate", help="apply pending database migrations")
    migrate.set_defaults(handler=_migrate)

    token = commands.add_parser("token", help="manage API tokens for newsroom tools")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser("create", help="create a token; prints it once, last line")
    create.add_argument("--name", required=True, help="who will use it, e.g. 'cms' or 'jane'")
    create.set_defaults(handler=_token_create)
    revoke = token_commands.add_parser("revoke", help="delete every token held under a name")
    revoke.add_argument("--name", required=True, help="the name the tokens were created with")
    revoke.set_defaults(handler=_token_revoke)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as error:
        print(f"error: invalid LIVEBLOG_* setting:\n{error}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    handler = args.handler
    result: int = handler(settings, args)
    return result
