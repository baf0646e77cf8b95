"""Where a (re)connecting reader starts: the product's no-gap, no-duplicate promise.

Given the `since` (and `epoch`) a reader sends and the liveblog's stored head (and epoch), decide
whether it is current, needs a replay of what changed after `since`, or must reload through
REST. A seq only means something within its epoch: after a restore the same numbers name other
changes, so a reader from another epoch always reloads. A `since` without an epoch (an older
page, a tool) is taken to be of the current epoch only while the liveblog has never had another:
once its epoch was replaced, that `since` may count in the old history, so it reloads too. Kept
pure so the rule can be read and tested on its own; the WebSocket endpoint and the REST
`?since=` both obey it.

`went_back` is the rule `liveblog serve` applies at start to a database that may have been
replaced under it (a file copied over it while it was stopped): see services/epochs.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

T = TypeVar("T")


class Resume(StrEnum):
    LIVE = "live"  # nothing to replay: go straight to live events after the head
    REPLAY = "replay"  # send every change after `since` (one per changed object), then live
    AHEAD = "ahead_of_server"  # since > head: the server cannot honour it (database restored?)
    TOO_FAR_BEHIND = "too_far_behind"  # more changes than one reconnect may cost
    EPOCH_CHANGED = "epoch_changed"  # `since` counts in another history (a restore, a copy)


def plan(
    since: int | None,
    head: int,
    epoch: str | None = None,
    current: str = "",
    rotated: bool = False,
) -> Resume:
    """Decide from positions alone; REPLAY may still turn into TOO_FAR_BEHIND (see `bounded`).

    `epoch` is the one the reader's `since` belongs to; `current` is the liveblog's, and
    `rotated` whether the liveblog ever had another. Without `epoch`, `since` is taken on trust
    as one of `current` (as before epochs existed) unless `rotated`: then nothing says which
    history it counts in, and it is treated as another epoch's. A bare `since=0` is the one
    exception: it asks for everything from the start, which is right in any history.
    """
    if since is not None:
        of_another_history = epoch != current if epoch is not None else rotated and since > 0
        if of_another_history:
            return Resume.EPOCH_CHANGED
    if since is None or since == head:
        return Resume.LIVE
    if since > head:
        return Resume.AHEAD
    return Resume.REPLAY


@dataclass(frozen=True, slots=True)
class Served:
    """What a data directory last served of one liveblog: its epoch then, the highest seq seen
    in it, and since when that epoch was the one served."""

    epoch: str
    seq: int
    since: datetime


def went_back(
    served: Served | None, epoch: str, head: int, rotated_at: datetime | None
) -> str | None:
    """Why a liveblog stored at `head` of `epoch` (last rotated at `rotated_at`) is older than
    what was `served` of it, or None if it is not (or nothing was recorded).

    - Same epoch, head below the seq served: readers hold seqs the database does not have, and
      the next writes would give those numbers to other changes.
    - Another epoch, never rotated or rotated before the served one began: an older history
      (a copy of the file from before), whose readers would trust a bare `since`.
    Another epoch rotated after the served one began is a restore or `rotate-epochs` done since:
    its seqs were never served here, and a bare `since` is not trusted in it already.
    """
    if served is None:
        return None
    if epoch == served.epoch:
        if head < served.seq:
            return f"its head seq {head} is below seq {served.seq} already served in epoch {epoch}"
        return None
    if rotated_at is None or rotated_at <= served.since:
        return f"its epoch {epoch} is older than epoch {served.epoch} already served"
    return None


def bounded(changed: int, limit: int) -> Resume:
    """A replay of `changed` objects is allowed up to `limit`.

    Storage fetches at most `limit + 1` changes, so the check never costs more than the
    replay it protects against.
    """
    return Resume.REPLAY if changed <= limit else Resume.TOO_FAR_BEHIND


RESYNC_DETAIL = {
    Resume.AHEAD: "The position you resumed from is ahead of this server's history "
    "(was the database restored?). Reload the entries through REST.",
    Resume.TOO_FAR_BEHIND: "Too many changes since your position to replay them here. "
    "Reload the entries through REST.",
    Resume.EPOCH_CHANGED: "This liveblog's history was replaced since your position was taken "
    "(a restore or a copy), so its seqs name other changes now. Reload the entries through "
    "REST and resume from the new epoch.",
}


def refusal_detail(
    decision: Resume, since: int, epoch: str | None, current_epoch: str, head: int
) -> str:
    """Why a resume from `since` (of `epoch`) cannot be served, for a REST client (409)."""
    if decision is Resume.AHEAD:
        where = f"since={since} is ahead of this liveblog's head seq {head}. "
    elif epoch is None:
        where = (
            f"since={since} came without an epoch, and this liveblog's epoch was replaced "
            f"(now {current_epoch!r}). "
        )
    else:
        where = f"epoch {epoch!r} is not this liveblog's ({current_epoch!r}). "
    return where + RESYNC_DETAIL[decision]


def catch_up(decision: Resume, replay: Sequence[T], resync: Callable[[], T]) -> list[T]:
    """What a follower is sent once the changes after its position are read: the replay (each
    changed object's current state, in seq order), nothing (already current), or one resync
    telling it to reload (too far behind, ahead of the server, or another history). The
    WebSocket edge sends this to one reader; a hub's channel to all of its readers."""
    if decision is Resume.REPLAY:
        return list(replay)
    if decision is Resume.LIVE:
        return []
    return [resync()]
