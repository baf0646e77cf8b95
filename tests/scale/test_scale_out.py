"""Several processes on PostgreSQL + Redis: every reader, on any process, gets every change once,
in seq order, through concurrent posting, a Redis outage and a process killed outright."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.harness import LiveServer, ResumingReader, Subscriber, cli, free_port, seconds, writer
from tests.services import RedisProcess, fresh_postgres_database

pytestmark = pytest.mark.slow

StartServer = Callable[..., LiveServer]


def start_pair(start: StartServer, **settings: Any) -> tuple[LiveServer, LiveServer]:
    # One after the other: each migrates at start-up (an advisory lock would also serialize them).
    return start(**settings), start(**settings)


@pytest.fixture
def pair(
    isolated_server: StartServer, postgres_url: str, redis_url: str, broker_channel: str
) -> tuple[LiveServer, LiveServer]:
    """Processes A and B sharing this test's PostgreSQL database and the shared Redis."""
    return start_pair(
        isolated_server,
        database_url=postgres_url,
        broker_url=redis_url,
        broker_channel=broker_channel,
    )


@asynccontextmanager
async def writers(
    a: LiveServer, b: LiveServer
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """An HTTP client of each server, holding one token (stored once, valid on both)."""
    async with writer(a) as to_a:
        token = to_a.headers["Authorization"].removeprefix("Bearer ")
        async with writer(b, token=token) as to_b:
            yield to_a, to_b


async def new_liveblog(client: httpx.AsyncClient, slug: str = "summit") -> str:
    response = await client.post("/api/liveblogs", json={"slug": slug, "title": "Summit"})
    assert response.status_code == 201, response.text
    return slug


async def post_entry(client: httpx.AsyncClient, slug: str, title: str) -> tuple[int, float]:
    """POST an entry; returns its seq and when the 201 arrived (monotonic)."""
    response = await client.post(
        f"/api/liveblogs/{slug}/entries", json={"title": title, "body": f"<p>{title}</p>"}
    )
    assert response.status_code == 201, response.text
    return response.json()["seq"], time.monotonic()


@asynccontextmanager
async def subscribed(servers: list[LiveServer], slug: str) -> AsyncIterator[list[Subscriber]]:
    """A reader on each server, connected and past its hello: each gets every later change."""
    async with AsyncExitStack() as stack:
        readers = [await stack.enter_async_context(Subscriber(s, slug)) for s in servers]
        for reader in readers:
            await reader.wait_for(lambda r: bool(r.messages), what="hello")
        yield readers


def received_at(reader: Subscriber, seq: int) -> float:
    for message, at in zip(reader.messages, reader.received_at, strict=True):
        if message.get("seq") == seq and message["type"] != "hello":
            return at
    raise AssertionError(f"seq {seq} never reached the reader: {reader.messages}")


def assert_exactly_once_in_order(seqs: list[int], last: int) -> None:
    assert seqs == list(range(1, last + 1)), f"expected 1..{last} once each, got {seqs}"


async def test_readers_on_either_process_get_entries_posted_through_both(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    """Concurrent posters on A and B: every reader on either gets all of them, in seq order,
    once; seqs are gap-free in storage; an entry posted to one reaches the other within 1 s."""
    a, b = pair
    async with writers(a, b) as (to_a, to_b):
        slug = await new_liveblog(to_a)
        posted: dict[int, tuple[str, float]] = {}

        async def poster(client: httpx.AsyncClient, name: str, count: int) -> None:
            for n in range(count):
                seq, at = await post_entry(client, slug, f"{name} {n}")
                posted[seq] = (name, at)

        async with subscribed([a, a, b, b], slug) as readers:
            await asyncio.gather(
                poster(to_a, "A", 15), poster(to_a, "A", 15), poster(to_b, "B", 15),
                poster(to_b, "B", 15),
            )  # fmt: skip
            total = len(posted)
            assert sorted(posted) == list(range(1, total + 1))  # unique, gap-free seqs
            for reader in readers:
                await reader.wait_for_seq(total, timeout=10)
        for reader in readers:
            assert_exactly_once_in_order([e["seq"] for e in reader.events], total)
            assert {e["type"] for e in reader.events} == {"entry.created"}

        # Latency across processes: posted through one, read on the other.
        crossings = [
            received_at(reader, seq) - at
            for reader, server_name in zip(readers, "AABB", strict=True)
            for seq, (posted_to, at) in posted.items()
            if posted_to != server_name
        ]
        assert max(crossings) < seconds(1.0), f"slowest crossing {max(crossings):.3f}s"

        stored = await to_b.get(f"/api/liveblogs/{slug}/entries", params={"since": 0, "limit": 100})
        assert [e["seq"] for e in stored.json()["entries"]] == list(range(1, total + 1))


async def wait_ready(
    server: LiveServer, ready: bool, timeout: float
) -> tuple[float, dict[str, Any]]:
    """Poll /readyz until it says `ready` (200) or not (503); returns when and the last body."""
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=server.url, timeout=seconds(3)) as client:
        while True:
            response = await client.get("/readyz")
            if (response.status_code == 200) == ready:
                return time.monotonic() - started, response.json()
            if time.monotonic() - started > seconds(timeout):
                raise AssertionError(f"/readyz stayed {response.status_code}: {response.text}")
            await asyncio.sleep(0.05)


async def test_redis_outage_loses_nothing(
    isolated_server: StartServer, postgres_url: str, private_redis: RedisProcess
) -> None:
    """Redis stops mid-stream: POSTs still succeed, readers on the other process get them by the
    storage watch (within the poll interval), readiness says so; Redis returns: live again
    within 2 s, and every reader holds every entry exactly once."""
    poll = 2.0
    a, b = start_pair(
        isolated_server,
        database_url=postgres_url,
        broker_url=private_redis.url,
        broker_fallback_poll_seconds=poll,
    )
    async with writers(a, b) as (to_a, to_b):
        await new_liveblog(to_a)
        async with subscribed([a, b], "summit") as (on_a, on_b):
            other = {"A": on_b, "B": on_a}
            clients = {"A": to_a, "B": to_b}

            async def post_and_time(name: str, n: int) -> float:
                """Seconds until the entry posted through `name` reaches the other side."""
                seq, at = await post_entry(clients[name], "summit", f"{name} {n}")
                await other[name].wait_for_seq(seq, timeout=poll + 5)
                return received_at(other[name], seq) - at

            for n in range(3):
                assert await post_and_time("AB"[n % 2], n) < seconds(1.0)

            private_redis.stop()
            _, body = await wait_ready(a, ready=False, timeout=5)
            assert "broker" in body["detail"] and "Redis" in body["detail"]
            outage = [await post_and_time("AB"[n % 2], n) for n in range(3, 9)]
            # Delivered by the storage watch: within one poll interval (and a query).
            assert max(outage) < seconds(poll + 1.0), outage

            private_redis.start()
            back_a, _ = await wait_ready(a, ready=True, timeout=5)
            back_b, _ = await wait_ready(b, ready=True, timeout=5)
            assert max(back_a, back_b) < seconds(2.0)
            after = [await post_and_time("AB"[n % 2], n) for n in range(9, 13)]
            # Live again: the watch alone would take up to `poll` seconds for most of them.
            assert max(after) < seconds(0.5), after

            for reader in (on_a, on_b):
                await reader.wait_for_seq(13)
                assert_exactly_once_in_order([e["seq"] for e in reader.events], 13)


async def test_readers_of_a_killed_process_resume_on_the_other(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    """SIGKILL of A while entries keep coming through B: A's readers reconnect to B with
    `since` and end with every entry exactly once, in order."""
    a, b = pair
    async with writers(a, b) as (to_a, to_b):
        slug = await new_liveblog(to_a)
        readers = [ResumingReader([a, b], slug) for _ in range(3)]
        for reader in readers:
            await reader.__aenter__()
        for n in range(5):
            await post_entry(to_a, slug, f"before {n}")

        async def keep_posting() -> None:
            for n in range(20):
                await post_entry(to_b, slug, f"through B {n}")
                await asyncio.sleep(0.03)

        posting = asyncio.create_task(keep_posting())
        await asyncio.sleep(0.2)
        a.kill()
        await posting
        for reader in readers:
            await reader.wait_for_seq(25)
            assert_exactly_once_in_order(reader.seqs, 25)
            assert reader.connections == 2  # A, then B
            await reader.__aexit__()


def test_workers_need_a_shared_broker(tmp_path: Path) -> None:
    """`serve --workers 2` with the in-process broker is refused, saying why."""
    result = cli(tmp_path, "serve", "--workers", "2", "--port", str(free_port()))
    assert result.returncode == 2
    assert "LIVEBLOG_BROKER_URL=redis://" in result.stderr
    assert "another" in result.stderr


async def test_workers_share_events_through_redis(
    isolated_server: StartServer, postgres_url: str, redis_url: str, broker_channel: str
) -> None:
    """`serve --workers 2`: two worker processes, and readers on either get every entry."""
    server = isolated_server(
        database_url=postgres_url, broker_url=redis_url, broker_channel=broker_channel, workers=2
    )
    assert server.process is not None
    assert len(child_pids(server.process.pid)) >= 2
    async with writer(server) as client:
        slug = await new_liveblog(client)
        async with subscribed([server] * 8, slug) as readers:  # spread over both workers
            for n in range(5):
                await post_entry(client, slug, f"entry {n}")
            for reader in readers:
                await reader.wait_for_seq(5)
                assert_exactly_once_in_order([e["seq"] for e in reader.events], 5)


def child_pids(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


async def test_epochs_rotated_under_two_processes_resync_readers_on_both(
    pair: tuple[LiveServer, LiveServer],
) -> None:
    """rotate-epochs while both run: the next entry, posted to A, reaches B's reader through
    Redis with the new epoch; each process's readers get a resync first, then live events."""
    a, b = pair
    async with writers(a, b) as (to_a, _):
        slug = await new_liveblog(to_a, "rotated")
        await post_entry(to_a, slug, "before")
        async with subscribed([a, b], slug) as readers:
            rotated = cli(a.data_dir, "rotate-epochs", slug, env=a.env)
            assert rotated.returncode == 0, rotated.stderr
            new_epoch = rotated.stdout.split()[1]
            await post_entry(to_a, slug, "after")  # seq 2: in the new epoch
            for reader in readers:
                await reader.wait_for(
                    lambda r: any(m["type"] == "resync" for m in r.messages), what="resync"
                )
            third, _ = await post_entry(to_a, slug, "live")
            for reader in readers:
                await reader.wait_for_seq(third)
    for reader in readers:
        resync = next(m for m in reader.messages if m["type"] == "resync")
        assert (resync["reason"], resync["epoch"]) == ("epoch_changed", new_epoch)
        last = reader.messages[-1]
        assert (last["type"], last["seq"], last["epoch"]) == ("entry.created", third, new_epoch)


@pytest.fixture
def other_postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A second fresh database, for a second install."""
    with fresh_postgres_database(postgres_admin_url) as url:
        yield url


async def test_events_of_another_install_on_the_same_channel_are_dropped_once(
    isolated_server: StartServer,
    postgres_url: str,
    other_postgres_url: str,
    redis_url: str,
    broker_channel: str,
) -> None:
    """Two installs (two databases) that share a Redis channel by mistake, each with a liveblog
    of the same slug: the other's events carry an epoch this one's storage never had. They are
    dropped after one read of storage, not read for again and again, and this install's own
    events still reach its readers."""
    shared = {"broker_url": redis_url, "broker_channel": broker_channel}
    ours = isolated_server(database_url=postgres_url, **shared)
    theirs = isolated_server(database_url=other_postgres_url, **shared)
    async with writer(ours) as to_ours, writer(theirs) as to_theirs:
        slug = await new_liveblog(to_ours, "same")
        await new_liveblog(to_theirs, "same")
        async with subscribed([ours], slug) as (reader,):
            for n in range(3):
                await post_entry(to_theirs, slug, f"theirs {n}")
            await asyncio.sleep(seconds(0.5))
            assert ours.process is not None
            before = cpu_seconds(ours.process.pid)
            await asyncio.sleep(seconds(1.0))
            busy = cpu_seconds(ours.process.pid) - before
            own, _ = await post_entry(to_ours, slug, "ours")
            await reader.wait_for_seq(own)
    for server in (ours, theirs):
        server.stop()  # before its database is dropped
    assert busy < 0.3, f"{busy:.2f} s of CPU in 1 s: reading storage again and again?"
    assert [m["entry"]["title"] for m in reader.events] == ["ours"]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
