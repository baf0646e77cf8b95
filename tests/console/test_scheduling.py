"""Scheduled entries publish themselves on time, exactly once: on one process, across a restart
that missed the time, and with two processes' schedulers racing on PostgreSQL + Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.console.newsroom import (
    compose,
    console_liveblog,
    entries_of,
    head_seq,
    iso,
    parse_time,
    save_draft,
    utc_in,
)
from tests.harness import (
    ConsoleClient,
    LiveServer,
    Subscriber,
    api_client,
    create_user,
    problem,
    seconds,
)

StartServer = Callable[..., LiveServer]


@pytest.fixture(scope="module")
def editor(server: LiveServer) -> str:
    return create_user(server, "editor")


@pytest.fixture
async def console(server: LiveServer, editor: str) -> AsyncIterator[ConsoleClient]:
    async with ConsoleClient(server) as client:
        assert (await client.sign_in(editor)).status_code == 303
        yield client


@pytest.fixture
async def public(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(server) as client:
        yield client


async def subscribed(stack: AsyncExitStack, server: LiveServer, slug: str) -> Subscriber:
    """A reader of `slug` on `server`, past its hello."""
    reader = await stack.enter_async_context(Subscriber(server, slug))
    await reader.wait_for(lambda r: bool(r.messages), what="hello")
    return reader


def created(reader: Subscriber) -> list[dict[str, Any]]:
    return [e for e in reader.events if e["type"] == "entry.created"]


async def schedule_marker(console: ConsoleClient, slug: str, at: datetime | None = None) -> None:
    """Schedule an entry titled "Marker" at `at` (default: now, so it is due at once).

    The scheduler publishes what is due soonest first, in passes one after another, each reading
    what is due when it starts. So the pass that publishes the marker began after it was saved
    and after its time; an entry still scheduled then with an earlier time would go out in that
    same pass, before the marker. Once readers have the marker, what has not come never will.
    """
    await save_draft(console, slug, "Marker", "scheduled", publish_at=iso(at or utc_in(0)))


def titled(reader: Subscriber, title: str) -> bool:
    return any(e["entry"]["title"] == title for e in created(reader))


async def test_a_scheduled_entry_appears_on_time_exactly_once(
    server: LiveServer, console: ConsoleClient, public: httpx.AsyncClient
) -> None:
    """An entry scheduled 2 s ahead reaches a subscribed reader within 2 s of its time, once."""
    slug = await console_liveblog(console)
    head = await head_seq(public, slug)
    async with AsyncExitStack() as stack:
        reader = await subscribed(stack, server, slug)
        due = utc_in(2.0)
        draft = await save_draft(console, slug, "On the hour", "scheduled", publish_at=iso(due))
        assert parse_time(draft["publish_at"]) == due.replace(microsecond=0)
        await reader.wait_for_seq(head + 1, timeout=6)
        arrived = datetime.now(UTC)
        # A later scheduler pass: a second publish of the entry would come before the marker.
        await schedule_marker(console, slug)
        await reader.wait_for_seq(head + 2)
    assert arrived - due < timedelta(seconds=seconds(2.0)), arrived - due
    assert [(e["seq"], e["entry"]["title"]) for e in created(reader)] == [
        (head + 1, "On the hour"),
        (head + 2, "Marker"),
    ]
    assert reader.events == created(reader)
    # Published at its time, not before (created_at is shown to the millisecond).
    entry, mark = (event["entry"] for event in created(reader))
    assert parse_time(entry["created_at"]) >= due - timedelta(milliseconds=1)
    assert [e["id"] for e in await entries_of(public, slug)] == [mark["id"], entry["id"]]
    items = (await console.get(f"/console/liveblogs/{slug}/items")).text
    assert f'data-kind="draft" data-id="{draft["id"]}"' not in items
    assert f'data-kind="entry" data-id="{entry["id"]}"' in items


async def test_an_entry_unscheduled_before_its_time_is_never_published(
    server: LiveServer, console: ConsoleClient, public: httpx.AsyncClient
) -> None:
    """Unscheduled before its time, an entry stays a draft: no reader event, nothing in REST."""
    slug = await console_liveblog(console)
    head = await head_seq(public, slug)
    async with AsyncExitStack() as stack:
        reader = await subscribed(stack, server, slug)
        due = utc_in(1.5)
        draft = await save_draft(console, slug, "Held back", "scheduled", publish_at=iso(due))
        response = await console.post(f"/console/liveblogs/{slug}/drafts/{draft['id']}/unschedule")
        assert response.status_code == 200, response.text
        assert (response.json()["state"], response.json()["publish_at"]) == ("draft", None)
        # Due after the entry's time: the pass that publishes the marker found the entry's time
        # passed too, and would have published the entry first had it still been scheduled.
        await schedule_marker(console, slug, due + timedelta(seconds=0.5))
        await reader.wait_for(lambda r: titled(r, "Marker"), timeout=10, what="the marker")
        assert [(e["type"], e["seq"], e["entry"]["title"]) for e in reader.events] == [
            ("entry.created", head + 1, "Marker")
        ]
    assert [e["title"] for e in await entries_of(public, slug)] == ["Marker"]
    assert await head_seq(public, slug) == head + 1  # the marker's
    items = (await console.get(f"/console/liveblogs/{slug}/items")).text
    assert f'data-kind="draft" data-id="{draft["id"]}" data-version="2" data-state="draft"' in items


async def test_scheduling_in_the_past_is_refused_beyond_five_minutes(
    server: LiveServer, console: ConsoleClient, public: httpx.AsyncClient
) -> None:
    """A publish_at more than 5 min ago (or without a zone) is 422; a minute ago publishes now."""
    slug = await console_liveblog(console)
    drafts = f"/console/liveblogs/{slug}/drafts"
    too_late = iso(utc_in(-6 * 60))
    refused = await console.post(
        drafts, compose("Too late", state="scheduled", publish_at=too_late)
    )
    assert "past" in problem(refused, 422)["detail"]

    draft = await save_draft(console, slug, "Rescheduled")
    schedule = f"{drafts}/{draft['id']}/schedule"
    problem(await console.post(schedule, {"publish_at": iso(utc_in(-10 * 60))}), 422)
    naive = datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1)
    problem(await console.post(schedule, {"publish_at": naive.isoformat()}), 422)
    kept = (await console.get(f"/console/liveblogs/{slug}/items")).text
    assert f'data-id="{draft["id"]}" data-version="1" data-state="draft"' in kept
    assert await entries_of(public, slug) == []

    # Within the grace (the editor took a while to press Schedule): accepted, out at once.
    late = await console.post(schedule, {"publish_at": iso(utc_in(-60))})
    assert late.status_code == 200 and late.json()["state"] == "scheduled", late.text
    for _ in range(int(seconds(3.0) / 0.1)):
        if await entries_of(public, slug):
            break
        await asyncio.sleep(0.1)
    assert [e["title"] for e in await entries_of(public, slug)] == ["Rescheduled"]


@pytest.mark.slow
async def test_a_time_missed_while_down_is_published_once_at_start(
    isolated_server: StartServer,
) -> None:
    """A time passed while the server was stopped publishes once at the next start, after it."""
    first = isolated_server()
    username = create_user(first)
    async with ConsoleClient(first) as console:
        assert (await console.sign_in(username)).status_code == 303
        slug = await console_liveblog(console)
        due = utc_in(3.0)
        draft = await save_draft(console, slug, "While we slept", "scheduled", publish_at=iso(due))
    first.stop()
    assert datetime.now(UTC) < due, "stopped too late: the entry's time was not missed"
    # Time is what is tested: the entry's time must pass while no server runs.
    await asyncio.sleep((due - datetime.now(UTC)).total_seconds())
    while datetime.now(UTC) <= due:
        await asyncio.sleep(0.01)

    again = LiveServer(first.data_dir).start()
    try:
        async with api_client(again) as public, AsyncExitStack() as stack:
            # since=0: whether it went out before or after this reader connected, it sees it.
            reader = await stack.enter_async_context(Subscriber(again, slug, since=0))
            await reader.wait_for_seq(1, timeout=5)
            console = await stack.enter_async_context(ConsoleClient(again))
            assert (await console.sign_in(username)).status_code == 303
            # A later scheduler pass: a second publish of the entry would come before the marker.
            await schedule_marker(console, slug)
            await reader.wait_for_seq(2)
            assert [(e["type"], e["seq"]) for e in reader.events] == [
                ("entry.created", 1),
                ("entry.created", 2),
            ]
            entry, mark = (event["entry"] for event in reader.events)
            assert (entry["title"], mark["title"]) == ("While we slept", "Marker")
            assert parse_time(entry["created_at"]) > due
            assert [e["id"] for e in await entries_of(public, slug)] == [mark["id"], entry["id"]]
            assert await head_seq(public, slug) == 2
            items = (await console.get(f"/console/liveblogs/{slug}/items")).text
            assert f'data-kind="draft" data-id="{draft["id"]}"' not in items
    finally:
        again.stop()


@pytest.mark.slow
async def test_two_schedulers_publish_each_entry_exactly_once(
    isolated_server: StartServer, postgres_url: str, redis_url: str, broker_channel: str
) -> None:
    """Two processes' schedulers race: 5 entries published once each, seen once, in order."""
    settings = {
        "database_url": postgres_url,
        "broker_url": redis_url,
        "broker_channel": broker_channel,
        "scheduler_interval_seconds": 0.05,  # both poll often: they really race for each entry
    }
    a = isolated_server(**settings, process=True)  # two processes, as in production
    b = isolated_server(**settings, process=True)
    username = create_user(a)
    async with ConsoleClient(a) as console, api_client(b) as public, AsyncExitStack() as stack:
        assert (await console.sign_in(username)).status_code == 303
        slug = await console_liveblog(console)
        readers = [await subscribed(stack, server, slug) for server in (a, b)]
        base = utc_in(1.5)
        titles = [f"Result {n}" for n in range(5)]
        for n, title in enumerate(titles):
            at = base + timedelta(seconds=0.1 * n)
            await save_draft(console, slug, title, "scheduled", publish_at=iso(at))
        for reader in readers:
            await reader.wait_for_seq(5, timeout=8)
        # A later pass of whichever scheduler wins the marker: a duplicate of any of the five
        # that had committed by then comes before it. (Each process's passes run one after
        # another, and both are woken by the marker's save and poll every 0.05 s.)
        await schedule_marker(console, slug)
        for reader in readers:
            await reader.wait_for_seq(6)

        for reader in readers:
            assert [e["seq"] for e in reader.events] == [1, 2, 3, 4, 5, 6]
            assert sorted(e["entry"]["title"] for e in created(reader)[:5]) == titles
            assert created(reader)[5]["entry"]["title"] == "Marker"
            assert len(created(reader)) == 6
        listed = await entries_of(public, slug)
        assert sorted(e["title"] for e in listed) == sorted([*titles, "Marker"])
        assert len({e["id"] for e in listed}) == 6
        assert await head_seq(public, slug) == 6
        items = (await console.get(f"/console/liveblogs/{slug}/items")).text
        assert 'data-kind="draft"' not in items
