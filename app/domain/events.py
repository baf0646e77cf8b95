"""The change events readers receive, and their one-time encoding.

An event is encoded to its JSON text frame exactly once, where it is made; every reader and
every broker hop then carries the same string. The frame shapes are the wire protocol
documented in docs/api.md ("Event protocol").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import orjson

from app.domain.model import Entry, Liveblog

ENTRY_CREATED: Final = "entry.created"
ENTRY_UPDATED: Final = "entry.updated"
ENTRY_DELETED: Final = "entry.deleted"
LIVEBLOG_UPDATED: Final = "liveblog.updated"


@dataclass(frozen=True, slots=True)
class Event:
    """One committed change, ready to send: `frame` is the exact text every reader gets."""

    liveblog: str  # slug; immutable, so it names the channel across processes
    seq: int
    type: str
    frame: str
    # When its transaction committed (time.time()), for delivery latency; None for events
    # read back from storage (a replay, a gap filled).
    committed_at: float | None = None
    # The liveblog's epoch when it committed; None only from a process of an older version
    # in a rolling upgrade (its events are then ordered by seq alone).
    epoch: str | None = None


def encode(message: dict[str, Any]) -> str:
    return orjson.dumps(message).decode()


def entry_event(kind: str, slug: str, epoch: str, entry: Entry) -> Event:
    frame = encode({"type": kind, "seq": entry.seq, "epoch": epoch, "entry": entry.as_json()})
    return Event(liveblog=slug, seq=entry.seq, type=kind, frame=frame, epoch=epoch)


def liveblog_event(liveblog: Liveblog, seq: int) -> Event:
    frame = encode(
        {
            "type": LIVEBLOG_UPDATED,
            "seq": seq,
            "epoch": liveblog.epoch,
            "liveblog": liveblog.as_json(),
        }
    )
    return Event(
        liveblog=liveblog.slug, seq=seq, type=LIVEBLOG_UPDATED, frame=frame, epoch=liveblog.epoch
    )


def replay_kind(entry: Entry, since: int) -> str:
    """The event type that brings a reader at `since` up to `entry`'s current state.

    A reader that never saw the entry (created after `since`) gets it as created, even if it was
    edited since; a deleted entry is always a deletion, whether the reader saw it or not.
    """
    if entry.deleted:
        return ENTRY_DELETED
    return ENTRY_CREATED if entry.created_seq > since else ENTRY_UPDATED
