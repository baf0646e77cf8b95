"""Plain HTTP connections cannot hold the process's descriptors: a request head must arrive
within LIVEBLOG_HTTP_HEAD_TIMEOUT, and past LIVEBLOG_MAX_HTTP_CONNECTIONS new ones get 503,
while /healthz and the readers go on."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable

import httpx
import pytest

from tests.harness import LiveServer, Subscriber, seconds, writer

pytestmark = pytest.mark.slow


def half_open(port: int) -> socket.socket:
    """A connection that starts a request head and never finishes it."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    return sock


def closed_by_server(sock: socket.socket, within: float) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(1024) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def cut_by(sockets: list[socket.socket], deadline: float) -> int:
    """How many of `sockets` the server has closed by `deadline` (monotonic), waiting for each
    until then: returns as soon as the last one is closed."""
    return sum(closed_by_server(sock, max(0.01, deadline - time.monotonic())) for sock in sockets)


# Time a server is allowed beyond a request deadline before a connection counts as not cut.
CUT_SLACK = 1.0


async def test_half_open_connections_are_cut_at_the_deadline(
    isolated_server: Callable[..., LiveServer],
) -> None:
    """500 connections trickle half a request head: /healthz keeps answering, and each is
    closed by the server once the head deadline has passed."""
    server = isolated_server(http_request_timeout=2)
    sockets = [half_open(server.port) for _ in range(500)]
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=5) as client:
            started = time.monotonic()
            assert (await client.get("/healthz")).status_code == 200
            assert time.monotonic() - started < 1.0
        # Each head deadline runs from the server's accepting the connection, and it accepts in
        # the order they were opened: all 500 before the probe just answered. Wait for the cuts
        # themselves, up to the deadline and some slack, rather than a fixed time.
        deadline = time.monotonic() + 2 + seconds(CUT_SLACK)
        cut = await asyncio.to_thread(cut_by, sockets[:50], deadline)
        assert cut == 50
    finally:
        for sock in sockets:
            sock.close()


async def test_at_the_cap_trickling_connections_make_room(
    isolated_server: Callable[..., LiveServer],
) -> None:
    """With room for 20 HTTP connections and 20 trickling ones holding it, a health probe is
    still served (the oldest trickler is closed for it); a reader's socket is no HTTP
    connection and goes on."""
    server = isolated_server(max_http_connections=20, http_request_timeout=60)
    async with writer(server) as client:
        await client.post("/api/liveblogs", json={"slug": "cap", "title": "Cap"})
    async with Subscriber(server, "cap") as reader:
        await reader.wait_for(lambda s: bool(s.messages), what="hello")
        sockets = [half_open(server.port) for _ in range(20)]
        try:
            # No wait for the server to take them in: it accepts connections in the order they
            # were opened, so it has counted these 20 before it sees a probe opened after them.
            for _ in range(5):
                async with httpx.AsyncClient(base_url=server.url, timeout=5) as probe:
                    assert (await probe.get("/healthz")).status_code == 200
            oldest = await asyncio.to_thread(closed_by_server, sockets[0], 1.0)
            assert oldest, "the oldest trickling connection was not closed"
        finally:
            for sock in sockets:
                sock.close()
        assert not reader.closed


def trickled_body(port: int) -> socket.socket:
    """An unauthenticated POST whose body never finishes (its head is complete)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(
        b"POST /api/liveblogs/x/entries HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
    )
    return sock


async def test_trickled_bodies_neither_outlive_the_deadline_nor_hold_the_cap(
    isolated_server: Callable[..., LiveServer],
) -> None:
    """Bodies that never finish: at the cap a probe is still served (the oldest is closed for
    it), and each is cut at the request deadline."""
    server = isolated_server(max_http_connections=5, http_request_timeout=2)
    sockets = [trickled_body(server.port) for _ in range(5)]
    try:
        # The server accepts connections in the order they were opened: it has counted these
        # five before it sees the probe (no wait needed for that), and their deadlines run
        # from then.
        async with httpx.AsyncClient(base_url=server.url, timeout=5) as probe:
            assert (await probe.get("/healthz")).status_code == 200
        deadline = time.monotonic() + 2 + seconds(CUT_SLACK)
        cut = await asyncio.to_thread(cut_by, sockets, deadline)
        assert cut == 5
    finally:
        for sock in sockets:
            sock.close()
