"""Issue 22, point 5: after a restart, 2,000 readers behind one address (an office, a carrier's
NAT), each reconnecting with the reader page's own back-off and jitter, are all back within 30 s
with the default per-address upgrade budget."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable

import pytest
import websockets
from websockets.exceptions import InvalidHandshake

from app.settings import Settings
from tests.harness import LiveServer, seconds, writer

StartServer = Callable[..., LiveServer]

READERS = 2000  # as many as LIVEBLOG_MAX_SOCKETS_PER_ADDRESS lets one address hold
# app/web/static/liveblog.js, scheduleReconnect: a delay drawn from [0, ceiling), the ceiling
# doubling from RECONNECT_BASE_MS up to RECONNECT_MAX_MS with each failed attempt.
RECONNECT_BASE = 0.5
RECONNECT_MAX = 30.0
BACK_WITHIN = 30.0


def default(name: str) -> object:
    return Settings.model_fields[name].default


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_readers_behind_one_address_come_back_after_a_restart(
    isolated_server: StartServer,
) -> None:
    # The harness turns the upgrade limit off for tests; here it is the default one.
    server = isolated_server(
        upgrade_rate=default("upgrade_rate"), upgrade_burst=default("upgrade_burst")
    )
    slug = "office"
    async with writer(server) as client:
        created = await client.post("/api/liveblogs", json={"slug": slug, "title": "Office"})
        assert created.status_code == 201
    url = f"{server.ws_url}/ws/liveblogs/{slug}"
    server.stop()  # the restart: every reader's socket has just closed

    done = asyncio.Event()
    all_back = asyncio.Event()
    back: list[float] = []
    attempts = 0
    started = time.monotonic()
    give_up = started + seconds(BACK_WITHIN) + 5

    async def page() -> None:
        nonlocal attempts
        attempt = 0
        while time.monotonic() < give_up:
            ceiling = min(RECONNECT_MAX, RECONNECT_BASE * 2**attempt)
            attempt += 1
            await asyncio.sleep(random.random() * ceiling)
            attempts += 1
            try:
                async with websockets.connect(url, open_timeout=seconds(10)) as socket:
                    await asyncio.wait_for(socket.recv(), seconds(10))  # the hello
                    back.append(time.monotonic() - started)
                    if len(back) == READERS:
                        all_back.set()
                    await done.wait()
                    return
            except (OSError, InvalidHandshake, TimeoutError, websockets.ConnectionClosed):
                continue  # refused (429, reset) or the server not up yet: back off

    pages = [asyncio.create_task(page()) for _ in range(READERS)]
    await asyncio.to_thread(server.start)
    try:
        with contextlib.suppress(TimeoutError):  # the assertion below says how many came back
            await asyncio.wait_for(all_back.wait(), max(0.0, give_up - time.monotonic()))
    finally:
        done.set()
        await asyncio.gather(*pages, return_exceptions=True)
    last = max(back, default=float("inf"))
    assert len(back) == READERS and last < seconds(BACK_WITHIN), (
        f"{len(back)} of {READERS} readers back, the last after {last:.1f} s ({attempts} attempts)"
    )
