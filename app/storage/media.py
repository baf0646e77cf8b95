"""Named queries over uploaded media (domain/media.py): one row per upload, one per file; and
the text of every row that can name a media file (`texts`), for `liveblog media prune`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Text,
    cast,
    delete,
    func,
    insert as insert_into,
    or_,
    select,
    true,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.media import Media, MediaFile
from app.storage.models import DraftRow, EntryRow, MediaFileRow, MediaRow, RevisionRow

# Rows read per query while scanning texts: a few MB of bodies at a time, not the whole table.
TEXT_BATCH = 500


async def get(conn: AsyncConnection, media_id: str) -> Media | None:
    row = (await conn.execute(select(MediaRow).where(MediaRow.id == media_id))).first()
    if row is None:
        return None
    files = await conn.execute(select(MediaFileRow).where(MediaFileRow.media_id == media_id))
    return _media(row, files.all())


async def by_file_names(conn: AsyncConnection, names: Collection[str]) -> dict[str, Media]:
    """The media each of `names` is a file of (names of no media are left out)."""
    if not names:
        return {}
    owners = await conn.execute(
        select(MediaFileRow.name, MediaFileRow.media_id).where(MediaFileRow.name.in_(names))
    )
    found: dict[str, Media] = {}
    by_id: dict[str, Media | None] = {}
    for name, media_id in owners.all():
        if media_id not in by_id:
            by_id[media_id] = await get(conn, media_id)
        if (media := by_id[media_id]) is not None:
            found.setdefault(name, media)
    return found


async def insert(conn: AsyncConnection, media: Media) -> bool:
    """Record `media` and its files; False when an upload of the same bytes got there first
    (two processes, or two requests at once): the caller reads that one instead."""
    try:
        async with conn.begin_nested():
            await conn.execute(
                insert_into(MediaRow).values(
                    id=media.id,
                    source_type=media.source_type,
                    width=media.width,
                    height=media.height,
                    animated=media.animated,
                    created_at=media.created_at,
                    created_by=media.created_by,
                )
            )
            await conn.execute(
                insert_into(MediaFileRow),
                [
                    {
                        "media_id": media.id,
                        "name": f.name,
                        "width": f.width,
                        "height": f.height,
                        "content_type": f.content_type,
                        "size": f.size,
                    }
                    for f in media.files
                ],
            )
    except IntegrityError:
        return False
    return True


async def file_names(conn: AsyncConnection) -> set[str]:
    """Every file name any media row holds."""
    return set((await conn.execute(select(MediaFileRow.name))).scalars())


async def all_media(conn: AsyncConnection) -> list[Media]:
    rows = (await conn.execute(select(MediaRow).order_by(MediaRow.created_at))).all()
    files = (await conn.execute(select(MediaFileRow))).all()
    grouped: dict[str, list[Row[Any]]] = {}
    for file in files:
        grouped.setdefault(file.media_id, []).append(file)
    return [_media(row, grouped.get(row.id, [])) for row in rows]


async def remove(conn: AsyncConnection, media_ids: Collection[str]) -> None:
    if media_ids:
        await conn.execute(delete(MediaFileRow).where(MediaFileRow.media_id.in_(media_ids)))
        await conn.execute(delete(MediaRow).where(MediaRow.id.in_(media_ids)))


@dataclass(frozen=True, slots=True)
class Marks:
    """How far the tables that can name media had got: their highest ids, and a time. What
    `texts(after=…)` reads is what was added or changed past them."""

    entry_id: int
    draft_id: int
    revision_id: int
    at: datetime


async def marks(conn: AsyncConnection, at: datetime) -> Marks:
    """The highest ids now, with `at`: the time the caller read them."""
    highest = (
        await conn.execute(
            select(
                select(func.coalesce(func.max(EntryRow.id), 0)).scalar_subquery(),
                select(func.coalesce(func.max(DraftRow.id), 0)).scalar_subquery(),
                select(func.coalesce(func.max(RevisionRow.id), 0)).scalar_subquery(),
            )
        )
    ).one()
    return Marks(int(highest[0]), int(highest[1]), int(highest[2]), at)


async def texts(conn: AsyncConnection, *, after: Marks | None = None) -> AsyncIterator[str]:
    """The text of every place a body can name media: entries' bodies and Markdown (deleted
    ones' too), drafts' bodies and Markdown, and revisions' changes (the bodies an entry had
    before, as JSON text). Read in batches by id, so a large table is never all in memory.

    With `after`: only entries and revisions added past its ids (every change to an entry
    adds a revision holding its new body), and drafts added past its id or changed since its
    time (a draft changes in place)."""
    scans: list[tuple[Any, tuple[Any, ...], ColumnElement[bool]]] = [
        (EntryRow.id, (EntryRow.body, EntryRow.source),
         EntryRow.id > after.entry_id if after else true()),
        (DraftRow.id, (DraftRow.body, DraftRow.source),
         or_(DraftRow.id > after.draft_id, DraftRow.updated_at >= after.at) if after else true()),
        (RevisionRow.id, (cast(RevisionRow.changes, Text),),
         RevisionRow.id > after.revision_id if after else true()),
    ]  # fmt: skip
    for key, columns, changed in scans:
        last = 0  # ids start at 1
        while True:
            query = select(key, *columns).where(key > last, changed).order_by(key)
            batch = (await conn.execute(query.limit(TEXT_BATCH))).all()
            for row in batch:
                for text in row[1:]:
                    if text:
                        yield text
            if len(batch) < TEXT_BATCH:
                break
            last = batch[-1][0]


def _media(row: Row[Any], files: Sequence[Row[Any]]) -> Media:
    kept = (MediaFile(f.name, f.width, f.height, f.content_type, f.size) for f in files)
    return Media(
        id=row.id,
        source_type=row.source_type,
        width=row.width,
        height=row.height,
        animated=row.animated,
        # The WebP sizes, narrowest first, then the fallback: as processing made them.
        files=tuple(sorted(kept, key=lambda f: (not f.is_rendition, f.width))),
        created_at=row.created_at,
        created_by=row.created_by,
    )
