"""The WebSocket promise: every change, in seq order, exactly once, also across reconnects."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Callable

import httpx
import pytest

from tests.conftest import NewLiveblog
from tests.harness import LiveServer, Subscriber, writer


def created_ids(subscriber: Subscriber) -> list[int]:
    return [m["entry"]["id"] for m in subscriber.events if m["type"] == "entry.created"]


def assert_strictly_increasing(seqs: list[int]) -> None:
    assert all(a < b for a, b in itertools.pairwise(seqs)), seqs


async def test_hello_then_live_changes(
    api: httpx.AsyncClient, server: LiveServer, new_liveblog: NewLiveblog
) -> None:
    """A reader gets hello with the head, then created, updated, deleted and liveblog events."""
    slug = await new_liveblog()
    url = f"/api/liveblogs/{slug}/entries"
    await api.post(url, json={"body": "<p>before</p>"})
    epoch = (await api.get(f"/api/liveblogs/{slug}")).json()["epoch"]
    async with Subscriber(server, slug) as reader:
        await reader.wait_for(lambda s: len(s.messages) >= 1, what="hello")
        assert reader.messages[0] == {"type": "hello", "liveblog": slug, "seq": 1, "epoch": epoch}
        entry = (await api.post(url, json={"title": "New", "body": "<p>now</p>"})).json()
        await api.patch(f"{url}/{entry['id']}", json={"title": "Corrected"})
        await api.delete(f"{url}/{entry['id']}")
        await api.patch(f"/api/liveblogs/{slug}", json={"status": "ended"})
        await reader.wait_for_seq(5)
    kinds = [(m["type"], m["seq"]) for m in reader.events]
    assert {m["epoch"] for m in reader.events} == {epoch}
    assert kinds == [
        ("entry.created", 2),
        ("entry.updated", 3),
        ("entry.deleted", 4),
        ("liveblog.updated", 5),
    ]
    created, updated, deleted, ended = reader.events
    assert created["entry"] == entry
    assert updated["entry"]["title"] == "Corrected" and updated["entry"]["version"] == 2
    assert deleted["entry"]["deleted"] is True and deleted["entry"]["body"] == ""
    assert ended["liveblog"]["status"] == "ended" and ended["liveblog"]["slug"] == slug


async def test_concurrent_posters_reach_every_subscriber_once_in_order(
    api: httpx.AsyncClient, server: LiveServer, new_liveblog: NewLiveblog
) -> None:
    """4 posters × 25 entries, 3 subscribers: each gets all 100 exactly once, seq increasing."""
    slug = await new_liveblog()

    async def poster(number: int) -> list[int]:
        ids = []
        for n in range(25):
            response = await api.post(
                f"/api/liveblogs/{slug}/entries", json={"body": f"<p>poster {number} entry {n}</p>"}
            )
            assert response.status_code == 201
            ids.append(response.json()["id"])
        return ids

    async with (
        Subscriber(server, slug) as a,
        Subscriber(server, slug) as b,
        Subscriber(server, slug) as c,
    ):
        for reader in (a, b, c):
            await reader.wait_for(lambda s: len(s.messages) >= 1, what="hello")
        posted = [i for ids in await asyncio.gather(*(poster(n) for n in range(4))) for i in ids]
        for reader in (a, b, c):
            await reader.wait_for_seq(100, timeout=10)
    assert len(posted) == 100
    for reader in (a, b, c):
        assert sorted(created_ids(reader)) == sorted(posted)
        assert len(created_ids(reader)) == 100
        seqs = [m["seq"] for m in reader.events]
        assert seqs == list(range(1, 101))  # gap-free: no seq missing, none twice


async def test_resume_with_since_while_posting_continues(
    api: httpx.AsyncClient, server: LiveServer, new_liveblog: NewLiveblog
) -> None:
    """Reconnecting with since=last seq yields exactly the changes after it: no gap, no dup."""
    slug = await new_liveblog()
    url = f"/api/liveblogs/{slug}/entries"
    posted: list[int] = []
    stop = asyncio.Event()

    async def keep_posting() -> None:
        for n in range(200):
            if stop.is_set():
                return
            response = await api.post(url, json={"body": f"<p>{n}</p>"})
            posted.append(response.json()["id"])
            if posted and n % 7 == 0:  # edits too, so the replay compacts some entries
                await api.patch(f"{url}/{random.choice(posted)}", json={"title": f"edit {n}"})
            await asyncio.sleep(0.005)

    received: list[dict[str, object]] = []
    posting = asyncio.create_task(keep_posting())
    since = 0  # from the start: posting may already be under way when the first session opens
    for _ in range(4):  # four sessions, each dropped while posting goes on
        async with Subscriber(server, slug, since=since) as reader:
            await reader.wait_for(lambda s: len(s.events) >= 10, timeout=10, what="10 events")
        received += reader.events
        since = reader.last_seq
        await asyncio.sleep(0.05)  # changes pile up while disconnected
    stop.set()
    await posting
    head = (await api.get(f"/api/liveblogs/{slug}")).json()["seq"]
    async with Subscriber(server, slug, since=since) as reader:
        if since < head:
            await reader.wait_for_seq(head, timeout=10)
    received += reader.events

    seqs = [m["seq"] for m in received]
    assert_strictly_increasing(seqs)  # no duplicate, in order, across all five sessions
    assert seqs[-1] == head
    # No gap: replaying what was received rebuilds exactly the stored state.
    state: dict[int, dict[str, object]] = {}
    for message in received:
        entry = message["entry"]
        assert isinstance(entry, dict)
        state[entry["id"]] = entry
    stored = (await api.get(url, params={"since": 0, "limit": 100})).json()
    while stored["next_since"] is not None:
        more = (await api.get(url, params={"since": stored["next_since"], "limit": 100})).json()
        stored["entries"] += more["entries"]
        stored["next_since"] = more["next_since"]
    assert state == {entry["id"]: entry for entry in stored["entries"]}
    assert set(state) == set(posted)


async def test_replay_compacts_to_current_state(
    api: httpx.AsyncClient, server: LiveServer, new_liveblog: NewLiveblog
) -> None:
    """A replay sends one event per changed entry, its current state, typed for the reader."""
    slug = await new_liveblog()
    url = f"/api/liveblogs/{slug}/entries"
    old = (await api.post(url, json={"body": "<p>old</p>"})).json()  # seq 1
    new = (await api.post(url, json={"body": "<p>new</p>"})).json()  # seq 2
    gone = (await api.post(url, json={"body": "<p>gone</p>"})).json()  # seq 3
    await api.patch(f"{url}/{old['id']}", json={"title": "a"})  # seq 4
    await api.patch(f"{url}/{new['id']}", json={"title": "b"})  # seq 5
    await api.delete(f"{url}/{gone['id']}")  # seq 6
    await api.patch(f"/api/liveblogs/{slug}", json={"title": "Renamed"})  # seq 7
    async with Subscriber(server, slug, since=1) as reader:
        await reader.wait_for_seq(7)
    epoch = (await api.get(f"/api/liveblogs/{slug}")).json()["epoch"]
    assert reader.messages[0] == {"type": "hello", "liveblog": slug, "seq": 7, "epoch": epoch}
    assert {m["epoch"] for m in reader.events} == {epoch}
    assert [(m["type"], m["seq"]) for m in reader.events] == [
        ("entry.updated", 4),  # the reader had seen `old` created at seq 1
        ("entry.created", 5),  # `new` was created after since=1: it arrives as created
        ("entry.deleted", 6),
        ("liveblog.updated", 7),
    ]
    assert reader.events[1]["entry"]["title"] == "b"
    assert reader.events[3]["liveblog"]["title"] == "Renamed"


async def test_since_at_head_replays_nothing(
    api: httpx.AsyncClient, server: LiveServer, new_liveblog: NewLiveblog
) -> None:
    """A reader already current gets hello and then only new changes."""
    slug = await new_liveblog()
    await api.post(f"/api/liveblogs/{slug}/entries", json={"body": "<p>1</p>"})
    async with Subscriber(server, slug, since=1) as reader:
        await reader.wait_for(lambda s: len(s.messages) >= 1, what="hello")
        await api.post(f"/api/liveblogs/{slug}/entries", json={"body": "<p>2</p>"})
        await reader.wait_for_seq(2)
    assert [m["seq"] for m in reader.messages] == [1, 2]


async def test_since_ahead_of_head_gets_resync(
    api: httpx.AsyncClient, server: LiveServer, new_liveblog: NewLiveblog
) -> None:
    """A position the server never reached (restored database) is answered, never silence."""
    slug = await new_liveblog()
    async with Subscriber(server, slug, since=50) as reader:
        await reader.wait_for(lambda s: len(s.messages) >= 2, what="hello and resync")
        assert reader.messages[1]["type"] == "resync"
        assert reader.messages[1]["reason"] == "ahead_of_server"
        assert reader.messages[1]["seq"] == 0
        await api.post(f"/api/liveblogs/{slug}/entries", json={"body": "<p>after</p>"})
        await reader.wait_for_seq(1)  # the live stream continues after the resync
    assert reader.events[-1]["type"] == "entry.created"


async def test_unknown_liveblog_and_bad_since_close_with_codes(server: LiveServer) -> None:
    """Errors on the socket are close codes with a reason."""
    async with Subscriber(server, "no-such-liveblog") as reader:
        await reader.wait_for(lambda s: s.closed, what="close")
    assert (reader.close_code, reader.close_reason) == (4404, "liveblog not found")
    async with Subscriber(server, "no-such-liveblog", since=-1) as reader:
        await reader.wait_for(lambda s: s.closed, what="close")
    assert reader.close_code == 4400
    assert reader.messages == []


@pytest.mark.slow
async def test_catchup_limit_sends_resync_instead(
    isolated_server: Callable[..., LiveServer],
) -> None:
    """More changes than LIVEBLOG_CATCHUP_LIMIT: one resync message, then live events."""
    server = isolated_server(catchup_limit=5)
    async with writer(server) as api:
        await api.post("/api/liveblogs", json={"slug": "big", "title": "Big"})
        for n in range(10):
            await api.post("/api/liveblogs/big/entries", json={"body": f"<p>{n}</p>"})
        async with Subscriber(server, "big", since=2) as far:
            await far.wait_for(lambda s: len(s.messages) >= 2, what="hello and resync")
            await api.post("/api/liveblogs/big/entries", json={"body": "<p>live</p>"})
            await far.wait_for_seq(11)
        async with Subscriber(server, "big", since=6) as near:
            await near.wait_for_seq(11)
    assert far.messages[0]["type"] == "hello" and far.messages[0]["seq"] == 10
    resync = far.messages[1]
    assert (resync["type"], resync["reason"], resync["seq"]) == ("resync", "too_far_behind", 10)
    assert "REST" in resync["detail"]
    assert [m["seq"] for m in far.messages[2:]] == [11]  # nothing replayed, then live
    assert [m["seq"] for m in near.events] == [7, 8, 9, 10, 11]  # within the limit: replayed


async def test_reader_connecting_during_a_burst_misses_nothing(
    api: httpx.AsyncClient, server: LiveServer, new_liveblog: NewLiveblog
) -> None:
    """Readers joining while entries are being posted each end with a gap-free stream."""
    slug = await new_liveblog()
    url = f"/api/liveblogs/{slug}/entries"

    async def burst() -> None:
        for n in range(60):
            await api.post(url, json={"body": f"<p>{n}</p>"})

    async def join_late(delay: float) -> Subscriber:
        await asyncio.sleep(delay)
        reader = Subscriber(server, slug, since=0)
        await reader.__aenter__()
        return reader

    posting = asyncio.create_task(burst())
    readers = await asyncio.gather(*(join_late(d * 0.02) for d in range(8)))
    await posting
    try:
        for reader in readers:
            await reader.wait_for_seq(60, timeout=10)
            assert [m["seq"] for m in reader.events] == list(range(1, 61))
    finally:
        for reader in readers:
            await reader.close()
