"""Delivery receipts on the console's socket, one process: how many readers each entry's latest
event reached (console sockets not counted) and its p99 latency; an edit gets its own receipt.
The two-process sum is in tests/scale/test_receipts.py.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

import httpx

from app.realtime.receipts import BUCKETS, ReceiptLedger, p99_ms, spread
from tests.console.newsroom import ConsoleSocket, console_liveblog
from tests.harness import ConsoleClient, LiveServer, Subscriber, create_user


async def readers_of(stack: AsyncExitStack, server: LiveServer, slug: str, n: int) -> None:
    for _ in range(n):
        reader = await stack.enter_async_context(Subscriber(server, slug))
        await reader.wait_for(lambda r: bool(r.messages), what="hello")


async def test_a_published_entry_and_its_edit_each_get_a_receipt(
    server: LiveServer, api: httpx.AsyncClient
) -> None:
    """3 readers (and 2 consoles): the entry's receipt says 3; its edit, a new seq, says 3 too."""
    editor = create_user(server, "editor")
    async with AsyncExitStack() as stack:
        console = await stack.enter_async_context(ConsoleClient(server))
        assert (await console.sign_in(editor)).status_code == 303
        slug = await console_liveblog(console)
        socket = await stack.enter_async_context(ConsoleSocket(server, slug, console.cookie))
        await stack.enter_async_context(ConsoleSocket(server, slug, console.cookie))
        await readers_of(stack, server, slug, 3)

        created = await api.post(
            f"/api/liveblogs/{slug}/entries", json={"title": "Read", "body": "<p>Read</p>"}
        )
        assert created.status_code == 201, created.text
        entry, seq = created.json()["id"], created.json()["seq"]
        receipt = await socket.wait_for_receipt(entry, seq, 3)
        assert isinstance(receipt["p99_ms"], float) and 0 <= receipt["p99_ms"] < 10_000

        edited = await api.patch(f"/api/liveblogs/{slug}/entries/{entry}", json={"title": "Re"})
        assert edited.status_code == 200, edited.text
        edit_seq = edited.json()["seq"]
        assert edit_seq > seq
        await socket.wait_for_receipt(entry, edit_seq, 3)
        assert max(r["readers"] for r in socket.receipts) == 3  # the consoles never counted

        # A console connecting now is told each entry's latest receipt at once.
        late = await stack.enter_async_context(ConsoleSocket(server, slug, console.cookie))
        await late.wait_for(lambda s: bool(s.receipts), 3.0, "the receipts at connect")
        assert [(r["entry"], r["seq"], r["readers"]) for r in late.receipts] == [
            (entry, edit_seq, 3)
        ]


def test_p99_comes_from_every_process_histograms_merged() -> None:
    """Two processes' reports add up: readers summed, p99 read from the merged buckets."""
    fast, slow = [0] * BUCKETS, [0] * BUCKETS
    spread(fast, 0.5, 0.9, 990)  # 990 readers within 1 ms
    spread(slow, 150.0, 190.0, 10)  # 10 readers at 150-190 ms
    assert p99_ms(fast) is not None and p99_ms(fast) <= 1.0
    assert p99_ms([0] * BUCKETS) is None

    ledger = ReceiptLedger()
    grown: list[tuple[str, set[int]]] = []
    ledger.on_grow = lambda slug, seqs: grown.append((slug, seqs))
    for buckets, readers in ((fast, 990), (slow, 10)):
        sparse = [n for i, count in enumerate(buckets) if count for n in (i, count)]
        ledger.receive({"type": "receipts", "liveblogs": {"s": [[4, 12, readers, sparse]]}})
    [receipt] = ledger.latest("s")
    assert (receipt["entry"], receipt["seq"], receipt["readers"]) == (12, 4, 1000)
    # The 990th of 1000 is the last fast one: p99 is within the first bucket; one more slow
    # reader would have moved it. Either process's own p99 alone would be wrong for the sum.
    assert receipt["p99_ms"] is not None and receipt["p99_ms"] <= 1.0
    assert grown == [("s", {4}), ("s", {4})]

    ledger.receive({"type": "receipts", "liveblogs": {"s": [[5, 12, 1, [11, 1]]]}})
    assert [(r["seq"], r["p99_ms"]) for r in ledger.latest("s")] == [(5, 200.0)]
    for junk in ({"liveblogs": []}, {"liveblogs": {"s": [[6, 12, -1, []], [7, 1, 1, [99, 1]]]}}):
        ledger.receive({"type": "receipts", **junk})
    assert [r["seq"] for r in ledger.latest("s")] == [5]
