"""The readers' WebSocket: `GET /ws/liveblogs/{slug}?since=SEQ`.

Per connection: join the liveblog's channel (live events start queueing), take one snapshot of
what changed after `since`, send hello + that catch-up, then let the reader's sender drain the
queue from the snapshot's head on. Joining before the snapshot and skipping queued events the
snapshot already covered is what makes the hand-over gap-free and duplicate-free.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import APIRouter, WebSocket

from app.domain.resume import Resume
from app.realtime.hub import FetchChanges, Hub, UnknownLiveblog
from app.realtime.protocol import CLOSE_REASON, CloseCode, hello, resync
from app.realtime.reader import Reader
from app.settings import Settings

log = logging.getLogger(__name__)

router = APIRouter()


def parse_since(raw: str | None) -> int | None:
    """`since` is absent (live from now) or a non-negative integer; raises ValueError otherwise."""
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise ValueError(raw)
    return int(raw)


class LiveConnections:
    """Serves reader WebSockets; built once in the lifespan."""

    def __init__(self, fetch: FetchChanges, hub: Hub, settings: Settings) -> None:
        self._fetch = fetch  # the same bounded catch-up read the hub fills gaps with
        self._hub = hub
        self._queue_size = settings.reader_queue_size
        self._slow_close_timeout = settings.slow_reader_close_timeout

    async def serve(self, websocket: WebSocket, slug: str) -> None:
        await websocket.accept()
        try:
            since = parse_since(websocket.query_params.get("since"))
        except ValueError:
            await self._close(websocket, CloseCode.BAD_REQUEST)
            return
        reader = Reader(websocket.send_text, self._queue_size)
        try:
            await self._hub.join(slug, reader)
            await self._stream(websocket, slug, since, reader)
        except UnknownLiveblog:
            await self._close(websocket, CloseCode.NOT_FOUND)
        except OSError:
            pass  # the reader went away mid-send (Starlette's WebSocketDisconnect is an OSError)
        except Exception:
            log.exception("serving a reader of %s failed", slug)
            with contextlib.suppress(Exception):
                await self._close(websocket, CloseCode.INTERNAL_ERROR)
        finally:
            self._hub.leave(slug, reader)

    async def _stream(
        self, websocket: WebSocket, slug: str, since: int | None, reader: Reader
    ) -> None:
        changes = await self._fetch(slug, since)
        if changes is None:  # deleted between join and snapshot
            await self._close(websocket, CloseCode.NOT_FOUND)
            return
        await websocket.send_text(hello(slug, changes.head))
        if changes.decision is Resume.REPLAY:
            for event in changes.events:
                await websocket.send_text(event.frame)
        elif changes.decision is not Resume.LIVE:
            await websocket.send_text(resync(slug, changes.head, changes.decision).frame)

        sender = reader.start(changes.head)
        receiver = asyncio.create_task(_until_disconnect(websocket))
        try:
            await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sender, receiver):
                task.cancel()
            for task in (sender, receiver):
                with contextlib.suppress(asyncio.CancelledError, OSError):
                    await task
        if reader.too_slow:
            log.info("closing slow reader of %s", slug)
            with contextlib.suppress(TimeoutError, OSError):
                # A reader that stopped reading cannot take even the close frame; give it a
                # moment, then let the server cut the connection.
                await asyncio.wait_for(
                    self._close(websocket, CloseCode.SLOW_READER), self._slow_close_timeout
                )

    @staticmethod
    async def _close(websocket: WebSocket, code: CloseCode) -> None:
        await websocket.close(code, CLOSE_REASON[code])


async def _until_disconnect(websocket: WebSocket) -> None:
    """Consume (and ignore) what the reader sends, until it goes away."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return


@router.websocket("/ws/liveblogs/{slug}")
async def liveblog_socket(websocket: WebSocket, slug: str) -> None:
    connections: LiveConnections = websocket.app.state.live
    await connections.serve(websocket, slug)
