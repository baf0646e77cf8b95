"""`liveblog serve | migrate | token create|list|revoke`: parse arguments, then call in."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
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


def _token_create(settings: Settings, args: argparse.Namespace) -> int:
    from app.auth.principal import Scope
    from app.auth.tokens import NameTaken, TokenSpec, create_token

    spec = TokenSpec(
        name=args.name.strip(),
        scope=Scope(args.scope),
        liveblogs=tuple(args.liveblog or ()),
        expires_at=args.expires_at,
    )
    problems = spec.problems(datetime.now(UTC))
    if problems:
        print("error: " + "; ".join(problems), file=sys.stderr)
        return 2
    try:
        token = _on_tokens(settings, lambda db: create_token(db, spec))
    except NameTaken:
        print(
            f"error: a token named {spec.name!r} already exists (revoked tokens keep their "
            "names, which their revisions show); choose another name",
            file=sys.stderr,
        )
        return 1
    where = ", ".join(spec.liveblogs) if spec.liveblogs else "every liveblog"
    until = f", until {_when(spec.expires_at)}" if spec.expires_at else ""
    print(f"Created {spec.scope.value} token {spec.name!r} ({where}{until}).")
    print("It is shown only once; store it now:")
    print(token)
    return 0


def _token_list(settings: Settings, args: argparse.Namespace) -> int:
    from app.auth.tokens import list_tokens

    records = _on_tokens(settings, list_tokens)
    listed = [
        {
            "name": record.name,
            "scope": record.scope,
            "liveblogs": record.liveblogs,
            "created_at": _when(record.created_at),
            "last_used_at": _when(record.last_used_at),
            "expires_at": _when(record.expires_at),
            "revoked_at": _when(record.revoked_at),
        }
        for record in records
    ]
    if args.json:
        print(json.dumps(listed, indent=2))
        return 0
    columns = {
        "NAME": "name",
        "SCOPE": "scope",
        "LIVEBLOGS": "liveblogs",
        "CREATED": "created_at",
        "LAST USED": "last_used_at",
        "EXPIRES": "expires_at",
        "REVOKED": "revoked_at",
    }
    rows = [list(columns)] + [
        [
            ",".join(token["liveblogs"])
            if key == "liveblogs" and token["liveblogs"]
            else ("all" if key == "liveblogs" else str(token[key] or "-"))
            for key in columns.values()
        ]
        for token in listed
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def _token_revoke(settings: Settings, args: argparse.Namespace) -> int:
    from app.auth.tokens import revoke_token

    name = args.name.strip()
    record = _on_tokens(settings, lambda db: revoke_token(db, name))
    if record is None:
        print(f"error: no token is named {name!r}", file=sys.stderr)
        return 1
    print(
        f"Token {name!r} is revoked (since {_when(record.revoked_at)}). Running servers refuse "
        "it within their LIVEBLOG_TOKEN_CACHE_SECONDS (10 s unless set); its revisions keep "
        "its name."
    )
    return 0


def _when(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _timestamp(text: str) -> datetime:
    """--expires-at: ISO 8601; without a zone it means UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time, e.g. 2026-12-31T18:00:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


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
    create.add_argument(
        "--name", required=True, help="unique; who will use it, e.g. 'cms' or 'jane'"
    )
    create.add_argument(
        "--scope",
        choices=["admin", "publish"],
        default="admin",
        help="admin: everything (default); publish: entries only (create, edit, delete, pin)",
    )
    create.add_argument(
        "--liveblog",
        action="append",
        metavar="SLUG",
        help="publish tokens: only this liveblog (repeat for several); default: every one",
    )
    create.add_argument(
        "--expires-at",
        type=_timestamp,
        metavar="ISO8601",
        help="refused from this time on, e.g. 2026-12-31T18:00:00Z (no zone: UTC)",
    )
    create.set_defaults(handler=_token_create)
    listing = token_commands.add_parser("list", help="every token, without its secret")
    listing.add_argument("--json", action="store_true", help="as JSON, for scripts")
    listing.set_defaults(handler=_token_list)
    revoke = token_commands.add_parser(
        "revoke", help="refuse a token from now on (its row stays, for attribution)"
    )
    revoke.add_argument("--name", required=True, help="the name the token was created with")
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
    try:
        result: int = handler(settings, args)
    except BrokenPipeError:
        # `liveblog token list | head`: the reader left; that is not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return result
