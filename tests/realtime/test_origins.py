"""LIVEBLOG_ALLOWED_ORIGINS: reader sockets from pages of other origins are refused at the
upgrade (HTTP 403); a socket without an Origin, and any origin by default, may read."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from tests.conftest import NewLiveblog
from tests.harness import LiveServer, cli, seconds, writer


async def hello(server: LiveServer, slug: str, origin: str | None) -> str:
    async with websockets.connect(
        f"{server.ws_url}/ws/liveblogs/{slug}",
        origin=origin,
        open_timeout=seconds(5),
    ) as socket:
        return str(await socket.recv())


async def test_only_listed_origins_may_open_reader_sockets(
    isolated_server: Callable[..., LiveServer],
) -> None:
    """Listed origin: served; another origin: 403 before any frame; no Origin: served."""
    server = isolated_server(allowed_origins="https://news.example, http://127.0.0.1:9")
    async with writer(server) as client:
        await client.post("/api/liveblogs", json={"slug": "gated", "title": "Gated"})
    assert '"hello"' in await hello(server, "gated", "https://news.example")
    assert '"hello"' in await hello(server, "gated", "http://127.0.0.1:9")
    assert '"hello"' in await hello(server, "gated", None)
    with pytest.raises(InvalidStatus) as refused:
        await hello(server, "gated", "https://evil.example")
    assert refused.value.response.status_code == 403


async def test_any_origin_by_default(server: LiveServer, new_liveblog: NewLiveblog) -> None:
    """Readers carry no credentials and embeds run on other sites: no list, no refusal."""
    slug = await new_liveblog()
    assert '"hello"' in await hello(server, slug, "https://anywhere.example")


def test_a_malformed_list_stops_the_server_naming_the_setting(tmp_path: Path) -> None:
    """A path or uppercase in an origin is refused at start-up, naming the setting."""
    bad = {"LIVEBLOG_ALLOWED_ORIGINS": "https://a.example/x"}
    result = cli(tmp_path, "migrate", env=bad)
    assert result.returncode == 2
    assert "LIVEBLOG_ALLOWED_ORIGINS" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
