"""Who has what open in the edit form, per liveblog, over every process: editor presence.

A console tab tells its socket (socket.py) which published entry, or which draft, its journalist
has open, and null when they save, cancel or switch; one tab edits one thing at a time. Each
process announces its own editors through the broker as EDITORS control messages: at once for a
liveblog whose editors changed, and every ANNOUNCE_SECONDS all of them (`complete`), which
repairs a lost message within one interval. Every process keeps the latest announcement of each
process (its own included, as for any control message) and drops a process not heard from for
three intervals, so the editors of a process that died, or lost its link to Redis, clear within
that time. Whenever the merged list of a liveblog changes, its consoles are told the whole list.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from app.broker.base import Broker, Control
from app.broker.control import editors as editors_message

ANNOUNCE_SECONDS = 2.0
# What one received announcement may hold, checked before anything is kept (anyone who can
# publish on the broker can send anything).
LIVEBLOGS_MAX = 10_000
EDITORS_MAX = 1_000  # per liveblog
NAME_MAX = 200

KINDS: Final = ("entry", "draft")


@dataclass(frozen=True, slots=True, order=True)
class Editing:
    """One user with one entry or draft open (`kind` is "entry" or "draft")."""

    kind: str
    id: int
    user: int
    name: str

    def as_json(self) -> dict[str, Any]:
        """As consoles get it: {"entry": 12, "user": 3, "name": "Ed"} (or "draft": 12)."""
        return {self.kind: self.id, "user": self.user, "name": self.name}

    def as_row(self) -> list[Any]:
        return [self.kind, self.id, self.user, self.name]


# Called with a liveblog's slug and its full list of editors, when that list changed.
OnChange = Callable[[str, list[dict[str, Any]]], None]


@dataclass(slots=True)
class _Heard:
    at: float  # time.monotonic() of the process's latest announcement
    liveblogs: dict[str, frozenset[Editing]]


class EditorPresence:
    def __init__(self, broker: Broker, *, announce_seconds: float = ANNOUNCE_SECONDS) -> None:
        self._broker = broker
        self._every = announce_seconds
        self._expiry = 3 * announce_seconds
        self.process = uuid.uuid4().hex[:12]
        # This process's editors: holder (a console socket) → (slug, what it has open).
        self._local: dict[object, tuple[str, Editing]] = {}
        self._changed: set[str] = set()  # liveblogs to announce at once
        self._wake = asyncio.Event()
        self._heard: dict[str, _Heard] = {}  # process → its latest announcement
        self._shown: dict[str, tuple[Editing, ...]] = {}  # slug → the list consoles were told
        self.on_change: OnChange | None = None

    # This process's editors --------------------------------------------------------------------

    def update(self, holder: object, slug: str, editing: Editing | None) -> None:
        """`holder` (one console socket, on `slug`) now has `editing` open; None: nothing."""
        before = self._local.get(holder)
        after = None if editing is None else (slug, editing)
        if before == after:
            return
        if after is None:
            del self._local[holder]
        else:
            self._local[holder] = after
        self._changed.add(slug)
        if before is not None:
            self._changed.add(before[0])
        self._wake.set()

    def forget(self, holder: object) -> None:
        """`holder` closed: whatever it had open is no longer being edited."""
        held = self._local.get(holder)
        if held is not None:
            self.update(holder, held[0], None)

    def _rows(self, slugs: set[str] | None = None) -> dict[str, list[list[Any]]]:
        """This process's editors of `slugs` (None: of every liveblog), as announced."""
        rows: dict[str, set[Editing]] = {slug: set() for slug in slugs or ()}
        for slug, editing in self._local.values():
            if slugs is None or slug in slugs:
                rows.setdefault(slug, set()).add(editing)
        return {slug: [e.as_row() for e in sorted(found)] for slug, found in rows.items()}

    async def announce_forever(self) -> None:
        """Announce changes at once, and every editor every ANNOUNCE_SECONDS; expire the
        processes not heard from."""
        due = time.monotonic()
        while True:
            wait = due - time.monotonic()
            if wait > 0 and not self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
            self._wake.clear()
            # A failure ends the loop: the supervisor logs it and starts it again, which
            # announces every editor at once (app/supervisor.py).
            if time.monotonic() >= due:
                due = time.monotonic() + self._every
                self._changed.clear()
                await self._broker.publish_control(
                    editors_message(self.process, self._rows(), complete=True)
                )
                self._expire()
            elif self._changed:
                changed, self._changed = self._changed, set()
                await self._broker.publish_control(
                    editors_message(self.process, self._rows(changed), complete=False)
                )

    # Every process's editors -------------------------------------------------------------------

    def receive(self, message: Control) -> None:
        """The broker's EDITORS handler. A malformed announcement is ignored whole."""
        process = message.get("process")
        parsed = _parse_liveblogs(message.get("liveblogs"))
        if not isinstance(process, str) or len(process) > 64 or parsed is None:
            return
        heard = self._heard.get(process)
        if heard is None:
            heard = self._heard[process] = _Heard(time.monotonic(), {})
        heard.at = time.monotonic()
        affected = set(parsed)
        if message.get("complete") is True:
            affected |= set(heard.liveblogs)
            heard.liveblogs = {slug: found for slug, found in parsed.items() if found}
        else:
            for slug, found in parsed.items():
                if found:
                    heard.liveblogs[slug] = found
                else:
                    heard.liveblogs.pop(slug, None)
        for slug in affected:
            self._refresh(slug)

    def _expire(self) -> None:
        horizon = time.monotonic() - self._expiry
        for process, heard in list(self._heard.items()):
            if heard.at < horizon:
                del self._heard[process]
                for slug in heard.liveblogs:
                    self._refresh(slug)

    def _refresh(self, slug: str) -> None:
        merged: set[Editing] = set()
        for heard in self._heard.values():
            merged |= heard.liveblogs.get(slug, frozenset())
        now = tuple(sorted(merged))
        if now == self._shown.get(slug, ()):
            return
        if now:
            self._shown[slug] = now
        else:
            del self._shown[slug]
        if self.on_change is not None:
            self.on_change(slug, [editing.as_json() for editing in now])

    def editors(self, slug: str) -> list[dict[str, Any]]:
        """Who edits what on `slug` now, over every process: what a console gets at connect."""
        return [editing.as_json() for editing in self._shown.get(slug, ())]


def _parse_liveblogs(value: Any) -> dict[str, frozenset[Editing]] | None:
    if not isinstance(value, dict) or len(value) > LIVEBLOGS_MAX:
        return None
    parsed: dict[str, frozenset[Editing]] = {}
    for slug, rows in value.items():
        if not isinstance(rows, list) or len(rows) > EDITORS_MAX:
            return None
        found = set()
        for row in rows:
            editing = _parse_row(row)
            if editing is None:
                return None
            found.add(editing)
        parsed[str(slug)] = frozenset(found)
    return parsed


def _parse_row(row: Any) -> Editing | None:
    if not (isinstance(row, list) and len(row) == 4):
        return None
    kind, id_, user, name = row
    if kind not in KINDS or not (_positive(id_) and _positive(user)):
        return None
    if not isinstance(name, str) or len(name) > NAME_MAX:
        return None
    return Editing(kind, id_, user, name)


def _positive(value: Any) -> bool:
    return type(value) is int and 0 < value < 1 << 53
