"""Creating and changing liveblogs."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.broker.base import Broker
from app.domain.events import liveblog_event
from app.domain.model import Liveblog, Status
from app.domain.policy import Action
from app.domain.preconditions import IfMatch
from app.domain.principal import Principal
from app.domain.revisions import RevisionKind, liveblog_changes
from app.errors import Conflict, NotFound
from app.services.idempotency import Once
from app.services.permissions import require
from app.services.unit_of_work import Write, Writes
from app.services.writes import Unchanged, check_version, require_precondition, utcnow
from app.storage import liveblogs as rows, revisions as revision_rows
from app.storage.db import Database


class LiveblogService:
    def __init__(self, db: Database, broker: Broker, *, require_if_match: bool = False) -> None:
        self._db = db
        self._writes = Writes(db, broker)
        self._require_if_match = require_if_match

    async def create(
        self,
        *,
        slug: str,
        title: str,
        description: str,
        by: Principal,
        once: Once[Liveblog] | None = None,
    ) -> Liveblog:
        """Store a new liveblog. Raises Replayed when `once` was used before (idempotency.py)."""
        require(by, Action.CREATE_LIVEBLOG)

        async def work(write: Write) -> Liveblog:
            try:
                liveblog = await rows.insert(
                    write.conn, slug=slug, title=title, description=description, now=utcnow()
                )
            except rows.DuplicateSlug:
                raise Conflict(f"A liveblog with slug {slug!r} already exists.") from None
            await _record(write.conn, None, liveblog, seq=0, by=by)
            return liveblog

        return await self._writes.run(work, once=once)

    async def get(self, slug: str) -> Liveblog:
        async with self._db.snapshot() as conn:
            liveblog = await rows.get(conn, slug)
        if liveblog is None:
            raise NotFound(f"No liveblog with slug {slug!r}.")
        return liveblog

    async def exists(self, slug: str) -> bool:
        async with self._db.snapshot() as conn:
            return await rows.get(conn, slug) is not None

    async def list(self) -> list[Liveblog]:
        async with self._db.snapshot() as conn:
            return await rows.list_all(conn)

    async def update(
        self,
        slug: str,
        changes: dict[str, Any],
        *,
        by: Principal,
        if_match: IfMatch | None = None,
    ) -> Liveblog:
        """Apply a PATCH: a change takes the next seq and is pushed as `liveblog.updated`."""
        require(by, Action.CHANGE_LIVEBLOG, slug)
        require_precondition(if_match, self._require_if_match)
        now = utcnow()

        async def work(write: Write) -> Liveblog:
            taken = await rows.next_seq(write.conn, slug)
            if taken is None:
                raise NotFound(f"No liveblog with slug {slug!r}.")
            liveblog_id, seq, _epoch, _ended = taken
            current = await rows.get(write.conn, slug)
            assert current is not None
            # As GET shows it: the head before this transaction's own seq bump.
            shown = replace(current, seq=seq - 1).as_json()
            check_version(f"Liveblog {slug!r}", current.version, shown, if_match, current.epoch)
            fields = {k: v for k, v in changes.items() if getattr(current, k) != v}
            if not fields:
                raise Unchanged
            if "status" in fields:
                fields["status"] = Status(fields["status"]).value
                fields["ended_at"] = now if fields["status"] == Status.ENDED else None
            updated = await rows.apply_change(write.conn, liveblog_id, seq, now, fields)
            await _record(write.conn, current, updated, seq=seq, by=by)
            write.publish(liveblog_event(updated, seq))
            return updated

        return await self._writes.run(work, unchanged=lambda: self.get(slug))


async def _record(
    conn: AsyncConnection, before: Liveblog | None, after: Liveblog, *, seq: int, by: Principal
) -> None:
    await revision_rows.record(
        conn,
        liveblog_id=after.id,
        entry_id=None,
        seq=seq,
        kind=RevisionKind.CREATED if before is None else RevisionKind.UPDATED,
        version=after.version,
        at=after.updated_at,
        by=by.actor,
        changes=liveblog_changes(before, after),
    )
