"""Named queries over revisions: who changed what, per entry (and per liveblog)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert as insert_into, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.revisions import Actor, Changes, Revision, RevisionKind
from app.storage.models import RevisionRow

# Built once: every write records a revision, and a fresh statement costs SQLAlchemy a cache key.
_INSERT = insert_into(RevisionRow)


async def record(
    conn: AsyncConnection,
    *,
    liveblog_id: int,
    entry_id: int | None,
    seq: int,
    kind: RevisionKind,
    version: int,
    at: datetime,
    by: Actor,
    changes: Changes,
) -> None:
    stored: dict[str, Any] = {name: [previous, new] for name, (previous, new) in changes.items()}
    await conn.execute(
        _INSERT,
        {
            "liveblog_id": liveblog_id,
            "entry_id": entry_id,
            "seq": seq,
            "kind": kind.value,
            "version": version,
            "changed_at": at,
            "actor_type": by.type,
            "actor_id": by.id,
            "actor_name": by.name,
            "changes": stored,
        },
    )


async def of_entry(conn: AsyncConnection, liveblog_id: int, entry_id: int) -> list[Revision]:
    """The entry's revisions, oldest first (walks ix_revisions_entry)."""
    rows = await conn.execute(
        select(RevisionRow)
        .where(RevisionRow.liveblog_id == liveblog_id, RevisionRow.entry_id == entry_id)
        .order_by(RevisionRow.seq, RevisionRow.id)
    )
    return [
        Revision(
            seq=row.seq,
            kind=RevisionKind(row.kind),
            version=row.version,
            at=row.changed_at,
            by=Actor(row.actor_type, row.actor_id, row.actor_name),
            changes={name: (pair[0], pair[1]) for name, pair in row.changes.items()},
        )
        for row in rows
    ]


async def erase_entry(conn: AsyncConnection, liveblog_id: int, entry_id: int) -> None:
    await conn.execute(
        delete(RevisionRow).where(
            RevisionRow.liveblog_id == liveblog_id, RevisionRow.entry_id == entry_id
        )
    )
