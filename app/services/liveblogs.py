"""Creating and changing liveblogs."""

from __future__ import annotations

from typing import Any

from app.broker.base import Broker
from app.domain.events import liveblog_event
from app.domain.model import Liveblog, Status
from app.errors import Conflict, NotFound
from app.services.publish import publish_committed
from app.services.writes import Unchanged, utcnow
from app.storage import liveblogs as rows
from app.storage.db import Database


class LiveblogService:
    def __init__(self, db: Database, broker: Broker) -> None:
        self._db = db
        self._broker = broker

    async def create(self, *, slug: str, title: str, description: str) -> Liveblog:
        try:
            async with self._db.write() as conn:
                return await rows.insert(
                    conn, slug=slug, title=title, description=description, now=utcnow()
                )
        except rows.DuplicateSlug:
            raise Conflict(f"A liveblog with slug {slug!r} already exists.") from None

    async def get(self, slug: str) -> Liveblog:
        async with self._db.snapshot() as conn:
            liveblog = await rows.get(conn, slug)
        if liveblog is None:
            raise NotFound(f"No liveblog with slug {slug!r}.")
        return liveblog

    async def list(self) -> list[Liveblog]:
        async with self._db.snapshot() as conn:
            return await rows.list_all(conn)

    async def update(self, slug: str, changes: dict[str, Any]) -> Liveblog:
        """Apply a PATCH: a change takes the next seq and is pushed as `liveblog.updated`."""
        now = utcnow()
        try:
            async with self._db.write() as conn:
                taken = await rows.next_seq(conn, slug)
                if taken is None:
                    raise NotFound(f"No liveblog with slug {slug!r}.")
                liveblog_id, seq = taken
                current = await rows.get(conn, slug)
                assert current is not None
                fields = {k: v for k, v in changes.items() if getattr(current, k) != v}
                if not fields:
                    raise Unchanged
                if "status" in fields:
                    fields["status"] = Status(fields["status"]).value
                    fields["ended_at"] = now if fields["status"] == Status.ENDED else None
                updated = await rows.apply_change(conn, liveblog_id, seq, now, fields)
        except Unchanged:
            return await self.get(slug)
        await publish_committed(self._broker, [liveblog_event(updated, seq)])
        return updated
