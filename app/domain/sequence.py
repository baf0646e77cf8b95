"""Following a liveblog's numbered changes: the no-gap, no-duplicate rules, kept pure.

Every change to a liveblog takes the next seq of its epoch. Whoever follows the stream (a
process's channel, realtime/hub.py; each reader, realtime/reader.py) knows where it stands: the
epoch it follows and the last seq it has passed on. For each change that arrives, `arrival` says
what it is, and so what to do:

- NEXT: the very next change: pass it on, it is the new position;
- DUPLICATE: at or before the position: passed on already (a broker's redelivery, or a change
  the catch-up already covered): drop it;
- GAP: after the next: something was lost or reordered on the way: read what is missing from
  storage before going on (and keep this one until then);
- NEW_HISTORY: of an epoch this follower never followed: the liveblog's history was replaced (a
  restore, `rotate-epochs`): read where storage stands, then tell readers to resync;
- OLD_HISTORY: of an epoch this follower has left: late news of a history that is gone: drop.

Where a (re)connecting reader starts is domain/resume.py; what a reader is sent once its
catch-up is known is `catch_up` there.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Arrival(StrEnum):
    NEXT = "next"
    DUPLICATE = "duplicate"
    GAP = "gap"
    NEW_HISTORY = "new_history"
    OLD_HISTORY = "old_history"


@dataclass(frozen=True, slots=True)
class Position:
    """Where a follower stands: the epoch it follows, the last seq it passed on, and the epochs
    it has left (the latest few; each is a rare, manual operation)."""

    epoch: str | None
    seq: int
    left: tuple[str, ...] = ()


def arrival(position: Position, seq: int, epoch: str | None) -> Arrival:
    """What a change numbered `seq` of `epoch` (None: not said, so the followed one) is to a
    follower at `position`."""
    if epoch is not None and epoch != position.epoch:
        return Arrival.OLD_HISTORY if epoch in position.left else Arrival.NEW_HISTORY
    if seq <= position.seq:
        return Arrival.DUPLICATE
    if seq == position.seq + 1:
        return Arrival.NEXT
    return Arrival.GAP


def reader_takes(floor: int, seq: int, resets: bool) -> tuple[bool, int]:
    """A reader's side of the same rule, once its catch-up (up to `floor`) is sent: whether a
    message numbered `seq` goes out, and the reader's floor after it.

    A message at or below the floor was in the catch-up, unless it resets the history (a resync
    into a new epoch, whose seqs may be lower than the old): that one goes out, and the floor
    comes down to it so the new history's next changes go out too. realtime/reader.py applies
    this inline (it runs once per reader per event); tests/domain/test_sequence.py checks the
    two agree.
    """
    if seq <= floor:
        return (True, seq) if resets else (False, floor)
    return True, floor
