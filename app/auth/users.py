"""Console accounts: create, list, disable, enable, change roles and passwords. Used by
`liveblog user …` and the admin's console (the user's own password change is in sessions.py).

A disabled user keeps their row (revisions name them) but can no longer sign in. Disabling, or
an admin setting their password, ends their sessions in the same transaction, and once it has
committed every process is told to close their console sockets at once (each change is a write
of the unit of work, services/unit_of_work.py; `outbox` carries what it tells). A role is read
from the user's row on every request (sessions.py), so a new one applies to their next request;
their console sockets carry nothing that depends on it, and stay open.

In the console (`by`: the admin asking, who must be allowed to manage users: policy.py) an admin
may not disable, demote or reset the password of themselves, and no change may leave the console
without an enabled admin: two admins demoting each other at once get one success and one
Conflict. The CLI (`by` None: the operator at the machine), which can always make a new admin,
is not held to that.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from app.auth.passwords import PasswordChecks, WeakPassword, check_strength
from app.broker.base import Control
from app.broker.control import user_disabled
from app.domain.events import Event
from app.domain.model import AUTHOR_MAX, utcnow
from app.domain.policy import Action
from app.domain.principal import Principal, Role
from app.errors import Conflict, NotFound, Unprocessable
from app.services.permissions import require
from app.services.publish import Outbox
from app.services.unit_of_work import Write, Writes
from app.storage import users as rows
from app.storage.db import Database
from app.storage.users import UsernameTaken, UserRecord

USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
USERNAME_RE = re.compile(USERNAME_PATTERN)


class _Nowhere:
    """The outbox of a CLI without a shared broker: there is no other process to tell (servers
    notice within seconds: their sockets re-check sessions, which are gone already)."""

    async def publish(self, event: Event) -> None:
        raise AssertionError("account changes make no events for readers")

    async def publish_control(self, message: Control) -> None:
        return None


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
    def __init__(
        self, db: Database, outbox: Outbox | None = None, checks: PasswordChecks | None = None
    ) -> None:
        self._db = db
        self._writes = Writes(db, outbox or _Nowhere())
        # The server's bound on password hashing; the CLI's one hash needs none of its own.
        self._checks = checks or PasswordChecks()

    async def create(
        self,
        username: str,
        password: str,
        role: Role,
        display_name: str | None = None,
        *,
        by: Principal | None = None,
    ) -> User:
        """Raises Unprocessable (bad username, weak password, long name) or Conflict (taken)."""
        _may_manage(by)
        username = normalize_username(username)
        if not USERNAME_RE.match(username):
            raise Unprocessable(
                "A username is 1 to 64 lowercase letters, digits, dots, hyphens or underscores, "
                "starting with a letter or digit."
            )
        name = " ".join((display_name or username).split())
        if not name or len(name) > AUTHOR_MAX or "\x00" in name:
            raise Unprocessable(f"A display name has 1 to {AUTHOR_MAX} characters.")
        password_hash = await self._strong_hash(password)

        async def work(write: Write) -> UserRecord:
            return await rows.insert_user(
                write.conn,
                username=username,
                display_name=name,
                role=role.value,
                password_hash=password_hash,
                now=utcnow(),
            )

        try:
            record = await self._writes.run(work)
        except UsernameTaken:
            raise Conflict(f"The username {username!r} is taken.") from None
        return User.of(record)

    async def list(self, *, by: Principal | None = None) -> list[User]:
        _may_manage(by)
        async with self._db.snapshot() as conn:
            return [User.of(record) for record in await rows.all_users(conn)]

    async def disable(self, username: str, *, by: Principal | None = None) -> User:
        """Disable the user and end their sessions; disabling twice is a no-op.

        Raises:
            NotFound: no such user.
            Unprocessable: `by` (the admin asking) is that user: an admin who locked
                themselves out could not undo it.
            Conflict: no enabled admin would be left (`by` only).
        """
        by_id = _may_manage(by)
        name = normalize_username(username)
        await self._not_oneself(
            name, by_id, "You cannot disable your own account; ask another admin."
        )

        async def work(write: Write) -> UserRecord | None:
            record = await rows.disable(write.conn, name, utcnow())
            if record is not None:
                if by_id is not None:
                    await _an_admin_stays(write.conn, by_id)
                write.tell_every_process(user_disabled(record.id))
            return record

        record = await self._writes.run(work)
        if record is None:
            raise NotFound(f"No user {username!r}.")
        return User(record.id, record.username, record.display_name, Role(record.role), True)

    async def enable(self, username: str, *, by: Principal | None = None) -> User:
        """Let a disabled user sign in again; enabling an enabled user is a no-op.

        Raises:
            NotFound: no such user.
        """
        _may_manage(by)
        name = normalize_username(username)
        record = await self._writes.run(lambda write: rows.enable(write.conn, name))
        if record is None:
            raise NotFound(f"No user {username!r}.")
        return User.of(record)

    async def set_role(self, username: str, role: Role, *, by: Principal | None = None) -> User:
        """Give the user `role`, from their next request on; the same role again is a no-op.

        Raises:
            NotFound: no such user.
            Unprocessable: `by` (the admin asking) is that user and `role` is not admin.
            Conflict: no enabled admin would be left (`by` only).
        """
        by_id = _may_manage(by)
        name = normalize_username(username)
        if role is not Role.ADMIN:
            await self._not_oneself(
                name, by_id, "You cannot lower your own role; ask another admin."
            )

        async def work(write: Write) -> UserRecord | None:
            record = await rows.set_role(write.conn, name, role.value)
            if record is not None and by_id is not None:
                await _an_admin_stays(write.conn, by_id)
            return record

        record = await self._writes.run(work)
        if record is None:
            raise NotFound(f"No user {username!r}.")
        return User.of(record)

    async def set_password(
        self, username: str, password: str, *, by: Principal | None = None
    ) -> User:
        """Give the user a new password and end every session of theirs (whoever held the old
        password is signed out); the account stays disabled if it was.

        Raises:
            NotFound: no such user.
            Unprocessable: a weak password, or `by` (the admin asking) is that user: their
                own password is changed with the current one (sessions.py), not reset.
        """
        by_id = _may_manage(by)
        name = normalize_username(username)
        await self._not_oneself(
            name,
            by_id,
            "Change your own password on the 'Your account' page: it asks for the current one.",
        )
        password_hash = await self._strong_hash(password)

        async def work(write: Write) -> UserRecord | None:
            record = await rows.set_password(write.conn, name, password_hash)
            if record is not None:
                write.tell_every_process(user_disabled(record.id))
            return record

        record = await self._writes.run(work)
        if record is None:
            raise NotFound(f"No user {username!r}.")
        return User.of(record)

    async def _not_oneself(self, username: str, by_id: int | None, refusal: str) -> None:
        """Raises Unprocessable(`refusal`) if `username` is the admin asking (`by_id`)."""
        if by_id is None:
            return
        async with self._db.snapshot() as conn:
            target = await rows.by_username(conn, username)
        if target is not None and target.id == by_id:
            raise Unprocessable(refusal)

    async def _strong_hash(self, password: str) -> str:
        """The password's hash; raises Unprocessable with check_strength's sentence if weak."""
        try:
            check_strength(password)
        except WeakPassword as error:
            raise Unprocessable(str(error)) from None
        return await self._checks.hash_password(password)


def _may_manage(by: Principal | None) -> int | None:
    """Raises Forbidden unless `by` may manage users; returns their id (None: the CLI)."""
    if by is None:
        return None
    require(by, Action.MANAGE_USERS)
    return by.id


async def _an_admin_stays(conn: AsyncConnection, by_id: int) -> None:
    """Inside the write that changed a user: raises Conflict (rolling it back) unless the admin
    asking, `by_id`, is still an enabled admin, so at least one is left. Their own role was
    checked before the write, but another admin may have demoted or disabled them since."""
    admins = await rows.enabled_admins(conn)
    if not admins:
        raise Conflict(
            "That would leave no enabled admin to manage users, so nothing was changed. "
            "Make someone else an admin first."
        )
    if by_id not in admins:
        raise Conflict(
            "You are no longer an enabled admin (another admin changed your account "
            "meanwhile), so nothing was changed."
        )
