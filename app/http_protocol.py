"""uvicorn's HTTP protocol (httptools), plus deadlines and a cap for plain HTTP connections.

uvicorn closes a keep-alive connection that stays idle after a response, but a connection that
never completes a request (it sends nothing, or trickles its head or body a byte at a time) has
no deadline, and each one holds a file descriptor. Here:

- a request (head and body) must be complete within LIVEBLOG_HTTP_REQUEST_TIMEOUT seconds of
  its first byte, or of the connection opening: otherwise the connection is closed (no
  response: the client was not talking HTTP in earnest);
- at most LIVEBLOG_MAX_HTTP_CONNECTIONS plain HTTP connections are open at once per process
  (readers' upgraded sockets are counted apart, in realtime/websocket.py). When a new one
  arrives at the cap, the oldest connection still sending its request (head or body) is
  closed to make room (a trickling client is the one to go, not a health probe); only if every open
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
    open_count: ClassVar[int] = 0  # plain HTTP connections open in this process
    # Connections still receiving a request (head or body), oldest first (a dict as an
    # ordered set): the ones to close first when the cap is reached.
    receiving: ClassVar[dict[DeadlineHttpProtocol, None]] = {}
    max_open: ClassVar[int] = 768
    request_timeout: ClassVar[float] = 10.0

    @classmethod
    def configure(cls, settings: Settings) -> None:
        cls.max_open = settings.max_http_connections
        cls.request_timeout = settings.http_request_timeout

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._request_timer: asyncio.TimerHandle | None = None
        self._counted = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        cls = DeadlineHttpProtocol
        if cls.open_count >= cls.max_open:
            if not cls.receiving:
                transport.write(_BUSY)
                transport.close()
                return
            oldest = next(iter(cls.receiving))
            oldest._release()  # counted out now: its transport closes on the next loop turn
            oldest.transport.close()
        cls.open_count += 1
        self._counted = True
        self._start_request_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._release()
        super().connection_lost(exc)

    def handle_websocket_upgrade(self) -> None:
        # The socket becomes a reader's, counted by the reader limits from here on.
        self._release()
        super().handle_websocket_upgrade()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._request_timer is None:
            self._start_request_timer()

    def on_message_complete(self) -> None:
        # Head and body are in: from here the request is the server's to answer.
        self._stop_request_timer()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Idle again (no pipelined request started): the next request gets the same deadline.
        idle = self.cycle is None or self.cycle.response_complete
        if idle and not self.transport.is_closing() and self._request_timer is None:
            self._start_request_timer()

    def _start_request_timer(self) -> None:
        self._stop_request_timer()
        self._request_timer = self.loop.call_later(self.request_timeout, self._timed_out)
        DeadlineHttpProtocol.receiving[self] = None

    def _stop_request_timer(self) -> None:
        if self._request_timer is not None:
            self._request_timer.cancel()
            self._request_timer = None
        DeadlineHttpProtocol.receiving.pop(self, None)

    def _timed_out(self) -> None:
        self._request_timer = None
        DeadlineHttpProtocol.receiving.pop(self, None)
        if not self.transport.is_closing():
            self.transport.close()

    def _release(self) -> None:
        self._stop_request_timer()
        if self._counted:
            self._counted = False
            DeadlineHttpProtocol.open_count -= 1
