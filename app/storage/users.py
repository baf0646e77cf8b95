"""Named queries over console users and their sessions. Sessions are stored by hash only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, insert as insert_into, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.storage.db import inserted_id
from app.storage.models import SessionRow, UserRow


class UsernameTaken(Exception):
    pass


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    username: str
    display_name: str
    role: str
    password_hash: str
    created_at: datetime
    disabled_at: datetime | None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: int
    user: UserRecord
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


def _user(row: Row[Any]) -> UserRecord:
    return UserRecord(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=row.role,
        password_hash=row.password_hash,
        created_at=row.created_at,
        disabled_at=row.disabled_at,
    )


async def insert_user(
    conn: AsyncConnection,
    *,
    username: str,
    display_name: str,
    role: str,
    password_hash: str,
    now: datetime,
) -> UserRecord:
    """Store a user; raises UsernameTaken if the name is in use (disabled users keep theirs)."""
    values = {
        "username": username,
        "display_name": display_name,
        "role": role,
        "password_hash": password_hash,
        "created_at": now,
        "disabled_at": None,
    }
    try:
        result = await conn.execute(insert_into(UserRow).values(**values))
    except IntegrityError:
        raise UsernameTaken(username) from None
    return UserRecord(id=inserted_id(result), **values)  # type: ignore[arg-type]


async def by_username(conn: AsyncConnection, username: str) -> UserRecord | None:
    row = (await conn.execute(select(UserRow).where(UserRow.username == username))).first()
    return _user(row) if row else None


async def by_id(conn: AsyncConnection, user_id: int) -> UserRecord | None:
    row = (await conn.execute(select(UserRow).where(UserRow.id == user_id))).first()
    return _user(row) if row else None


async def all_users(conn: AsyncConnection) -> list[UserRecord]:
    rows = await conn.execute(select(UserRow).order_by(UserRow.username))
    return [_user(row) for row in rows]


async def disable(conn: AsyncConnection, username: str, now: datetime) -> UserRecord | None:
    """Mark the user disabled (if not already) and end every session of theirs."""
    user = await by_username(conn, username)
    if user is None:
        return None
    if user.disabled_at is None:
        await conn.execute(update(UserRow).where(UserRow.id == user.id).values(disabled_at=now))
    await conn.execute(delete(SessionRow).where(SessionRow.user_id == user.id))
    return user


async def enable(conn: AsyncConnection, username: str) -> UserRecord | None:
    """Let a disabled user sign in again (their sessions stay ended); None: no such user."""
    await conn.execute(update(UserRow).where(UserRow.username == username).values(disabled_at=None))
    return await by_username(conn, username)


async def set_role(conn: AsyncConnection, username: str, role: str) -> UserRecord | None:
    """Give the user `role`; None: no such user. Sessions read the role from this row on every
    request, so it applies to their very next one."""
    await conn.execute(update(UserRow).where(UserRow.username == username).values(role=role))
    return await by_username(conn, username)


async def set_password(
    conn: AsyncConnection, username: str, password_hash: str
) -> UserRecord | None:
    """Store the user's new password hash and end every session of theirs; None: no such user."""
    await conn.execute(
        update(UserRow).where(UserRow.username == username).values(password_hash=password_hash)
    )
    user = await by_username(conn, username)
    if user is not None:
        await end_sessions(conn, user.id)
    return user


async def set_password_hash(conn: AsyncConnection, user_id: int, password_hash: str) -> None:
    await conn.execute(
        update(UserRow).where(UserRow.id == user_id).values(password_hash=password_hash)
    )


async def end_sessions(conn: AsyncConnection, user_id: int, *, keep: int | None = None) -> int:
    """End every session of the user but `keep` (a session id); returns how many ended."""
    condition = SessionRow.user_id == user_id
    if keep is not None:
        condition &= SessionRow.id != keep
    result = await conn.execute(delete(SessionRow).where(condition))
    return int(result.rowcount)


# Any fixed number, the same in every process: the lock `enabled_admins` takes on PostgreSQL.
_ADMINS_LOCK = 0x6C62_6164  # "lbad"


async def enabled_admins(conn: AsyncConnection) -> set[int]:
    """The ids of the enabled admins, after this transaction's own changes, with no other
    transaction's change to them in flight: call it in `write()`, after the change it checks.

    Two admins demoting each other at once must not both succeed and leave nobody to manage
    users. SQLite has one writer at a time, and this transaction (having written) is it. On
    PostgreSQL each such transaction takes one transaction-scoped advisory lock before it
    counts, so the second counts only once the first has committed (or rolled back), and sees
    its change; taking it after the transaction's own row lock cannot deadlock, as no holder
    of the advisory lock waits for another row.
    """
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADMINS_LOCK})
    rows = await conn.execute(
        select(UserRow.id).where(UserRow.role == "admin", UserRow.disabled_at.is_(None))
    )
    return {row.id for row in rows}


async def insert_session(
    conn: AsyncConnection,
    *,
    token_hash: str,
    user_id: int,
    csrf_token: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute(
        insert_into(SessionRow).values(
            token_hash=token_hash,
            user_id=user_id,
            csrf_token=csrf_token,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
    )


async def session_by_hash(conn: AsyncConnection, token_hash: str) -> SessionRecord | None:
    """The session and its user, whatever their state (the caller checks expiry and disabling)."""
    row = (
        await conn.execute(
            select(
                SessionRow.id.label("session_id"),
                SessionRow.csrf_token,
                SessionRow.created_at.label("session_created_at"),
                SessionRow.last_seen_at,
                SessionRow.expires_at,
                *UserRow.__table__.c,
            )
            .join(UserRow, UserRow.id == SessionRow.user_id)
            .where(SessionRow.token_hash == token_hash)
        )
    ).first()
    if row is None:
        return None
    return SessionRecord(
        id=row.session_id,
        user=_user(row),
        csrf_token=row.csrf_token,
        created_at=row.session_created_at,
        last_seen_at=row.last_seen_at,
        expires_at=row.expires_at,
    )


async def touch_session(conn: AsyncConnection, session_id: int, now: datetime) -> None:
    await conn.execute(
        update(SessionRow).where(SessionRow.id == session_id).values(last_seen_at=now)
    )


async def delete_session(conn: AsyncConnection, session_id: int) -> None:
    await conn.execute(delete(SessionRow).where(SessionRow.id == session_id))


async def delete_stale_sessions(
    conn: AsyncConnection, *, now: datetime, idle_before: datetime
) -> int:
    """Remove sessions past their absolute expiry or idle since `idle_before`."""
    result = await conn.execute(
        delete(SessionRow).where(
            (SessionRow.expires_at <= now) | (SessionRow.last_seen_at <= idle_before)
        )
    )
    return int(result.rowcount)


async def live_session_ids(
    conn: AsyncConnection, session_ids: list[int], *, now: datetime, idle_before: datetime
) -> set[int]:
    """Of `session_ids`, those still there, within both expiries, with an enabled user."""
    if not session_ids:
        return set()
    rows = await conn.execute(
        select(SessionRow.id)
        .join(UserRow, UserRow.id == SessionRow.user_id)
        .where(
            SessionRow.id.in_(session_ids),
            SessionRow.expires_at > now,
            SessionRow.last_seen_at > idle_before,
            UserRow.disabled_at.is_(None),
        )
    )
    return {row.id for row in rows}
