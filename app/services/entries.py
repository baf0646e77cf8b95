"""Writing entries: each change takes the next seq in its transaction and is published after commit.

Pinning: a liveblog has at most one pinned entry. Pinning one unpins the other in the same
transaction, as its own change with its own seq (readers see the unpin first, then the pin).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.broker.base import Broker
from app.domain import entries as rules
from app.domain.events import ENTRY_CREATED, ENTRY_DELETED, ENTRY_UPDATED, Event, entry_event
from app.domain.model import Entry
from app.domain.resume import RESYNC_DETAIL, Resume
from app.errors import Conflict, NotFound, PayloadTooLarge, Unprocessable
from app.services.publish import publish_committed
from app.services.writes import Unchanged, utcnow
from app.storage import entries as rows, liveblogs as liveblog_rows
from app.storage.db import Database

TOMBSTONE: dict[str, Any] = {
    "title": None,
    "body": "",
    "author": None,
    "pinned": False,
    "key_event": False,
    "deleted": True,
}


@dataclass(frozen=True, slots=True)
class Page:
    entries: list[Entry]
    head: int  # the liveblog's seq when the page was read
    next_before: int | None  # cursor for the next (older) page, None on the last one

    @classmethod
    def of(cls, fetched: list[Entry], head: int, limit: int) -> Page:
        """From `limit + 1` fetched rows: the extra one only says that an older page exists."""
        entries = fetched[:limit]
        return cls(entries, head, entries[-1].created_seq if len(fetched) > limit else None)


@dataclass(frozen=True, slots=True)
class Since:
    entries: list[Entry]
    head: int
    next_since: int | None  # more changes follow: ask again with since=next_since


class _Transaction:
    """One write transaction's sequence numbers and the events to publish after commit."""

    def __init__(self, conn: AsyncConnection, slug: str, liveblog_id: int, first_seq: int) -> None:
        self.conn = conn
        self.slug = slug
        self.liveblog_id = liveblog_id
        self._unused_seq: int | None = first_seq
        self.events: list[Event] = []

    async def next_seq(self) -> int:
        if self._unused_seq is not None:
            seq, self._unused_seq = self._unused_seq, None
            return seq
        taken = await liveblog_rows.next_seq(self.conn, self.slug)
        assert taken is not None
        return taken[1]

    async def unpin_others(self, keep: int | None = None) -> None:
        for entry_id in await rows.pinned_ids(self.conn, self.liveblog_id):
            if entry_id != keep:
                seq = await self.next_seq()
                unpinned = await rows.apply_change(
                    self.conn, entry_id, seq, utcnow(), {"pinned": False}
                )
                self.events.append(entry_event(ENTRY_UPDATED, self.slug, unpinned))


