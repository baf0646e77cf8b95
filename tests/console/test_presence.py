"""The console's socket: "Readers now" summed over processes (console sockets not counted, a
dead process expiring), "changed" news from any process, and a disabled user's sockets closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack

import httpx
import pytest

from tests.console.newsroom import SIGNED_OUT, ConsoleSocket, compose, console_liveblog
from tests.harness import (
    ConsoleClient,
    LiveServer,
    Subscriber,
    api_client,
    cli,
    create_token,
    create_user,
    problem,
    seconds,
)
from tests.services import fresh_postgres_database

StartServer = Callable[..., LiveServer]

# Readers now: each process reports every 2 s, consoles hear every 2 s, a report lives 6 s.
COUNT_WITHIN = 6.0
EXPIRY_WITHIN = 9.0  # a dead process's last report expires <= 6 s on, + a 2 s tick, + slack


@pytest.fixture(scope="module")
def editor(server: LiveServer) -> str:
    return create_user(server, "editor")


@pytest.fixture
async def console(server: LiveServer, editor: str) -> AsyncIterator[ConsoleClient]:
    async with ConsoleClient(server) as client:
        assert (await client.sign_in(editor)).status_code == 303
        yield client


@pytest.fixture(scope="module")
def shared_pair(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_admin_url: str,
    redis_url: str,
) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Processes A and B on one PostgreSQL database and one Redis channel, for this module's
    multi-process tests that leave both running."""
    with contextlib.ExitStack() as stack:
        settings = {
            "database_url": stack.enter_context(fresh_postgres_database(postgres_admin_url)),
            "broker_url": redis_url,
            "broker_channel": f"liveblog-test-{uuid.uuid4().hex[:12]}",
        }
        servers = []
        for name in "ab":  # one after the other: each migrates at start-up
            live = LiveServer(
                tmp_path_factory.mktemp(f"presence-{name}"), process=True, **settings
            ).start()
            stack.callback(live.stop)
            servers.append(live)
        yield servers[0], servers[1]


async def signed_in(stack: AsyncExitStack, server: LiveServer, username: str) -> ConsoleClient:
    client = await stack.enter_async_context(ConsoleClient(server))
    assert (await client.sign_in(username)).status_code == 303
    return client


async def console_socket(
    stack: AsyncExitStack, server: LiveServer, slug: str, cookie: str | None
) -> ConsoleSocket:
    """A console socket, past its first message (the readers count at connect)."""
    socket = await stack.enter_async_context(ConsoleSocket(server, slug, cookie))
    await socket.wait_for(lambda s: bool(s.counts), 3.0, "the first readers count")
    return socket


async def readers_of(
    stack: AsyncExitStack, server: LiveServer, slug: str, n: int
) -> list[Subscriber]:
    readers = [await stack.enter_async_context(Subscriber(server, slug)) for _ in range(n)]
    for reader in readers:
        await reader.wait_for(lambda r: bool(r.messages), what="hello")
    return readers


async def post_entry(client: httpx.AsyncClient, slug: str, title: str) -> int:
    response = await client.post(
        f"/api/liveblogs/{slug}/entries", json={"title": title, "body": f"<p>{title}</p>"}
    )
    assert response.status_code == 201, response.text
    seq: int = response.json()["seq"]
    return seq


# One process, SQLite, in-process broker -------------------------------------------------------


async def test_readers_now_counts_readers_not_consoles(
    server: LiveServer, console: ConsoleClient
) -> None:
    """One process: the count is the readers' sockets; a second console socket adds nothing."""
    slug = await console_liveblog(console)
    async with AsyncExitStack() as stack:
        first = await console_socket(stack, server, slug, console.cookie)
        assert first.counts == [0]
        second = await console_socket(stack, server, slug, console.cookie)
        readers = await readers_of(stack, server, slug, 3)
        # Exactly 3 with two console sockets open: they are not counted (that would be 5).
        await asyncio.gather(
            first.wait_for_count(3, COUNT_WITHIN), second.wait_for_count(3, COUNT_WITHIN)
        )

        await readers[0].close()
        await asyncio.gather(
            first.wait_for_count(2, COUNT_WITHIN), second.wait_for_count(2, COUNT_WITHIN)
        )
        assert max(first.counts + second.counts) == 3


