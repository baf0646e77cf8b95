"""`liveblog user create | list | disable | enable | role | password`: the journalists' console
accounts. Unlike an admin in the console, the CLI may demote or disable the last admin: it can
always make a new one."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from app.cli import prompts
from app.cli.storage import on_database
from app.settings import Settings

if TYPE_CHECKING:
    from app.auth.users import User, UserAccounts
    from app.broker.base import Control
    from app.cli import Subcommands
    from app.domain.events import Event
    from app.storage.db import Database


def _read_password(args: argparse.Namespace) -> str | None:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        print("error: no terminal to ask for a password; use --password-stdin", file=sys.stderr)
        return None
    first = prompts.secret("Password: ")
    if prompts.secret("Password again: ") != first:
        print("error: the two passwords differ", file=sys.stderr)
        return None
    return first


def _user_create(settings: Settings, args: argparse.Namespace) -> int:
    from app.auth.users import UserAccounts
    from app.domain.principal import Role
    from app.errors import LiveblogError

    password = _read_password(args)
    if password is None:
        return 2

    async def create(db: Database) -> User:
        return await UserAccounts(db).create(
            args.username, password, Role(args.role), args.display_name
        )

    try:
        user = on_database(settings, create)
    except LiveblogError as error:
        print(f"error: {error.detail}", file=sys.stderr)
        return 2
    print(f"created {user.role.value} {user.username!r} ({user.display_name}); sign in at /console")
    return 0


def _user_list(settings: Settings, args: argparse.Namespace) -> int:
    from app.auth.users import UserAccounts

    async def listing(db: Database) -> list[User]:
        return await UserAccounts(db).list()

    users = on_database(settings, listing)
    if args.json:
        rows = [
            {
                "username": u.username,
                "display_name": u.display_name,
                "role": u.role.value,
                "disabled": u.disabled,
            }
            for u in users
        ]
        print(json.dumps(rows, indent=2))
        return 0
    if not users:
        print("no users yet: liveblog user create USERNAME --role editor")
        return 0
    width = max(len(u.username) for u in users)
    for u in users:
        state = "disabled" if u.disabled else "active"
        print(f"{u.username:<{width}}  {u.role.value:<11}  {state:<8}  {u.display_name}")
    return 0


class _ToServers:
    """The outbox of an account change made here: servers sharing Redis close the user's
    console sockets at once; others notice within seconds (their sockets re-check sessions,
    which are gone already). An account change makes no events for readers."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    async def publish(self, event: Event) -> None:
        raise AssertionError("account changes make no events for readers")

    async def publish_control(self, message: Control) -> None:
        if self._settings.has_shared_broker:
            from app.broker.redis import send_control

            settings = self._settings
            await send_control(settings.broker_url, settings.broker_channel, message)


def _change_account(
    settings: Settings,
    change: Callable[[UserAccounts], Awaitable[User]],
    done: Callable[[User], str],
) -> int:
    """Run one change of an account, then say what was done; a refusal (no such user, a weak
    password) is one line on stderr and exit status 1."""
    from app.auth.users import UserAccounts
    from app.errors import LiveblogError

    async def run(db: Database) -> User:
        return await change(UserAccounts(db, _ToServers(settings)))

    try:
        user = on_database(settings, run)
    except LiveblogError as error:
        print(f"error: {error.detail}", file=sys.stderr)
        return 1
    print(done(user))
    return 0


def _user_disable(settings: Settings, args: argparse.Namespace) -> int:
    return _change_account(
        settings,
        lambda accounts: accounts.disable(args.username),
        lambda user: f"disabled {user.username!r}; their sessions are ended",
    )


def _user_enable(settings: Settings, args: argparse.Namespace) -> int:
    return _change_account(
        settings,
        lambda accounts: accounts.enable(args.username),
        lambda user: f"enabled {user.username!r}; they may sign in again",
    )


def _user_role(settings: Settings, args: argparse.Namespace) -> int:
    from app.domain.principal import Role

    return _change_account(
        settings,
        lambda accounts: accounts.set_role(args.username, Role(args.role)),
        lambda user: f"{user.username!r} is now {user.role.value}, from their next request",
    )


def _user_password(settings: Settings, args: argparse.Namespace) -> int:
    password = _read_password(args)
    if password is None:
        return 2
    return _change_account(
        settings,
        lambda accounts: accounts.set_password(args.username, password),
        lambda user: f"new password set for {user.username!r}; their sessions are ended",
    )


def add_commands(commands: Subcommands) -> None:
    user = commands.add_parser("user", help="manage journalists' console accounts")
    user_commands = user.add_subparsers(dest="user_command", required=True)
    create = user_commands.add_parser("create", help="create a user (asks for the password)")
    create.add_argument("username", help="1-64 lowercase letters, digits, . _ -")
    create.add_argument(
        "--role",
        choices=["contributor", "editor", "admin"],
        required=True,
        help="contributor: drafts for review; editor: publishes; admin: also manages users",
    )
    create.add_argument("--display-name", help="shown as the author by default")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    create.set_defaults(handler=_user_create)
    listing = user_commands.add_parser("list", help="every user and their role")
    listing.add_argument("--json", action="store_true", help="as JSON, for scripts")
    listing.set_defaults(handler=_user_list)
    disable = user_commands.add_parser(
        "disable", help="refuse sign-in and end the user's sessions (the account stays)"
    )
    disable.add_argument("username")
    disable.set_defaults(handler=_user_disable)
    enable = user_commands.add_parser("enable", help="let a disabled user sign in again")
    enable.add_argument("username")
    enable.set_defaults(handler=_user_enable)
    role = user_commands.add_parser("role", help="change a user's role (from their next request)")
    role.add_argument("username")
    role.add_argument("role", choices=["contributor", "editor", "admin"])
    role.set_defaults(handler=_user_role)
    password = user_commands.add_parser(
        "password", help="set a user's password (asks for it) and end their sessions"
    )
    password.add_argument("username")
    password.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    password.set_defaults(handler=_user_password)
