"""Entries are stored before they are pushed: a 201 survives SIGKILL, and readers resume."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from tests.harness import LiveServer, Subscriber, writer


@pytest.mark.slow
async def test_every_201_survives_sigkill_and_readers_resume(
    isolated_server: Callable[..., LiveServer],
) -> None:
    """Kill -9 mid-stream: every acknowledged entry is there after restart, and a reader that
    resumes with its last seq gets exactly what it missed."""
    server = isolated_server(process=True)
    acknowledged: dict[int, dict[str, object]] = {}
    async with writer(server) as api:
        await api.post("/api/liveblogs", json={"slug": "crash", "title": "Crash"})
        async with Subscriber(server, "crash") as reader:
            await reader.wait_for(lambda s: len(s.messages) >= 1, what="hello")

            async def poster(number: int) -> None:
                for n in range(1000):
                    try:
                        response = await api.post(
                            "/api/liveblogs/crash/entries", json={"body": f"<p>{number}/{n}</p>"}
                        )
                    except httpx.HTTPError:
                        return  # the server is gone
                    assert response.status_code == 201
                    acknowledged[response.json()["id"]] = response.json()

            posters = [asyncio.create_task(poster(n)) for n in range(3)]
            while len(acknowledged) < 60:
                await asyncio.sleep(0.01)
            server.kill()
            await asyncio.gather(*posters)
            await reader.wait_for(lambda s: s.closed, what="connection loss")
        seen = reader.last_seq

    server.start()  # same data directory, same port
    async with writer(server) as api:
        for entry_id, entry in acknowledged.items():
            stored = await api.get(f"/api/liveblogs/crash/entries/{entry_id}")
            assert stored.status_code == 200
            assert stored.json() == entry
        head = (await api.get("/api/liveblogs/crash")).json()["seq"]
        assert head >= len(acknowledged)

        async with Subscriber(server, "crash", since=seen) as resumed:
            await resumed.wait_for_seq(head, timeout=10)
        assert [m["seq"] for m in resumed.events] == list(range(seen + 1, head + 1))
        all_ids = {m["entry"]["id"] for m in reader.events + resumed.events}
        assert set(acknowledged) <= all_ids