async def test_console_socket_hears_of_api_entries_and_others_drafts(
    server: LiveServer, console: ConsoleClient
) -> None:
    """A token-API entry (with its seq) and another user's draft each send the console changed."""
    slug = await console_liveblog(console)
    contributor, token = await asyncio.gather(
        asyncio.to_thread(create_user, server, "contributor"),
        asyncio.to_thread(create_token, server.data_dir, env=server.env),
    )
    async with AsyncExitStack() as stack:
        socket = await console_socket(stack, server, slug, console.cookie)
        api = await stack.enter_async_context(api_client(server, token))
        mark = len(socket.messages)
        seq = await post_entry(api, slug, "From the wire")
        await socket.wait_for_change(mark, seq=seq)

        other = await signed_in(stack, server, contributor)
        mark = len(socket.messages)
        saved = await other.post(f"/console/liveblogs/{slug}/drafts", compose("A tip"))
        assert saved.status_code == 201, saved.text
        await socket.wait_for_change(mark, seq=None)
        assert not socket.closed


async def test_a_user_disabled_from_the_cli_is_closed_out_within_seconds(
    server: LiveServer,
) -> None:
    """In-process broker: a CLI disable closes the socket 4401 in ~6 s; HTTP is refused at once."""
    username = create_user(server, "editor")
    async with AsyncExitStack() as stack:
        console = await signed_in(stack, server, username)
        slug = await console_liveblog(console)
        socket = await console_socket(stack, server, slug, console.cookie)
        result = await asyncio.to_thread(
            cli, server.data_dir, "user", "disable", username, env=server.env
        )
        assert result.returncode == 0, result.stderr
        disabled_at = time.monotonic()

        problem(await console.post(f"/console/liveblogs/{slug}/drafts", compose("x")), 401)
        page = await console.get(f"/console/liveblogs/{slug}")
        assert (page.status_code, page.headers["location"]) == (303, "/console")

        await socket.wait_closed(7.0)
        assert socket.close_code == SIGNED_OUT
        assert socket.closed_at is not None and socket.closed_at - disabled_at < seconds(7.0)


async def test_a_user_disabled_by_an_admin_is_closed_out_at_once(server: LiveServer) -> None:
    """In-process broker: an admin's disable in the console closes the user's socket within 1 s."""
    admin, username = await asyncio.gather(
        asyncio.to_thread(create_user, server, "admin"),
        asyncio.to_thread(create_user, server, "editor"),
    )
    async with AsyncExitStack() as stack:
        console = await signed_in(stack, server, username)
        slug = await console_liveblog(console)
        socket = await console_socket(stack, server, slug, console.cookie)
        boss = await signed_in(stack, server, admin)
        response = await boss.post(f"/console/users/{username}/disable")
        assert response.status_code == 200 and response.json()["disabled"] is True
        await socket.wait_closed(1.0)
        assert socket.close_code == SIGNED_OUT
        problem(await console.post(f"/console/liveblogs/{slug}/end"), 401)
        assert (await console.sign_in(username)).status_code == 401


# Two processes, PostgreSQL + Redis ------------------------------------------------------------


