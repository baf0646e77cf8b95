"""The control messages processes exchange through the broker, beside reader events (base.py).

Each is a small JSON object with a `type`. They are never sent to readers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from app.broker.base import Control

# Every process, every few seconds: how many readers each of its liveblogs has.
READERS: Final = "readers"
# A liveblog's drafts or scheduled entries changed: consoles showing it reload their list.
CONSOLE_CHANGED: Final = "console.changed"
# A user was disabled: every process closes their console sockets.
USER_DISABLED: Final = "user.disabled"
# Which entries or drafts a process's console users have open in the edit form, per liveblog:
# at once for the liveblog that changed, and every few seconds all of them (console/editing.py).
EDITORS: Final = "console.editors"
# Every second, from each process whose readers were sent events: per event, how many readers
# took its frame and a small latency histogram (realtime/receipts.py).
RECEIPTS: Final = "receipts"


def readers(process: str, counts: Mapping[str, int]) -> Control:
    return {"type": READERS, "process": process, "counts": dict(counts)}


def console_changed(slug: str) -> Control:
    return {"type": CONSOLE_CHANGED, "liveblog": slug}


def user_disabled(user_id: int) -> Control:
    return {"type": USER_DISABLED, "user": user_id}


def editors(process: str, liveblogs: Mapping[str, list[list[Any]]], *, complete: bool) -> Control:
    """`liveblogs`: slug → [[kind, id, user, name], ...]; `complete`: every liveblog this process
    has editors on is named (any other has none), else only those that changed."""
    return {"type": EDITORS, "process": process, "complete": complete, "liveblogs": dict(liveblogs)}


def receipts(liveblogs: Mapping[str, list[list[Any]]]) -> Control:
    """`liveblogs`: slug → [[seq, entry, readers, [bucket, count, bucket, count, ...]], ...]."""
    return {"type": RECEIPTS, "liveblogs": dict(liveblogs)}


def dispatcher(handlers: Mapping[str, Callable[[Control], None]]) -> Callable[[Control], None]:
    """One `on_control` for the broker that hands each message to the handler of its type."""

    def dispatch(message: Control) -> None:
        handler = handlers.get(str(message.get("type")))
        if handler is not None:
            handler(message)

    return dispatch
