"""Editor presence on the console's socket: who has which entry or draft open, told to every
console of the liveblog on every process, cleared by null, by the socket closing, and by the
process dying; what a console may send, and how much.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest

from tests.console.newsroom import ConsoleSocket, compose, console_liveblog, save_draft
from tests.harness import ConsoleClient, LiveServer, create_user

StartServer = Callable[..., LiveServer]

# Close codes of app/console/socket.py for what a console sends.
POLICY = 1008
TOO_BIG = 1009
# A process's editors are re-announced every 2 s and expire 6 s after its last announcement;
# the expiry is noticed at the next 2 s tick: 8 s, plus slack.
EXPIRY_WITHIN = 10.0


async def signed_in(stack: AsyncExitStack, server: LiveServer, username: str) -> ConsoleClient:
    client = await stack.enter_async_context(ConsoleClient(server))
    assert (await client.sign_in(username)).status_code == 303
    return client


async def opened(
    stack: AsyncExitStack, server: LiveServer, slug: str, cookie: str | None
) -> ConsoleSocket:
    """A console socket past its welcome (hello, readers, editors)."""
    socket = await stack.enter_async_context(ConsoleSocket(server, slug, cookie))
    await socket.wait_for(lambda s: bool(s.editors), 3.0, "the editors list at connect")
    return socket


async def published(console: ConsoleClient, slug: str, title: str) -> int:
    """Publish an entry through the console; returns its id."""
    response = await console.post(f"/console/liveblogs/{slug}/entries", compose(title))
    assert response.status_code == 201, response.text
    entry: int = response.json()["id"]
    return entry


def named(name: str) -> str:
    """A display name unique to this test run (display names are free text)."""
    return f"{name} {uuid.uuid4().hex[:4]}"


async def two_editors(server: LiveServer) -> tuple[tuple[str, str], tuple[str, str]]:
    """Two editors, (username, display name) each."""
    names = named("Ann First"), named("Ed Second")
    users = await asyncio.gather(
        *(asyncio.to_thread(create_user, server, "editor", display_name=n) for n in names)
    )
    return (users[0], names[0]), (users[1], names[1])


# One process ----------------------------------------------------------------------------------


async def test_an_open_entry_is_shown_to_every_console_until_null_or_close(
    server: LiveServer,
) -> None:
    """B opens entry X: A and B hear B's display name on X; null clears it, so does B's close."""
    (ann, _), (ed, ed_name) = await two_editors(server)
    async with AsyncExitStack() as stack:
        a_console = await signed_in(stack, server, ann)
        b_console = await signed_in(stack, server, ed)
        slug = await console_liveblog(a_console)
        entry = await published(a_console, slug, "Opened by Ed")
        a = await opened(stack, server, slug, a_console.cookie)
        b = await opened(stack, server, slug, b_console.cookie)
        assert a.editors == [[]] and b.editors == [[]]
        assert b.hello["name"] == ed_name and b.hello["user"] != a.hello["user"]
        ed_id = b.hello["user"]
        editing = [{"entry": entry, "user": ed_id, "name": ed_name}]

        await b.send({"type": "editing", "entry": entry})
        await asyncio.gather(a.wait_for_editors(editing), b.wait_for_editors(editing))

        await b.send({"type": "editing", "entry": None})
        await a.wait_for_editors([])

        await b.send({"type": "editing", "entry": entry})
        await a.wait_for_editors(editing)
        # A console that connects now is told at once.
        late = await opened(stack, server, slug, a_console.cookie)
        assert late.editors == [editing]

        await b.close()
        await a.wait_for_editors([])
        assert a.editors == [[], editing, [], editing, []]  # each change once, nothing else


async def test_drafts_two_editors_and_liveblogs_apart(server: LiveServer) -> None:
    """A draft shows as "draft"; one tab edits one thing; another liveblog's consoles hear none."""
    (ann, ann_name), (ed, ed_name) = await two_editors(server)
    async with AsyncExitStack() as stack:
        a_console = await signed_in(stack, server, ann)
        b_console = await signed_in(stack, server, ed)
        slug = await console_liveblog(a_console)
        elsewhere = await console_liveblog(a_console)
        entry = await published(a_console, slug, "Two at once")
        draft = (await save_draft(b_console, slug, "A tip"))["id"]
        a = await opened(stack, server, slug, a_console.cookie)
        b = await opened(stack, server, slug, b_console.cookie)
        other = await opened(stack, server, elsewhere, a_console.cookie)
        ann_id, ed_id = a.hello["user"], b.hello["user"]

        await b.send({"type": "editing", "draft": draft})
        await a.wait_for_editors([{"draft": draft, "user": ed_id, "name": ed_name}])
        await a.send({"type": "editing", "entry": entry})
        both: list[dict[str, Any]] = [
            {"draft": draft, "user": ed_id, "name": ed_name},
            {"entry": entry, "user": ann_id, "name": ann_name},
        ]
        await b.wait_for_editors(both)
        # Switching replaces what the tab had open.
        await b.send({"type": "editing", "entry": entry})
        same = [
            {"entry": entry, "user": ann_id, "name": ann_name},
            {"entry": entry, "user": ed_id, "name": ed_name},
        ]
        await a.wait_for_editors(sorted(same, key=lambda e: e["user"]))  # in a stable order
        await b.send({"type": "editing", "draft": None})  # null clears whatever it had
        await a.wait_for_editors([{"entry": entry, "user": ann_id, "name": ann_name}])
        assert other.editors == [[]]


