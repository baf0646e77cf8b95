"""SIGTERM with many readers, one of them stalled: every reader gets 1012, the stalled one is
cut, and the process exits within 2 s with no ERROR in its log."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Callable

import pytest
import websockets

from tests.harness import LiveServer, StalledReader, seconds, writer

pytestmark = pytest.mark.slow

READERS = 300


async def test_sigterm_with_a_stalled_reader_exits_within_two_seconds(
    isolated_server: Callable[..., LiveServer],
) -> None:
    """The stalled reader has megabytes waiting in its buffers, so its close frame can never
    be delivered: it is cut, and the others get the documented 1012."""
    server = isolated_server(reader_queue_size=100_000, process=True)
    async with writer(server) as client:
        await client.post("/api/liveblogs", json={"slug": "closing", "title": "Closing"})
        stalled = StalledReader(server, "closing")
        url = f"{server.ws_url}/ws/liveblogs/closing"
        readers = [await websockets.connect(url, open_timeout=seconds(10)) for _ in range(READERS)]
        big = "<p>" + "x" * 60_000 + "</p>"
        for _ in range(60):  # about 3.6 MB that the stalled reader never takes
            posted = await client.post("/api/liveblogs/closing/entries", json={"body": big})
            assert posted.status_code == 201

    codes: list[int | None] = []

    async def until_closed(socket: websockets.ClientConnection) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for _ in socket:
                pass
        codes.append(socket.close_code)

    watchers = [asyncio.create_task(until_closed(socket)) for socket in readers]
    await asyncio.sleep(0.5)  # the readers take what was posted
    assert server.process is not None
    started = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    await asyncio.to_thread(server.process.wait, seconds(10))
    took = time.monotonic() - started
    await asyncio.wait_for(asyncio.gather(*watchers), seconds(5))
    stalled.sock.close()

    assert took < seconds(2.0), f"exit took {took:.2f}s"
    assert codes.count(1012) == READERS, sorted(set(codes), key=str)
    assert "ERROR" not in server.log(), server.log()[-3000:]
