"""Transactions of `Database` on SQLite and PostgreSQL: what a snapshot sees, and what a failed
write leaves behind."""

from __future__ import annotations

import pytest

from app.domain.model import utcnow
from app.storage import liveblogs as liveblog_rows
from app.storage.db import Database


class Refused(Exception):
    """Raised inside a write to roll it back."""


async def head(db: Database) -> int:
    async with db.snapshot() as conn:
        liveblog = await liveblog_rows.get(conn, "story")
    assert liveblog is not None
    return liveblog.seq


async def new_story(db: Database) -> None:
    async with db.write() as conn:
        await liveblog_rows.insert(conn, slug="story", title="Story", description="", now=utcnow())


async def take_seq(db: Database) -> None:
    async with db.write() as conn:
        assert await liveblog_rows.next_seq(conn, "story") is not None


async def test_a_snapshot_keeps_reading_the_state_it_began_with(database_url: str) -> None:
    """A write that commits while a snapshot is open is not seen by the snapshot's later reads."""
    db = Database(database_url)
    try:
        await new_story(db)
        async with db.snapshot() as conn:
            before = await liveblog_rows.get(conn, "story")
            await take_seq(db)
            after = await liveblog_rows.get(conn, "story")
        assert before is not None and after is not None
        assert (before.seq, after.seq) == (0, 0)
        assert await head(db) == 1
    finally:
        await db.dispose()


async def test_a_failed_write_is_rolled_back_and_the_next_one_commits(database_url: str) -> None:
    """A write whose block raises leaves nothing behind, and does not spoil the writes after it."""
    db = Database(database_url)
    try:
        await new_story(db)
        await take_seq(db)
        with pytest.raises(Refused):
            async with db.write() as conn:
                await liveblog_rows.next_seq(conn, "story")
                raise Refused
        assert await head(db) == 1
        await take_seq(db)
        await take_seq(db)
        assert await head(db) == 3
    finally:
        await db.dispose()
