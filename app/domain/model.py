"""The two things a newsroom writes, as immutable snapshots.

Storage turns rows into these; the REST API and the event stream both render them with
`as_json()`, so an entry looks the same whether it is fetched or pushed.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
SLUG_RE = re.compile(SLUG_PATTERN)
SLUG_MAX = 100
TITLE_MAX = 300
DESCRIPTION_MAX = 5000
AUTHOR_MAX = 200
CORRECTION_MAX = 1000
EPOCH_MAX = 32  # ours are 16 hex digits; room for other forms later
# Ids and seqs are signed 64-bit integers on every database: a larger number names nothing.
MAX_ID = 2**63 - 1


def parse_id(text: str | None) -> int | None:
    """An id or seq from a URL (1 to MAX_ID, plain digits), or None if `text` is not one."""
    if text is None or not text.isdigit() or not text.isascii() or len(text) > 19:
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def new_epoch() -> str:
    """A fresh epoch: an opaque name for one continuous history of a liveblog's seqs.

    A liveblog gets one when it is created and a new one whenever its history may have been
    replaced (a restore, a copy, an import, `liveblog rotate-epochs`); a reader that resumes
    with another epoch reloads instead of trusting its seq (domain/resume.py)."""
    return secrets.token_hex(8)


class Status(StrEnum):
    LIVE = "live"
    ENDED = "ended"


def utcnow() -> datetime:
    return datetime.now(UTC)


def iso_utc(moment: datetime, timespec: str = "milliseconds") -> str:
    """ISO 8601 in UTC with a `Z`, millisecond precision (what browsers parse natively)."""
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Liveblog:
    id: int
    slug: str
    title: str
    description: str
    status: Status
    seq: int  # head of the liveblog's sequence: the latest change to it or any of its entries
    meta_seq: int  # seq of the latest change to the liveblog's own fields (0: none since creation)
    created_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    version: int  # bumped by every change to its own fields (title, description, status)
    epoch: str  # names the history `seq` counts in (see new_epoch)
    # When its epoch was last replaced (None: never, it is the one it was created with). A bare
    # `since` is trusted only while this is None (domain/resume.py).
    epoch_rotated_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "epoch": self.epoch,
            "title": self.title,
            "description": self.description,
            "status": self.status.value,
            "seq": self.seq,
            "version": self.version,
            "created_at": iso_utc(self.created_at),
            "updated_at": iso_utc(self.updated_at),
            "ended_at": iso_utc(self.ended_at) if self.ended_at else None,
        }


@dataclass(frozen=True, slots=True)
class Entry:
    id: int
    seq: int  # seq of this entry's latest change
    created_seq: int  # seq of its creation: orders entries newest first, and is the page cursor
    title: str | None
    body: str
    author: str | None
    pinned: bool
    key_event: bool
    created_at: datetime
    updated_at: datetime
    version: int
    deleted: bool
    correction: str | None = None  # "Correction: …" shown with the entry after an edit
    source: str | None = None  # the console's Markdown behind `body`; never sent to readers
    # When its words (title, body, author, correction) last changed, None if never since it
    # was published: readers see "Updated" from it, not for a pin or a key-event mark.
    edited_at: datetime | None = None
    # The liveblog's epoch, where the entry was read or written on its own (not in lists): its
    # ETag names it, so an If-Match from before a restore matches no entry after it.
    epoch: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "seq": self.seq,
            "title": self.title,
            "body": self.body,
            "author": self.author,
            "pinned": self.pinned,
            "key_event": self.key_event,
            "created_at": iso_utc(self.created_at),
            "updated_at": iso_utc(self.updated_at),
            "version": self.version,
            "deleted": self.deleted,
            "correction": self.correction,
            "edited_at": iso_utc(self.edited_at) if self.edited_at else None,
        }
