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
  connections cannot take the descriptors kept for the REST API, /healthz and the database;
- each client address has a budget of connection openings (`OpeningBudget`), spent at accept,
  before a byte of its request is read: twice the upgrade budget (LIVEBLOG_UPGRADE_RATE and
  LIVEBLOG_UPGRADE_BURST), so the readers behind one address that the upgrade budget lets in
  also have room for their plain HTTP. A connection that ends before a complete request (a
  reset, an abandoned upgrade), and an upgrade refused for the upgrade limit, cost the address
  one opening more. Past the budget a connection is closed as soon as it is accepted, before
  uvicorn sets anything up for it: no parser, no request, no response. A connection the client
  reset while it waited to be accepted (most of a full-speed reset storm) has no peer address
  left and is closed the same way. So a storm of upgrades from one host costs far less than it
  does to send (BENCHMARKS.md, "Under attack"). Connections from
  LIVEBLOG_TRUSTED_PROXIES are not counted here (the client behind is not known until the
  request is read; the upgrade limit in realtime/websocket.py still counts it).
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.metrics import CONNECTIONS_REFUSED
from app.ratelimit import client_address
from app.settings import Settings

_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\nretry-after: 1\r\n"
    b"connection: close\r\ncontent-length: 33\r\n\r\nToo many open connections; retry.\n"
)

REFUSED_OVER_BUDGET = CONNECTIONS_REFUSED.labels("opening_budget")
REFUSED_BUSY = CONNECTIONS_REFUSED.labels("busy")
REFUSED_GONE = CONNECTIONS_REFUSED.labels("reset")


class OpeningBudget:
    """Connection openings per client address (a token bucket: `burst` at once, refilled at
    `rate` a second), counted in this process. Synchronous and O(1), for connection_made."""

    PRUNE_AT = 4096  # addresses remembered before those with a full bucket are forgotten

    def __init__(self, rate: float, burst: float) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}  # address: (tokens, as of when)
        self._pruned = 0.0

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def _tokens(self, address: str, now: float) -> float:
        tokens, then = self._buckets.get(address, (self.burst, now))
        return min(self.burst, tokens + (now - then) * self.rate)

    def spend(self, address: str, cost: float = 1.0, *, force: bool = False) -> bool:
        """Take `cost` from `address`'s budget; False (and nothing taken) if it has too little,
        unless `force` (a charge after the fact: the budget may go below zero)."""
        if not self.enabled:
            return True
        now = time.monotonic()
        tokens = self._tokens(address, now)
        if tokens < cost and not force:
            self._buckets[address] = (tokens, now)
            return False
        self._buckets[address] = (tokens - cost, now)
        if len(self._buckets) > self.PRUNE_AT and now - self._pruned > 1.0:
            self._prune(now)
        return True

    def _prune(self, now: float) -> None:
        self._pruned = now
        self._buckets = {
            address: (tokens, then)
            for address, (tokens, then) in self._buckets.items()
            if tokens + (now - then) * self.rate < self.burst
        }


@dataclass(eq=False)
class ConnectionLimits:
    """One server's limits and counts of plain HTTP connections (per process, like the file
    descriptors they guard), from its Settings."""

    max_open: int = 768
    request_timeout: float = 10.0
    openings: OpeningBudget = field(default_factory=lambda: OpeningBudget(0, 1))
    proxies: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = field(default_factory=list)
    open_count: int = 0  # plain HTTP connections open now
    # Connections still receiving a request (head or body), oldest first (a dict as an
    # ordered set): the ones to close first when the cap is reached.
    receiving: dict[DeadlineHttpProtocol, None] = field(default_factory=dict)

    @classmethod
    def of(cls, settings: Settings) -> ConnectionLimits:
        return cls(
            max_open=settings.max_http_connections,
            request_timeout=settings.http_request_timeout,
            openings=OpeningBudget(2 * settings.upgrade_rate, 2 * settings.upgrade_burst),
            proxies=[ipaddress.ip_network(network) for network in settings.proxy_networks],
        )


