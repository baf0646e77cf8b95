"""Changes to a liveblog's entries inside one write transaction: each takes the next seq, records
a revision and produces the event readers get.

Pinning: a liveblog has at most one pinned entry. Pinning one unpins the other in the same
transaction, as its own change with its own seq (readers see the unpin first, then the pin).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from app.domain.events import ENTRY_CREATED, ENTRY_DELETED, ENTRY_UPDATED, entry_event
from app.domain.model import Entry
from app.domain.revisions import Actor, RevisionKind, entry_changes
from app.services.unit_of_work import Write
from app.services.writes import utcnow
from app.storage import entries as rows, liveblogs as liveblog_rows, revisions as revision_rows

TOMBSTONE: dict[str, Any] = {
    "title": None,
    "body": "",
    "author": None,
    "pinned": False,
    "key_event": False,
    "correction": None,
    "source": None,
    "deleted": True,
}


class EntryTransaction:
    """One write of a liveblog's entries: its sequence numbers (the first taken when the
    transaction began, the next ones as changes need them), its author, and an event per change
    for its `Write` to publish after commit."""

    def __init__(
        self,
        write: Write,
        slug: str,
        liveblog_id: int,
        first_seq: int,
        epoch: str,
        by: Actor,
    ) -> None:
        self.write = write
        self.conn = write.conn
        self.slug = slug
        self.liveblog_id = liveblog_id
        self.epoch = epoch
        self.by = by
        self._unused_seq: int | None = first_seq

    async def next_seq(self) -> int:
        if self._unused_seq is not None:
            seq, self._unused_seq = self._unused_seq, None
            return seq
        taken = await liveblog_rows.next_seq(self.conn, self.slug)
        assert taken is not None
        return taken[1]

    async def create(
        self,
        *,
        title: str | None,
        body: str,
        author: str | None,
        pinned: bool,
        key_event: bool,
        source: str | None,
        now: datetime | None = None,
    ) -> Entry:
        """A new entry as one change (pinning it unpins the others first): seq, revision, event."""
        if pinned:
            await self.unpin_others()
        entry = await rows.insert(
            self.conn,
            liveblog_id=self.liveblog_id,
            seq=await self.next_seq(),
            title=title,
            body=body,
            author=author,
            pinned=pinned,
            key_event=key_event,
            now=now or utcnow(),
            source=source,
        )
        entry = replace(entry, epoch=self.epoch)
        await self.record(None, entry, RevisionKind.CREATED)
        self.write.publish(entry_event(ENTRY_CREATED, self.slug, self.epoch, entry))
        return entry

    async def change(self, before: Entry, fields: dict[str, Any], kind: str) -> Entry:
        """Apply `fields` to an existing entry as one change: seq, revision, event."""
        after = await rows.apply_change(
            self.conn, before.id, await self.next_seq(), utcnow(), fields
        )
        after = replace(after, epoch=self.epoch)
        revision = RevisionKind.DELETED if kind == ENTRY_DELETED else RevisionKind.UPDATED
        await self.record(before, after, revision)
        self.write.publish(entry_event(kind, self.slug, self.epoch, after))
        return after

    async def record(self, before: Entry | None, after: Entry, kind: RevisionKind) -> None:
        await revision_rows.record(
            self.conn,
            liveblog_id=self.liveblog_id,
            entry_id=after.id,
            seq=after.seq,
            kind=kind,
            version=after.version,
            at=after.updated_at,
            by=self.by,
            changes=entry_changes(before, after),
        )

    async def unpin_others(self, keep: int | None = None) -> None:
        for pinned in await rows.pinned(self.conn, self.liveblog_id):
            if pinned.id != keep:
                await self.change(pinned, {"pinned": False}, ENTRY_UPDATED)