@pytest.mark.slow
async def test_readers_now_sums_processes_and_forgets_a_killed_one(
    isolated_server: StartServer, postgres_url: str, redis_url: str, broker_channel: str
) -> None:
    """Readers summed over A and B, consoles not counted; a SIGKILLed B expires in ~8 s."""
    settings = {"database_url": postgres_url, "broker_url": redis_url}
    a = isolated_server(**settings, broker_channel=broker_channel, process=True)
    b = isolated_server(**settings, broker_channel=broker_channel, process=True)
    username = create_user(a, "editor")
    async with AsyncExitStack() as stack:
        console = await signed_in(stack, a, username)
        slug = await console_liveblog(console)
        # Three console sockets (two on B): exactly 5 below means none of them is counted.
        on_a, on_b, _ = [
            await console_socket(stack, server, slug, console.cookie) for server in (a, b, b)
        ]
        readers_a = await readers_of(stack, a, slug, 3)
        readers_b = await readers_of(stack, b, slug, 2)
        await asyncio.gather(
            on_a.wait_for_count(5, COUNT_WITHIN), on_b.wait_for_count(5, COUNT_WITHIN)
        )
        assert {"type": "readers", "count": 5} in on_a.messages

        await readers_a[0].close()
        await readers_b[0].close()
        await asyncio.gather(
            on_a.wait_for_count(3, COUNT_WITHIN), on_b.wait_for_count(3, COUNT_WITHIN)
        )
        assert max(on_a.counts + on_b.counts) == 5

        b.kill()
        await on_a.wait_for_count(2, EXPIRY_WITHIN)


@pytest.mark.slow
async def test_console_socket_hears_of_changes_on_either_process(
    shared_pair: tuple[LiveServer, LiveServer],
) -> None:
    """Entries posted through A or B and a draft saved on B each send changed to A's console."""
    a, b = shared_pair
    editor, contributor, token = await asyncio.gather(
        asyncio.to_thread(create_user, a, "editor"),
        asyncio.to_thread(create_user, a, "contributor"),
        asyncio.to_thread(create_token, a.data_dir, env=a.env),
    )
    async with AsyncExitStack() as stack:
        console = await signed_in(stack, a, editor)
        slug = await console_liveblog(console)
        socket = await console_socket(stack, a, slug, console.cookie)
        for server in (b, a):
            api = await stack.enter_async_context(api_client(server, token))
            mark = len(socket.messages)
            seq = await post_entry(api, slug, f"Posted through {server.port}")
            await socket.wait_for_change(mark, seq=seq)

        other = await signed_in(stack, b, contributor)
        mark = len(socket.messages)
        saved = await other.post(f"/console/liveblogs/{slug}/drafts", compose("A tip"))
        assert saved.status_code == 201, saved.text
        await socket.wait_for_change(mark, seq=None)


@pytest.mark.slow
async def test_a_disabled_user_is_closed_out_on_every_process_at_once(
    shared_pair: tuple[LiveServer, LiveServer],
) -> None:
    """Shared Redis: a CLI or admin disable closes the user's sockets on A and B within 1 s."""
    a, b = shared_pair
    admin, by_cli, by_admin = await asyncio.gather(
        *(asyncio.to_thread(create_user, a, role) for role in ("admin", "editor", "editor"))
    )
    async with AsyncExitStack() as stack:
        console = await signed_in(stack, a, by_cli)
        slug = await console_liveblog(console)
        sockets = [await console_socket(stack, s, slug, console.cookie) for s in (a, b)]
        result = await asyncio.to_thread(cli, a.data_dir, "user", "disable", by_cli, env=a.env)
        assert result.returncode == 0, result.stderr
        await asyncio.gather(*(s.wait_closed(1.0) for s in sockets))
        assert [s.close_code for s in sockets] == [SIGNED_OUT, SIGNED_OUT]
        on_b = await stack.enter_async_context(ConsoleClient(b))
        on_b.http.cookies.set("liveblog_session", console.cookie or "")
        on_b.csrf = console.csrf
        problem(await on_b.post(f"/console/liveblogs/{slug}/drafts", compose("x")), 401)
        problem(await console.post(f"/console/liveblogs/{slug}/drafts", compose("x")), 401)

        victim = await signed_in(stack, a, by_admin)
        socket = await console_socket(stack, a, slug, victim.cookie)
        boss = await signed_in(stack, b, admin)
        response = await boss.post(f"/console/users/{by_admin}/disable")
        assert response.status_code == 200, response.text
        await socket.wait_closed(1.0)
        assert socket.close_code == SIGNED_OUT
        problem(await victim.post(f"/console/liveblogs/{slug}/drafts", compose("x")), 401)
