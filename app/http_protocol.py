"""uvicorn's HTTP protocol (httptools), plus deadlines and a cap for plain HTTP connections.

uvicorn closes a keep-alive connection that stays idle after a response, but a connection that
never completes a request head (it sends nothing, or trickles a byte at a time) has no deadline,
and each one holds a file descriptor. Here:

- a request head must be complete within LIVEBLOG_HTTP_HEAD_TIMEOUT seconds of the
  connection opening or of the previous response: otherwise the connection is closed (no
  response: the client was not talking HTTP in earnest);
- at most LIVEBLOG_MAX_HTTP_CONNECTIONS plain HTTP connections are open at once per process
  (readers' upgraded sockets are counted apart, in realtime/websocket.py). When a new one
  arrives at the cap, the oldest connection still waiting for its request head is closed to
  make room (a trickling client is the one to go, not a health probe); only if every open
  connection is busy with a request does the newcomer get a bare 503. So trickling or idle
  connections cannot take the descriptors kept for the REST API, /healthz and the database.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.settings import Settings

_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\nretry-after: 1\r\n"
    b"connection: close\r\ncontent-length: 33\r\n\r\nToo many open connections; retry.\n"
)


class DeadlineHttpProtocol(HttpToolsProtocol):
    """uvicorn `http=` protocol class; see the module docstring."""

    # Per process, like the file descriptors they guard; set from Settings by `configure`.
    open: ClassVar[int] = 0  # plain HTTP connections open in this process
    # Connections waiting for a request head, oldest first (a dict as an ordered set).
    waiting: ClassVar[dict[DeadlineHttpProtocol, None]] = {}
    max_open: ClassVar[int] = 768
    head_timeout: ClassVar[float] = 10.0

    @classmethod
    def configure(cls, settings: Settings) -> None:
        cls.max_open = settings.max_http_connections
        cls.head_timeout = settings.http_head_timeout

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._counted = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if DeadlineHttpProtocol.open >= DeadlineHttpProtocol.max_open:
            waiting = DeadlineHttpProtocol.waiting
            if not waiting:
                transport.write(_BUSY)
                transport.close()
                return
            oldest = next(iter(waiting))
            oldest._release()  # counted out now: its transport closes on the next loop turn
            oldest.transport.close()
        DeadlineHttpProtocol.open += 1
        self._counted = True
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._release()
        super().connection_lost(exc)

    def handle_websocket_upgrade(self) -> None:
        # The socket becomes a reader's, counted by the reader limits from here on.
        self._release()
        super().handle_websocket_upgrade()

    def on_headers_complete(self) -> None:
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Keep-alive: the next request head gets the same deadline (uvicorn's own idle timer
        # only runs until the first byte of it arrives).
        if not self.transport.is_closing():
            self._arm_head_timer()

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_timed_out)
        DeadlineHttpProtocol.waiting[self] = None

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        DeadlineHttpProtocol.waiting.pop(self, None)

    def _head_timed_out(self) -> None:
        self._head_timer = None
        DeadlineHttpProtocol.waiting.pop(self, None)
        if not self.transport.is_closing():
            self.transport.close()

    def _release(self) -> None:
        self._cancel_head_timer()
        if self._counted:
            self._counted = False
            DeadlineHttpProtocol.open -= 1
