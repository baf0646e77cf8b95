"""Named queries over API tokens. Only hashes are stored; rows outlive revocation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert as insert_into, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.storage.db import inserted_id
from app.storage.models import TokenRow


class NameTaken(Exception):
    pass


@dataclass(frozen=True, slots=True)
class TokenRecord:
    id: int
    name: str
    scope: str
    liveblogs: list[str] | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


def _record(row: Row[Any]) -> TokenRecord:
    return TokenRecord(
        id=row.id,
        name=row.name,
        scope=row.scope,
        liveblogs=row.liveblogs,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


async def insert(
    conn: AsyncConnection,
    *,
    name: str,
    token_hash: str,
    scope: str,
    liveblogs: list[str] | None,
    expires_at: datetime | None,
    now: datetime,
) -> int:
    """Store a token; raises NameTaken if a token (even a revoked one) has this name."""
    try:
        result = await conn.execute(
            insert_into(TokenRow).values(
                name=name,
                token_hash=token_hash,
                scope=scope,
                liveblogs=liveblogs,
                expires_at=expires_at,
                created_at=now,
            )
        )
    except IntegrityError as error:
        raise NameTaken(name) from error
    return inserted_id(result)


async def by_hash(conn: AsyncConnection, token_hash: str) -> TokenRecord | None:
    result = await conn.execute(select(TokenRow).where(TokenRow.token_hash == token_hash))
    row = result.first()
    return _record(row) if row else None


async def list_all(conn: AsyncConnection) -> list[TokenRecord]:
    rows = await conn.execute(select(TokenRow).order_by(TokenRow.created_at, TokenRow.id))
    return [_record(row) for row in rows]


async def revoke(conn: AsyncConnection, name: str, now: datetime) -> TokenRecord | None:
    """Mark the token revoked (once: a second revoke keeps the first time); None if unknown."""
    await conn.execute(
        update(TokenRow)
        .where(TokenRow.name == name, TokenRow.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    result = await conn.execute(select(TokenRow).where(TokenRow.name == name))
    row = result.first()
    return _record(row) if row else None


async def touch(conn: AsyncConnection, token_id: int, now: datetime) -> None:
    await conn.execute(update(TokenRow).where(TokenRow.id == token_id).values(last_used_at=now))
