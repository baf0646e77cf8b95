"""What the reader page shows, read as one snapshot so every part matches the seq it carries."""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.model import Entry, Liveblog
from app.errors import NotFound
from app.services.paging import Page
from app.storage import entries as entry_rows, liveblogs as liveblog_rows
from app.storage.db import Database

# Key events listed in the page's summary box, newest first. Enough for a long day of coverage;
# the box links older ones to their permalinks.
KEY_EVENTS_SHOWN = 30


@dataclass(frozen=True, slots=True)
class ReaderPage:
    liveblog: Liveblog
    pinned: Entry | None
    key_events: list[Entry]
    stream: Page  # newest first; its `head` is the seq the client resumes from


@dataclass(frozen=True, slots=True)
class EntryPage:
    liveblog: Liveblog
    entry: Entry


async def read_reader_page(
    db: Database, slug: str, *, before: int | None, limit: int
) -> ReaderPage:
    async with db.snapshot() as conn:
        liveblog = await liveblog_rows.get(conn, slug)
        if liveblog is None:
            raise NotFound(f"No liveblog with slug {slug!r}.")
        pinned = await entry_rows.page(conn, liveblog.id, before=None, limit=1, pinned=True)
        key_events = await entry_rows.page(
            conn, liveblog.id, before=None, limit=KEY_EVENTS_SHOWN, key_event=True
        )
        fetched = await entry_rows.page(conn, liveblog.id, before=before, limit=limit + 1)
    return ReaderPage(
        liveblog=liveblog,
        pinned=pinned[0] if pinned else None,
        key_events=key_events,
        stream=Page.of(fetched, liveblog, limit),
    )


async def read_entry_page(db: Database, slug: str, entry_id: int) -> EntryPage:
    async with db.snapshot() as conn:
        liveblog = await liveblog_rows.get(conn, slug)
        entry = await entry_rows.get(conn, liveblog.id, entry_id) if liveblog else None
    if liveblog is None or entry is None or entry.deleted:
        raise NotFound(f"No entry {entry_id} in liveblog {slug!r}.")
    return EntryPage(liveblog, entry)
