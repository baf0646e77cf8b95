"""Named queries over idempotency keys.

`claim` is the first statement of the write it guards: an INSERT that takes the (owner, key)
row, or takes nothing if a live row exists. On PostgreSQL a concurrent claim of the same key
waits on the unique index until the first transaction ends, then sees its committed row: that
wait is what makes a retry sent while the first request is in flight replay its response.
SQLite serializes writers anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from app.storage.models import IdempotencyRow


@dataclass(frozen=True, slots=True)
class StoredReply:
    status: int
    headers: dict[str, str]
    body: str


@dataclass(frozen=True, slots=True)
class StoredKey:
    fingerprint: str
    status: int | None
    headers: dict[str, str]
    body: str


_claims: dict[str, Any] = {}  # per dialect: built once, so SQLAlchemy's cache key is too


def _claim_statement(dialect_name: str) -> Any:
    statement = _claims.get(dialect_name)
    if statement is None:
        dialect = postgresql if dialect_name == "postgresql" else sqlite
        insert = dialect.insert(IdempotencyRow).values(
            owner=bindparam("p_owner"),
            key=bindparam("p_key"),
            fingerprint=bindparam("p_fingerprint"),
            created_at=bindparam("p_now"),
            expires_at=bindparam("p_expires_at"),
            status=None,
            headers=None,
            body=None,
        )
        replaced = ("fingerprint", "created_at", "expires_at", "status", "headers", "body")
        statement = insert.on_conflict_do_update(
            index_elements=[IdempotencyRow.owner, IdempotencyRow.key],
            set_={name: insert.excluded[name] for name in replaced},
            where=IdempotencyRow.expires_at <= bindparam("p_now"),
        ).returning(IdempotencyRow.id)
        _claims[dialect_name] = statement
    return statement


async def claim(
    conn: AsyncConnection,
    *,
    owner: str,
    key: str,
    fingerprint: str,
    now: datetime,
    expires_at: datetime,
) -> int | None:
    """Take the key for this transaction; returns its row id, or None if it is taken.

    An expired row is taken over in the same statement, so old keys need no sweep to be reused.
    """
    result = await conn.execute(
        _claim_statement(conn.dialect.name),
        {
            "p_owner": owner,
            "p_key": key,
            "p_fingerprint": fingerprint,
            "p_now": now,
            "p_expires_at": expires_at,
        },
    )
    claimed: int | None = result.scalar_one_or_none()
    return claimed


async def get(conn: AsyncConnection, *, owner: str, key: str) -> StoredKey | None:
    result = await conn.execute(
        select(
            IdempotencyRow.fingerprint,
            IdempotencyRow.status,
            IdempotencyRow.headers,
            IdempotencyRow.body,
        ).where(IdempotencyRow.owner == owner, IdempotencyRow.key == key)
    )
    row = result.first()
    if row is None:
        return None
    return StoredKey(row.fingerprint, row.status, row.headers or {}, row.body or "")


_COMPLETE = (
    update(IdempotencyRow)
    .where(IdempotencyRow.id == bindparam("p_id"))
    .values(
        status=bindparam("p_status"),
        headers=bindparam("p_headers"),
        body=bindparam("p_body"),
        subject=bindparam("p_subject"),
    )
)


async def complete(
    conn: AsyncConnection, row_id: int, reply: StoredReply, subject: str | None
) -> None:
    """Store the response to replay, in the transaction that claimed the key, and what the
    request made (`subject`, e.g. "entry:12"), so a purge can find it."""
    await conn.execute(
        _COMPLETE,
        {
            "p_id": row_id,
            "p_status": reply.status,
            "p_headers": reply.headers,
            "p_body": reply.body,
            "p_subject": subject,
        },
    )


async def delete_expired(conn: AsyncConnection, now: datetime, limit: int) -> int:
    """Delete up to `limit` expired keys (batches keep each transaction short)."""
    doomed = select(IdempotencyRow.id).where(IdempotencyRow.expires_at <= now).limit(limit)
    # The expiry again in the DELETE itself: on PostgreSQL a row that a claim took over while
    # this statement waited for it is re-checked against this condition, not the subquery's.
    result = await conn.execute(
        delete(IdempotencyRow).where(
            IdempotencyRow.id.in_(doomed), IdempotencyRow.expires_at <= now
        )
    )
    return result.rowcount


async def forget_subject(conn: AsyncConnection, subject: str, reply: StoredReply) -> None:
    """Replace the stored response of every key that made `subject` (a purge: the content must
    not survive in a replay, and a retry must not publish it again)."""
    await conn.execute(
        update(IdempotencyRow)
        .where(IdempotencyRow.subject == subject)
        .values(status=reply.status, headers=reply.headers, body=reply.body)
    )
