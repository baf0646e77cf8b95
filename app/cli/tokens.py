"""`liveblog token create | list | revoke`: API tokens for newsroom tools."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from app.cli.storage import on_database
from app.domain.model import iso_utc
from app.settings import Settings

if TYPE_CHECKING:
    from app.cli import Subcommands
    from app.storage.db import Database

T = TypeVar("T")


def _token_create(settings: Settings, args: argparse.Namespace) -> int:
    from app.auth.tokens import NameTaken, TokenSpec, create_token
    from app.broker.memory import MemoryBroker
    from app.domain.principal import Scope
    from app.errors import NotFound
    from app.services.liveblogs import LiveblogService

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

    async def create(db: Database) -> str:
        liveblogs = LiveblogService(db, MemoryBroker())  # only read: no news to publish
        missing = [
            slug for slug in dict.fromkeys(spec.liveblogs) if not await liveblogs.exists(slug)
        ]
        if missing:
            slugs = " or ".join(repr(slug) for slug in missing)
            raise NotFound(f"--liveblog: no liveblog has the slug {slugs}; create it first")
        return await create_token(db, spec)

    try:
        token = on_database(settings, create)
    except NotFound as error:  # nothing was created
        print(f"error: {error.detail}", file=sys.stderr)
        return 2
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

    records = on_database(settings, list_tokens)
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

    def cell(token: dict[str, Any], key: str) -> str:
        if key == "liveblogs":
            return ",".join(token["liveblogs"] or ["all"])
        return str(token[key] or "-")

    rows = [list(columns)] + [[cell(token, key) for key in columns.values()] for token in listed]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def _token_revoke(settings: Settings, args: argparse.Namespace) -> int:
    from app.auth.tokens import revoke_token

    name = args.name.strip()
    record = on_database(settings, lambda db: revoke_token(db, name))
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
    return iso_utc(moment, "seconds") if moment else None


def _timestamp(text: str) -> datetime:
    """--expires-at: ISO 8601; without a zone it means UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time, e.g. 2026-12-31T18:00:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def add_commands(commands: Subcommands) -> None:
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
