"""Connection lifetime: pings drop dead peers, and a shutdown tells readers to come back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.frames import Frame, Opcode
from websockets.protocol import Event, State

from tests.harness import LiveServer, StalledReader, Subscriber, until, writer


class CountsPings(ClientConnection):
    """A client connection that counts the pings it receives (websockets answers each)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pings = 0

    def process_event(self, event: Event) -> None:
        if isinstance(event, Frame) and event.opcode is Opcode.PING:
            self.pings += 1
        super().process_event(event)


@pytest.mark.slow
async def test_peer_that_never_answers_pings_is_dropped(
    isolated_server: Callable[..., LiveServer],
) -> None:
    """The server pings; a peer that does not answer in time is closed with 1011."""
    server = isolated_server(ws_ping_interval=0.3, ws_ping_timeout=0.3)
    async with writer(server) as api:
        await api.post("/api/liveblogs", json={"slug": "pings", "title": "Pings"})
    dead = await asyncio.to_thread(StalledReader, server, "pings")
    url = f"{server.ws_url}/ws/liveblogs/pings"
    async with websockets.connect(url, create_connection=CountsPings) as alive:
        assert isinstance(alive, CountsPings)
        # The server sends its next ping only once the last one's pong came within the timeout
        # (else it closes with 1011): a third ping shows two pongs in time, no guessing how long
        # that takes.
        await until(lambda: alive.pings >= 3, "a third ping")
        assert alive.state is State.OPEN
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
