"""Console accounts: create, list, disable. Used by `liveblog user …` and the admin's console.

A disabled user keeps their row (revisions name them) but can no longer sign in; disabling ends
their sessions in the same transaction, and `on_disabled` tells every process to close their
console sockets at once.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from app.auth.passwords import WeakPassword, check_strength, hash_password
from app.auth.principal import Role
from app.domain.model import AUTHOR_MAX, utcnow
from app.errors import Conflict, NotFound, Unprocessable
from app.storage import users as rows
from app.storage.db import Database
from app.storage.users import UsernameTaken, UserRecord

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
USERNAME_RE = re.compile(USERNAME_PATTERN)

# Called with a disabled user's id, after commit.
OnDisabled = Callable[[int], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    display_name: str
    role: Role
    disabled: bool

    @classmethod
    def of(cls, record: UserRecord) -> User:
        return cls(
            record.id,
            record.username,
            record.display_name,
            Role(record.role),
            record.disabled_at is not None,
        )


def normalize_username(username: str) -> str:
    """Usernames are case-insensitive: stored and compared in lowercase."""
    return username.strip().lower()


class UserAccounts:
    def __init__(self, db: Database, on_disabled: OnDisabled | None = None) -> None:
        self._db = db
        self._on_disabled = on_disabled

    async def create(
        self, username: str, password: str, role: Role, display_name: str | None = None
    ) -> User:
        """Raises Unprocessable (bad username, weak password, long name) or Conflict (taken)."""
        username = normalize_username(username)
        if not USERNAME_RE.match(username):
            raise Unprocessable(
                "A username is 1 to 64 lowercase letters, digits, dots, hyphens or underscores, "
                "starting with a letter or digit."
            )
        name = " ".join((display_name or username).split())
        if not name or len(name) > AUTHOR_MAX or "\x00" in name:
            raise Unprocessable(f"A display name has 1 to {AUTHOR_MAX} characters.")
        try:
            check_strength(password)
        except WeakPassword as error:
            raise Unprocessable(str(error)) from None
        password_hash = await hash_password(password)
        try:
            async with self._db.write() as conn:
                record = await rows.insert_user(
                    conn,
                    username=username,
                    display_name=name,
                    role=role.value,
                    password_hash=password_hash,
                    now=utcnow(),
                )
        except UsernameTaken:
            raise Conflict(f"The username {username!r} is taken.") from None
        return User.of(record)

    async def list(self) -> list[User]:
        async with self._db.snapshot() as conn:
            return [User.of(record) for record in await rows.all_users(conn)]

    async def disable(self, username: str, *, by_id: int | None = None) -> User:
        """Disable the user and end their sessions; disabling twice is a no-op.

        Raises:
            NotFound: no such user.
            Unprocessable: `by_id` (the admin asking) is that user: an admin who locked
                themselves out could not undo it.
        """
        name = normalize_username(username)
        if by_id is not None:
            async with self._db.snapshot() as conn:
                target = await rows.by_username(conn, name)
            if target is not None and target.id == by_id:
                raise Unprocessable("You cannot disable your own account; ask another admin.")
        async with self._db.write() as conn:
            record = await rows.disable(conn, name, utcnow())
        if record is None:
            raise NotFound(f"No user {username!r}.")
        if self._on_disabled is not None:
            await self._on_disabled(record.id)
        return User(record.id, record.username, record.display_name, Role(record.role), True)
