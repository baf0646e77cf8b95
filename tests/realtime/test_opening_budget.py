"""Issue 22, point 2: an address over its budget of connection openings is refused at accept,
before its request is read; a connection reset before a complete request counts against the
address; a keep-alive connection (a /healthz probe) stays served, and connections from a
trusted proxy are not counted (app/serving/http_protocol.py)."""

from __future__ import annotations

import asyncio
import signal
import socket
import struct
import time
from collections.abc import Callable

import httpx
import pytest
import websockets

from app.serving.http_protocol import OpeningBudget
from tests.api.test_metrics import read_metrics, value
from tests.harness import LiveServer, seconds, until

StartServer = Callable[..., LiveServer]


def test_the_budget_is_a_bucket_per_address(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr("app.serving.http_protocol.time.monotonic", lambda: now[0])
    budget = OpeningBudget(rate=2, burst=4)
    assert all(budget.spend("198.51.100.1") for _ in range(4))
    assert not budget.spend("198.51.100.1")
    assert budget.spend("198.51.100.2")  # another address has its own
    now[0] += 0.5  # one back at 2 a second
    assert budget.spend("198.51.100.1")
    assert not budget.spend("198.51.100.1")
    budget.spend("198.51.100.1", force=True)  # a reset, charged after the fact: in debt
    now[0] += 0.5
    assert not budget.spend("198.51.100.1")
    now[0] += 0.5
    assert budget.spend("198.51.100.1")
    assert OpeningBudget(rate=0, burst=1).spend("x")  # rate 0: no budget


def test_full_buckets_are_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [0.0]
    monkeypatch.setattr("app.serving.http_protocol.time.monotonic", lambda: now[0])
    budget = OpeningBudget(rate=10, burst=10)
    for n in range(OpeningBudget.PRUNE_AT):
        budget.spend(f"10.0.{n // 256}.{n % 256}")
    now[0] = 5.0  # all full again
    budget.spend("192.0.2.1")
    assert len(budget._buckets) == 1


def reset(port: int, request: bytes = b"") -> None:
    """Open a connection, maybe send part of a request, and reset it (SO_LINGER 0) once the
    server has accepted it. (A reset that arrives before the accept never reaches the
    protocol: the kernel drops the connection, at no cost to count.)"""
    sock = socket.create_connection(("127.0.0.1", port), timeout=2)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    if request:
        sock.sendall(request)
    time.sleep(0.05)
    sock.close()


def served(port: int) -> bool:
    """A fresh connection's GET /healthz: answered, or closed without a byte."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        try:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            return sock.recv(64).startswith(b"HTTP/1.1 200")
        except ConnectionError:
            return False


async def test_resets_spend_the_budget_and_the_next_connection_is_refused_at_accept(
    isolated_server: StartServer,
) -> None:
    # Upgrade budget 5 at once, 0.5 a second: 10 openings at once, 1 a second.
    server = isolated_server(upgrade_rate=0.5, upgrade_burst=5)
    async with httpx.AsyncClient(base_url=server.url, timeout=seconds(5)) as probe:
        assert (await probe.get("/healthz")).status_code == 200  # opened: 1 spent
        assert served(server.port)  # 2
        for _ in range(4):  # each costs 2: an opening and a reset before a complete request
            reset(server.port, b"GET /ws/liveblogs/x HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        assert not served(server.port), "an address over its budget was served"
        # The probe's keep-alive connection was opened within the budget: still served.
        started = time.monotonic()
        assert (await probe.get("/healthz")).status_code == 200
        assert time.monotonic() - started < 1.0
        # The budget refills (1 a second): a new connection is served again.
        deadline = time.monotonic() + seconds(5)
        while not served(server.port):
            assert time.monotonic() < deadline, "the budget did not refill"
            await asyncio.sleep(0.5)


async def test_a_trusted_proxy_is_not_counted_at_accept(isolated_server: StartServer) -> None:
    server = isolated_server(upgrade_rate=0.5, upgrade_burst=5, trusted_proxies="127.0.0.1")
    for _ in range(10):
        reset(server.port)
    assert served(server.port)


def reset_at_once(port: int, request: bytes) -> None:
    """Connect, send `request` and reset (SO_LINGER 0) without waiting for the server."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=2)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.sendall(request)
    sock.close()


UPGRADE = (
    b"GET /ws/liveblogs/{slug}?since=0 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n\r\n"
)


async def test_a_connection_reset_before_it_is_accepted_costs_no_request(
    isolated_server: StartServer,
) -> None:
    """Most of a reset storm is reset before the server accepts it. Such a connection has no
    peer left to name: it is closed at accept (counted as `reset`), never set up or parsed."""
    server = isolated_server(process=True)
    assert server.process is not None
    before = await read_metrics(server)
    server.process.send_signal(signal.SIGSTOP)  # its accept queue fills, nothing is accepted
    try:
        for _ in range(20):
            reset_at_once(server.port, UPGRADE.replace(b"{slug}", b"nowhere"))
    finally:
        server.process.send_signal(signal.SIGCONT)

    async def all_refused() -> bool:
        samples = await read_metrics(server)
        refused = value(samples, "liveblog_connections_refused_total", reason="reset")
        return refused - value(before, "liveblog_connections_refused_total", reason="reset") >= 20

    await until(all_refused, "the 20 resets counted as refused at accept")
    assert served(server.port)
    assert "Exception" not in server.log() and "Traceback" not in server.log()


async def test_readers_that_leave_before_their_refusal_leave_no_error(
    isolated_server: StartServer,
) -> None:
    """Upgrades to a liveblog that does not exist, each reset before its 4404 close is sent:
    the close meets a gone reader, which is not the server's error (it used to log one)."""
    server = isolated_server()
    for _ in range(200):
        reset_at_once(server.port, UPGRADE.replace(b"{slug}", b"nowhere"))
    # One that stays for its answer, after them all: once it has its 4404, they are done.
    async with websockets.connect(f"{server.ws_url}/ws/liveblogs/nowhere") as last:
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(last.recv(), seconds(10))
    assert last.close_code == 4404
    assert "Exception" not in server.log() and "Traceback" not in server.log()
