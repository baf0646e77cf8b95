"""Drafts, review and scheduling: the console's entries that are not public yet.

Every change is a write (unit_of_work.py) that tells every process's console sockets, once it
has committed, that the liveblog's drafts changed (readers hear nothing). Publishing goes
through `EntryService.publish_draft`, which makes it one ordinary create for readers (and
consoles hear of it through that entry's event).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.broker.base import Broker
from app.domain import entries as rules
from app.domain.drafts import SCHEDULE_GRACE, UNPUBLISHED, Draft, DraftState, contributor_may_edit
from app.domain.model import Entry
from app.domain.policy import Action, allows
from app.domain.preconditions import IfMatch
from app.domain.principal import Principal, Role
from app.errors import Conflict, Forbidden, LiveblogEnded, NotFound, Unprocessable
from app.services.entries import EntryService
from app.services.idempotency import Once
from app.services.permissions import require
from app.services.unit_of_work import Write, Writes
from app.services.writes import check_version, utcnow
from app.storage import drafts as rows, liveblogs as liveblog_rows, users as user_rows
from app.storage.db import Database

log = logging.getLogger(__name__)

# Due entries published per pass of the scheduler; the next pass takes the rest.
DUE_BATCH = 50


@dataclass(frozen=True, slots=True)
class DraftContent:
    """What a journalist writes; `body` is HTML (the console makes it from `source`)."""

    title: str | None
    body: str
    source: str | None
    author: str | None
    key_event: bool
    pinned: bool


class DraftService:
    def __init__(self, db: Database, broker: Broker, entries: EntryService) -> None:
        self._db = db
        self._writes = Writes(db, broker)
        self._entries = entries

    def _columns(self, content: DraftContent) -> dict[str, Any]:
        return {
            "title": rules.clean_optional_text(content.title),
            "body": self._entries.clean_body(content.body),
            "source": content.source,
            "author": rules.clean_optional_text(content.author),
            "key_event": content.key_event,
            "pinned": content.pinned,
        }

    async def _liveblog_id(self, conn: Any, slug: str) -> int:
        liveblog = await liveblog_rows.get(conn, slug)
        if liveblog is None:
            raise NotFound(f"No liveblog with slug {slug!r}.")
        return liveblog.id

    async def _existing(self, conn: Any, slug: str, draft_id: int, *, lock: bool = False) -> Draft:
        """The unpublished draft; with `lock` (inside a write), its row stays locked until the
        transaction ends, so the version and state checked are those the write changes: two
        saves under one If-Match cannot both win, nor a save land on a draft just published."""
        draft = await rows.get(conn, await self._liveblog_id(conn, slug), draft_id, lock=lock)
        if draft is None or draft.state is DraftState.PUBLISHED:
            raise NotFound(f"No draft {draft_id} in liveblog {slug!r} (published or deleted?).")
        return draft

    @staticmethod
    def _require_editable(draft: Draft, by: Principal, slug: str) -> None:
        if allows(by, Action.REVIEW_DRAFTS) or contributor_may_edit(draft, by.id):
            return
        if draft.created_by_id != by.id:  # as for reading: others' drafts do not exist for them
            raise NotFound(f"No draft {draft.id} in liveblog {slug!r} (published or deleted?).")
        raise Forbidden(
            "Contributors may change only their own drafts, before an editor schedules them.",
            extra={"required_role": Role.EDITOR.value},
        )

    @staticmethod
    def _publish_at(when: datetime | None) -> datetime:
        if when is None:
            raise Unprocessable("Scheduling needs a time to publish at.")
        if when < utcnow() - SCHEDULE_GRACE:
            raise Unprocessable(
                "The time to publish at is in the past; pick a later one, or publish now."
            )
        return when

    async def list(self, slug: str, by: Principal) -> list[Draft]:
        """What `by` may see: editors every unpublished draft, contributors their own."""
        require(by, Action.WRITE_DRAFTS)
        async with self._db.snapshot() as conn:
            drafts = await rows.unpublished(conn, await self._liveblog_id(conn, slug))
        if allows(by, Action.REVIEW_DRAFTS):
            return drafts
        return [draft for draft in drafts if draft.created_by_id == by.id]

    async def get(self, slug: str, draft_id: int, by: Principal) -> Draft:
        require(by, Action.WRITE_DRAFTS)
        async with self._db.snapshot() as conn:
            draft = await self._existing(conn, slug, draft_id)
        if not allows(by, Action.REVIEW_DRAFTS) and draft.created_by_id != by.id:
            raise NotFound(f"No draft {draft_id} in liveblog {slug!r} (published or deleted?).")
        return draft

    async def create(
        self,
        slug: str,
        content: DraftContent,
        *,
        state: DraftState,
        by: Principal,
        publish_at: datetime | None = None,
    ) -> Draft:
        """A new draft (`state` draft or review), or a scheduled entry (editors)."""
        require(by, Action.WRITE_DRAFTS)
        if state is DraftState.SCHEDULED:
            require(by, Action.REVIEW_DRAFTS)
            publish_at = self._publish_at(publish_at)
        elif state is not DraftState.PUBLISHED:
            publish_at = None
        else:
            raise Unprocessable("Publish a new entry directly, not as a draft.")
        columns = self._columns(content)
        now = utcnow()

        async def work(write: Write) -> Draft:
            liveblog = await liveblog_rows.get(write.conn, slug)
            if liveblog is None:
                raise NotFound(f"No liveblog with slug {slug!r}.")
            write.tell_consoles(slug)
            return await rows.insert(
                write.conn,
                liveblog_id=liveblog.id,
                state=state.value,
                publish_at=publish_at,
                created_by_id=by.id,
                created_by_name=by.name,
                updated_by_id=by.id,
                updated_by_name=by.name,
                created_at=now,
                updated_at=now,
                **columns,
            )

        return await self._writes.run(work)

    async def _change(
        self,
        slug: str,
        draft_id: int,
        by: Principal,
        fields: dict[str, Any],
        if_match: IfMatch | None,
        allowed: tuple[DraftState, ...] = UNPUBLISHED,
        action: str = "changed",
        new_time: datetime | None = None,
    ) -> Draft:
        """Apply `fields` under the draft's row lock; `new_time` moves a scheduled entry's time
        (decided on the locked state: the entry may have been unscheduled meanwhile)."""
        require(by, Action.WRITE_DRAFTS)

        async def work(write: Write) -> Draft:
            draft = await self._existing(write.conn, slug, draft_id, lock=True)
            self._require_editable(draft, by, slug)
            check_version(f"Draft {draft_id}", draft.version, draft.as_json(), if_match)
            if draft.state not in allowed:
                raise Conflict(f"Draft {draft_id} is {draft.state.value}; it cannot be {action}.")
            changes = {
                **fields,
                "updated_at": utcnow(),
                "updated_by_id": by.id,
                "updated_by_name": by.name,
            }
            if new_time is not None and draft.state is DraftState.SCHEDULED:
                changes["publish_at"] = self._publish_at(new_time)
            write.tell_consoles(slug)
            return await rows.change(write.conn, draft_id, changes)

        return await self._writes.run(work)

    async def update(
        self,
        slug: str,
        draft_id: int,
        content: DraftContent,
        *,
        by: Principal,
        if_match: IfMatch | None = None,
        publish_at: datetime | None = None,
    ) -> Draft:
        """Save new content (and, for a scheduled entry, a new time)."""
        return await self._change(
            slug, draft_id, by, self._columns(content), if_match, new_time=publish_at
        )

    async def submit(self, slug: str, draft_id: int, *, by: Principal) -> Draft:
        """A draft goes to the editors for review."""
        return await self._change(
            slug,
            draft_id,
            by,
            {"state": DraftState.REVIEW.value, "note": None},
            None,
            (DraftState.DRAFT,),
            "submitted for review",
        )

    async def send_back(
        self, slug: str, draft_id: int, *, by: Principal, note: str | None = None
    ) -> Draft:
        """An editor returns a draft in review to its contributor, with an optional note."""
        require(by, Action.REVIEW_DRAFTS)
        return await self._change(
            slug,
            draft_id,
            by,
            {"state": DraftState.DRAFT.value, "note": rules.clean_optional_text(note)},
            None,
            (DraftState.REVIEW,),
            "returned",
        )

    async def schedule(
        self,
        slug: str,
        draft_id: int,
        publish_at: datetime | None,
        *,
        by: Principal,
        if_match: IfMatch | None = None,
    ) -> Draft:
        require(by, Action.REVIEW_DRAFTS)
        return await self._change(
            slug,
            draft_id,
            by,
            {"state": DraftState.SCHEDULED.value, "publish_at": self._publish_at(publish_at)},
            if_match,
        )

    async def unschedule(self, slug: str, draft_id: int, *, by: Principal) -> Draft:
        require(by, Action.REVIEW_DRAFTS)
        return await self._change(
            slug,
            draft_id,
            by,
            {"state": DraftState.DRAFT.value, "publish_at": None},
            None,
            (DraftState.SCHEDULED,),
            "unscheduled",
        )

    async def delete(self, slug: str, draft_id: int, *, by: Principal) -> None:
        require(by, Action.WRITE_DRAFTS)

        async def work(write: Write) -> None:
            draft = await self._existing(write.conn, slug, draft_id, lock=True)
            self._require_editable(draft, by, slug)
            await rows.remove(write.conn, draft_id)
            write.tell_consoles(slug)

        await self._writes.run(work)

    async def publish(
        self,
        slug: str,
        draft_id: int,
        *,
        by: Principal,
        once: Once[Entry] | None = None,
        if_match: IfMatch | None = None,
    ) -> Entry:
        """An editor publishes a draft (from any unpublished state) now; `if_match` names the
        version they reviewed (a contributor may have changed it since)."""
        require(by, Action.REVIEW_DRAFTS)
        # The entry's event tells every console (main.py: deliver), with its seq: no second
        # word of it as a draft change.
        return await self._entries.publish_draft(
            slug, draft_id, states=UNPUBLISHED, by=by, once=once, if_match=if_match
        )

    async def next_due_time(self) -> datetime | None:
        """When the soonest scheduled entry is due (None: nothing is scheduled)."""
        async with self._db.snapshot() as conn:
            return await rows.next_due_time(conn)

    async def publish_due(self) -> int:
        """Publish every scheduled entry whose time has come; returns how many this process did.

        Each is claimed inside its own seq transaction (publish_draft): with several processes
        running this, each entry is published by exactly one of them. It goes out in the name
        of whoever scheduled it (its last saver), if they still may publish; if they were
        disabled or lost the editor's role meanwhile, it goes back to the drafts with a note.
        """
        async with self._db.snapshot() as conn:
            due = await rows.due(conn, utcnow(), DUE_BATCH)
        published = 0
        for slug, draft in due:
            try:
                if await self._publish_scheduled(slug, draft):
                    published += 1
            except Exception:
                # One entry that cannot go out must not hold back the others.
                log.exception("publishing scheduled entry %d of %s failed", draft.id, slug)
        return published

    async def _publish_scheduled(self, slug: str, draft: Draft) -> bool:
        async with self._db.snapshot() as conn:
            scheduler = await user_rows.by_id(conn, draft.updated_by_id)
        # As they are now: the same rule as for an editor publishing it by hand.
        by = (
            Principal.user(scheduler.id, scheduler.display_name, Role(scheduler.role))
            if scheduler is not None and scheduler.disabled_at is None
            else None
        )
        if by is None or not allows(by, Action.REVIEW_DRAFTS, slug):
            await self._return_unpublished(
                slug,
                draft,
                f"Not published at its time: {draft.updated_by_name}, who scheduled it, can no "
                "longer publish. An editor must schedule or publish it again.",
            )
            return False
        try:
            await self._entries.publish_draft(
                slug, draft.id, states=(DraftState.SCHEDULED,), by=by, due=True
            )
        except LiveblogEnded:
            # Left scheduled, it would be due again at once, forever: back to the drafts.
            await self._return_unpublished(
                slug,
                draft,
                "Not published at its time: the liveblog had ended. Reopen it, then schedule "
                "or publish this again.",
            )
            return False
        except (Conflict, NotFound):
            return False  # another process published it, or it was unscheduled meanwhile
        return True  # consoles heard of it through the entry's event

    async def _return_unpublished(self, slug: str, draft: Draft, note: str) -> None:
        """A due entry that cannot go out goes back to the drafts, with `note` saying why."""

        async def work(write: Write) -> bool:
            claimed = await rows.unschedule_if_due(write.conn, draft.id, note)
            if claimed:
                write.tell_consoles(slug)
            return claimed

        if await self._writes.run(work):
            log.warning("scheduled entry %d of %s returned to drafts: %s", draft.id, slug, note)
