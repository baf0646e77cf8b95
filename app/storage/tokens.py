"""Named queries over API tokens. Only hashes are stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.storage.models import TokenRow


async def insert(session: AsyncSession, *, name: str, token_hash: str, now: datetime) -> int:
    row = TokenRow(name=name, token_hash=token_hash, created_at=now)
    session.add(row)
    await session.flush()
    return row.id


async def name_for_hash(session: AsyncSession, token_hash: str) -> str | None:
    name: str | None = await session.scalar(
        select(TokenRow.name).where(TokenRow.token_hash == token_hash)
    )
    return name


async def delete_named(session: AsyncSession, name: str) -> int:
    """Delete every token held under `name`; returns how many there were."""
    result = await session.execute(delete(TokenRow).where(TokenRow.name == name))
    return result.rowcount
