"""No lost edits: versions as strong ETags, If-Match on PATCH and DELETE (412 with the current
state when stale), and LIVEBLOG_REQUIRE_IF_MATCH."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from tests.conftest import NewLiveblog
from tests.harness import LiveServer, api_client, create_tokens, problem, writer


def unique_slug(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def etag(version: int, epoch: str | None = None) -> str:
    """As the server sends it (with the liveblog's epoch), or a bare version as clients that
    build If-Match from `version` send it."""
    return f'"{version}.{epoch}"' if epoch else f'"{version}"'


def if_match(value: str) -> dict[str, str]:
    return {"If-Match": value}


def stale(response: httpx.Response, current: dict[str, Any]) -> None:
    """A 412 that carries the resource as GET returns it now."""
    body = problem(response, 412)
    assert body["current_version"] == current["version"], body
    assert body["current"] == current, body


async def test_versions_are_strong_etags(api: httpx.AsyncClient, new_liveblog: NewLiveblog) -> None:
    """Liveblogs start at version 1 and count changes of their own fields; GET and every write
    of a liveblog or entry send its version, with the liveblog's epoch, as a strong ETag."""
    slug = await new_liveblog()
    fetched = await api.get(f"/api/liveblogs/{slug}")
    epoch = fetched.json()["epoch"]
    assert fetched.json()["version"] == 1 and fetched.headers["etag"] == etag(1, epoch)

    retitled = await api.patch(f"/api/liveblogs/{slug}", json={"title": "Retitled"})
    assert retitled.json()["version"] == 2 and retitled.headers["etag"] == etag(2, epoch)
    same = await api.patch(f"/api/liveblogs/{slug}", json={"title": "Retitled"})
    assert same.json()["version"] == 2 and same.headers["etag"] == etag(2, epoch)  # no change

    posted = await api.post(f"/api/liveblogs/{slug}/entries", json={"body": "<p>x</p>"})
    assert posted.headers["etag"] == etag(1, epoch)
    url = f"/api/liveblogs/{slug}/entries/{posted.json()['id']}"
    assert (await api.get(url)).headers["etag"] == etag(1, epoch)
    edited = await api.patch(url, json={"title": "Edited"})
    assert edited.headers["etag"] == etag(edited.json()["version"], epoch) == etag(2, epoch)
    unchanged = await api.patch(url, json={"title": "Edited"})
    assert unchanged.headers["etag"] == etag(2, epoch)
    deleted = await api.delete(url)
    assert deleted.headers["etag"] == etag(deleted.json()["version"], epoch)
    assert deleted.json()["version"] > 2
    after = await api.get(f"/api/liveblogs/{slug}")  # entries are not the liveblog's own fields
    assert after.json()["version"] == 2 and after.headers["etag"] == etag(2, epoch)


async def test_if_match_on_an_entry(database_server: LiveServer, database_token: str) -> None:
    """A matching or * If-Match applies; a stale or weak one is 412 with the current entry and
    changes nothing; an unquoted one is 400."""
    slug = unique_slug("count")
    async with api_client(database_server, database_token) as api:
        await api.post("/api/liveblogs", json={"slug": slug, "title": "Count"})
        made = await api.post(
            f"/api/liveblogs/{slug}/entries", json={"title": "One", "body": "<p>1</p>"}
        )
        assert made.status_code == 201, made.text
        url = f"/api/liveblogs/{slug}/entries/{made.json()['id']}"

        first = await api.patch(url, json={"title": "Two"}, headers=if_match(etag(1)))
        assert first.status_code == 200 and first.json()["version"] == 2
        current = (await api.get(url)).json()
        epoch = (await api.get(f"/api/liveblogs/{slug}")).json()["epoch"]
        other = await api.patch(url, json={"title": "X"}, headers=if_match(etag(2, "0" * 16)))
        stale(other, current)  # the right version of another epoch (before a restore, say)
        stale(await api.patch(url, json={"title": "Lost"}, headers=if_match(etag(1))), current)
        stale(await api.delete(url, headers=if_match(etag(1))), current)
        stale(await api.patch(url, json={"title": "Weak"}, headers=if_match('W/"2"')), current)
        stale(await api.delete(url, headers=if_match('W/"2"')), current)
        for malformed in ("2", "two", '"2'):
            response = await api.patch(url, json={"title": "Bad"}, headers=if_match(malformed))
            assert "if-match" in problem(response, 400)["detail"].lower(), malformed
        assert (await api.get(url)).json() == current
        assert (await api.get(f"/api/liveblogs/{slug}")).json()["seq"] == 2

        matching = await api.patch(url, json={"title": "Three"}, headers=if_match(etag(2, epoch)))
        assert matching.status_code == 200 and matching.json()["version"] == 3
        star = await api.patch(url, json={"title": "Four"}, headers=if_match("*"))
        assert star.status_code == 200 and star.json()["title"] == "Four"
        deleted = await api.delete(url, headers=if_match(etag(4)))
        assert deleted.status_code == 200 and deleted.json()["deleted"] is True


async def test_if_match_on_a_liveblog(database_server: LiveServer, database_token: str) -> None:
    """PATCH of a liveblog honours If-Match: stale is 412 with the current liveblog."""
    slug = unique_slug("night")
    path = f"/api/liveblogs/{slug}"
    async with api_client(database_server, database_token) as api:
        await api.post("/api/liveblogs", json={"slug": slug, "title": "Night"})
        ok = await api.patch(path, json={"title": "Late"}, headers=if_match('"1"'))
        assert ok.status_code == 200 and ok.json()["version"] == 2
        current = (await api.get(path)).json()
        ended = await api.patch(path, json={"status": "ended"}, headers=if_match('"1"'))
        stale(ended, current)
        assert problem(ended, 412)["current"]["title"] == "Late"
        weak = await api.patch(path, json={"title": "W"}, headers=if_match('W/"2"'))
        stale(weak, current)
        malformed = await api.patch(path, json={"title": "B"}, headers=if_match("2"))
        problem(malformed, 400)
        assert (await api.get(path)).json() == current


async def test_two_editors_racing_one_wins_one_gets_412(database_server: LiveServer) -> None:
    """Both editors GET version V and PATCH with If-Match V at once: one 200, one 412 holding the
    winner's text, and the revisions name the winner; several rounds in a row."""
    server = database_server
    slug = unique_slug("race")
    names = [f"editor-{n}-{uuid.uuid4().hex[:6]}" for n in ("ana", "ben")]
    tokens = await create_tokens(
        server.data_dir, *({"name": name} for name in names), env=server.env
    )
    async with api_client(server, tokens[0]) as ana, api_client(server, tokens[1]) as ben:
        await ana.post("/api/liveblogs", json={"slug": slug, "title": "Race"})
        made = await ana.post(
            f"/api/liveblogs/{slug}/entries", json={"title": "Draft", "body": "<p>d</p>"}
        )
        url = f"/api/liveblogs/{slug}/entries/{made.json()['id']}"
        for round_ in range(5):
            seen = [await editor.get(url) for editor in (ana, ben)]
            assert seen[0].headers["etag"] == seen[1].headers["etag"]
            version = seen[0].headers["etag"]
            titles = [f"Ana's fix {round_}", f"Ben's fix {round_}"]
            responses = await asyncio.gather(
                *(
                    editor.patch(url, json={"title": title}, headers=if_match(version))
                    for editor, title in zip((ana, ben), titles, strict=True)
                )
            )
            assert sorted(r.status_code for r in responses) == [200, 412], [
                r.text for r in responses
            ]
            won = 0 if responses[0].status_code == 200 else 1
            lost = responses[1 - won]
            assert problem(lost, 412)["current"]["title"] == titles[won]
            assert lost.json()["current_version"] == responses[won].json()["version"]
            assert (await ana.get(url)).json()["title"] == titles[won]
            history = (await ana.get(f"{url}/revisions")).json()["revisions"]
            assert history[-1]["by"]["name"] == names[won]
            assert history[-1]["changes"]["title"]["new"] == titles[won]
            assert not any(titles[1 - won] in str(r["changes"]) for r in history)


async def test_required_if_match_is_428_without_it(
    isolated_server: Callable[..., LiveServer],
) -> None:
    """With LIVEBLOG_REQUIRE_IF_MATCH=true, PATCH and DELETE without If-Match are 428 and change
    nothing; with it they apply; POSTs need none."""
    server = isolated_server(require_if_match="true")
    async with writer(server) as api:
        made = await api.post("/api/liveblogs", json={"slug": "strict", "title": "Strict"})
        assert made.status_code == 201, made.text
        entry = await api.post(
            "/api/liveblogs/strict/entries", json={"title": "Draft", "body": "<p>d</p>"}
        )
        assert entry.status_code == 201, entry.text
        url = f"/api/liveblogs/strict/entries/{entry.json()['id']}"
        for response in [
            await api.patch(url, json={"title": "Edited"}),
            await api.delete(url),
            await api.patch("/api/liveblogs/strict", json={"title": "Retitled"}),
        ]:
            assert "if-match" in problem(response, 428)["detail"].lower()
        assert (await api.get(url)).json() == entry.json()
        assert (await api.get("/api/liveblogs/strict")).json()["seq"] == 1

        edited = await api.patch(url, json={"title": "Edited"}, headers=if_match('"1"'))
        assert edited.status_code == 200, edited.text
        retitled = await api.patch(
            "/api/liveblogs/strict", json={"title": "Retitled"}, headers=if_match("*")
        )
        assert retitled.status_code == 200, retitled.text
        deleted = await api.delete(url, headers=if_match('"2"'))
        assert deleted.status_code == 200 and deleted.json()["deleted"] is True


async def test_pinning_bumps_the_version_of_the_unpinned_entry(
    api: httpx.AsyncClient, new_liveblog: NewLiveblog
) -> None:
    """Pinning B unpins A and bumps A's version, so an editor holding A's old ETag gets 412."""
    slug = await new_liveblog()
    path = f"/api/liveblogs/{slug}/entries"
    first = (await api.post(path, json={"body": "<p>a</p>", "pinned": True})).json()
    assert first["version"] == 1
    await api.post(path, json={"body": "<p>b</p>", "pinned": True})
    unpinned = await api.get(f"{path}/{first['id']}")
    assert unpinned.json()["pinned"] is False
    epoch = (await api.get(f"/api/liveblogs/{slug}")).json()["epoch"]
    assert unpinned.json()["version"] == 2 and unpinned.headers["etag"] == etag(2, epoch)
    late = await api.patch(f"{path}/{first['id']}", json={"title": "x"}, headers=if_match('"1"'))
    stale(late, unpinned.json())
