"""A full process turns new readers away before the upgrade (503, Retry-After) and keeps
serving everything else; the open-file limit is raised at start-up."""

from __future__ import annotations

import resource
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from tests.harness import LiveServer, Subscriber, seconds, writer


async def test_past_max_readers_the_upgrade_is_503_and_the_rest_works(
    isolated_server: Callable[..., LiveServer],
) -> None:
    """Two readers fit; the third gets 503 with Retry-After; /healthz, POSTs and the two
    readers go on; /readyz says the process is full; a place freed is taken again."""
    server = isolated_server(max_readers=2)
    async with writer(server) as client:
        await client.post("/api/liveblogs", json={"slug": "full", "title": "Full"})
        url = f"{server.ws_url}/ws/liveblogs/full"
        async with Subscriber(server, "full") as first:
            async with Subscriber(server, "full") as second:
                with pytest.raises(InvalidStatus) as refused:
                    await websockets.connect(url, open_timeout=seconds(5))
                response = refused.value.response
                assert response.status_code == 503
                assert int(response.headers["Retry-After"]) >= 1
                assert b"maximum of 2 readers" in response.body

                assert (await client.get("/healthz")).status_code == 200
                ready = await client.get("/readyz")
                assert ready.status_code == 503 and "full" in ready.json()["detail"]
                posted = await client.post("/api/liveblogs/full/entries", json={"body": "<p>x</p>"})
                assert posted.status_code == 201
                for reader in (first, second):
                    await reader.wait_for_seq(posted.json()["seq"])
            # `second` has left: its place is free again.
            async with Subscriber(server, "full") as third:
                await third.wait_for(lambda s: bool(s.messages), what="hello")
            assert (await client.get("/readyz")).status_code == 200
    assert "ERROR" not in server.log(), server.log()[-2000:]  # a refusal is no server error


def test_a_lowered_open_file_limit_is_raised_at_start(tmp_path: Path) -> None:
    """Started with a soft limit of 256 (inherited), the server runs with soft = hard."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard <= 256:
        pytest.skip(f"the hard open-file limit here is only {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    try:
        server = LiveServer(tmp_path / "server", process=True).start()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    try:
        assert server.process is not None
        limits = Path(f"/proc/{server.process.pid}/limits").read_text()
        line = next(line for line in limits.splitlines() if line.startswith("Max open files"))
        server_soft, server_hard = line.split()[3:5]
        assert server_soft == server_hard == str(hard), line
        assert httpx.get(f"{server.url}/healthz").status_code == 200
    finally:
        server.stop()
