"""Where a (re)connecting reader starts: the product's no-gap, no-duplicate promise.

Given the `since` (and `epoch`) a reader sends and the liveblog's stored head (and epoch), decide
whether it is current, needs a replay of what changed after `since`, or must reload through
REST. A seq only means something within its epoch: after a restore the same numbers name other
changes, so a reader from another epoch always reloads. Kept pure so the
rule can be read and tested on its own; the WebSocket endpoint and the REST `?since=` both obey it.
"""

from __future__ import annotations

from enum import StrEnum


class Resume(StrEnum):
    LIVE = "live"  # nothing to replay: go straight to live events after the head
    REPLAY = "replay"  # send every change after `since` (one per changed object), then live
    AHEAD = "ahead_of_server"  # since > head: the server cannot honour it (database restored?)
    TOO_FAR_BEHIND = "too_far_behind"  # more changes than one reconnect may cost
    EPOCH_CHANGED = "epoch_changed"  # `since` counts in another history (a restore, a copy)


def plan(since: int | None, head: int, epoch: str | None = None, current: str = "") -> Resume:
    """Decide from positions alone; REPLAY may still turn into TOO_FAR_BEHIND (see `bounded`).

    `epoch` is the one the reader's `since` belongs to (None: not sent, so `since` is taken on
    trust, as before epochs existed); `current` is the liveblog's.
    """
    if since is not None and epoch is not None and epoch != current:
        return Resume.EPOCH_CHANGED
    if since is None or since == head:
        return Resume.LIVE
    if since > head:
        return Resume.AHEAD
    return Resume.REPLAY


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
