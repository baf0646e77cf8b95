"""The console socket's own limits: only liveblogs that exist, at most 20 sockets per session and
process, and each socket ends with its own session (not with the user's last one).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest

from tests.console.newsroom import SIGNED_OUT, ConsoleSocket, console_liveblog, unique_slug
from tests.harness import ConsoleClient, LiveServer, create_user

# Close codes of app/console/socket.py.
NOT_FOUND = 4404
TOO_MANY = 4429
# Console sockets one session may hold open in one process.
PER_SESSION = 20
# A signed-out session's sockets close at the next re-check: every 4 s, plus slack.
RECHECK_WITHIN = 6.0


@pytest.fixture(scope="module")
def editor(server: LiveServer) -> str:
    return create_user(server, "editor")


async def signed_in(stack: AsyncExitStack, server: LiveServer, username: str) -> ConsoleClient:
    client = await stack.enter_async_context(ConsoleClient(server))
    assert (await client.sign_in(username)).status_code == 303
    return client


async def opened(
    stack: AsyncExitStack, server: LiveServer, slug: str, cookie: str | None
) -> ConsoleSocket:
    """A console socket past its first message (the readers count sent at connect)."""
    socket = await stack.enter_async_context(ConsoleSocket(server, slug, cookie))
    await socket.wait_for(lambda s: bool(s.counts), 3.0, "the first readers count")
    return socket


async def hears_more(socket: ConsoleSocket) -> None:
    """Wait for a message after those received so far (a readers count comes every 2 s)."""
    mark = len(socket.messages)
    await socket.wait_for(lambda s: len(s.messages) > mark, 3.0, "the next readers count")


@pytest.fixture
async def console(server: LiveServer, editor: str) -> AsyncIterator[ConsoleClient]:
    async with ConsoleClient(server) as client:
        assert (await client.sign_in(editor)).status_code == 303
        yield client


async def test_a_socket_for_a_liveblog_that_does_not_exist_closes_4404(
    server: LiveServer, console: ConsoleClient
) -> None:
    """A well-formed slug that names no liveblog: the socket is closed with 4404 at once."""
    async with ConsoleSocket(server, unique_slug("nowhere"), console.cookie) as socket:
        await socket.wait_closed(2.0)
    assert (socket.close_code, socket.messages) == (NOT_FOUND, [])


async def test_the_21st_socket_of_a_session_closes_4429_and_the_20_stay(
    server: LiveServer, console: ConsoleClient
) -> None:
    """One session, one process: sockets 1 to 20 open and stay; the 21st closes with 4429."""
    slug = await console_liveblog(console)
    async with AsyncExitStack() as stack:
        sockets = await asyncio.gather(
            *(opened(stack, server, slug, console.cookie) for _ in range(PER_SESSION))
        )
        extra = await stack.enter_async_context(ConsoleSocket(server, slug, console.cookie))
        await extra.wait_closed(2.0)
        assert (extra.close_code, extra.messages) == (TOO_MANY, [])
        # The twenty still hear the liveblog: the next readers tick (every 2 s) reaches each.
        await asyncio.gather(*(hears_more(socket) for socket in sockets))
        assert not any(socket.closed for socket in sockets)

        # A socket closed makes room for one more.
        await sockets[0].close()
        await opened(stack, server, slug, console.cookie)


async def test_signing_out_closes_that_sessions_sockets_only(
    server: LiveServer, editor: str
) -> None:
    """Sign-out closes that session's socket with 4401; the user's other session's stays open."""
    async with AsyncExitStack() as stack:
        leaving = await signed_in(stack, server, editor)
        staying = await signed_in(stack, server, editor)
        slug = await console_liveblog(staying)
        gone = await opened(stack, server, slug, leaving.cookie)
        kept = await opened(stack, server, slug, staying.cookie)

        response = await leaving.http.post(
            "/console/sign-out",
            data={"csrf_token": leaving.csrf},
            headers={"Origin": server.url},
        )
        assert response.status_code == 303, response.text
        await gone.wait_closed(RECHECK_WITHIN)
        assert gone.close_code == SIGNED_OUT

        await hears_more(kept)
        assert not kept.closed
        preview = await staying.post(f"/console/liveblogs/{slug}/preview", {"source": "x"})
        assert preview.status_code == 200, preview.text