async def test_what_is_not_an_editing_message_is_ignored(server: LiveServer) -> None:
    """Malformed, unknown or binary messages change nothing and close nothing."""
    (ann, _), (ed, ed_name) = await two_editors(server)
    async with AsyncExitStack() as stack:
        a_console = await signed_in(stack, server, ann)
        b_console = await signed_in(stack, server, ed)
        slug = await console_liveblog(a_console)
        a = await opened(stack, server, slug, a_console.cookie)
        b = await opened(stack, server, slug, b_console.cookie)
        for junk in (
            "not json",
            "[]",
            "null",
            '{"type": "other", "entry": 5}',
            '{"type": "editing"}',
            '{"type": "editing", "entry": "5"}',
            '{"type": "editing", "entry": true}',
            '{"type": "editing", "entry": 5.0}',
            '{"type": "editing", "entry": 0}',
            '{"type": "editing", "entry": -5}',
            '{"type": "editing", "entry": 1e300}',
            '{"type": "editing", "entry": 5, "draft": 6}',
            '{"type": "editing", "entry": 5, "extra": 1}',
            b"\x00\x01 binary",
        ):
            await b.send(junk)
        await b.send({"type": "editing", "entry": 7})
        await a.wait_for_editors([{"entry": 7, "user": b.hello["user"], "name": ed_name}])
        assert a.editors == [[], a.editors[-1]]  # the valid message was the only change
        assert not a.closed and not b.closed


async def test_a_console_that_sends_too_much_is_closed_and_cleared(server: LiveServer) -> None:
    """Over 512 bytes closes 1009; a flood closes 1008; either way its editing clears."""
    (ann, _), (ed, ed_name) = await two_editors(server)
    async with AsyncExitStack() as stack:
        a_console = await signed_in(stack, server, ann)
        b_console = await signed_in(stack, server, ed)
        slug = await console_liveblog(a_console)
        a = await opened(stack, server, slug, a_console.cookie)

        big = await opened(stack, server, slug, b_console.cookie)
        editing = [{"entry": 3, "user": big.hello["user"], "name": ed_name}]
        await big.send({"type": "editing", "entry": 3})
        await a.wait_for_editors(editing)
        await big.send({"type": "editing", "entry": 3, "padding": "x" * 600})
        await big.wait_closed(3.0)
        assert big.close_code == TOO_BIG
        await a.wait_for_editors([])

        flood = await opened(stack, server, slug, b_console.cookie)
        await flood.send({"type": "editing", "entry": 3})
        await a.wait_for_editors(editing)
        for n in range(40):  # twice the burst, at once
            await flood.send({"type": "editing", "entry": 100 + n})
        await flood.wait_closed(3.0)
        assert flood.close_code == POLICY
        await a.wait_for_editors([])
        assert not a.closed


# Two processes, PostgreSQL + Redis ------------------------------------------------------------


@pytest.mark.slow
async def test_editors_cross_processes_and_a_dead_process_expires(
    isolated_server: StartServer, postgres_url: str, redis_url: str, broker_channel: str
) -> None:
    """B on process 2 opens X: A on process 1 sees it; null, close and SIGKILL each clear it."""
    settings = {"database_url": postgres_url, "broker_url": redis_url}
    one = isolated_server(**settings, broker_channel=broker_channel)
    two = isolated_server(**settings, broker_channel=broker_channel, process=True)
    (ann, _), (ed, ed_name) = await two_editors(one)
    async with AsyncExitStack() as stack:
        a_console = await signed_in(stack, one, ann)
        b_console = await signed_in(stack, two, ed)
        slug = await console_liveblog(a_console)
        entry = await published(a_console, slug, "Across processes")
        a = await opened(stack, one, slug, a_console.cookie)
        b = await opened(stack, two, slug, b_console.cookie)
        editing = [{"entry": entry, "user": b.hello["user"], "name": ed_name}]

        await b.send({"type": "editing", "entry": entry})
        await a.wait_for_editors(editing)
        # A console connecting to process 1 now hears of B on process 2 at connect.
        late = await opened(stack, one, slug, a_console.cookie)
        assert late.editors == [editing]
        await b.send({"type": "editing", "entry": None})
        await a.wait_for_editors([])

        await b.send({"type": "editing", "entry": entry})
        await a.wait_for_editors(editing)
        await b.close()
        await a.wait_for_editors([])

        again = await opened(stack, two, slug, b_console.cookie)
        await again.send({"type": "editing", "entry": entry})
        await a.wait_for_editors(editing)
        two.kill()
        await a.wait_for_editors([], EXPIRY_WITHIN)
