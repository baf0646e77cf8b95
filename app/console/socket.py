"""The console's own WebSocket: `GET /console/liveblogs/{slug}/socket`, session-authenticated.

It tells every signed-in editor watching a liveblog that its list changed (an entry event from
any process, or a draft change announced through the broker), how many readers it has now, who
is editing what, and how many readers each entry reached. On reconnect the console reloads its
list: the list is small, and a reload cannot miss anything.

Server to console (JSON text messages):

- `{"type": "hello", "user": 3, "name": "Ed Second"}`: first, at connect: who this socket is
  signed in as (so the console can tell its own editing apart from others').
- `{"type": "readers", "count": N}`: at connect, then every READERS_EVERY_SECONDS.
- `{"type": "editors", "editing": [{"entry": 12, "user": 3, "name": "Ed Second"},
  {"draft": 7, "user": 5, "name": "Al"}, ...]}`: the full list for this liveblog over every
  process (console/editing.py), at connect and whenever it changes; [] when nobody edits.
- `{"type": "receipts", "receipts": [{"entry": 12, "seq": 40, "readers": 5, "p99_ms": 3.2},
  ...]}`: delivery receipts (realtime/receipts.py), the latest seq of each entry only (an edit
  is an event of its own). At connect those known (if any); then those that grew, at most one
  message per RECEIPTS_EVERY_SECONDS. `p99_ms` is null when no latency was sampled.
- `{"type": "changed", "seq": N}`: reload the list; `seq` is the liveblog's, or absent for a
  draft change.

Console to server: only `{"type": "editing", "entry": ID}` or `{"type": "editing", "draft": ID}`
(ID a positive integer: opened in the edit form) and the same with null (saved, cancelled or
switched; clears whatever this socket had open). One socket edits one thing at a time; closing
the socket clears it too. Any other well-sized text message is ignored (a newer console may say
more). A message over INCOMING_MAX_BYTES closes the socket with 1009; more than INCOMING_BURST
messages at once, or over INCOMING_PER_SECOND sustained, with 1008.

Admission: the Origin must be the console's (a page elsewhere cannot open it with the cookie),
and the session must be live. A disabled user's sockets close at once on every process (a
control message), and every RECHECK_SECONDS each process re-checks each socket's own session
(ended by sign-out or expiry, or its user disabled from the CLI with the in-process broker).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from app.auth.sessions import ConsoleSession, Sessions
from app.broker.base import Control
from app.console.deps import console_origin, cookie_name
from app.console.editing import Editing, EditorPresence
from app.domain.model import SLUG_RE
from app.realtime.presence import ReaderPresence
from app.realtime.receipts import ReceiptLedger
from app.serving import direct
from app.state import console_sockets_of

log = logging.getLogger(__name__)

router = APIRouter(prefix="/console")

READERS_EVERY_SECONDS = 2.0
RECHECK_SECONDS = 4.0  # every other readers tick
# Close codes (4000-4999: ours). 4401: signed out or disabled; 4403: another origin.
CLOSE_SIGNED_OUT = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_MANY = 4429
# What the console sends: over INCOMING_MAX_BYTES (1009), or faster than allowed (1008).
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
# Console tabs one session may hold open in one process: a journalist has a few, not hundreds.
MAX_PER_SESSION = 20
# Messages queued for one console before it counts as gone: a console that cannot take a
# few "changed" pings is not reading them.
QUEUE_MAX = 64
# Receipts that grew go to a liveblog's consoles at most this often, together in one message.
RECEIPTS_EVERY_SECONDS = 1.0

# Limits on what a console sends. Its only message, "editing", is under 60 bytes, and a
# journalist opens or closes the edit form a few times a minute: a burst of INCOMING_BURST (a
# fast clicker), refilled at INCOMING_PER_SECOND, is already far more than a person sends.
INCOMING_MAX_BYTES = 512
INCOMING_BURST = 20
INCOMING_PER_SECOND = 2.0
# What `liveblog serve`'s WebSocket protocol lets a console connection send per minute before
# it cuts it (serving/direct.py; readers get READER_SEND_BUDGET, which counts no "editing"
# messages): above the limits just given, so those are the ones that bite, with their reasons.
PROTOCOL_SEND_BUDGET = {"frames": 600, "bytes": 600 * INCOMING_MAX_BYTES, "pings": 60}


@dataclass(eq=False)
class _Console:
    user_id: int
    session_id: int
    slug: str
    name: str  # the user's display name, as other editors see it
    queue: asyncio.Queue[dict[str, object] | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_MAX)
    )
    # An "editors" snapshot did not fit the queue: it is sent again on the next tick, since
    # (unlike "changed") nothing else would correct the list this console shows.
    missed_editors: bool = False

    def offer(self, message: dict[str, object] | None) -> None:
        """Queue `message` (None: close, signed out). A full queue drops news of changes (the
        next one reloads the list anyway), never the sign-out."""
        if message is None:
            while not self.queue.empty():
                self.queue.get_nowait()
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            if message is not None and message.get("type") == "editors":
                self.missed_editors = True
        else:
            if message is not None and message.get("type") == "editors":
                self.missed_editors = False


class ConsoleSockets:
    """The console sockets of this process, by liveblog."""

    def __init__(
        self,
        sessions: Sessions,
        presence: ReaderPresence,
        exists: Callable[[str], Awaitable[bool]],
        editors: EditorPresence,
        receipts: ReceiptLedger,
    ) -> None:
        self._sessions = sessions
        self._presence = presence
        self._exists = exists
        self._editors = editors
        self._receipts = receipts
        editors.on_change = self._editors_changed
        receipts.on_grow = self._receipts_grew
        self._by_slug: dict[str, set[_Console]] = {}
        self._per_session: dict[int, int] = {}
        # Per liveblog with consoles here: receipts grown since last sent, when they were last
        # sent (loop time), and the timer that sends them when that was too recent.
        self._grown: dict[str, set[int]] = {}
        self._receipts_sent: dict[str, float] = {}
        self._receipts_timer: dict[str, asyncio.TimerHandle] = {}

    def _broadcast(self, slug: str, message: dict[str, object]) -> None:
        for console in self._by_slug.get(slug, ()):
            console.offer(message)

    def changed(self, slug: str, seq: int | None = None) -> None:
        self._broadcast(slug, {"type": "changed", "seq": seq} if seq else {"type": "changed"})

    def _editors_changed(self, slug: str, editing: list[dict[str, Any]]) -> None:
        self._broadcast(slug, {"type": "editors", "editing": editing})

    def _receipts_grew(self, slug: str, seqs: set[int]) -> None:
        """Send the grown receipts now, or as soon as RECEIPTS_EVERY_SECONDS have passed since
        the last ones, together with any that grow meanwhile."""
        if slug not in self._by_slug:
            return  # nobody here to tell; the ledger keeps them for a console that connects
        self._grown.setdefault(slug, set()).update(seqs)
        if slug in self._receipts_timer:
            return
        loop = asyncio.get_running_loop()
        wait = self._receipts_sent.get(slug, -RECEIPTS_EVERY_SECONDS) + RECEIPTS_EVERY_SECONDS
        wait -= loop.time()
        if wait <= 0:
            self._send_receipts(slug)
        else:
            self._receipts_timer[slug] = loop.call_later(wait, self._send_receipts, slug)

    def _send_receipts(self, slug: str) -> None:
        self._receipts_timer.pop(slug, None)
        grown = self._grown.pop(slug, set())
        receipts = self._receipts.latest(slug, among=grown)
        if receipts:
            self._receipts_sent[slug] = asyncio.get_running_loop().time()
            self._broadcast(slug, {"type": "receipts", "receipts": receipts})

    def on_console_changed(self, message: Control) -> None:
        slug = message.get("liveblog")
        if isinstance(slug, str):
            self.changed(slug)

    def on_user_disabled(self, message: Control) -> None:
        user = message.get("user")
        if isinstance(user, int):
            self._sign_out({user})

    def _sign_out(
        self, user_ids: AbstractSet[int] = frozenset(), sessions: AbstractSet[int] = frozenset()
    ) -> None:
        for consoles in self._by_slug.values():
            for console in consoles:
                if console.user_id in user_ids or console.session_id in sessions:
                    console.offer(None)

    async def run_forever(self) -> None:
        """Every few seconds: the readers count to each console, and re-check their sessions."""
        since_check = 0.0
        while True:
            await asyncio.sleep(READERS_EVERY_SECONDS)
            for slug, consoles in list(self._by_slug.items()):
                message = {"type": "readers", "count": self._presence.count(slug)}
                for console in consoles:
                    console.offer(message)
                    if console.missed_editors:
                        console.offer({"type": "editors", "editing": self._editors.editors(slug)})
            since_check += READERS_EVERY_SECONDS
            if since_check >= RECHECK_SECONDS:
                since_check = 0.0
                await self._recheck()

    async def _recheck(self) -> None:
        """Close the sockets whose own session ended (signed out, expired, user disabled)."""
        held = {c.session_id for consoles in self._by_slug.values() for c in consoles}
        if not held:
            return
        try:
            live = await self._sessions.live(sorted(held))
        except Exception:
            log.exception("re-checking console sessions failed")
            return
        self._sign_out(sessions=held - live)

    def readers(self, slug: str) -> int:
        return self._presence.count(slug)

    def _add(self, console: _Console) -> None:
        self._by_slug.setdefault(console.slug, set()).add(console)
        self._per_session[console.session_id] = self._per_session.get(console.session_id, 0) + 1

    def _remove(self, console: _Console) -> None:
        self._editors.forget(console)
        consoles = self._by_slug.get(console.slug)
        if consoles is not None:
            consoles.discard(console)
            if not consoles:
                del self._by_slug[console.slug]
                self._grown.pop(console.slug, None)
                self._receipts_sent.pop(console.slug, None)
                timer = self._receipts_timer.pop(console.slug, None)
                if timer is not None:
                    timer.cancel()
        left = self._per_session.get(console.session_id, 1) - 1
        if left:
            self._per_session[console.session_id] = left
        else:
            self._per_session.pop(console.session_id, None)

    async def serve(self, websocket: WebSocket, slug: str) -> None:
        origin = websocket.headers.get("origin")
        if origin is None or origin.lower() != console_origin(websocket):
            await websocket.close(CLOSE_FORBIDDEN, "the console's socket opens from its own pages")
            return
        session = await self._sessions.resolve(websocket.cookies.get(cookie_name(websocket)))
        direct.set_send_budget(websocket, PROTOCOL_SEND_BUDGET)  # before it can send anything
        # Accepted, then closed with a code: a refused upgrade reaches the page as a bare
        # 1006, and the console must know to send the journalist to sign in, not to retry.
        await websocket.accept()
        if session is None:
            await websocket.close(CLOSE_SIGNED_OUT, "signed out")
            return
        if not SLUG_RE.match(slug) or not await self._exists(slug):
            await websocket.close(CLOSE_NOT_FOUND, "no such liveblog")
            return
        if self._per_session.get(session.id, 0) >= MAX_PER_SESSION:
            await websocket.close(CLOSE_TOO_MANY, "too many console tabs for one session")
            return
        console = _Console(session.user.id, session.id, slug, session.user.display_name)
        self._add(console)
        self._welcome(console, session)
        listening = asyncio.create_task(self._listen(websocket, console))
        try:
            while True:
                getting = asyncio.ensure_future(console.queue.get())
                done, _ = await asyncio.wait(
                    {getting, listening}, return_when=asyncio.FIRST_COMPLETED
                )
                if listening in done:
                    getting.cancel()
                    refusal = listening.result()
                    if refusal is not None:
                        await websocket.close(*refusal)
                    return
                message = getting.result()
                if message is None:
                    await websocket.close(CLOSE_SIGNED_OUT, "signed out")
                    return
                await websocket.send_json(message)
        except (WebSocketDisconnect, RuntimeError, OSError):
            return
        finally:
            self._remove(console)
            listening.cancel()
            if websocket.application_state is WebSocketState.CONNECTED:
                with contextlib.suppress(Exception):
                    await websocket.close()

    def _welcome(self, console: _Console, session: ConsoleSession) -> None:
        """What a console gets at connect: who it is, and the liveblog's state now."""
        slug = console.slug
        console.offer({"type": "hello", "user": session.user.id, "name": console.name})
        console.offer({"type": "readers", "count": self._presence.count(slug)})
        console.offer({"type": "editors", "editing": self._editors.editors(slug)})
        receipts = self._receipts.latest(slug)
        if receipts:
            console.offer({"type": "receipts", "receipts": receipts})

    async def _listen(self, websocket: WebSocket, console: _Console) -> tuple[int, str] | None:
        """Read what the console sends until it goes (None), or until it breaks the limits:
        then the close code and reason to send."""
        allowance = _Allowance()
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return None
                data = message.get("text")
                if data is None:
                    data = message.get("bytes") or b""
                if len(data) > INCOMING_MAX_BYTES:
                    return CLOSE_TOO_BIG, f"console messages are under {INCOMING_MAX_BYTES} bytes"
                if not allowance.spend(time.monotonic()):
                    return CLOSE_POLICY, "console messages too frequent"
                if isinstance(data, str):
                    self._receive(console, data)
        return None

    def _receive(self, console: _Console, text: str) -> None:
        found = parse_editing(text)
        if found is None:
            return  # not a message of ours: ignored (a newer console may send more)
        kind, target = found
        editing = None if target is None else Editing(kind, target, console.user_id, console.name)
        self._editors.update(console, console.slug, editing)


def parse_editing(text: str) -> tuple[str, int | None] | None:
    """("entry" or "draft", its id or None) from an "editing" message; None if it is not one.

    Exactly `{"type": "editing", "entry": ID | null}` or the same with "draft": no other
    member, an id a positive integer (not a boolean, not a float).
    """
    try:
        message = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(message, dict) or len(message) != 2 or message.get("type") != "editing":
        return None
    for kind in ("entry", "draft"):
        if kind in message:
            target = message[kind]
            if target is None or (type(target) is int and 0 < target < 1 << 53):
                return kind, target
    return None


class _Allowance:
    """A token bucket over what one console sends: INCOMING_BURST at once, refilled at
    INCOMING_PER_SECOND."""

    __slots__ = ("_at", "_tokens")

    def __init__(self) -> None:
        self._tokens = float(INCOMING_BURST)
        self._at = time.monotonic()

    def spend(self, now: float) -> bool:
        self._tokens = min(INCOMING_BURST, self._tokens + (now - self._at) * INCOMING_PER_SECOND)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


@router.websocket("/liveblogs/{slug}/socket")
async def console_socket(websocket: WebSocket, slug: str) -> None:
    await console_sockets_of(websocket).serve(websocket, slug)