class DeadlineHttpProtocol(HttpToolsProtocol):
    """uvicorn `http=` protocol class; see the module docstring."""

    # Each server's limits, by the port it listens on: a process serves one (or, in the
    # tests, several side by side, each with its own settings).
    limits_by_port: ClassVar[dict[int, ConnectionLimits]] = {}
    last_configured: ClassVar[ConnectionLimits] = ConnectionLimits()

    @classmethod
    def configure(cls, settings: Settings) -> ConnectionLimits:
        """The limits of the server on `settings.port`, from `settings`."""
        limits = ConnectionLimits.of(settings)
        cls.limits_by_port[settings.port] = cls.last_configured = limits
        return limits

    @classmethod
    def _limits_of(cls, transport: asyncio.Transport) -> ConnectionLimits:
        local = transport.get_extra_info("sockname")
        if isinstance(local, tuple) and len(local) > 1 and local[1] in cls.limits_by_port:
            return cls.limits_by_port[local[1]]
        return cls.last_configured

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # uvicorn's own state (a parser that refers back to this object, loggers, flow control)
        # is made only once the opening is admitted, in connection_made: an opening refused at
        # accept then costs a few attribute writes and leaves no cycle for the collector.
        self._uvicorn_args = (args, kwargs)
        self._limits = DeadlineHttpProtocol.last_configured
        self._admitted = False
        self._request_timer: asyncio.TimerHandle | None = None
        self._counted = False
        self._address: str | None = None  # the budget this connection is counted in, if any
        self._completed = False  # a complete request arrived, or the socket became a reader's

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        peer = transport.get_extra_info("peername")
        if peer is None:
            # The client reset the connection while it waited to be accepted (there is no peer
            # left to name): nothing to answer, and most of a reset storm arrives so.
            transport.abort()
            REFUSED_GONE.inc()
            return
        limits = self._limits = self._limits_of(transport)
        address = self._budget_address(peer) if limits.openings.enabled else None
        if address is not None and not limits.openings.spend(address):
            transport.abort()  # before a byte is read: nothing parsed, nothing written
            REFUSED_OVER_BUDGET.inc()
            return
        args, kwargs = self._uvicorn_args
        super().__init__(*args, **kwargs)
        self._admitted = True
        super().connection_made(transport)
        self._address = address
        if limits.open_count >= limits.max_open:
            if not limits.receiving:
                transport.write(_BUSY)
                transport.close()
                REFUSED_BUSY.inc()
                return
            oldest = next(iter(limits.receiving))
            oldest._release()  # counted out now: its transport closes on the next loop turn
            oldest.transport.close()
        limits.open_count += 1
        self._counted = True
        self._start_request_timer()

    def _budget_address(self, peer: object) -> str | None:
        """The peer's key in the opening budget, or None for a trusted proxy (or no address)."""
        if not isinstance(peer, tuple) or not peer:
            return None
        host = str(peer[0])
        if self._limits.proxies:
            try:
                ip = ipaddress.ip_address(host)
            except ValueError:
                return None
            if any(ip in network for network in self._limits.proxies):
                return None
        return client_address(host)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._admitted:
            return
        if self._address is not None and not self._completed:
            # Reset (or closed) before a complete request: it costs its address one more.
            self._limits.openings.spend(self._address, force=True)
        self._release()
        super().connection_lost(exc)

    def handle_websocket_upgrade(self) -> None:
        # The socket becomes a reader's, counted by the reader limits from here on (and its
        # upgrade by the upgrade limit, resets included).
        self._completed = True
        self._release()
        super().handle_websocket_upgrade()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._request_timer is None:
            self._start_request_timer()

    def on_message_complete(self) -> None:
        # Head and body are in: from here the request is the server's to answer.
        self._completed = True
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
        self._request_timer = self.loop.call_later(self._limits.request_timeout, self._timed_out)
        self._limits.receiving[self] = None

    def _stop_request_timer(self) -> None:
        if self._request_timer is not None:
            self._request_timer.cancel()
            self._request_timer = None
        self._limits.receiving.pop(self, None)

    def _timed_out(self) -> None:
        self._request_timer = None
        self._limits.receiving.pop(self, None)
        if not self.transport.is_closing():
            self.transport.close()

    def _release(self) -> None:
        self._stop_request_timer()
        if self._counted:
            self._counted = False
            self._limits.open_count -= 1
