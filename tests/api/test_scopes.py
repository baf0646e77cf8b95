"""Token scopes: publish tokens write entries (in their liveblogs only, if they have a list) and
never create, retitle, end or purge; refusals are 403s that say what is missing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from tests.conftest import NewLiveblog
from tests.harness import LiveServer, api_client, create_token, problem


def publish_token(server: LiveServer, liveblogs: Sequence[str] = ()) -> str:
    return create_token(server.data_dir, env=server.env, scope="publish", liveblogs=liveblogs)


async def post_entry(api: httpx.AsyncClient, slug: str, **fields: Any) -> dict[str, Any]:
    response = await api.post(f"/api/liveblogs/{slug}/entries", json={"body": "<p>x</p>", **fields})
    assert response.status_code == 201, response.text
    entry: dict[str, Any] = response.json()
    return entry


def refused_for_liveblog(response: httpx.Response, slug: str) -> dict[str, Any]:
    body = problem(response, 403)
    assert body["liveblog"] == slug, body
    assert slug in body["detail"], body
    return body


def refused_for_scope(response: httpx.Response) -> dict[str, Any]:
    body = problem(response, 403)
    assert body["required_scope"] == "admin", body
    assert "admin" in body["detail"], body
    return body


async def test_publish_token_writes_entries_in_its_liveblog(
    server: LiveServer, new_liveblog: NewLiveblog
) -> None:
    """On its own liveblog a publish token creates, edits, pins, deletes and reads revisions."""
    slug = await new_liveblog()
    async with api_client(server, publish_token(server, [slug])) as desk:
        entry = await post_entry(desk, slug, title="First")
        url = f"/api/liveblogs/{slug}/entries/{entry['id']}"
        edited = await desk.patch(url, json={"title": "Second"})
        assert edited.status_code == 200 and edited.json()["title"] == "Second"
        pinned = await desk.patch(url, json={"pinned": True})
        assert pinned.status_code == 200 and pinned.json()["pinned"] is True
        other = await post_entry(desk, slug, pinned=True)
        assert other["pinned"] is True
        assert (await desk.get(f"{url}/revisions")).status_code == 200
        deleted = await desk.delete(url)
        assert deleted.status_code == 200 and deleted.json()["deleted"] is True


async def test_publish_token_is_refused_on_other_liveblogs(
    api: httpx.AsyncClient, server: LiveServer, new_liveblog: NewLiveblog
) -> None:
    """On a liveblog outside its list, every entry write and the revisions are 403 naming the
    liveblog, and nothing changes."""
    own = await new_liveblog()
    other = await new_liveblog()
    entry = await post_entry(api, other, title="Untouched")
    url = f"/api/liveblogs/{other}/entries/{entry['id']}"
    async with api_client(server, publish_token(server, [own])) as desk:
        for response in [
            await desk.post(f"/api/liveblogs/{other}/entries", json={"body": "<p>no</p>"}),
            await desk.patch(url, json={"title": "Changed"}),
            await desk.patch(url, json={"pinned": True}),
            await desk.delete(url),
            await desk.get(f"{url}/revisions"),
        ]:
            refused_for_liveblog(response, other)
    assert (await api.get(f"/api/liveblogs/{other}")).json()["seq"] == 1
    assert (await api.get(url)).json() == entry


async def test_publish_token_cannot_create_retitle_end_or_purge(
    api: httpx.AsyncClient, server: LiveServer, new_liveblog: NewLiveblog
) -> None:
    """Even on its own liveblog, a publish token gets 403 requiring admin for liveblog writes
    and purges, and nothing changes."""
    slug = await new_liveblog()
    entry = await post_entry(api, slug, title="Keep")
    before = (await api.get(f"/api/liveblogs/{slug}")).json()
    async with api_client(server, publish_token(server, [slug])) as desk:
        for response in [
            await desk.post("/api/liveblogs", json={"slug": f"{slug}-new", "title": "New"}),
            await desk.patch(f"/api/liveblogs/{slug}", json={"title": "Retitled"}),
            await desk.patch(f"/api/liveblogs/{slug}", json={"status": "ended"}),
            await desk.delete(
                f"/api/liveblogs/{slug}/entries/{entry['id']}", params={"purge": "true"}
            ),
        ]:
            refused_for_scope(response)
    assert (await api.get(f"/api/liveblogs/{slug}")).json() == before
    assert (await api.get(f"/api/liveblogs/{slug}-new")).status_code == 404
    assert (await api.get(f"/api/liveblogs/{slug}/entries/{entry['id']}")).json() == entry


async def test_publish_token_without_a_list_writes_entries_everywhere(
    api: httpx.AsyncClient, server: LiveServer, new_liveblog: NewLiveblog
) -> None:
    """A publish token created without --liveblog may post in any liveblog, still not create
    one."""
    first, second = await new_liveblog(), await new_liveblog()
    async with api_client(server, publish_token(server)) as desk:
        for slug in (first, second):
            entry = await post_entry(desk, slug)
            deleted = await desk.delete(f"/api/liveblogs/{slug}/entries/{entry['id']}")
            assert deleted.status_code == 200
        refused_for_scope(await desk.post("/api/liveblogs", json={"slug": "mine", "title": "M"}))


async def test_refusal_is_the_same_whether_the_liveblog_exists_or_not(
    api: httpx.AsyncClient, server: LiveServer, new_liveblog: NewLiveblog
) -> None:
    """The 403 for a liveblog outside the token's list reveals nothing about whether it exists."""
    own = await new_liveblog()
    existing = await new_liveblog()
    entry = await post_entry(api, existing)
    missing = f"{existing}-never-created"
    async with api_client(server, publish_token(server, [own])) as desk:
        for method, path, payload in [
            ("POST", "/api/liveblogs/{slug}/entries", {"body": "<p>x</p>"}),
            ("PATCH", "/api/liveblogs/{slug}/entries/" + str(entry["id"]), {"title": "x"}),
            ("DELETE", "/api/liveblogs/{slug}/entries/" + str(entry["id"]), None),
            ("GET", "/api/liveblogs/{slug}/entries/" + str(entry["id"]) + "/revisions", None),
        ]:
            bodies = []
            for slug in (existing, missing):
                response = await desk.request(method, path.format(slug=slug), json=payload)
                body = refused_for_liveblog(response, slug)
                bodies.append({**body, "detail": body["detail"].replace(slug, "<slug>")})
                del bodies[-1]["liveblog"]
            assert bodies[0] == bodies[1], (method, bodies)


async def test_admin_token_may_do_everything(
    api: httpx.AsyncClient, new_liveblog: NewLiveblog
) -> None:
    """The default scope is admin: liveblog writes, entry writes, revisions and purges."""
    slug = await new_liveblog()
    retitled = await api.patch(f"/api/liveblogs/{slug}", json={"title": "Retitled"})
    assert retitled.status_code == 200
    entry = await post_entry(api, slug)
    url = f"/api/liveblogs/{slug}/entries/{entry['id']}"
    assert (await api.get(f"{url}/revisions")).status_code == 200
    purged = await api.delete(url, params={"purge": "true"})
    assert purged.status_code == 200 and purged.json()["deleted"] is True
    ended = await api.patch(f"/api/liveblogs/{slug}", json={"status": "ended"})
    assert ended.status_code == 200 and ended.json()["status"] == "ended"
