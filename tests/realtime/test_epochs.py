"""Epochs: a seq from another history of the liveblog is never trusted silently.

Here the history is replaced by hand (`liveblog rotate-epochs`, on a running server); restores
are in tests/storage/test_backup_restore.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.harness import LiveServer, Subscriber, cli, problem, writer


async def _post(api: httpx.AsyncClient, slug: str, body: str) -> dict[str, Any]:
    response = await api.post(f"/api/liveblogs/{slug}/entries", json={"body": f"<p>{body}</p>"})
    assert response.status_code == 201, response.text
    entry: dict[str, Any] = response.json()
    return entry


async def _epoch(api: httpx.AsyncClient, slug: str) -> str:
    epoch: str = (await api.get(f"/api/liveblogs/{slug}")).json()["epoch"]
    return epoch


async def test_readers_of_an_old_epoch_resync_on_websocket_and_rest(
    isolated_server: Callable[..., LiveServer], database: dict[str, str]
) -> None:
    """Same epoch: the usual replay. After rotate-epochs: a reader sending the old epoch gets
    hello + resync (WebSocket) or 409 (REST) naming the new epoch and seq; a connected reader
    gets a resync before the next event and stays live."""
    server = isolated_server(**database)
    async with writer(server) as api:
        await api.post("/api/liveblogs", json={"slug": "epochs", "title": "Epochs"})
        for n in range(3):
            await _post(api, "epochs", f"entry {n}")
        first = await _epoch(api, "epochs")
        listing = (await api.get("/api/liveblogs/epochs/entries")).json()
        assert listing["epoch"] == first and listing["seq"] == 3

        async with Subscriber(server, "epochs", since=1, epoch=first) as same:
            await same.wait_for_seq(3)
        assert [(m["type"], m["seq"], m["epoch"]) for m in same.messages] == [
            ("hello", 3, first),
            ("entry.created", 2, first),
            ("entry.created", 3, first),
        ]

        async with Subscriber(server, "epochs") as connected:
            await connected.wait_for(lambda s: len(s.messages) >= 1, what="hello")
            rotated = cli(server.data_dir, "rotate-epochs", "epochs", env=server.env)
            assert rotated.returncode == 0, rotated.stderr
            second = rotated.stdout.split()[1]
            assert second != first and await _epoch(api, "epochs") == second
            await _post(api, "epochs", "after the rotation")  # seq 4
            await connected.wait_for(
                lambda s: any(m["type"] == "resync" for m in s.messages), what="resync"
            )
            fifth = await _post(api, "epochs", "live again")  # seq 5
            await connected.wait_for_seq(5)
        resync = next(m for m in connected.messages if m["type"] == "resync")
        assert (resync["reason"], resync["epoch"], resync["seq"]) == ("epoch_changed", second, 4)
        last = connected.messages[-1]
        assert (last["type"], last["seq"], last["epoch"]) == ("entry.created", 5, second)
        assert last["entry"]["id"] == fifth["id"]

        async with Subscriber(server, "epochs", since=3, epoch=first) as stale:
            await stale.wait_for(lambda s: len(s.messages) >= 2, what="hello and resync")
        hello, resync = stale.messages[:2]
        assert (hello["type"], hello["seq"], hello["epoch"]) == ("hello", 5, second)
        assert (resync["type"], resync["reason"], resync["seq"]) == ("resync", "epoch_changed", 5)
        assert resync["epoch"] == second and "REST" in resync["detail"]

        async with Subscriber(server, "epochs", since=3, epoch=second) as current:
            await current.wait_for_seq(5)
        assert [m["seq"] for m in current.events] == [4, 5]

        url = "/api/liveblogs/epochs/entries"
        entry_url = f"{url}/{fifth['id']}"
        assert (await api.get(entry_url)).headers["etag"] == f'"1.{second}"'
        before = {"If-Match": f'"1.{first}"'}  # an ETag read before the rotation
        problem(await api.patch(entry_url, json={"title": "x"}, headers=before), 412)
        now = {"If-Match": f'"1.{second}"'}
        assert (await api.patch(entry_url, json={"title": "y"}, headers=now)).status_code == 200

        refused = problem(await api.get(url, params={"since": 3, "epoch": first}), 409)
        assert (refused["reason"], refused["epoch"], refused["seq"]) == ("epoch_changed", second, 6)
        changed = await api.get(url, params={"since": 3, "epoch": second})
        assert changed.status_code == 200, changed.text
        assert changed.json()["epoch"] == second
        assert [e["seq"] for e in changed.json()["entries"]] == [4, 6]
        ahead = problem(await api.get(url, params={"since": 9, "epoch": second}), 409)
        assert (ahead["reason"], ahead["epoch"], ahead["seq"]) == ("ahead_of_server", second, 6)
        problem(await api.get(url, params={"since": 3, "epoch": "e" * 33}), 422)

    async with Subscriber(server, "epochs", since=3, epoch="e" * 33) as malformed:
        await malformed.wait_for(lambda s: s.closed, what="close")
    assert malformed.close_code == 4400


async def test_a_bare_since_is_trusted_until_the_epoch_rotates(
    isolated_server: Callable[..., LiveServer], database: dict[str, str]
) -> None:
    """A liveblog that never rotated resumes a `since` without `epoch` as before (older pages,
    tools). After `liveblog rotate-epochs`, that `since` may count in the old history: WebSocket
    readers get hello + resync(epoch_changed), REST is 409 naming the epoch and seq, whatever
    the number; with the new epoch they resume as usual."""
    server = isolated_server(**database)
    url = "/api/liveblogs/bare/entries"
    async with writer(server) as api:
        await api.post("/api/liveblogs", json={"slug": "bare", "title": "Bare"})
        for n in range(6):
            await _post(api, "bare", f"before {n}")
        first = await _epoch(api, "bare")
        async with Subscriber(server, "bare", since=3) as trusted:
            await trusted.wait_for_seq(6)
        assert [m["type"] for m in trusted.messages] == ["hello"] + ["entry.created"] * 3
        assert [m["seq"] for m in trusted.events] == [4, 5, 6]
        listing = await api.get(url, params={"since": 3})
        assert listing.status_code == 200, listing.text
        assert [e["seq"] for e in listing.json()["entries"]] == [4, 5, 6]
        problem(await api.get(url, params={"since": 7}), 409)  # ahead, as before

        rotated = cli(server.data_dir, "rotate-epochs", "bare", env=server.env)
        assert rotated.returncode == 0, rotated.stderr
        second = rotated.stdout.split()[1]
        assert second != first
        for n in range(2):
            await _post(api, "bare", f"after {n}")  # seqs 7 and 8 of the new epoch

        # At or below the head, and past it (the head is 8, then 9, then 10: each posts one).
        for head, since in ((8, 5), (9, 9), (10, 12)):
            async with Subscriber(server, "bare", since=since) as bare:
                await bare.wait_for(lambda s: len(s.messages) >= 2, what="hello and resync")
                await _post(api, "bare", f"live after since={since}")
                await bare.wait_for(lambda s: len(s.messages) >= 3, what="a live event")
            hello, resync, live = bare.messages
            assert (hello["type"], hello["seq"], hello["epoch"]) == ("hello", head, second)
            assert (resync["type"], resync["reason"], resync["seq"], resync["epoch"]) == (
                "resync",
                "epoch_changed",
                head,
                second,
            )
            assert (live["type"], live["seq"], live["epoch"]) == ("entry.created", head + 1, second)
        refused = problem(await api.get(url, params={"since": 5}), 409)
        assert (refused["reason"], refused["epoch"], refused["seq"]) == (
            "epoch_changed",
            second,
            11,
        )
        assert "without an epoch" in refused["detail"]
        refused = problem(await api.get(url, params={"since": 99}), 409)
        assert refused["reason"] == "epoch_changed"

        async with Subscriber(server, "bare", since=9, epoch=second) as current:
            await current.wait_for_seq(11)
        assert [m["seq"] for m in current.events] == [10, 11]
        resumed = await api.get(url, params={"since": 9, "epoch": second})
        assert [e["seq"] for e in resumed.json()["entries"]] == [10, 11]


async def test_rotate_epochs_names_each_liveblog_and_refuses_unknown_ones(
    isolated_server: Callable[..., LiveServer],
) -> None:
    """Every liveblog gets its own new epoch; an unknown slug changes nothing."""
    server = isolated_server()
    async with writer(server) as api:
        for slug in ("one", "two"):
            await api.post("/api/liveblogs", json={"slug": slug, "title": slug})
        before = {slug: await _epoch(api, slug) for slug in ("one", "two")}
        unknown = cli(server.data_dir, "rotate-epochs", "one", "nope", env=server.env)
        assert unknown.returncode == 1 and "'nope'" in unknown.stderr
        assert {slug: await _epoch(api, slug) for slug in ("one", "two")} == before

        result = cli(server.data_dir, "rotate-epochs", env=server.env)
        assert result.returncode == 0, result.stderr
        after = dict(line.split() for line in result.stdout.splitlines())
        assert set(after) == {"one", "two"} and after["one"] != after["two"]
        assert all(after[slug] != before[slug] for slug in after)
        assert {slug: await _epoch(api, slug) for slug in ("one", "two")} == after
