"""Named queries over API tokens. Only hashes are stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert as insert_into, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.storage.db import inserted_id
from app.storage.models import TokenRow


async def insert(conn: AsyncConnection, *, name: str, token_hash: str, now: datetime) -> int:
    result = await conn.execute(
        insert_into(TokenRow).values(name=name, token_hash=token_hash, created_at=now)
    )
    return inserted_id(result)


async def name_for_hash(conn: AsyncConnection, token_hash: str) -> str | None:
    name: str | None = await conn.scalar(
        select(TokenRow.name).where(TokenRow.token_hash == token_hash)
    )
    return name


async def delete_named(conn: AsyncConnection, name: str) -> int:
    """Delete every token held under `name`; returns how many there were."""
    result = await conn.execute(delete(TokenRow).where(TokenRow.name == name))
    return result.rowcount
