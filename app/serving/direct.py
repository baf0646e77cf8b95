"""uvicorn's sans-I/O WebSocket protocol, plus direct writes for the fan-out.

ASGI gives an application one way to send: `await send({...})` per frame per connection, which
for a broadcast means a dict, a coroutine and a flow-control wait per reader. `liveblog serve`
runs uvicorn with this subclass instead of its default (`websockets-sansio`); it behaves exactly
the same, and it also offers itself in the scope's extensions as a `Sink` (realtime/sinks.py),
so the hub can write an already-framed message straight to each reader's transport.

A reader's handler does not even have to stay: once its catch-up is sent, it *detaches* the
connection (`DirectSink.detach`) and returns. The connection then lives on in this protocol
alone, with its pings, its closing handshake and uvicorn's shutdown (1012) as usual, and the
hub is told when it ends. An idle reader costs no task and no stack frames; what readers send
is discarded, as the protocol says it may be (domain/protocol.py).

Why it is safe to write beside the protocol: uvicorn flushes the sans-I/O protocol's output to
the transport as soon as it is produced, and every `transport.write` here is one whole frame, so
frames never interleave. We only write while the connection is open and no close was sent, and
we never compress (`ws_per_message_deflate=False`), so the frames need no per-connection state.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import HTTPConnection
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame
from websockets.http11 import Request

from app import metrics
from app.domain.protocol import (
    CLOSE_REASON,
    READER_SEND_BUDGET,
    READER_SEND_WINDOW_SECONDS,
    CloseCode,
    Outgoing,
)

# Seconds a reader closed for what it sent has before it is cut: long enough for the close frame
# to leave, too short to keep parsing what it goes on sending (reading is paused meanwhile).
POLICY_CLOSE_TIMEOUT = 0.1
# Seconds a reader gets at shutdown to take its close frame (1012) before it is cut: a reader
# that stopped reading would otherwise hold the process until the graceful timeout.
SHUTDOWN_DRAIN_SECONDS = 1.0

# The scope["extensions"] key under which the connection offers itself as a DirectSink.
EXTENSION = "liveblog.direct_writes"


class DirectWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn `ws=` protocol class; see the module docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sink: DirectSink | None = None
        self.on_gone: Callable[[], None] | None = None  # set when detached
        self.can_write = True  # as `writable`, without an Event's method call on the hot path
        self.sent = _Allowance()  # what the reader has sent this minute

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        # The ASGI task was created but has not run yet: the extension is there before it looks.
        if self.handshake_initiated and self.response.status_code == 101:
            self.sink = DirectSink(self)
            self.scope["extensions"][EXTENSION] = {"sink": self.sink, "allowance": self.sent}

    def pause_writing(self) -> None:
        super().pause_writing()
        self.can_write = False

    def resume_writing(self) -> None:
        super().resume_writing()
        self.can_write = True
        if self.sink is not None and self.sink.on_ready is not None:
            self.sink.on_ready()

    def shutdown(self) -> None:
        # uvicorn sends 1012 and closes the transport, and a close waits for the write buffer
        # to drain, which a stalled reader's never does: cut those after a short while.
        super().shutdown()
        self.loop.call_later(SHUTDOWN_DRAIN_SECONDS, self._cut_if_open)

    def _cut_if_open(self) -> None:
        if not self.disconnected:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.sink is not None:
            self.sink.on_ready = None  # break the cycle with the reader at once
        super().connection_lost(exc)
        on_gone, self.on_gone = self.on_gone, None
        if on_gone is not None:
            on_gone()

    # What a reader sends is charged against its allowance before anything is done with it.

    def handle_text(self, event: Frame) -> None:
        if self._allowed(frames=1, size=len(event.data)):
            super().handle_text(event)

    def handle_bytes(self, event: Frame) -> None:
        if self._allowed(frames=1, size=len(event.data)):
            super().handle_bytes(event)

    def handle_cont(self, event: Frame) -> None:
        if self._allowed(frames=1, size=len(event.data)):
            super().handle_cont(event)

    def handle_ping(self) -> None:
        if self._allowed(pings=1):
            super().handle_ping()

    def handle_pong(self, event: Frame) -> None:
        # A reader's pongs answer our pings (one each LIVEBLOG_WS_PING_INTERVAL); unasked-for
        # ones count against the same allowance as pings.
        if self._allowed(pings=1):
            super().handle_pong(event)

    def _allowed(self, *, frames: int = 0, size: int = 0, pings: int = 0) -> bool:
        if self.sent.spend(self.loop.time(), frames, size, pings):
            return True
        reason = CLOSE_REASON[CloseCode.POLICY_VIOLATION]
        metrics.READERS_DROPPED.labels("policy").inc()
        self.close_now(CloseCode.POLICY_VIOLATION, reason, POLICY_CLOSE_TIMEOUT, listen=False)
        return False

    async def send(self, message: Any) -> None:
        # A reader closed by the fan-out or for what it sent while its handler was still
        # sending the catch-up: it has gone as far as the handler is concerned.
        if message["type"] == "websocket.send" and self.close_sent:
            raise ClientDisconnected
        await super().send(message)

    def close_now(self, code: int, reason: str, timeout: float, *, listen: bool = True) -> None:
        """Send a close frame now; cut the connection if the peer does not answer in `timeout` s.

        Unlike uvicorn's own close (which waits for the buffer to drain), this one aborts: it is
        used for readers that stopped reading, whose buffers may never drain, and for readers
        that send what they should not (`listen=False`: nothing more is read from them).
        """
        transport = self.transport
        if self.close_sent or self.disconnected or transport.is_closing():
            return
        # What uvicorn does for an ASGI `websocket.close`, minus the await.
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        self.conn.send_close(code, reason)
        transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        if not listen:
            self.read_paused = True
            transport.pause_reading()
        elif self.read_paused:
            self.read_paused = False
            transport.resume_reading()  # to see the peer's answering close frame
        self.close_timer = self.loop.call_later(timeout, transport.abort)

    def send_receive_event_to_app(self) -> None:
        if self.on_gone is None:
            super().send_receive_event_to_app()
        else:
            self.frames = []  # detached: no app is listening, and reading must not pause

    async def run_asgi(self) -> None:
        """As uvicorn's, except that a detached connection stays open when the app returns."""
        try:
            result = await self.app(self.scope, self.receive, self.send)
        except ClientDisconnected:
            pass
        except BaseException:
            self.logger.exception("Exception in ASGI application\n")
            self.send_500_response()
        else:
            # A refusal sent as an HTTP response (403, 429, 503) completes no handshake either.
            if not self.handshake_complete and self.initial_response is None:
                self.logger.error("ASGI callable returned without completing handshake.")
                self.send_500_response()
            elif result is not None:
                self.logger.error("ASGI callable should return None, but returned %r.", result)
        if self.on_gone is not None:
            self._forget_request()
        elif self.close_timer is None:
            self.transport.close()

    def _forget_request(self) -> None:
        """The app is done with this detached connection: drop what only it used.

        The scope (with the framework's per-request state), the handshake and the ASGI
        receive queue are a third of an idle reader's memory, and only `send`/`receive` touch
        them, which nobody calls any more.
        """
        del self.scope, self.request, self.response
        self.queue = _DISCARD  # type: ignore[assignment]

    def _detach(self, on_gone: Callable[[], None]) -> bool:
        if self.disconnected or self.close_sent or self.transport.is_closing():
            return False
        self.on_gone = on_gone
        if self.read_paused:
            # uvicorn paused reading for a message the app never read; nobody will read now,
            # and pongs (and what the send budget must see) have to keep coming in.
            self.read_paused = False
            self.transport.resume_reading()
        return True


