"""Readers need send nothing: one that floods frames or pings, or sends a large frame, is
closed at once, and the other readers keep receiving."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import websockets

from tests.conftest import NewLiveblog
from tests.harness import LiveServer, Subscriber, seconds


async def closed_code(socket: websockets.ClientConnection) -> int | None:
    with pytest.raises(websockets.ConnectionClosed):
        await asyncio.wait_for(socket.recv(), seconds(5))
        await asyncio.wait_for(socket.recv(), seconds(5))  # hello came first
    return socket.close_code


async def test_floods_and_large_frames_close_the_sender_only(
    server: LiveServer, api: httpx.AsyncClient, new_liveblog: NewLiveblog
) -> None:
    """10 small frames a minute are tolerated; the 11th closes with 1008. A 60 KiB frame
    closes with 1009, 11 pings with 1008. A quiet reader beside them gets every entry."""
    slug = await new_liveblog()
    url = f"{server.ws_url}/ws/liveblogs/{slug}"
    async with Subscriber(server, slug) as quiet:
        async with websockets.connect(url, open_timeout=seconds(5)) as chatty:
            for n in range(10):
                await chatty.send(f"hello {n}")
            await asyncio.sleep(0.2)
            assert chatty.close_code is None  # within the budget
            await chatty.send("one too many")
            assert await closed_code(chatty) == 1008
            assert "readers send nothing" in (chatty.close_reason or "")

        async with websockets.connect(url, open_timeout=seconds(5)) as big:
            await big.send("x" * 60 * 1024)
            assert await closed_code(big) == 1009

        async with websockets.connect(url, open_timeout=seconds(5)) as pinger:
            for _ in range(11):
                await pinger.ping()
            assert await closed_code(pinger) == 1008

        posted = await api.post(f"/api/liveblogs/{slug}/entries", json={"body": "<p>still</p>"})
        await quiet.wait_for_seq(posted.json()["seq"])
        assert not quiet.closed


async def test_small_frame_and_pong_floods_are_cut_at_once(
    server: LiveServer, new_liveblog: NewLiveblog
) -> None:
    """Past the budget the server stops reading the flooder and cuts it within a fraction of a
    second, whether it sends small text frames or unasked-for pongs."""
    slug = await new_liveblog()
    url = f"{server.ws_url}/ws/liveblogs/{slug}"
    for flood in ("text", "pong"):
        async with websockets.connect(url, open_timeout=seconds(5)) as flooder:
            await flooder.recv()  # hello
            started = time.monotonic()
            with pytest.raises(websockets.ConnectionClosed):
                for _ in range(100_000):
                    if flood == "text":
                        await flooder.send("x" * 100)
                    else:
                        await flooder.pong(b"unasked")
                    await asyncio.sleep(0)
                await flooder.recv()
            assert time.monotonic() - started < seconds(2), flood
    assert "ERROR" not in server.log()
