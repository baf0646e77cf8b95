"""Delivery receipts over two processes on PostgreSQL + Redis: an entry's receipt counts the
readers of both processes (console sockets not counted), on a console of either process, and an
edit, posted through the other process, gets a receipt of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AsyncExitStack

import pytest

from tests.console.newsroom import ConsoleSocket
from tests.harness import ConsoleClient, LiveServer, Subscriber, create_user, writer

pytestmark = pytest.mark.slow

StartServer = Callable[..., LiveServer]

# Readers on process one and on process two.
K, L = 3, 2
# Each process reports every 1 s; consoles hear at most once a second: 2 s, plus slack.
RECEIPT_WITHIN = 5.0


async def readers_of(stack: AsyncExitStack, server: LiveServer, slug: str, n: int) -> None:
    for _ in range(n):
        reader = await stack.enter_async_context(Subscriber(server, slug))
        await reader.wait_for(lambda r: bool(r.messages), what="hello")


async def test_a_receipt_sums_the_readers_of_every_process(
    isolated_server: StartServer, postgres_url: str, redis_url: str, broker_channel: str
) -> None:
    """K readers on one, L on two: consoles on both get readers == K+L, for the entry and its
    edit, each with a p99."""
    settings = {"database_url": postgres_url, "broker_url": redis_url}
    one = isolated_server(**settings, broker_channel=broker_channel)
    two = isolated_server(**settings, broker_channel=broker_channel)
    editor = create_user(one, "editor")
    async with AsyncExitStack() as stack:
        to_one = await stack.enter_async_context(writer(one))
        token = to_one.headers["Authorization"].removeprefix("Bearer ")
        to_two = await stack.enter_async_context(writer(two, token=token))
        slug = "receipts"
        made = await to_one.post("/api/liveblogs", json={"slug": slug, "title": "Receipts"})
        assert made.status_code == 201, made.text

        console = await stack.enter_async_context(ConsoleClient(one))
        assert (await console.sign_in(editor)).status_code == 303
        sockets = [
            await stack.enter_async_context(ConsoleSocket(server, slug, console.cookie))
            for server in (one, two)
        ]
        await readers_of(stack, one, slug, K)
        await readers_of(stack, two, slug, L)

        created = await to_one.post(
            f"/api/liveblogs/{slug}/entries", json={"title": "Both", "body": "<p>Both</p>"}
        )
        assert created.status_code == 201, created.text
        entry, seq = created.json()["id"], created.json()["seq"]
        receipts = await asyncio.gather(
            *(s.wait_for_receipt(entry, seq, K + L, RECEIPT_WITHIN) for s in sockets)
        )
        for receipt in receipts:
            assert isinstance(receipt["p99_ms"], float) and 0 <= receipt["p99_ms"] < 10_000

        edited = await to_two.patch(f"/api/liveblogs/{slug}/entries/{entry}", json={"title": "B"})
        assert edited.status_code == 200, edited.text
        edit_seq = edited.json()["seq"]
        await asyncio.gather(
            *(s.wait_for_receipt(entry, edit_seq, K + L, RECEIPT_WITHIN) for s in sockets)
        )
        assert max(r["readers"] for s in sockets for r in s.receipts) == K + L
