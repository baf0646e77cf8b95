"""Where a reader's frames go: the socket, reached directly or through ASGI.

A `Sink` takes one frame at a time and says whether it can take the next one right away. The
reader (reader.py) keeps the backlog and decides when a reader is too slow; a sink only writes.

- `DirectSink` (serving/direct.py) writes to the connection's transport from the fan-out loop
  itself: no task, no await, no per-reader copy. That is what makes fan-out to thousands of
  readers cost about what `websockets.broadcast()` costs. It needs `liveblog serve`, which runs
  uvicorn with the protocol that provides it.
- `AsgiSink` works on any ASGI server: one `send` in flight per reader, as a task. Same
  guarantees, more CPU per frame; used when the direct path is not offered or is turned off
  (`LIVEBLOG_WS_DIRECT_WRITES=false`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Protocol

from fastapi import WebSocket

from app.domain.protocol import Outgoing


class Sink(Protocol):
    # Called when a sink that was not ready becomes ready again.
    on_ready: Callable[[], None] | None

    def ready(self) -> bool:
        """True if `send` would hand the frame to the socket now, without queueing it."""
        ...

    def gone(self) -> bool:
        """True if the connection has already ended (False when the sink cannot tell)."""
        ...

    def send(self, message: Outgoing) -> None:
        """Hand `message` to the socket. Never blocks; only called when `ready()`."""
        ...

    def close(self, code: int, reason: str, timeout: float) -> None:
        """Start the closing handshake; the connection is cut if it takes over `timeout` s."""
        ...

    def detach(self, on_gone: Callable[[], None]) -> bool:
        """Take over the connection's lifetime, so the endpoint's handler can return.

        `on_gone` runs once the connection has ended. False if this sink cannot (the handler
        must then stay until the reader disconnects) or the connection has already ended.
        """
        ...


class AsgiSink:
    """A sink over the ASGI `send`: at most one frame in flight, sent by a short-lived task."""

    __slots__ = ("_busy", "_websocket", "on_ready")

    def __init__(self, websocket: WebSocket) -> None:
        self.on_ready: Callable[[], None] | None = None
        self._websocket = websocket
        self._busy: asyncio.Task[None] | None = None

    def ready(self) -> bool:
        return self._busy is None

    def gone(self) -> bool:
        return False  # through ASGI a disconnect is only learnt by receiving it

    def send(self, message: Outgoing) -> None:
        self._busy = asyncio.create_task(self._send(message.text))

    async def _send(self, text: str) -> None:
        try:
            await self._websocket.send_text(text)
        except (OSError, RuntimeError):
            return  # the reader left; the endpoint's receive loop sees the disconnect
        self._busy = None
        if self.on_ready is not None:
            self.on_ready()

    def close(self, code: int, reason: str, timeout: float) -> None:
        if self._busy is not None:
            self._busy.cancel()  # it may be stuck in a send the peer never takes
        self._busy = asyncio.create_task(self._close(code, reason, within=timeout))

    def detach(self, on_gone: Callable[[], None]) -> bool:
        return False  # ASGI ends the connection when the handler returns

    async def _close(self, code: int, reason: str, within: float) -> None:
        # Plain ASGI cannot cut a connection; a peer that never reads keeps it until TCP gives
        # up. The direct sink aborts instead.
        with contextlib.suppress(TimeoutError, OSError, RuntimeError):
            await asyncio.wait_for(self._websocket.close(code, reason), within)
