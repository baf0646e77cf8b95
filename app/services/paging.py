"""Entries a page at a time: newest first (`Page`, the stream, search), or every change after a
seq (`Since`, a feed catching up)."""

from __future__ import annotations

from dataclasses import dataclass

from app.domain.model import Entry, Liveblog


@dataclass(frozen=True, slots=True)
class Page:
    entries: list[Entry]
    head: int  # the liveblog's seq when the page was read
    epoch: str  # ... and the epoch it counts in
    next_before: int | None  # cursor for the next (older) page, None on the last one

    @classmethod
    def of(cls, fetched: list[Entry], liveblog: Liveblog, limit: int) -> Page:
        """From `limit + 1` fetched rows: the extra one only says that an older page exists."""
        entries = fetched[:limit]
        older = entries[-1].created_seq if len(fetched) > limit else None
        return cls(entries, liveblog.seq, liveblog.epoch, older)


@dataclass(frozen=True, slots=True)
class Since:
    entries: list[Entry]
    head: int
    epoch: str
    next_since: int | None  # more changes follow: ask again with since=next_since
