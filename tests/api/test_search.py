"""GET /api/liveblogs/{slug}/search: whatever a reader types is a 200 (or a 422 naming `q`),
never a 5xx, on SQLite and PostgreSQL; operators of either database's query language are only
words."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import given, settings, strategies as st

from app.domain.search import QUERY_MAX
from tests.harness import LiveServer, api_client, problem, seconds

# FTS5's and tsquery's syntax, unbalanced and otherwise, and what breaks naive quoting.
HOSTILE = [
    '"', '""', "'", "''", "\\", '"evac', 'evac"', "evac*", "*", "**", "*evac", "-evac", "+",
    "AND", "OR", "NOT", "evac AND", "AND evac", "evac OR NOT", "NEAR(", "NEAR(evac", "NEAR()",
    "NEAR(a b, 5)", "(", ")", "((evac)", "evac)", "{title}: evac", "title:evac", "body:",
    "^evac", "evac:*", "!evac", "evac & | !", "evac <-> report", "<2>", ":", "\x00", "evac\x00",
    "\x00" * QUERY_MAX, "\u0301", "\ud7ff", "\ufffd", "\U0001f525 fire", "é" * QUERY_MAX,
    "a" * QUERY_MAX, "x " * (QUERY_MAX // 2), "%", "_", "%_%", "; DROP TABLE entries; --",
    "' OR 1=1 --", "\t\n\r", " ", "ـ", "\u200b", "\u202e", "ﷺ", "ǅ", "ﬁre",
]  # fmt: skip


@pytest.fixture(scope="module")
def story(database_server: LiveServer, database_token: str) -> tuple[LiveServer, str]:
    """A liveblog on the server of each database, with entries that many queries touch."""
    slug = f"search-{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Bearer {database_token}"}
    with httpx.Client(base_url=database_server.url, headers=headers, timeout=seconds(10)) as api:
        made = api.post("/api/liveblogs", json={"slug": slug, "title": "Search"})
        assert made.status_code == 201, made.text
        for body in (
            "<p>The evacuation report: fire near the AND OR NOT bridge.</p>",
            '<p>Quotes "like" this, and <a href="https://example.org">a link</a>.</p>',
            "<p>Ünïcödé éé ﬁre 🔥 aaa</p>",
        ):
            posted = api.post(f"/api/liveblogs/{slug}/entries", json={"body": body})
            assert posted.status_code == 201, posted.text
    return database_server, slug


@pytest.fixture
async def reader(story: tuple[LiveServer, str]) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(story[0]) as client:  # searching is public, like the entry list
        yield client


async def test_hostile_queries_are_answered_not_failed(
    story: tuple[LiveServer, str], reader: httpx.AsyncClient
) -> None:
    server, slug = story
    for q in HOSTILE:
        response = await reader.get(f"/api/liveblogs/{slug}/search", params={"q": q})
        assert response.status_code == 200, (q, response.status_code, response.text)
        assert isinstance(response.json()["entries"], list)
    found = await reader.get(f"/api/liveblogs/{slug}/search", params={"q": "AND OR NOT"})
    assert len(found.json()["entries"]) == 1  # operators typed are words
    found = await reader.get(f"/api/liveblogs/{slug}/search", params={"q": '"fire'})
    assert len(found.json()["entries"]) == 2  # "fire", and "ﬁre" (a ligature) folded
    assert "Traceback" not in server.log()


async def test_invalid_parameters_are_422_naming_them(
    story: tuple[LiveServer, str], reader: httpx.AsyncClient
) -> None:
    _, slug = story
    url = f"/api/liveblogs/{slug}/search"
    for params, field in [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "a" * (QUERY_MAX + 1)}, "q"),
        ({"q": "x", "limit": 0}, "limit"),
        ({"q": "x", "limit": 101}, "limit"),
        ({"q": "x", "before": -1}, "before"),
        ({"q": "x", "before": "9223372036854775808"}, "before"),
    ]:
        body = problem(await reader.get(url, params=params), 422)
        assert [error["field"] for error in body["errors"]] == [field], (params, body)
    problem(await reader.get("/api/liveblogs/no-such-story/search", params={"q": "x"}), 404)
    nothing = await reader.get(url, params={"q": " !? "})  # no words: nothing matches
    assert nothing.status_code == 200
    assert nothing.json()["entries"] == [] and nothing.json()["next_before"] is None


@settings(
    max_examples=100,
    deadline=None,
    database=None,  # no .hypothesis/ directory in the checkout
)
@given(q=st.text(max_size=QUERY_MAX + 20))
def test_any_text_is_a_200_or_a_422_never_a_5xx(story: tuple[LiveServer, str], q: str) -> None:
    server, slug = story
    with httpx.Client(base_url=server.url, timeout=seconds(10)) as client:
        response = client.get(f"/api/liveblogs/{slug}/search", params={"q": q})
    # Empty, or too long: 422; anything else is a search.
    expected = 422 if not q or len(q) > QUERY_MAX else 200
    assert response.status_code == expected, (q, response.status_code, response.text)
