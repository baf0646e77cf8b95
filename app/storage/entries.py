"""Named queries over the entries table.

Every query filters on one liveblog and walks an index ((liveblog_id, seq) for catch-up,
(liveblog_id, created_seq) for pages), so cost follows the page size, not the liveblog's length.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert as insert_into, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.model import Entry
from app.storage.db import inserted_id
from app.storage.models import EntryRow


def to_entry(row: Row[Any]) -> Entry:
    """From a row of the entries table (all its columns)."""
    return Entry(
        id=row.id,
        seq=row.seq,
        created_seq=row.created_seq,
        title=row.title,
        body=row.body,
        author=row.author,
        pinned=row.pinned,
        key_event=row.key_event,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
        deleted=row.deleted,
        correction=row.correction,
        source=row.source,
    )


async def insert(
    conn: AsyncConnection,
    *,
    liveblog_id: int,
    seq: int,
    title: str | None,
    body: str,
    author: str | None,
    pinned: bool,
    key_event: bool,
    now: datetime,
    source: str | None = None,
    correction: str | None = None,
    updated_at: datetime | None = None,
) -> Entry:
    """A new entry at version 1. `correction` and `updated_at` (default `now`) are an
    import's: an entry published elsewhere, with its note and last edit time."""
    values: dict[str, Any] = {
        "seq": seq,
        "created_seq": seq,
        "title": title,
        "body": body,
        "author": author,
        "pinned": pinned,
        "key_event": key_event,
        "created_at": now,
        "updated_at": updated_at or now,
        "version": 1,
        "deleted": False,
        "correction": correction,
        "source": source,
    }
    result = await conn.execute(_INSERT, {**values, "liveblog_id": liveblog_id})
    return Entry(id=inserted_id(result), **values)


# Built once, the values bound per call: see storage/liveblogs.py's _NEXT_SEQ.
_INSERT = insert_into(EntryRow)


async def get(conn: AsyncConnection, liveblog_id: int, entry_id: int) -> Entry | None:
    result = await conn.execute(
        select(EntryRow).where(EntryRow.liveblog_id == liveblog_id, EntryRow.id == entry_id)
    )
    row = result.first()
    return to_entry(row) if row else None


async def apply_change(
    conn: AsyncConnection, entry_id: int, seq: int, now: datetime, fields: dict[str, Any]
) -> Entry:
    """Write changed fields, record `seq` as the entry's latest change and bump its version."""
    result = await conn.execute(
        update(EntryRow)
        .where(EntryRow.id == entry_id)
        .values(**fields, seq=seq, updated_at=now, version=EntryRow.version + 1)
        .returning(*EntryRow.__table__.c)
    )
    return to_entry(result.one())


async def pinned(conn: AsyncConnection, liveblog_id: int) -> list[Entry]:
    """The pinned entries (at most one, by the pinning rule), whole: unpinning one records
    its previous state."""
    rows = await conn.execute(
        select(EntryRow).where(EntryRow.liveblog_id == liveblog_id, EntryRow.pinned)
    )
    return [to_entry(row) for row in rows]


async def changed_after(
    conn: AsyncConnection, liveblog_id: int, after_seq: int, limit: int
) -> list[Entry]:
    """Entries whose latest change is after `after_seq`, oldest change first, at most `limit`."""
    rows = await conn.execute(
        select(EntryRow)
        .where(EntryRow.liveblog_id == liveblog_id, EntryRow.seq > after_seq)
        .order_by(EntryRow.seq)
        .limit(limit)
    )
    return [to_entry(row) for row in rows]


async def page(
    conn: AsyncConnection,
    liveblog_id: int,
    *,
    before: int | None,
    limit: int,
    pinned: bool | None = None,
    key_event: bool | None = None,
) -> list[Entry]:
    """Visible entries newest first, created before the cursor `before` (a created_seq).

    `pinned` and `key_event` filter on those flags; True walks their partial indexes.
    """
    query = select(EntryRow).where(EntryRow.liveblog_id == liveblog_id, ~EntryRow.deleted)
    if before is not None:
        query = query.where(EntryRow.created_seq < before)
    # The bare column (`pinned = 1` on SQLite), not a bound parameter: a partial index is only
    # used when the query's condition matches the index's literally.
    if pinned is not None:
        query = query.where(EntryRow.pinned if pinned else ~EntryRow.pinned)
    if key_event is not None:
        query = query.where(EntryRow.key_event if key_event else ~EntryRow.key_event)
    rows = await conn.execute(query.order_by(EntryRow.created_seq.desc()).limit(limit))
    return [to_entry(row) for row in rows]
