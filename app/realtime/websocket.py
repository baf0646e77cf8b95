"""The readers' WebSocket: `GET /ws/liveblogs/{slug}?since=SEQ&epoch=EPOCH`.

Per connection: join the liveblog's channel (live events start being held), take one snapshot
of what changed after `since`, send hello + that catch-up, then start the reader from the
snapshot's head: held events after it go out, and so does every later one. Joining before the
snapshot and skipping held events the snapshot already covered is what makes the hand-over
gap-free and duplicate-free. After that the handler only waits for the connection to end: the
hub writes to the reader's sink itself (reader.py).

Before any of that, the upgrade is admitted or refused with an HTTP answer, so a refusal costs
no reader state and no catch-up read: an Origin outside LIVEBLOG_ALLOWED_ORIGINS (403), an
address over its upgrade rate or socket count (429), a process at LIVEBLOG_MAX_READERS (503).
An upgrade to a path with no socket at all is refused the same way, 404 (web/sockets.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections import Counter
from collections.abc import Callable
from functools import partial

from fastapi import WebSocket, WebSocketDisconnect

from app import logs, metrics
from app.domain.model import EPOCH_MAX, SLUG_RE
from app.domain.protocol import CLOSE_REASON, CloseCode, hello, resync
from app.domain.resume import Resume, catch_up
from app.errors import TooManyRequests, problem
from app.ratelimit import UPGRADES, RateLimit, client_address
from app.realtime.catchup import CatchUpReads
from app.realtime.hub import FetchChanges, Hub, UnknownLiveblog
from app.realtime.reader import Reader
from app.realtime.sinks import AsgiSink, Sink
from app.serving import direct
from app.serving.http_protocol import OpeningBudget
from app.settings import Settings

log = logging.getLogger(__name__)


# Seconds a reader turned away (process full, or its address holding too many sockets) should
# wait before trying again.
FULL_RETRY_AFTER_SECONDS = 5
# Seconds between the info lines that sum up readers' connects and closes (each is at debug).
SUMMARY_SECONDS = 60.0
# The close code of a connection that ended without a close frame (RFC 6455, 7.1.5).
ABNORMAL_CLOSURE = 1006


def parse_since(raw: str | None) -> int | None:
    """`since` is absent (live from now) or a non-negative integer; raises ValueError otherwise."""
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()):
        raise ValueError(raw)
    return int(raw)


def parse_epoch(raw: str | None) -> str | None:
    """`epoch` is absent (trust `since` as of the current epoch) or at most EPOCH_MAX
    characters; raises ValueError otherwise. Any other value is simply not the current one."""
    if raw is None or raw == "":
        return None
    if len(raw) > EPOCH_MAX:
        raise ValueError(raw)
    return raw


class LiveConnections:
    """Serves reader WebSockets; built once in the lifespan."""

    def __init__(
        self,
        fetch: FetchChanges,
        hub: Hub,
        settings: Settings,
        capacity: int,
        openings: OpeningBudget,
    ) -> None:
        self._catch_up = CatchUpReads(fetch)  # the bounded read the hub fills gaps with
        self._hub = hub
        self._queue_size = settings.reader_queue_size
        self._slow_close_timeout = settings.slow_reader_close_timeout
        self._direct_writes = settings.ws_direct_writes
        self._origins = settings.reader_origins
        self.capacity = capacity
        self.readers = 0  # reader sockets open in this process
        self._by_address: dict[str, int] = {}  # ... per client address (client_address)
        self._per_address = settings.max_sockets_per_address
        self._upgrades = RateLimit(
            UPGRADES, settings.upgrade_rate, settings.upgrade_burst, prefix=settings.broker_channel
        )
        self._openings = openings  # this server's budget of connection openings per address
        self._log = ReaderLog(lambda: self.readers)

    @property
    def full(self) -> bool:
        return self.readers >= self.capacity

    async def _admit(
        self, websocket: WebSocket, address: str
    ) -> tuple[int, str, dict[str, str] | None] | None:
        """Why this upgrade is refused (status, detail, headers), or None to accept it.

        Checked before accepting, so a refusal costs no catch-up read and no reader state.
        """
        origin = websocket.headers.get("origin")
        if self._origins and origin is not None and origin not in self._origins:
            return 403, f"Origin {origin!r} may not open reader sockets.", None
        try:
            await self._upgrades.check(address)
        except TooManyRequests as refused:
            # Over its upgrade budget: the refused upgrade costs its address one more connection
            # opening, so a storm of them is soon refused at accept (app/serving/http_protocol.py).
            self._openings.spend(address, force=True)
            return 429, refused.detail, refused.headers
        if self._by_address.get(address, 0) >= self._per_address:
            return (
                429,
                f"This address holds {self._per_address} reader sockets already "
                "(LIVEBLOG_MAX_SOCKETS_PER_ADDRESS).",
                {"Retry-After": str(FULL_RETRY_AFTER_SECONDS)},
            )
        if self.full:
            # A full process keeps file descriptors for the REST API, /healthz and the
            # readers it has; the client retries elsewhere or later.
            return (
                503,
                f"This server holds its maximum of {self.capacity} readers; retry shortly.",
                {"Retry-After": str(FULL_RETRY_AFTER_SECONDS)},
            )
        return None

    def _opened(self, address: str) -> None:
        self.readers += 1
        self._by_address[address] = self._by_address.get(address, 0) + 1

    def _closed(self, address: str) -> None:
        self.readers -= 1
        left = self._by_address[address] - 1
        if left:
            self._by_address[address] = left
        else:
            del self._by_address[address]

    async def serve(self, websocket: WebSocket, slug: str) -> None:
        address = client_address(websocket.client.host if websocket.client else None)
        refusal = await self._admit(websocket, address)
        if refusal is not None:
            self._log.refused(refusal[0])
            await refuse(websocket, *refusal)
            return
        self._opened(address)
        request_id = logs.REQUEST_ID.get()
        try:
            await websocket.accept()
            self._log.connected(slug, request_id)
            since = parse_since(websocket.query_params.get("since"))
            epoch = parse_epoch(websocket.query_params.get("epoch"))
        except ValueError:
            self._closed(address)
            with contextlib.suppress(*GONE, RuntimeError):
                await self._close(websocket, CloseCode.BAD_REQUEST)
            self._log.closed(slug, CloseCode.BAD_REQUEST, request_id)
            return
        except BaseException:
            self._closed(address)
            raise
        reader = Reader(self._sink(websocket), self._queue_size, self._slow_close_timeout)
        detached = False
        code: int | None = None  # the close code, where this handler knows it
        try:
            if not SLUG_RE.match(slug):
                raise UnknownLiveblog(slug)  # cannot exist: not worth a query
            channel = await self._hub.join(slug, reader)
            assert channel.last_seq is not None  # known once joined
            detached, code = await self._stream(
                websocket, slug, (since, epoch), reader, (channel.epoch, channel.last_seq), address
            )
        except UnknownLiveblog:
            code = CloseCode.NOT_FOUND
            with contextlib.suppress(*GONE, RuntimeError):  # the reader may have gone already
                await self._close(websocket, code)
        except GONE:
            pass  # the reader went away mid-send
        except Exception:
            log.exception("serving a reader of %s failed", slug)
            code = CloseCode.INTERNAL_ERROR
            with contextlib.suppress(Exception):
                await self._close(websocket, code)
        finally:
            if not detached:
                self._leave(slug, reader, address, request_id, code)

    async def _stream(
        self,
        websocket: WebSocket,
        slug: str,
        since: tuple[int | None, str | None],
        reader: Reader,
        joined_at: tuple[str | None, int],
        address: str,
    ) -> tuple[bool, int | None]:
        """Catch the reader up and start it. Returns True if its sink now owns the connection
        (else False), and the close code if the connection ended here with a known one."""
        # A client that reset right after its upgrade (a storm of them, say) costs no catch-up:
        # none is started for it, and one it was waiting for is dropped unsent.
        if reader.sink.gone():
            return False, None
        changes = await self._catch_up.read(slug, *since, at_least=joined_at)
        if reader.sink.gone():
            return False, None
        if changes is None:  # deleted between join and snapshot
            await self._close(websocket, CloseCode.NOT_FOUND)
            return False, CloseCode.NOT_FOUND
        epoch, head, decision = changes.liveblog.epoch, changes.head, changes.decision
        await websocket.send_text(hello(slug, head, epoch))
        if decision is Resume.REPLAY:
            metrics.CATCHUPS.inc()
        elif decision is not Resume.LIVE:
            metrics.RESYNCS.labels(decision.value).inc()
        for event in catch_up(
            decision, changes.events, lambda: resync(slug, head, epoch, decision)
        ):
            await websocket.send_text(event.frame)

        del changes  # a catch-up can be large; the reader may stay for hours
        reader.start(head)
        # From here the hub writes to the reader's sink; nothing is left for this handler to
        # do. A direct sink lets it return (no task or stack frames kept per idle reader) and
        # reports the end of the connection itself (logged outside this request's context, so
        # the request id goes along).
        if reader.sink.detach(partial(self._leave, slug, reader, address, logs.REQUEST_ID.get())):
            return True, None
        return False, await _until_disconnect(websocket)

    def _leave(
        self,
        slug: str,
        reader: Reader,
        address: str,
        request_id: str | None,
        code: int | None = None,
    ) -> None:
        self._closed(address)
        self._hub.leave(slug, reader)
        self._log.closed(slug, code if code is not None else _ended_with(reader), request_id)

    def _sink(self, websocket: WebSocket) -> Sink:
        offered = websocket.scope.get("extensions", {}).get(direct.EXTENSION)
        if offered is not None and self._direct_writes:
            sink: Sink = offered["sink"]
            return sink
        return AsgiSink(websocket)

    @staticmethod
    async def _close(websocket: WebSocket, code: CloseCode) -> None:
        await websocket.close(code, CLOSE_REASON[code])


# What sending to a reader that has gone raises: the transport's error, or Starlette's
# translation of it (not an OSError). A close may also meet Starlette's RuntimeError for a
# socket it already knows is closed.
GONE = (OSError, WebSocketDisconnect)


async def refuse(
    websocket: WebSocket, status: int, detail: str, headers: dict[str, str] | None = None
) -> None:
    """Refuse the upgrade itself with an HTTP problem (where the server lets the app answer
    the handshake; otherwise a close before accepting, which is a bare 403)."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(problem(status, detail, headers=headers))
    else:
        await websocket.close(CloseCode.POLICY_VIOLATION)


