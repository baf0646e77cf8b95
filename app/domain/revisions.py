"""Who changed what: one revision per stored change, with the fields it touched.

Revisions are for the newsroom (the revisions endpoint, later the console), never for readers:
they name the token or user behind each change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.domain.model import Entry, Liveblog, iso_utc

# The entry fields a revision records; ids, seqs and timestamps are bookkeeping, not content.
ENTRY_FIELDS = ("title", "body", "author", "pinned", "key_event", "correction", "deleted")
LIVEBLOG_FIELDS = ("title", "description", "status")


class RevisionKind(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    # A legal takedown erased the entry's history; only the fact, the time and who remain.
    PURGED = "purged"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made a change, as stored with it: the name is a snapshot, kept if it later changes."""

    type: str  # "token", "user", or "system" (Liveblog itself: an import)
    id: int
    name: str

    def as_json(self) -> dict[str, Any]:
        return {"type": self.type, "id": self.id, "name": self.name}


# {field: (previous, new)}
Changes = dict[str, tuple[Any, Any]]


@dataclass(frozen=True, slots=True)
class Revision:
    seq: int
    kind: RevisionKind
    version: int  # the object's version after this change
    at: datetime
    by: Actor
    changes: Changes

    def as_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": iso_utc(self.at),
            "kind": self.kind.value,
            "version": self.version,
            "by": self.by.as_json(),
            "fields": list(self.changes),
            "changes": {
                name: {"previous": previous, "new": new}
                for name, (previous, new) in self.changes.items()
            },
        }


def entry_changes(before: Entry | None, after: Entry) -> Changes:
    """The content fields that differ; with no `before` (a creation), every field set."""
    if before is None:
        return {
            name: (None, getattr(after, name))
            for name in ENTRY_FIELDS
            if name != "deleted" and getattr(after, name) is not None
        }
    return {
        name: (getattr(before, name), getattr(after, name))
        for name in ENTRY_FIELDS
        if getattr(before, name) != getattr(after, name)
    }


def liveblog_changes(before: Liveblog | None, after: Liveblog) -> Changes:
    def value(liveblog: Liveblog, name: str) -> Any:
        found = getattr(liveblog, name)
        return found.value if name == "status" else found

    return {
        name: (value(before, name) if before else None, value(after, name))
        for name in LIVEBLOG_FIELDS
        if before is None or value(before, name) != value(after, name)
    }
