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

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from app.storage.models import IdempotencyRow


@dataclass(frozen=True, slots=True)
class StoredKey:
    fingerprint: str
    status: int | None
    headers: dict[str, str]
    body: str


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
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    values = {
        "owner": owner,
        "key": key,
        "fingerprint": fingerprint,
        "created_at": now,
        "expires_at": expires_at,
        "status": None,
        "headers": None,
        "body": None,
    }
    statement = dialect.insert(IdempotencyRow).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=[IdempotencyRow.owner, IdempotencyRow.key],
        set_={name: statement.excluded[name] for name in values if name not in ("owner", "key")},
        where=IdempotencyRow.expires_at <= now,
    ).returning(IdempotencyRow.id)
    result = await conn.execute(statement)
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


async def complete(
    conn: AsyncConnection, row_id: int, *, status: int, headers: dict[str, str], body: str
) -> None:
    await conn.execute(
        update(IdempotencyRow)
        .where(IdempotencyRow.id == row_id)
        .values(status=status, headers=headers, body=body)
    )


async def delete_expired(conn: AsyncConnection, now: datetime, limit: int) -> int:
    """Delete up to `limit` expired keys (batches keep each transaction short)."""
    doomed = select(IdempotencyRow.id).where(IdempotencyRow.expires_at <= now).limit(limit)
    result = await conn.execute(delete(IdempotencyRow).where(IdempotencyRow.id.in_(doomed)))
    return result.rowcount
