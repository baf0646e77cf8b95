"""`liveblog serve | migrate | token create`: parse arguments, then call in."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from app.settings import Settings


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from app import server
    from app.main import create_app
    from app.storage import migrate

    if args.host:
        settings.host = args.host
    if args.port is not None:
        settings.port = args.port
    migrate.upgrade(settings.database_url)
    server.run(create_app(settings), settings)
    return 0


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from app.storage import migrate

    migrate.upgrade(settings.database_url)
    print(f"database is at the latest schema ({_redacted(settings.database_url)})")
    return 0


def _token_create(settings: Settings, args: argparse.Namespace) -> int:
    from app.services.tokens import create_token
    from app.storage import migrate
    from app.storage.db import Database

    name = args.name.strip()
    if not name or len(name) > 100:
        print("error: --name must be 1 to 100 characters", file=sys.stderr)
        return 2
    logging.getLogger("alembic").setLevel(logging.WARNING)  # keep the output to the token
    migrate.upgrade(settings.database_url)

    async def create() -> str:
        db = Database(settings.database_url)
        try:
            return await create_token(db, name)
        finally:
            await db.dispose()

    token = asyncio.run(create())
    print(f"Created API token for {name!r}. It is shown only once; store it now:")
    print(token)
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
    serve.set_defaults(handler=_serve)

    migrate = commands.add_parser("migrate", help="apply pending database migrations")
    migrate.set_defaults(handler=_migrate)

    token = commands.add_parser("token", help="manage API tokens for newsroom tools")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser("create", help="create a token; prints it once, last line")
    create.add_argument("--name", required=True, help="who will use it, e.g. 'cms' or 'jane'")
    create.set_defaults(handler=_token_create)
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
