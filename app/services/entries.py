"""Entries: writing them (each change takes the next seq in its transaction, entry_transaction.py,
and is published after commit, unit_of_work.py) and reading them (pages, search, since)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.broker.base import Broker
from app.domain import entries as rules, search as search_rules
from app.domain.drafts import DraftState
from app.domain.events import ENTRY_DELETED, ENTRY_UPDATED
from app.domain.model import Entry, Liveblog
from app.domain.policy import Action
from app.domain.preconditions import IfMatch
from app.domain.principal import Principal
from app.domain.resume import Resume, plan, refusal_detail
from app.domain.revisions import Actor, Revision, RevisionKind
from app.errors import (
    Conflict,
    Gone,
    LiveblogEnded,
    LiveblogError,
    NotFound,
    Unprocessable,
)
from app.services import entry_bodies as bodies
from app.services.entry_transaction import TOMBSTONE, EntryTransaction
from app.services.idempotency import Once, forget, refuse_once
from app.services.link_previews import LinkPreviewService
from app.services.media import MediaService
from app.services.paging import Page, Since
from app.services.permissions import require
from app.services.unit_of_work import Write, Writes
from app.services.writes import Unchanged, check_version, require_precondition, utcnow
from app.storage import (
    drafts as draft_rows,
    entries as rows,
    liveblogs as liveblog_rows,
    revisions as revision_rows,
)
from app.storage.db import Database


def _subject(entry: Entry) -> str:
    """How an Idempotency-Key names the entry its POST made."""
    return f"entry:{entry.id}"


def _check_version(entry: Entry, if_match: IfMatch | None) -> None:
    check_version(f"Entry {entry.id}", entry.version, entry.as_json(), if_match, entry.epoch)


class EntryService:
    def __init__(
        self,
        db: Database,
        broker: Broker,
        *,
        max_body_bytes: int,
        require_if_match: bool = False,
        media: MediaService | None = None,
        link_previews: LinkPreviewService | None = None,
    ) -> None:
        self._db = db
        self._writes = Writes(db, broker)
        self._max_body_bytes = max_body_bytes
        self._require_if_match = require_if_match
        self._media = media
        self._link_previews = link_previews

    async def from_markdown(self, source: str) -> str:
        """The HTML of a journalist's Markdown (bodies.from_markdown), within the size limit;
        the uploaded media it shows drawn at every size, its bare links with the title and
        image fetched for them, if any were."""
        if self._media is None:
            return await bodies.from_markdown(source, self._max_body_bytes)
        shown = await self._media.mentioned_in(source)
        previews = (
            await self._link_previews.shown_for(bodies.bare_urls(source))
            if self._link_previews is not None
            else {}
        )
        return await bodies.from_markdown(
            source,
            self._max_body_bytes,
            media=shown,
            urls=self._media.urls,
            link_previews=previews,
        )

    def clean_body(self, raw: str) -> str:
        """The sanitized body (bodies.clean_body), within the size limit."""
        return bodies.clean_body(raw, self._max_body_bytes)

    def _publishable(self, body: str) -> None:
        """What a body needs before readers see it: alt text on every uploaded photo."""
        if self._media is not None:
            self._media.require_alt_text(body)

    async def _begin(
        self, write: Write, slug: str, by: Principal, *, new_entry: bool = False
    ) -> EntryTransaction:
        """Take the seq. A `new_entry` is refused while the liveblog has ended (LiveblogEnded):
        readers were told the coverage is over. Edits, corrections and deletions go on."""
        # The seq bump is the transaction's first write: see storage.liveblogs.next_seq.
        taken = await liveblog_rows.next_seq(write.conn, slug)
        if taken is None:
            raise NotFound(f"No liveblog with slug {slug!r}.")
        if new_entry and taken.ended:
            raise LiveblogEnded(slug)
        return EntryTransaction(write, slug, taken.liveblog_id, taken.seq, taken.epoch, by.actor)

    async def create(
        self,
        slug: str,
        *,
        title: str | None,
        body: str,
        author: str | None,
        pinned: bool,
        key_event: bool,
        by: Principal,
        once: Once[Entry] | None = None,
        source: str | None = None,
    ) -> Entry:
        """Store a new entry. Raises Replayed when `once` was used before (idempotency.py).

        `source` is the Markdown the console made `body` from, kept for later edits.
        """
        require(by, Action.WRITE_ENTRIES, slug)
        try:
            clean_body = self.clean_body(body)
            self._publishable(clean_body)
        except LiveblogError as refusal:
            if once is None:
                raise
            # Sanitized before the write's transaction (it may take a while for a big body);
            # a refusal is kept under the key like any other.
            await refuse_once(self._db, once, refusal)

        async def work(write: Write) -> Entry:
            tx = await self._begin(write, slug, by, new_entry=True)
            return await tx.create(
                title=rules.clean_optional_text(title),
                body=clean_body,
                author=rules.clean_optional_text(author),
                pinned=pinned,
                key_event=key_event,
                source=source,
            )

        return await self._writes.run(work, once=once, subject=_subject)

    async def publish_draft(
        self,
        slug: str,
        draft_id: int,
        *,
        states: Sequence[DraftState],
        by: Principal,
        once: Once[Entry] | None = None,
        if_match: IfMatch | None = None,
        due: bool = False,
    ) -> Entry:
        """Turn a draft in one of `states` into an entry: for readers, one ordinary create. The
        caller, DraftService, has decided that `by` may.
        `due`: only if its publish time has come (the scheduler; an editor may have moved the
        time later since the scheduler read it).

        The draft is claimed by a conditional update inside the seq transaction, so it is
        published exactly once however many processes (or double presses) try. `if_match` is
        the version the editor reviewed: a draft changed since is not published unseen.

        Raises:
            NotFound: no such liveblog, or no such draft in it.
            PreconditionFailed: the draft changed since the version `if_match` names.
            Conflict: the draft is no longer in one of `states` (published already, say).
        """

        async def work(write: Write) -> Entry:
            tx = await self._begin(write, slug, by, new_entry=True)
            conn = write.conn
            now = utcnow()
            if if_match is not None:
                # Locked until commit: the version compared is the one published.
                reviewed = await draft_rows.get(conn, tx.liveblog_id, draft_id, lock=True)
                if reviewed is not None and reviewed.state in states:
                    check_version(
                        f"Draft {draft_id}", reviewed.version, reviewed.as_json(), if_match
                    )
            draft = await draft_rows.claim(
                conn, draft_id, tx.liveblog_id, states, now, due_by=now if due else None
            )
            if draft is None:
                current = await draft_rows.get(conn, tx.liveblog_id, draft_id)
                if current is None:
                    raise NotFound(f"No draft {draft_id} in liveblog {slug!r}.")
                raise Conflict(
                    f"Draft {draft_id} is {current.state.value} now, so it cannot be published "
                    "from here; reload to see it."
                )
            self._publishable(draft.body)  # a draft may be saved without; not published
            entry = await tx.create(
                title=draft.title,
                body=draft.body,
                author=draft.author,
                pinned=draft.pinned,
                key_event=draft.key_event,
                source=draft.source,
                now=now,
            )
            await draft_rows.set_entry(conn, draft_id, entry.id)
            return entry

        return await self._writes.run(work, once=once, subject=_subject)

    async def update(
        self,
        slug: str,
        entry_id: int,
        changes: dict[str, Any],
        *,
        by: Principal,
        if_match: IfMatch | None = None,
    ) -> Entry:
        """Apply a PATCH of any entry fields. A PATCH that changes nothing is a no-op.

        `if_match` is compared after the seq bump, which serializes writers of the liveblog:
        of two editors sending the same If-Match, exactly one wins.
        """
        require(by, Action.WRITE_ENTRIES, slug)
        require_precondition(if_match, self._require_if_match)
        if "body" in changes:
            changes["body"] = self.clean_body(changes["body"])
            self._publishable(changes["body"])
            # A body sent as HTML leaves the console's Markdown behind: it no longer matches.
            changes.setdefault("source", None)
        for name in ("title", "author", "correction"):
            if name in changes:
                changes[name] = rules.clean_optional_text(changes[name])

        async def work(write: Write) -> Entry:
            tx = await self._begin(write, slug, by)
            current = await self._existing(tx, entry_id)
            _check_version(current, if_match)
            if current.deleted:
                raise Conflict(f"Entry {entry_id} was deleted; it can no longer be edited.")
            fields = {k: v for k, v in changes.items() if getattr(current, k) != v}
            if not fields:
                raise Unchanged
            if fields.get("pinned"):
                await tx.unpin_others(keep=entry_id)
            return await tx.change(current, fields, ENTRY_UPDATED)

        return await self._writes.run(work, unchanged=lambda: self.get(slug, entry_id))

    async def delete(
        self,
        slug: str,
        entry_id: int,
        *,
        by: Principal,
        if_match: IfMatch | None = None,
        purge: bool = False,
    ) -> Entry:
        """Replace the entry by a tombstone. Deleting a deleted entry returns it unchanged.

        `purge` (a legal takedown) also erases the entry's revisions, leaving one `purged`
        revision that records who did it and when.
        """
        require(by, Action.PURGE_ENTRY if purge else Action.WRITE_ENTRIES, slug)
        require_precondition(if_match, self._require_if_match)

        async def work(write: Write) -> Entry:
            tx = await self._begin(write, slug, by)
            current = await self._existing(tx, entry_id)
            _check_version(current, if_match)
            if current.deleted and not purge:
                raise Unchanged
            entry = current
            if not current.deleted:
                entry = await tx.change(current, dict(TOMBSTONE), ENTRY_DELETED)
            if purge:
                await self._purge(tx, entry)
            if not write.events:
                # Only the history changed: readers see nothing, so give the seq back.
                await liveblog_rows.give_back_seq(write.conn, tx.liveblog_id)
            return entry

        return await self._writes.run(work, unchanged=lambda: self.get(slug, entry_id))

    @staticmethod
    async def _purge(tx: EntryTransaction, entry: Entry) -> None:
        """Erase a deleted entry's revisions (and the stored response of the POST that made
        it, which holds its content too), leaving one `purged` revision: who, and when."""
        await revision_rows.erase_entry(tx.conn, tx.liveblog_id, entry.id)
        purged = Gone(f"Entry {entry.id} was deleted and its history erased.")
        await forget(tx.conn, _subject(entry), purged)
        await revision_rows.record(
            tx.conn,
            liveblog_id=tx.liveblog_id,
            entry_id=entry.id,
            seq=entry.seq,
            kind=RevisionKind.PURGED,
            version=entry.version,
            at=utcnow(),
            by=tx.by,
            changes={},
        )

    async def revisions(
        self, slug: str, entry_id: int, *, by: Principal
    ) -> tuple[Entry, list[Revision]]:
        """The entry (deleted or not) and its revisions, oldest first. A deleted entry's are
        kept from all but admins: they hold what was removed."""
        require(by, Action.READ_HISTORY, slug)
        entry, revisions = await self._history(slug, entry_id)
        if entry.deleted:
            require(by, Action.READ_DELETED_HISTORY, slug)
        return entry, revisions

    async def last_saved(
        self, slug: str, entry_id: int, *, by: Principal
    ) -> tuple[Entry, Actor | None]:
        """The entry (deleted or not) and who saved its current version, for the console's
        edit form and conflict panel ("Jane saved a newer version", "deleted by Jane")."""
        require(by, Action.READ_HISTORY, slug)
        entry, revisions = await self._history(slug, entry_id)
        return entry, revisions[-1].by if revisions else None

    async def _history(self, slug: str, entry_id: int) -> tuple[Entry, list[Revision]]:
        async with self._db.snapshot() as conn:
            liveblog, entry = await self._find(conn, slug, entry_id)
            return entry, await revision_rows.of_entry(conn, liveblog.id, entry_id)

    @staticmethod
    async def _existing(tx: EntryTransaction, entry_id: int) -> Entry:
        entry = await rows.get(tx.conn, tx.liveblog_id, entry_id)
        if entry is None:
            raise NotFound(f"No entry {entry_id} in liveblog {tx.slug!r}.")
        return replace(entry, epoch=tx.epoch)

    async def get(self, slug: str, entry_id: int) -> Entry:
        async with self._db.snapshot() as conn:
            return (await self._find(conn, slug, entry_id))[1]

    @staticmethod
    async def _find(conn: AsyncConnection, slug: str, entry_id: int) -> tuple[Liveblog, Entry]:
        liveblog = await liveblog_rows.get(conn, slug)
        if liveblog is None:
            raise NotFound(f"No liveblog with slug {slug!r}.")
        entry = await rows.get(conn, liveblog.id, entry_id)
        if entry is None:
            raise NotFound(f"No entry {entry_id} in liveblog {slug!r}.")
        return liveblog, replace(entry, epoch=liveblog.epoch)

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
        return Page.of(entries, liveblog, limit)

    async def search(
        self, slug: str, query: str, *, before: int | None = None, limit: int = 20
    ) -> Page:
        """Visible entries whose title or body holds every word of `query` (the last one may be
        a word's beginning), newest first; paged like `page`, `before` being the previous
        page's `next_before`. A query without words (only spaces or punctuation) finds nothing.

        Raises:
            NotFound: no such liveblog.
            Unprocessable: `query` is longer than search.QUERY_MAX characters.
        """
        try:
            words = search_rules.parse_query(query)
        except search_rules.QueryTooLong as error:
            raise Unprocessable(
                str(error), extra={"errors": [{"field": "q", "in": "query", "message": str(error)}]}
            ) from None
        async with self._db.snapshot() as conn:
            liveblog = await liveblog_rows.get(conn, slug)
            if liveblog is None:
                raise NotFound(f"No liveblog with slug {slug!r}.")
            entries = await rows.search(conn, liveblog.id, words, before=before, limit=limit + 1)
        return Page.of(entries, liveblog, limit)

    async def since(self, slug: str, *, since: int, limit: int, epoch: str | None = None) -> Since:
        """Entries changed after `since` (of `epoch`; without it, of the current epoch if the
        liveblog never had another), tombstones included, in seq order, `limit` at a time.

        Raises:
            NotFound: no such liveblog.
            Conflict: `since` cannot be resumed from (another epoch, no epoch after a rotation,
                or ahead of the head);
                the problem says why (`reason`) and where to reload from (`epoch`, `seq`).
        """
        async with self._db.snapshot() as conn:
            liveblog = await liveblog_rows.get(conn, slug)
            if liveblog is None:
                raise NotFound(f"No liveblog with slug {slug!r}.")
            rotated = liveblog.epoch_rotated_at is not None
            decision = plan(since, liveblog.seq, epoch, liveblog.epoch, rotated)
            if decision in (Resume.EPOCH_CHANGED, Resume.AHEAD):
                raise Conflict(
                    refusal_detail(decision, since, epoch, liveblog.epoch, liveblog.seq),
                    extra={"reason": decision.value, "epoch": liveblog.epoch, "seq": liveblog.seq},
                )
            entries = await rows.changed_after(conn, liveblog.id, since, limit + 1)
        more = len(entries) > limit
        entries = entries[:limit]
        return Since(entries, liveblog.seq, liveblog.epoch, entries[-1].seq if more else None)
