"""The console's own WebSocket: `GET /console/liveblogs/{slug}/socket`, session-authenticated.

It tells every signed-in editor watching a liveblog that its list changed (an entry event from
any process, or a draft change announced through the broker), and how many readers it has now.
Messages: `{"type": "changed", "seq": N}` (reload the list; `seq` is the liveblog's, or absent
for a draft change) and `{"type": "readers", "count": N}`. On reconnect the console reloads its
list: the list is small, and a reload cannot miss anything.

Admission: the Origin must be the console's (a page elsewhere cannot open it with the cookie),
and the session must be live. A disabled user's sockets close at once on every process (a
control message), and every RECHECK_SECONDS each process re-checks each socket's own session
(ended by sign-out or expiry, or its user disabled from the CLI with the in-process broker).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Set as AbstractSet
from dataclasses import dataclass, field

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.websockets import WebSocketState

from app.auth.sessions import Sessions
from app.broker.base import Control
from app.console.deps import console_origin, cookie_name
from app.domain.model import SLUG_RE
from app.realtime.presence import ReaderPresence

log = logging.getLogger(__name__)

router = APIRouter(prefix="/console")

READERS_EVERY_SECONDS = 2.0
RECHECK_SECONDS = 4.0  # every other readers tick
# Close codes (4000-4999: ours). 4401: signed out or disabled; 4403: another origin.
CLOSE_SIGNED_OUT = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_TOO_MANY = 4429
# Console tabs one session may hold open in one process: a journalist has a few, not hundreds.
MAX_PER_SESSION = 20
# Messages queued for one console before it counts as gone: a console that cannot take a
# few "changed" pings is not reading them.
QUEUE_MAX = 64


@dataclass(eq=False)
class _Console:
    user_id: int
    session_id: int
    slug: str
    queue: asyncio.Queue[dict[str, object] | None] = field(
        default_factory=lambda: asyncio.Queue(QUEUE_MAX)
    )

    def offer(self, message: dict[str, object] | None) -> None:
        """Queue `message` (None: close, signed out). A full queue drops news of changes (the
        next one reloads the list anyway), never the sign-out."""
        if message is None:
            while not self.queue.empty():
                self.queue.get_nowait()
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(message)


class ConsoleSockets:
    """The console sockets of this process, by liveblog."""

    def __init__(
        self,
        sessions: Sessions,
        presence: ReaderPresence,
        exists: Callable[[str], Awaitable[bool]],
    ) -> None:
        self._sessions = sessions
        self._presence = presence
        self._exists = exists
        self._by_slug: dict[str, set[_Console]] = {}
        self._per_session: dict[int, int] = {}

    def changed(self, slug: str, seq: int | None = None) -> None:
        for console in self._by_slug.get(slug, ()):
            console.offer({"type": "changed", "seq": seq} if seq else {"type": "changed"})

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
        consoles = self._by_slug.get(console.slug)
        if consoles is not None:
            consoles.discard(console)
            if not consoles:
                del self._by_slug[console.slug]
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
        console = _Console(session.user.id, session.id, slug)
        self._add(console)
        console.offer({"type": "readers", "count": self._presence.count(slug)})
        listening = asyncio.create_task(self._drain_incoming(websocket))
        try:
            while True:
                getting = asyncio.ensure_future(console.queue.get())
                done, _ = await asyncio.wait(
                    {getting, listening}, return_when=asyncio.FIRST_COMPLETED
                )
                if listening in done:
                    getting.cancel()
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

    @staticmethod
    async def _drain_incoming(websocket: WebSocket) -> None:
        """The console sends nothing; this only notices the close."""
        with contextlib.suppress(WebSocketDisconnect, RuntimeError):
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return


@router.websocket("/liveblogs/{slug}/socket")
async def console_socket(websocket: WebSocket, slug: str) -> None:
    sockets: ConsoleSockets = websocket.app.state.console_sockets
    await sockets.serve(websocket, slug)
