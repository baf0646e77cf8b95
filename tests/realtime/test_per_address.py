"""Per client address: WebSocket upgrades per second and reader sockets held are bounded, the
address is taken from X-Forwarded-For only when the peer is a trusted proxy, and a storm of
upgrades that reset at once leaves /healthz answering."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections.abc import Callable

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from app.settings import Settings
from tests.harness import LiveServer, Subscriber, seconds, writer

StartServer = Callable[..., LiveServer]


async def new_story(server: LiveServer, slug: str = "crowd") -> str:
    async with writer(server) as client:
        created = await client.post("/api/liveblogs", json={"slug": slug, "title": "Crowd"})
        assert created.status_code == 201
    return slug


async def refused(server: LiveServer, slug: str, **headers: str) -> httpx.Headers:
    with pytest.raises(InvalidStatus) as error:
        await websockets.connect(
            f"{server.ws_url}/ws/liveblogs/{slug}",
            additional_headers=headers,
            open_timeout=seconds(5),
        )
    response = error.value.response
    assert response.status_code == 429, response.status_code
    assert int(response.headers["Retry-After"]) >= 1
    return httpx.Headers(dict(response.headers.raw_items()))


async def test_upgrades_per_address_are_rate_limited(isolated_server: StartServer) -> None:
    """A burst of 5 upgrades is served; the 6th at once is 429 with Retry-After and the
    RateLimit headers; /healthz is never limited."""
    server = isolated_server(upgrade_rate=1, upgrade_burst=5)
    slug = await new_story(server)
    for _ in range(5):
        async with Subscriber(server, slug) as reader:
            await reader.wait_for(lambda s: bool(s.messages), what="hello")
    headers = await refused(server, slug)
    assert headers["RateLimit-Policy"] == '"upgrades";q=5;w=5'
    async with httpx.AsyncClient(base_url=server.url) as client:
        assert (await client.get("/healthz")).status_code == 200


async def test_sockets_per_address_and_forged_forwarded_for(isolated_server: StartServer) -> None:
    """Two sockets per address: the third is 429 even claiming another address in
    X-Forwarded-For, because 127.0.0.1 is no trusted proxy here."""
    server = isolated_server(max_sockets_per_address=2)
    slug = await new_story(server)
    async with Subscriber(server, slug), Subscriber(server, slug):
        await refused(server, slug)
        await refused(server, slug, **{"X-Forwarded-For": "203.0.113.9"})
    # Places are given back once the server has seen the two sockets close.
    deadline = time.monotonic() + seconds(3)
    while True:
        try:
            async with Subscriber(server, slug) as again:
                await again.wait_for(lambda s: bool(s.messages), what="hello")
            break
        except InvalidStatus:
            assert time.monotonic() < deadline, "the closed sockets' places were not freed"
            await asyncio.sleep(0.1)


async def test_a_trusted_proxy_gives_the_client_address(isolated_server: StartServer) -> None:
    """Behind a trusted proxy each forwarded client has its own allowance."""
    server = isolated_server(max_sockets_per_address=1, trusted_proxies="127.0.0.1")
    slug = await new_story(server)
    url = f"{server.ws_url}/ws/liveblogs/{slug}"
    one = {"X-Forwarded-For": "203.0.113.1"}
    two = {"X-Forwarded-For": "203.0.113.2"}
    async with websockets.connect(url, additional_headers=one) as first:
        await first.recv()
        async with websockets.connect(url, additional_headers=two) as second:
            await second.recv()
            await refused(server, slug, **one)


def reset_after_sending(port: int, slug: str) -> None:
    """An upgrade request with ?since=0, then a reset (SO_LINGER 0) without reading a byte."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=2)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.sendall(
        f"GET /ws/liveblogs/{slug}?since=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    sock.close()


@pytest.mark.slow
async def test_a_reset_storm_from_one_address_leaves_healthz_answering(
    isolated_server: StartServer,
) -> None:
    """1,000 upgrades that reset right after sending, with the default limits: /healthz
    answers within a second throughout, and afterwards a reader is served as usual."""
    defaults = Settings.model_fields
    server = isolated_server(
        upgrade_rate=defaults["upgrade_rate"].default,
        upgrade_burst=defaults["upgrade_burst"].default,
    )
    slug = await new_story(server)
    async with writer(server) as client:
        for n in range(30):  # something to catch up on
            await client.post(f"/api/liveblogs/{slug}/entries", json={"body": f"<p>{n}</p>"})
    stop = asyncio.Event()
    worst = 0.0

    async def watch_health() -> None:
        nonlocal worst
        async with httpx.AsyncClient(base_url=server.url, timeout=5) as probe:
            while not stop.is_set():
                started = time.monotonic()
                assert (await probe.get("/healthz")).status_code == 200
                worst = max(worst, time.monotonic() - started)
                await asyncio.sleep(0.05)

    async def storm() -> None:
        deadline = time.monotonic() + seconds(30)
        for _ in range(1000):
            if time.monotonic() > deadline:
                break
            await asyncio.to_thread(reset_after_sending, server.port, slug)
        stop.set()

    await asyncio.gather(watch_health(), storm())
    assert worst < 1.0, f"/healthz took {worst:.2f}s during the storm"
    # Afterwards a reader is served: at once, or, where the storm spent the address's upgrade
    # budget, once its window has moved on, which the refusal's Retry-After says (no guess).
    deadline = time.monotonic() + seconds(30)
    while True:
        try:
            async with Subscriber(server, slug, since=0) as reader:
                await reader.wait_for_seq(30)
            break
        except InvalidStatus as error:
            assert error.response.status_code == 429, error.response.status_code
            retry_after = int(error.response.headers["Retry-After"])
            assert time.monotonic() + retry_after < deadline, "still refused after 30 s"
            await asyncio.sleep(retry_after)
