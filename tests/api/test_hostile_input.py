"""Whatever a client puts in a path, a query or a body gets a 4xx that names the problem, the
same on SQLite and PostgreSQL: never a 5xx, never a traceback in the log."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.harness import LiveServer, Subscriber, api_client, problem

HUGE = "9223372036854775808"  # 2^63: one past the largest id or seq
HOSTILE_IDS = [HUGE, "99999999999999999999999", "2147483648", "-1", "0", "abc", "1.5", "%20"]


Story = tuple[httpx.AsyncClient, str, int]


@pytest.fixture
async def story(database_server: LiveServer, database_token: str) -> AsyncIterator[Story]:
    """A writer of the server on each database, a liveblog of this test, and one entry in it."""
    slug = f"hostile-{uuid.uuid4().hex[:8]}"
    async with api_client(database_server, database_token) as client:
        assert (await client.post("/api/liveblogs", json={"slug": slug, "title": "T"})).is_success
        posted = await client.post(f"/api/liveblogs/{slug}/entries", json={"body": "<p>x</p>"})
        yield client, slug, posted.json()["id"]


async def test_ids_out_of_range_or_not_numbers_are_404_everywhere(
    story: Story, database_server: LiveServer
) -> None:
    """Every route that takes an entry id: 404 for an id past 64 bits, negative, zero or not a
    number (2^31 is a real, if unused, id on both databases)."""
    client, slug, _ = story
    for raw in HOSTILE_IDS:
        base = f"/api/liveblogs/{slug}/entries/{raw}"
        for method, path, body in [
            ("GET", base, None),
            ("PATCH", base, {"title": "t"}),
            ("DELETE", base, None),
            ("GET", f"{base}/revisions", None),
        ]:
            response = await client.request(method, path, json=body)
            problem(response, 404)
        page = await client.get(f"/liveblogs/{slug}/entries/{raw}")
        assert page.status_code == 404 and "text/html" in page.headers["content-type"]
    assert "Traceback" not in database_server.log()


async def test_cursors_out_of_range_are_422_naming_the_field(
    story: Story,
) -> None:
    """`before` and `since` past 64 bits or negative: 422 naming the parameter; on the reader
    page, a mangled cursor is the page's own 404."""
    client, slug, _ = story
    for name in ("before", "since"):
        for value in (HUGE, "-1", "x"):
            response = await client.get(f"/api/liveblogs/{slug}/entries?{name}={value}")
            body = problem(response, 422)
            assert [error["field"] for error in body["errors"]] == [name], body
    for value in (HUGE, "-1", "x", "0"):
        page = await client.get(f"/liveblogs/{slug}?before={value}")
        assert page.status_code == 404, (value, page.status_code)


async def test_nul_characters_are_422_naming_the_field(
    story: Story,
) -> None:
    """PostgreSQL cannot store NUL: every text field refuses it on both databases, and nothing
    is written."""
    client, slug, entry_id = story
    head = (await client.get(f"/api/liveblogs/{slug}")).json()["seq"]
    new, entries = {"slug": f"{slug}-n", "title": "t"}, f"/api/liveblogs/{slug}/entries"
    writes = [
        ("POST", "/api/liveblogs", {**new, "title": "a\x00b"}, "title"),
        ("POST", "/api/liveblogs", {**new, "description": "\x00"}, "description"),
        ("PATCH", f"/api/liveblogs/{slug}", {"title": "\x00"}, "title"),
        ("POST", entries, {"title": "a\x00", "body": "<p>x</p>"}, "title"),
        ("POST", entries, {"body": "<p>a\x00b</p>"}, "body"),
        ("POST", entries, {"body": "<p>x</p>", "author": "\x00"}, "author"),
        ("PATCH", f"{entries}/{entry_id}", {"body": "<p>\x00</p>"}, "body"),
    ]
    for method, path, payload, field in writes:
        body = problem(await client.request(method, path, json=payload), 422)
        assert [error["field"] for error in body["errors"]] == [field], body
        assert "NUL" in body["detail"]
    assert (await client.get(f"/api/liveblogs/{slug}")).json()["seq"] == head
    assert (await client.get(f"/api/liveblogs/{slug}-n")).status_code == 404


async def test_values_of_the_wrong_type_or_range_are_422(
    story: Story,
) -> None:
    """Body fields of the wrong type, too long, or unknown: 422 with each field named."""
    client, slug, _ = story
    cases = [
        ({"body": 5}, "body"),
        ({"body": "<p>x</p>", "pinned": "yes"}, "pinned"),
        ({"body": "<p>x</p>", "title": "t" * 301}, "title"),
        ({"body": "<p>x</p>", "pined": True}, "pined"),
    ]
    for payload, field in cases:
        response = await client.post(f"/api/liveblogs/{slug}/entries", json=payload)
        body = problem(response, 422)
        assert field in [error["field"] for error in body["errors"]], body
    limit = await client.get(f"/api/liveblogs/{slug}/entries?limit={HUGE}")
    assert [e["field"] for e in problem(limit, 422)["errors"]] == ["limit"]


async def test_slugs_that_cannot_exist_are_404_on_every_route(
    story: Story, database_server: LiveServer
) -> None:
    """A NUL, a space or an uppercase letter in a slug: 404 from the API and the pages, 4404
    from the WebSocket, on both databases, without reaching the database."""
    client, _, _ = story
    for slug in ("a%00b", "%00", "Not-A-Slug", "a%20b"):
        for method, path, body in [
            ("GET", f"/api/liveblogs/{slug}", None),
            ("PATCH", f"/api/liveblogs/{slug}", {"title": "t"}),
            ("POST", f"/api/liveblogs/{slug}/entries", {"body": "<p>x</p>"}),
            ("GET", f"/api/liveblogs/{slug}/entries", None),
            ("GET", f"/api/liveblogs/{slug}/entries/1", None),
            ("GET", f"/api/liveblogs/{slug}/entries/1/revisions", None),
        ]:
            problem(await client.request(method, path, json=body), 404)
        for page in (f"/liveblogs/{slug}", f"/liveblogs/{slug}/entries/1"):
            assert (await client.get(page)).status_code == 404
        async with Subscriber(database_server, slug) as reader:
            await reader.wait_for(lambda s: s.closed, what="close")
        assert reader.close_code == 4404
    assert "Traceback" not in database_server.log()
