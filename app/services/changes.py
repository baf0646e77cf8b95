"""Read "everything that changed after seq N" as one consistent snapshot.

Used when a reader (re)connects with `since`, when a hub fills a gap in what the broker
delivered, and by `GET /entries?since=`. Changes are compacted: one event per changed object,
carrying its current state, in seq order, so replaying them brings a reader from `since` to the
snapshot's head exactly, however many times each entry was edited in between.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.domain import resume
from app.domain.events import Event, entry_event, liveblog_event, replay_kind
from app.domain.model import Entry, Liveblog
from app.storage import entries as entry_rows, liveblogs as liveblog_rows
from app.storage.db import Database


@dataclass(frozen=True, slots=True)
class ChangeSet:
    liveblog: Liveblog
    head: int  # the snapshot's head: after these events, a reader is current up to here
    # (in the liveblog's current epoch, liveblog.epoch)
    decision: resume.Resume
    events: list[Event] = field(default_factory=list)  # empty unless decision is REPLAY


def replay_events(liveblog: Liveblog, changed: list[Entry], since: int) -> list[Event]:
    events = [
        entry_event(replay_kind(entry, since), liveblog.slug, liveblog.epoch, entry)
        for entry in changed
    ]
    if liveblog.meta_seq > since:
        events.append(liveblog_event(liveblog, liveblog.meta_seq))
        events.sort(key=lambda event: event.seq)
    return events


async def read_changes(
    db: Database, slug: str, since: int | None, epoch: str | None, limit: int
) -> ChangeSet | None:
    """The changes after `since` of `epoch` (at most `limit` objects), or None if the liveblog
    is unknown. `epoch` None: `since` is taken to be of the current one, unless the liveblog's
    epoch was ever replaced (domain/resume.py)."""
    async with db.snapshot() as conn:
        liveblog = await liveblog_rows.get(conn, slug)
        if liveblog is None:
            return None
        decision = resume.plan(
            since, liveblog.seq, epoch, liveblog.epoch, liveblog.epoch_rotated_at is not None
        )
        if decision is not resume.Resume.REPLAY:
            return ChangeSet(liveblog, liveblog.seq, decision)
        assert since is not None
        # One more than allowed: enough to know the limit is exceeded without reading further.
        changed = await entry_rows.changed_after(conn, liveblog.id, since, limit + 1)
    count = len(changed) + (1 if liveblog.meta_seq > since else 0)
    decision = resume.bounded(count, limit)
    if decision is not resume.Resume.REPLAY:
        return ChangeSet(liveblog, liveblog.seq, decision)
    return ChangeSet(liveblog, liveblog.seq, decision, replay_events(liveblog, changed, since))
