"""With a redis:// broker, a token's write limit is one window shared by every process, and a
Redis outage never turns into refused writes."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable

import httpx
import pytest

from tests.harness import LiveServer, create_token, writer
from tests.services import RedisProcess

pytestmark = pytest.mark.slow

StartServer = Callable[..., LiveServer]


async def post(client: httpx.AsyncClient, slug: str, n: int) -> httpx.Response:
    return await client.post(f"/api/liveblogs/{slug}/entries", json={"body": f"<p>{n}</p>"})


async def test_the_limit_is_shared_by_every_process(
    isolated_server: StartServer, postgres_url: str, redis_url: str, broker_channel: str
) -> None:
    """Burst 3 through two processes together: the fourth write is refused wherever it lands,
    and after Retry-After the next one succeeds."""
    settings = {
        "database_url": postgres_url,
        "broker_url": redis_url,
        "broker_channel": broker_channel,
        "write_rate": 1,
        "write_burst": 3,
    }
    a, b = isolated_server(**settings), isolated_server(**settings)
    token = create_token(a.data_dir, env=a.env)
    async with writer(a, token=token) as to_a, writer(b, token=token) as to_b:
        created = await to_a.post("/api/liveblogs", json={"slug": "shared", "title": "Shared"})
        assert created.status_code == 201, created.text
        assert (await post(to_b, "shared", 1)).status_code == 201
        assert (await post(to_a, "shared", 2)).status_code == 201
        refused = await post(to_b, "shared", 3)
        assert refused.status_code == 429, refused.text
        assert (await post(to_a, "shared", 4)).status_code == 429
        retry_after = int(refused.headers["retry-after"])
        assert 1 <= retry_after <= 3
        await asyncio.sleep(retry_after + 0.2)
        assert (await post(to_b, "shared", 5)).status_code == 201
        head = (await to_a.get("/api/liveblogs/shared")).json()["seq"]
        assert head == 3  # the refused writes took no seq


async def test_writes_go_on_while_the_limits_redis_is_down(
    isolated_server: StartServer, postgres_url: str, private_redis: RedisProcess
) -> None:
    """The limit protects the service from a runaway tool; with Redis gone, writes are allowed
    (and stored) rather than refused."""
    server = isolated_server(
        database_url=postgres_url, broker_url=private_redis.url, write_rate=1, write_burst=2
    )
    async with writer(server) as client:
        created = await client.post("/api/liveblogs", json={"slug": "outage", "title": "Outage"})
        assert created.status_code == 201
        assert (await post(client, "outage", 1)).status_code == 201
        assert (await post(client, "outage", 2)).status_code == 429  # the limit is in force
        private_redis.stop()
        statuses = [(await post(client, "outage", n)).status_code for n in range(3, 7)]
        assert statuses == [201] * 4
        entries = (await client.get("/api/liveblogs/outage/entries")).json()["entries"]
        assert [entry["body"] for entry in entries] == [f"<p>{n}</p>" for n in (6, 5, 4, 3, 1)]


async def test_a_hung_redis_does_not_hold_writes(
    isolated_server: StartServer, postgres_url: str
) -> None:
    """A Redis that accepts connections and never answers: writes still go through in well
    under a second each (the limiter gives up quickly and then stops asking for a while)."""
    hung = socket.create_server(("127.0.0.1", 0))
    hung.listen(64)
    try:
        port = hung.getsockname()[1]
        server = isolated_server(
            database_url=postgres_url,
            broker_url=f"redis://127.0.0.1:{port}/0",
            write_rate=1,
            write_burst=2,
        )
        async with writer(server) as client:
            created = await client.post("/api/liveblogs", json={"slug": "hung", "title": "Hung"})
            assert created.status_code == 201
            for n in range(5):
                started = time.monotonic()
                assert (await post(client, "hung", n)).status_code == 201
                assert time.monotonic() - started < 1.0
    finally:
        hung.close()
