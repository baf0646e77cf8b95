"""Entries that are not public yet: drafts, drafts in review, and scheduled entries.

They live apart from entries and take no seq: nothing public can see them. Publishing one is an
ordinary entry creation for readers (the next seq, created at publish time).

Who may do what (the console's endpoints enforce it; the UI only hides what a role cannot do):
- a contributor writes drafts, edits their own until published, and submits them for review;
- an editor edits any, schedules, publishes, returns drafts in review to their contributor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from app.domain.model import iso_utc

# A "Publish at" a little in the past (the editor took a while to press Schedule) publishes at
# once; further back it is a mistake worth saying.
SCHEDULE_GRACE = timedelta(minutes=5)


class DraftState(StrEnum):
    DRAFT = "draft"
    REVIEW = "review"  # submitted by a contributor, waiting for an editor
    SCHEDULED = "scheduled"  # publishes itself at `publish_at`
    PUBLISHED = "published"  # became entry `entry_id`; kept as a record


UNPUBLISHED = (DraftState.DRAFT, DraftState.REVIEW, DraftState.SCHEDULED)


@dataclass(frozen=True, slots=True)
class Draft:
    id: int
    liveblog_id: int
    state: DraftState
    title: str | None
    body: str  # sanitized HTML, as an entry's
    source: str | None  # the Markdown it was written in
    author: str | None
    pinned: bool
    key_event: bool
    publish_at: datetime | None
    note: str | None  # an editor's note when returning it
    created_by_id: int
    created_by_name: str
    updated_by_id: int
    updated_by_name: str
    created_at: datetime
    updated_at: datetime
    version: int
    entry_id: int | None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "state": self.state.value,
            "title": self.title,
            "body": self.body,
            "source": self.source,
            "author": self.author,
            "pinned": self.pinned,
            "key_event": self.key_event,
            "publish_at": iso_utc(self.publish_at, "seconds") if self.publish_at else None,
            "note": self.note,
            "created_by": {"id": self.created_by_id, "name": self.created_by_name},
            "updated_by": {"id": self.updated_by_id, "name": self.updated_by_name},
            "created_at": iso_utc(self.created_at),
            "updated_at": iso_utc(self.updated_at),
            "version": self.version,
            "entry_id": self.entry_id,
        }


def contributor_may_edit(draft: Draft, user_id: int) -> bool:
    """A contributor edits only their own drafts, and only before an editor has scheduled them."""
    return draft.created_by_id == user_id and draft.state in (DraftState.DRAFT, DraftState.REVIEW)
