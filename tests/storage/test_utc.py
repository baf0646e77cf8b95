"""Every stored moment comes back aware of UTC, on SQLite (which keeps no zone) and PostgreSQL
alike: one column type does it for every table (app/storage/models.py, UtcDateTime)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime

from app.broker.memory import MemoryBroker
from app.domain.principal import Principal, Scope
from app.services.entries import EntryService
from app.services.liveblogs import LiveblogService
from app.storage.db import Database
from app.storage.models import Base, UtcDateTime


def test_every_datetime_column_is_utc() -> None:
    moments = [
        (f"{table.name}.{column.name}", type(column.type).__name__)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, DateTime | UtcDateTime)
    ]
    assert len(moments) >= 20
    assert [name for name, kind in moments if kind != UtcDateTime.__name__] == []


async def test_liveblogs_and_entries_read_back_in_utc(database_url: str) -> None:
    db = Database(database_url)
    by = Principal("token", 1, "tests", Scope.ADMIN, None)
    try:
        before = datetime.now(UTC) - timedelta(seconds=1)
        liveblog = await LiveblogService(db, MemoryBroker()).create(
            slug="utc", title="UTC", description="", by=by
        )
        entries = EntryService(db, MemoryBroker(), max_body_bytes=65_536)
        made = await entries.create(
            "utc", title="At", body="<p>Now.</p>", author=None, pinned=False, key_event=False,
            by=by,
        )  # fmt: skip
        read = await entries.get("utc", made.id)
        stored = await LiveblogService(db, MemoryBroker()).get("utc")
    finally:
        await db.dispose()
    for moment in (read.created_at, read.updated_at, stored.created_at, stored.updated_at):
        assert moment.tzinfo is not None and moment.utcoffset() == timedelta(0)
        assert before <= moment <= datetime.now(UTC)
    assert liveblog.created_at.utcoffset() == timedelta(0)