async def _until_disconnect(websocket: WebSocket) -> int:
    """Consume (and ignore) what the reader sends, until it goes away; returns the close code."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            code: int = message.get("code", ABNORMAL_CLOSURE)
            return code


def _ended_with(reader: Reader) -> int:
    """The close code a reader's connection ended with: that of the first close frame, sent or
    received; ABNORMAL_CLOSURE if there was none (or the ASGI path cannot tell)."""
    if reader.too_slow:
        return CloseCode.SLOW_READER
    sink = reader.sink
    if isinstance(sink, direct.DirectSink):
        code = sink.close_code()
        if code is not None:
            return code
    return ABNORMAL_CLOSURE


class ReaderLog:
    """Readers coming and going: each connect and close at debug (with its close code), and
    at info a line a minute that sums them up, per close code.

    A summary is a few counters and one timer, started by the first connect, close or refusal
    after a quiet spell: no task, and no line for a minute in which nothing happened.
    """

    def __init__(self, open_readers: Callable[[], int], every: float = SUMMARY_SECONDS) -> None:
        self._open_readers = open_readers
        self._every = every
        self._connected = 0
        self._closed: Counter[int] = Counter()
        self._refused: Counter[int] = Counter()  # by HTTP status of the refusal
        self._timer: asyncio.TimerHandle | None = None

    def connected(self, slug: str, request_id: str | None) -> None:
        self._connected += 1
        self._count()
        log.debug(
            "reader of %s connected",
            slug,
            extra={"liveblog": slug, "request_id": request_id},
        )

    def closed(self, slug: str, code: int, request_id: str | None) -> None:
        self._closed[code] += 1
        self._count()
        log.debug(
            "reader of %s closed with %d",
            slug,
            code,
            extra={"liveblog": slug, "close_code": code, "request_id": request_id},
        )

    def refused(self, status: int) -> None:
        """An upgrade refused with an HTTP `status`; uvicorn logs each one (at debug)."""
        self._refused[status] += 1
        self._count()

    def _count(self) -> None:
        if self._timer is None:
            # In a context of its own: the summary belongs to no request.
            self._timer = asyncio.get_running_loop().call_later(
                self._every, self.summarize, context=contextvars.Context()
            )

    def summarize(self) -> None:
        """Log what happened since the last summary, and start counting afresh."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        connected, closed, refused = self._connected, self._closed, self._refused
        self._connected, self._closed, self._refused = 0, Counter(), Counter()
        log.info(
            "readers in the last %.0f s: %d connected, %d closed%s, %d refused%s; %d open",
            self._every,
            connected,
            closed.total(),
            _by_code(closed),
            refused.total(),
            _by_code(refused),
            self._open_readers(),
            extra={
                "connected": connected,
                "closed": {str(code): n for code, n in sorted(closed.items())},
                "refused": {str(status): n for status, n in sorted(refused.items())},
                "readers_open": self._open_readers(),
            },
        )


def _by_code(counts: Counter[int]) -> str:
    """` (1000: 5, 4408: 1)`, or nothing."""
    if not counts:
        return ""
    return " (" + ", ".join(f"{code}: {n}" for code, n in sorted(counts.items())) + ")"
