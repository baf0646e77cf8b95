"""A reader that stops reading is dropped; the others keep receiving on time.

Both ways of writing to readers are held to it: straight to the transport (the default, see
app/serving/direct.py) and through ASGI sends (LIVEBLOG_WS_DIRECT_WRITES=false).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from tests.harness import LiveServer, StalledReader, Subscriber, seconds, writer

ENTRIES = 120
# Large entries, so the stalled reader overflows past the kernel's socket buffers (up to 4 MiB
# on Linux loopback) within a short test.
BODY = "<p>" + "x" * 60_000 + "</p>"


@pytest.mark.slow
@pytest.mark.parametrize("direct_writes", [True, False], ids=["direct", "asgi"])
async def test_stalled_reader_is_dropped_and_does_not_delay_others(
    isolated_server: Callable[..., LiveServer], direct_writes: bool
) -> None:
    """The stalled reader is closed with 4408; healthy readers get every entry promptly."""
    server = isolated_server(
        reader_queue_size=8, slow_reader_close_timeout=30, ws_direct_writes=direct_writes
    )
    async with writer(server) as api:
        await api.post("/api/liveblogs", json={"slug": "slow", "title": "Slow"})
        stalled = await asyncio.to_thread(StalledReader, server, "slow")
        async with Subscriber(server, "slow") as a, Subscriber(server, "slow") as b:
            for reader in (a, b):
                await reader.wait_for(lambda s: len(s.messages) >= 1, what="hello")
            sent_at: list[float] = []
            for _ in range(ENTRIES):
                response = await api.post("/api/liveblogs/slow/entries", json={"body": BODY})
                assert response.status_code == 201
                sent_at.append(time.monotonic())
            for reader in (a, b):
                await reader.wait_for_seq(ENTRIES, timeout=10)
                assert [m["seq"] for m in reader.events] == list(range(1, ENTRIES + 1))
                delays = [
                    got - sent for got, sent in zip(reader.received_at[1:], sent_at, strict=True)
                ]
                assert max(delays) < seconds(1.0), max(delays)

    # The stalled reader now reads what the kernel kept for it, and finds itself closed.
    frames, code, reason = await asyncio.to_thread(stalled.drain)
    assert 1 <= frames < ENTRIES + 1  # the hello and some entries, not all of them
    assert code == 4408
    assert "too slow" in reason
