"""Named queries over the liveblogs table."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Row, bindparam, insert as insert_into, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.model import Liveblog, Status, new_epoch
from app.storage.db import inserted_id
from app.storage.models import LiveblogRow


class DuplicateSlug(Exception):
    pass


def to_liveblog(row: Row[Any]) -> Liveblog:
    """From a row of the liveblogs table (all its columns)."""
    return Liveblog(
        id=row.id,
        slug=row.slug,
        title=row.title,
        description=row.description,
        status=Status(row.status),
        seq=row.head_seq,
        meta_seq=row.meta_seq,
        created_at=row.created_at,
        updated_at=row.updated_at,
        ended_at=row.ended_at,
        version=row.version,
        epoch=row.epoch,
        epoch_rotated_at=row.epoch_rotated_at,
    )


async def insert(
    conn: AsyncConnection,
    *,
    slug: str,
    title: str,
    description: str,
    now: datetime,
    status: Status = Status.LIVE,
    updated_at: datetime | None = None,
    ended_at: datetime | None = None,
    epoch_rotated_at: datetime | None = None,
) -> Liveblog:
    """Insert a new liveblog at seq 0, in a new epoch. Raises DuplicateSlug if the slug is
    taken. `status`, `updated_at` and `ended_at` are an import's (a liveblog from elsewhere);
    so may be `epoch_rotated_at`, to distrust seqs readers took elsewhere (domain/resume.py)."""
    epoch = new_epoch()
    values: dict[str, Any] = {
        "slug": slug,
        "title": title,
        "description": description,
        "status": status.value,
        "head_seq": 0,
        "meta_seq": 0,
        "created_at": now,
        "updated_at": updated_at or now,
        "ended_at": ended_at,
        "version": 1,
        "epoch": epoch,
        "epoch_rotated_at": epoch_rotated_at,
    }
    try:
        result = await conn.execute(insert_into(LiveblogRow).values(values))
    except IntegrityError as error:
        raise DuplicateSlug(slug) from error
    return Liveblog(
        id=inserted_id(result),
        slug=slug,
        title=title,
        description=description,
        status=status,
        seq=0,
        meta_seq=0,
        created_at=now,
        updated_at=values["updated_at"],
        ended_at=ended_at,
        version=1,
        epoch=epoch,
        epoch_rotated_at=epoch_rotated_at,
    )


class SeqTaken(NamedTuple):
    liveblog_id: int
    seq: int
    epoch: str
    ended: bool  # read in the same statement, so a new entry can be refused without another


async def next_seq(conn: AsyncConnection, slug: str) -> SeqTaken | None:
    """Take the liveblog's next sequence number, or None if the liveblog is unknown.

    This must be the first statement of every write transaction: the UPDATE locks the liveblog
    row (PostgreSQL) or the database (SQLite) until commit, so concurrent writers get
    consecutive numbers in commit order, and a rolled-back write gives its number back.
    """
    row = (await conn.execute(_NEXT_SEQ, {"wanted_slug": slug})).one_or_none()
    return SeqTaken(row[0], row[1], row[2], row[3] == Status.ENDED.value) if row else None


# Built once: every write runs it, and building an UPDATE … RETURNING and its cache key anew
# per POST was a measurable share of a write's CPU (BENCHMARKS.md, "Ingest against its floor").
_NEXT_SEQ = (
    update(LiveblogRow)
    .where(LiveblogRow.slug == bindparam("wanted_slug"))
    .values(head_seq=LiveblogRow.head_seq + 1)
    .returning(LiveblogRow.id, LiveblogRow.head_seq, LiveblogRow.epoch, LiveblogRow.status)
)


async def set_head(conn: AsyncConnection, liveblog_id: int, seq: int) -> None:
    """Set the head seq of a liveblog this transaction created (an import numbers its entries
    itself, in one pass, instead of taking each seq with `next_seq`)."""
    await conn.execute(
        update(LiveblogRow).where(LiveblogRow.id == liveblog_id).values(head_seq=seq)
    )


async def give_back_seq(conn: AsyncConnection, liveblog_id: int) -> None:
    """Undo this transaction's `next_seq` when it ends up changing nothing readers see.

    Safe only inside the transaction that took it: its row lock means no later number exists.
    """
    await conn.execute(
        update(LiveblogRow)
        .where(LiveblogRow.id == liveblog_id)
        .values(head_seq=LiveblogRow.head_seq - 1)
    )


async def get(conn: AsyncConnection, slug: str) -> Liveblog | None:
    result = await conn.execute(select(LiveblogRow).where(LiveblogRow.slug == slug))
    row = result.first()
    return to_liveblog(row) if row else None


async def list_all(conn: AsyncConnection) -> list[Liveblog]:
    """Every liveblog, live ones first, then newest first."""
    rows = await conn.execute(
        select(LiveblogRow).order_by(
            (LiveblogRow.status == Status.LIVE.value).desc(), LiveblogRow.created_at.desc()
        )
    )
    return [to_liveblog(row) for row in rows]


async def apply_change(
    conn: AsyncConnection, liveblog_id: int, seq: int, now: datetime, fields: dict[str, Any]
) -> Liveblog:
    """Write changed fields of the liveblog, record `seq` as its latest own change, and bump its
    version."""
    result = await conn.execute(
        update(LiveblogRow)
        .where(LiveblogRow.id == liveblog_id)
        .values(**fields, meta_seq=seq, updated_at=now, version=LiveblogRow.version + 1)
        .returning(*LiveblogRow.__table__.c)
    )
    return to_liveblog(result.one())


async def rotate_epochs(
    conn: AsyncConnection, now: datetime, slugs: list[str] | None = None
) -> dict[str, str]:
    """Give each liveblog (or those in `slugs`) a new epoch, rotated at `now`; returns slug →
    new epoch."""
    query = select(LiveblogRow.id, LiveblogRow.slug).order_by(LiveblogRow.id)
    if slugs is not None:
        query = query.where(LiveblogRow.slug.in_(slugs))
    rotated: dict[str, str] = {}
    for liveblog_id, slug in (await conn.execute(query)).all():
        rotated[slug] = new_epoch()
        await conn.execute(
            update(LiveblogRow)
            .where(LiveblogRow.id == liveblog_id)
            .values(epoch=rotated[slug], epoch_rotated_at=now)
        )
    return rotated