def set_send_budget(connection: HTTPConnection, budget: Mapping[str, int]) -> None:
    """Let this connection send `budget` per window instead of READER_SEND_BUDGET: for sockets
    that are not readers' and have messages to send (the console's). No effect without this
    protocol (that edge then enforces its own limits alone)."""
    offered = connection.scope.get("extensions", {}).get(EXTENSION)
    if offered is not None:
        allowance: _Allowance = offered["allowance"]
        allowance.budget = budget


class _Allowance:
    """What one reader has sent in the current window (a fixed minute: cheap, and a flood is
    over the budget within its first frames anyway)."""

    __slots__ = ("budget", "bytes", "frames", "pings", "started")

    def __init__(self) -> None:
        self.budget: Mapping[str, int] = READER_SEND_BUDGET
        self.started = 0.0
        self.frames = self.bytes = self.pings = 0

    def spend(self, now: float, frames: int, size: int, pings: int) -> bool:
        """Charge what arrived; False once the connection is over its budget."""
        if now - self.started >= READER_SEND_WINDOW_SECONDS:
            self.started, self.frames, self.bytes, self.pings = now, 0, 0, 0
        self.frames += frames
        self.bytes += size
        self.pings += pings
        budget = self.budget
        return (
            self.frames <= budget["frames"]
            and self.bytes <= budget["bytes"]
            and self.pings <= budget["pings"]
        )


class _Discard:
    """Stands in for the ASGI receive queue of a detached connection: nobody reads it."""

    def put_nowait(self, _message: object) -> None:
        pass


_DISCARD = _Discard()


class DirectSink:
    """A `Sink` (realtime/sinks.py) that writes to one connection's transport."""

    __slots__ = ("_connection", "on_ready")

    def __init__(self, connection: DirectWebSocketProtocol) -> None:
        self._connection = connection
        self.on_ready: Callable[[], None] | None = None

    def ready(self) -> bool:
        # The hot path: called once per reader per event. Every way uvicorn ends a connection
        # (peer close, ping timeout, protocol error, shutdown) closes the transport, so
        # `is_closing()` covers them; `close_sent` covers our own close.
        connection = self._connection
        return (
            connection.can_write
            and not connection.close_sent
            and not connection.transport.is_closing()
        )

    def gone(self) -> bool:
        connection = self._connection
        return connection.disconnected or connection.close_sent or connection.transport.is_closing()

    def close_code(self) -> int | None:
        """The code of the connection's first close frame, sent or received; None if none."""
        ws = self._connection.conn
        first = ws.close_rcvd if ws.close_rcvd_then_sent else ws.close_sent or ws.close_rcvd
        return int(first.code) if first is not None else None

    def send(self, message: Outgoing) -> None:
        self._connection.transport.write(message.wire)

    def close(self, code: int, reason: str, timeout: float) -> None:
        self._connection.close_now(code, reason, timeout)

    def detach(self, on_gone: Callable[[], None]) -> bool:
        return self._connection._detach(on_gone)
