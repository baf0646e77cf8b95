"""Named queries over drafts (entries not yet public). See domain/drafts.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, func, insert as insert_into, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.drafts import Draft, DraftState
from app.storage.db import inserted_id
from app.storage.models import DraftRow, LiveblogRow

_COLUMNS = DraftRow.__table__.c


def _draft(row: Row[Any]) -> Draft:
    return Draft(
        id=row.id,
        liveblog_id=row.liveblog_id,
        state=DraftState(row.state),
        title=row.title,
        body=row.body,
        source=row.source,
        author=row.author,
        pinned=row.pinned,
        key_event=row.key_event,
        publish_at=row.publish_at,
        note=row.note,
        created_by_id=row.created_by_id,
        created_by_name=row.created_by_name,
        updated_by_id=row.updated_by_id,
        updated_by_name=row.updated_by_name,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
        entry_id=row.entry_id,
    )


async def insert(conn: AsyncConnection, **values: Any) -> Draft:
    """Store a new draft; `values` are its columns (version 1, no entry)."""
    values = {**values, "version": 1, "entry_id": None, "note": values.get("note")}
    result = await conn.execute(insert_into(DraftRow).values(**values))
    return await _must_get(conn, inserted_id(result))


async def _must_get(conn: AsyncConnection, draft_id: int) -> Draft:
    row = (await conn.execute(select(DraftRow).where(DraftRow.id == draft_id))).one()
    return _draft(row)


async def get(
    conn: AsyncConnection, liveblog_id: int, draft_id: int, *, lock: bool = False
) -> Draft | None:
    """The draft; `lock` takes its row lock (FOR UPDATE) on PostgreSQL until the transaction
    ends (SQLite has one writer at a time already, and SQLAlchemy leaves the clause out)."""
    query = select(DraftRow).where(DraftRow.liveblog_id == liveblog_id, DraftRow.id == draft_id)
    row = (await conn.execute(query.with_for_update() if lock else query)).first()
    return _draft(row) if row else None


async def change(conn: AsyncConnection, draft_id: int, fields: dict[str, Any]) -> Draft:
    """Write `fields` and bump the version."""
    result = await conn.execute(
        update(DraftRow)
        .where(DraftRow.id == draft_id)
        .values(**fields, version=DraftRow.version + 1)
        .returning(*_COLUMNS)
    )
    return _draft(result.one())


async def claim(
    conn: AsyncConnection,
    draft_id: int,
    liveblog_id: int,
    states: Sequence[DraftState],
    now: datetime,
    due_by: datetime | None = None,
) -> Draft | None:
    """Mark the draft published if it is in one of `states` (and, with `due_by`, its publish
    time is no later than that); None if it is not (any more).

    The conditional update is what makes publishing exactly-once: of two processes publishing
    the same scheduled entry, the second finds it published already (both run this inside
    their seq transaction, which serializes writers of the liveblog).
    """
    conditions = [
        DraftRow.id == draft_id,
        DraftRow.liveblog_id == liveblog_id,
        DraftRow.state.in_([state.value for state in states]),
    ]
    if due_by is not None:
        conditions.append(DraftRow.publish_at <= due_by)
    result = await conn.execute(
        update(DraftRow)
        .where(*conditions)
        .values(state=DraftState.PUBLISHED.value, updated_at=now, version=DraftRow.version + 1)
        .returning(*_COLUMNS)
    )
    row = result.first()
    return _draft(row) if row else None


async def unschedule_if_due(conn: AsyncConnection, draft_id: int, note: str) -> bool:
    """Back to the drafts with `note`, if it is still scheduled; whether it was."""
    result = await conn.execute(
        update(DraftRow)
        .where(DraftRow.id == draft_id, DraftRow.state == DraftState.SCHEDULED.value)
        .values(
            state=DraftState.DRAFT.value,
            publish_at=None,
            note=note,
            version=DraftRow.version + 1,
        )
    )
    return bool(result.rowcount)


async def set_entry(conn: AsyncConnection, draft_id: int, entry_id: int) -> None:
    await conn.execute(update(DraftRow).where(DraftRow.id == draft_id).values(entry_id=entry_id))


async def remove(conn: AsyncConnection, draft_id: int) -> None:
    await conn.execute(delete(DraftRow).where(DraftRow.id == draft_id))


async def unpublished(conn: AsyncConnection, liveblog_id: int) -> list[Draft]:
    """Drafts, drafts in review and scheduled entries of a liveblog, newest change first."""
    rows = await conn.execute(
        select(DraftRow)
        .where(
            DraftRow.liveblog_id == liveblog_id,
            DraftRow.state != DraftState.PUBLISHED.value,
        )
        .order_by(DraftRow.updated_at.desc())
        .limit(500)
    )
    return [_draft(row) for row in rows]


async def next_due_time(conn: AsyncConnection) -> datetime | None:
    """The time of the soonest scheduled entry (one step down the state/time index)."""
    result = await conn.execute(
        select(func.min(DraftRow.publish_at)).where(DraftRow.state == DraftState.SCHEDULED.value)
    )
    return result.scalar_one_or_none()


async def due(conn: AsyncConnection, now: datetime, limit: int) -> list[tuple[str, Draft]]:
    """Scheduled entries whose time has come, soonest first, with their liveblog's slug."""
    rows = await conn.execute(
        select(LiveblogRow.slug, *_COLUMNS)
        .join(LiveblogRow, LiveblogRow.id == DraftRow.liveblog_id)
        .where(DraftRow.state == DraftState.SCHEDULED.value, DraftRow.publish_at <= now)
        .order_by(DraftRow.publish_at)
        .limit(limit)
    )
    return [(row.slug, _draft(row)) for row in rows]
