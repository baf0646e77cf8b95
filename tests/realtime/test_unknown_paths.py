"""An upgrade to a path with no socket (a typo, an old client) is refused before the upgrade
with 404 and a problem+json body saying where readers connect, not a bare 403 that reads as
"forbidden"."""

from __future__ import annotations

import string

import orjson
import pytest
import websockets
from hypothesis import given, strategies as st
from websockets.exceptions import InvalidStatus

from tests.conftest import NewLiveblog
from tests.entry_bodies import examples
from tests.harness import LiveServer, seconds


async def refusal(server: LiveServer, path: str) -> tuple[int, dict[str, object]]:
    """The status and problem of an upgrade to `path` the server refuses."""
    with pytest.raises(InvalidStatus) as refused:
        async with websockets.connect(f"{server.ws_url}{path}", open_timeout=seconds(5)):
            pass
    response = refused.value.response
    assert response.headers["content-type"] == "application/problem+json"
    return response.status_code, orjson.loads(response.body)


@pytest.mark.parametrize(
    "path",
    ["/ws/nothing", "/ws/liveblogs/a/b", "/ws/liveblogs", "/ws", "/", "/static/liveblog.css",
     "/api/liveblogs", "/console/liveblogs/a/b/socket", "/ws/liveblogs/%2F"],
)  # fmt: skip
async def test_an_unknown_socket_path_is_404(server: LiveServer, path: str) -> None:
    """Paths of no socket (pages and files included): 404 before the upgrade, saying where
    readers connect; nothing in the log."""
    status, body = await refusal(server, path)
    assert status == 404
    assert body["status"] == 404 and "/ws/liveblogs/{slug}" in str(body["detail"])
    assert "Traceback" not in server.log()


async def test_the_readers_socket_is_still_served(
    server: LiveServer, new_liveblog: NewLiveblog
) -> None:
    """The catch-all comes after the real sockets: a reader of a liveblog gets its hello."""
    slug = await new_liveblog()
    async with websockets.connect(f"{server.ws_url}/ws/liveblogs/{slug}") as socket:
        assert orjson.loads(await socket.recv())["type"] == "hello"


# What a path segment may hold unescaped (RFC 3986 pchar), "%" as typed.
segments = st.text(alphabet=string.ascii_letters + string.digits + "-._~%!$&'()*+,;=:@", max_size=9)


@examples(60)
@given(parts=st.lists(segments, min_size=1, max_size=4))
async def test_any_path_beside_the_readers_socket_is_404(
    server: LiveServer, parts: list[str]
) -> None:
    """Any /ws/… path other than /ws/liveblogs/{one segment}: 404, never a 5xx or a 403."""
    if len(parts) == 2 and parts[0] == "liveblogs" and parts[1]:
        parts = ["not-liveblogs", *parts]
    status, _ = await refusal(server, "/ws/" + "/".join(parts))
    assert status == 404
