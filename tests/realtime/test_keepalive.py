"""Connection lifetime: pings drop dead peers, and a shutdown tells readers to come back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from tests.harness import LiveServer, StalledReader, Subscriber, seconds, writer


@pytest.mark.slow
async def test_peer_that_never_answers_pings_is_dropped(
    isolated_server: Callable[..., LiveServer],
) -> None:
    """The server pings; a peer that does not answer in time is closed with 1011."""
    server = isolated_server(ws_ping_interval=0.3, ws_ping_timeout=0.3)
    async with writer(server) as api:
        await api.post("/api/liveblogs", json={"slug": "pings", "title": "Pings"})
    dead = await asyncio.to_thread(StalledReader, server, "pings")
    async with Subscriber(server, "pings") as alive:  # websockets answers pings by itself
        await asyncio.sleep(seconds(1.5))
        assert not alive.closed
    _, code, reason = await asyncio.to_thread(dead.drain)
    assert code == 1011
    assert "ping timeout" in reason


@pytest.mark.slow
async def test_shutdown_closes_readers_with_service_restart(
    isolated_server: Callable[..., LiveServer],
) -> None:
    """On SIGTERM readers get 1012 and can resume elsewhere with since."""
    server = isolated_server()
    async with writer(server) as api:
        await api.post("/api/liveblogs", json={"slug": "restart", "title": "Restart"})
    async with Subscriber(server, "restart") as reader:
        await reader.wait_for(lambda s: len(s.messages) >= 1, what="hello")
        await asyncio.to_thread(server.stop)
        await reader.wait_for(lambda s: s.closed, what="close")
    assert reader.close_code == 1012