class EntryService:
    def __init__(self, db: Database, broker: Broker, *, max_body_bytes: int) -> None:
        self._db = db
        self._broker = broker
        self._max_body_bytes = max_body_bytes

    def _clean_body(self, raw: str) -> str:
        try:
            return rules.clean_body(raw, self._max_body_bytes)
        except rules.BodyTooLarge as error:
            raise PayloadTooLarge(str(error)) from None
        except rules.BodyEmpty as error:
            raise Unprocessable(str(error)) from None

    async def _begin(self, conn: AsyncConnection, slug: str) -> _Transaction:
        # The seq bump is the transaction's first statement: see storage.liveblogs.next_seq.
        taken = await liveblog_rows.next_seq(conn, slug)
        if taken is None:
            raise NotFound(f"No liveblog with slug {slug!r}.")
        liveblog_id, seq = taken
        return _Transaction(conn, slug, liveblog_id, seq)

    async def create(
        self,
        slug: str,
        *,
        title: str | None,
        body: str,
        author: str | None,
        pinned: bool,
        key_event: bool,
    ) -> Entry:
        body = self._clean_body(body)
        async with self._db.write() as conn:
            tx = await self._begin(conn, slug)
            if pinned:
                await tx.unpin_others()
            entry = await rows.insert(
                conn,
                liveblog_id=tx.liveblog_id,
                seq=await tx.next_seq(),
                title=rules.clean_optional_text(title),
                body=body,
                author=rules.clean_optional_text(author),
                pinned=pinned,
                key_event=key_event,
                now=utcnow(),
            )
            tx.events.append(entry_event(ENTRY_CREATED, slug, entry))
        await publish_committed(self._broker, tx.events)
        return entry

    async def update(self, slug: str, entry_id: int, changes: dict[str, Any]) -> Entry:
        """Apply a PATCH of any entry fields. A PATCH that changes nothing is a no-op."""
        if "body" in changes:
            changes["body"] = self._clean_body(changes["body"])
        for name in ("title", "author"):
            if name in changes:
                changes[name] = rules.clean_optional_text(changes[name])
        try:
            async with self._db.write() as conn:
                tx = await self._begin(conn, slug)
                current = await self._existing(tx, entry_id)
                if current.deleted:
                    raise Conflict(f"Entry {entry_id} was deleted; it can no longer be edited.")
                fields = {k: v for k, v in changes.items() if getattr(current, k) != v}
                if not fields:
                    raise Unchanged
                if fields.get("pinned"):
                    await tx.unpin_others(keep=entry_id)
                entry = await rows.apply_change(
                    conn, entry_id, await tx.next_seq(), utcnow(), fields
                )
                tx.events.append(entry_event(ENTRY_UPDATED, slug, entry))
        except Unchanged:
            return await self.get(slug, entry_id)
        await publish_committed(self._broker, tx.events)
        return entry

    async def delete(self, slug: str, entry_id: int) -> Entry:
        """Replace the entry by a tombstone. Deleting a deleted entry returns it unchanged."""
        try:
            async with self._db.write() as conn:
                tx = await self._begin(conn, slug)
                current = await self._existing(tx, entry_id)
                if current.deleted:
                    raise Unchanged
                entry = await rows.apply_change(
                    conn, entry_id, await tx.next_seq(), utcnow(), dict(TOMBSTONE)
                )
                tx.events.append(entry_event(ENTRY_DELETED, slug, entry))
        except Unchanged:
            return await self.get(slug, entry_id)
        await publish_committed(self._broker, tx.events)
        return entry

    @staticmethod
    async def _existing(tx: _Transaction, entry_id: int) -> Entry:
        entry = await rows.get(tx.conn, tx.liveblog_id, entry_id)
        if entry is None:
            raise NotFound(f"No entry {entry_id} in liveblog {tx.slug!r}.")
        return entry

    async def get(self, slug: str, entry_id: int) -> Entry:
        async with self._db.snapshot() as conn:
            liveblog = await liveblog_rows.get(conn, slug)
            if liveblog is None:
                raise NotFound(f"No liveblog with slug {slug!r}.")
            entry = await rows.get(conn, liveblog.id, entry_id)
        if entry is None:
            raise NotFound(f"No entry {entry_id} in liveblog {slug!r}.")
        return entry

    async def page(
        self,
        slug: str,
        *,
        before: int | None,
        limit: int,
        pinned: bool | None = None,
        key_event: bool | None = None,
    ) -> Page:
        """Visible entries newest first; `before` is the previous page's `next_before`."""
        async with self._db.snapshot() as conn:
            liveblog = await liveblog_rows.get(conn, slug)
            if liveblog is None:
                raise NotFound(f"No liveblog with slug {slug!r}.")
            entries = await rows.page(
                conn,
                liveblog.id,
                before=before,
                limit=limit + 1,
                pinned=pinned,
                key_event=key_event,
            )
        return Page.of(entries, liveblog.seq, limit)

    async def since(self, slug: str, *, since: int, limit: int) -> Since:
        """Entries changed after `since`, tombstones included, in seq order, `limit` at a time."""
        async with self._db.snapshot() as conn:
            liveblog = await liveblog_rows.get(conn, slug)
            if liveblog is None:
                raise NotFound(f"No liveblog with slug {slug!r}.")
            if since > liveblog.seq:
                raise Conflict(
                    f"since={since} is ahead of this liveblog's head seq {liveblog.seq}. "
                    + RESYNC_DETAIL[Resume.AHEAD]
                )
            entries = await rows.changed_after(conn, liveblog.id, since, limit + 1)
        more = len(entries) > limit
        entries = entries[:limit]
        return Since(entries, liveblog.seq, entries[-1].seq if more else None)
