"""Write rate limits per token: past the burst, 429 with Retry-After; reads, health and
WebSockets are never limited."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable

import httpx

from tests.harness import LiveServer, Subscriber, problem, writer

_numbers = itertools.count(1)


async def write_until_limited(api: httpx.AsyncClient, slug: str) -> tuple[int, httpx.Response]:
    """POST entries until one is refused; returns how many got through and the refusal."""
    for allowed in range(10):
        response = await api.post(
            f"/api/liveblogs/{slug}/entries", json={"body": f"<p>{next(_numbers)}</p>"}
        )
        if response.status_code != 201:
            return allowed, response
    raise AssertionError("10 writes in a row were allowed with a burst of 3")


def retry_after(response: httpx.Response) -> int:
    """Assert `response` is a 429 with the headers a client needs to back off."""
    problem(response, 429)
    assert response.headers["ratelimit"], response.headers
    assert response.headers["ratelimit-policy"], response.headers
    value = response.headers["retry-after"]
    assert value.isdigit() and int(value) >= 1, value
    return int(value)


async def test_writes_past_the_burst_are_429_until_retry_after(
    isolated_server: Callable[..., LiveServer],
) -> None:
    """With a burst of 3 at 1 write/s, the 4th quick write is 429 with Retry-After and RateLimit
    headers and writes nothing; reads, health, readiness and WebSockets still work; after
    Retry-After the next write (retried with the refused request's Idempotency-Key) is 201."""
    server = isolated_server(write_rate=1, write_burst=3)
    async with writer(server) as api:
        made = await api.post("/api/liveblogs", json={"slug": "busy", "title": "Busy"})
        assert made.status_code == 201, made.text
        allowed, refused = await write_until_limited(api, "busy")
        assert allowed in (2, 3)  # the liveblog took one; a token may have refilled meanwhile
        wait = retry_after(refused)
        seq = (await api.get("/api/liveblogs/busy")).json()["seq"]
        assert seq == allowed  # the refused write took no seq

        headers = {"Idempotency-Key": "after-the-limit"}
        payload = {"body": "<p>patient</p>"}
        again = await api.post("/api/liveblogs/busy/entries", json=payload, headers=headers)
        retry_after(again)  # a 429 is not stored for the key

        for path in ["/api/liveblogs/busy", "/api/liveblogs/busy/entries", "/api/liveblogs"] * 6:
            assert (await api.get(path)).status_code == 200, path
        assert (await api.get("/healthz")).status_code == 200
        assert (await api.get("/readyz")).status_code == 200
        async with Subscriber(server, "busy") as reader:
            await reader.wait_for(lambda r: bool(r.messages), what="hello")
            assert reader.messages[0]["seq"] == seq

        await asyncio.sleep(wait)
        later = await api.post("/api/liveblogs/busy/entries", json=payload, headers=headers)
        assert later.status_code == 201, later.text
        assert later.headers.get("idempotent-replayed") is None
        assert (await api.get("/api/liveblogs/busy")).json()["seq"] == seq + 1


async def test_limits_are_per_token(isolated_server: Callable[..., LiveServer]) -> None:
    """One token using up its burst does not limit another token."""
    server = isolated_server(write_rate=1, write_burst=3)
    async with writer(server) as first, writer(server) as second:
        made = await first.post("/api/liveblogs", json={"slug": "shared", "title": "Shared"})
        assert made.status_code == 201, made.text
        _, refused = await write_until_limited(first, "shared")
        retry_after(refused)
        for n in range(3):
            response = await second.post(
                "/api/liveblogs/shared/entries", json={"body": f"<p>other {n}</p>"}
            )
            assert response.status_code == 201, response.text
        retry_after(await first.patch("/api/liveblogs/shared", json={"title": "Still limited"}))
