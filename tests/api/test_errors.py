"""Every error a client can cause is a 4xx problem+json body that says what is wrong."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx

from tests.conftest import NewLiveblog


def assert_problem(response: httpx.Response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    for word in words:
        assert word in body["detail"], body["detail"]


async def test_malformed_json_is_400(api: httpx.AsyncClient, new_liveblog: NewLiveblog) -> None:
    """A body that is not JSON says so."""
    slug = await new_liveblog()
    response = await api.post(
        f"/api/liveblogs/{slug}/entries",
        content=b'{"body": "<p>unterminated',
        headers={"content-type": "application/json"},
    )
    assert_problem(response, 400, "not valid JSON")


async def test_schema_errors_are_422_naming_the_field(
    api: httpx.AsyncClient, new_liveblog: NewLiveblog
) -> None:
    """Missing, mistyped and unknown fields are named."""
    slug = await new_liveblog()
    url = f"/api/liveblogs/{slug}/entries"
    cases = [
        ({"title": "no body"}, "body"),
        ({"body": 42}, "body"),
        ({"body": "<p>x</p>", "pinned": "yes"}, "pinned"),
        ({"body": "<p>x</p>", "pined": True}, "pined"),
        ({"body": "<p>x</p>", "title": "t" * 301}, "title"),
        ({"body": "<p>x</p>", "author": "a" * 201}, "author"),
    ]
    for payload, field in cases:
        response = await api.post(url, json=payload)
        assert_problem(response, 422, field)
        assert response.json()["errors"][0]["field"] == field
    assert_problem(await api.post(url, json=["not", "an", "object"]), 422)
    assert_problem(await api.get(url, params={"limit": 0}), 422, "limit")
    assert_problem(await api.get(url, params={"since": "x"}), 422, "since")
    assert_problem(await api.get(f"{url}/abc"), 404)  # an id that is no number names nothing


async def test_body_that_sanitizes_to_nothing_is_422(
    api: httpx.AsyncClient, new_liveblog: NewLiveblog
) -> None:
    """A body of only disallowed markup would publish an empty entry: refused."""
    slug = await new_liveblog()
    response = await api.post(
        f"/api/liveblogs/{slug}/entries", json={"body": "<script>x()</script>"}
    )
    assert_problem(response, 422, "empty")
    assert (await api.get(f"/api/liveblogs/{slug}")).json()["seq"] == 0


async def test_oversize_entry_body_is_413(
    api: httpx.AsyncClient, new_liveblog: NewLiveblog
) -> None:
    """An entry body over LIVEBLOG_MAX_ENTRY_BODY_BYTES (64 KiB) is 413; nothing is stored."""
    slug = await new_liveblog()
    body = "<p>" + "x" * (64 * 1024) + "</p>"
    response = await api.post(f"/api/liveblogs/{slug}/entries", json={"body": body})
    assert_problem(response, 413, "limit is 65536 bytes")
    assert (await api.get(f"/api/liveblogs/{slug}")).json()["seq"] == 0


async def test_oversize_request_is_413(api: httpx.AsyncClient, new_liveblog: NewLiveblog) -> None:
    """A request over LIVEBLOG_MAX_REQUEST_BYTES (1 MiB) is 413, declared or streamed."""
    slug = await new_liveblog()
    url = f"/api/liveblogs/{slug}/entries"
    big = b'{"body": "' + b"x" * (1024 * 1024) + b'"}'
    declared = await api.post(url, content=big, headers={"content-type": "application/json"})
    assert_problem(declared, 413, "exceeds the limit of 1048576 bytes")

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]

    streamed = await api.post(url, content=chunks(), headers={"content-type": "application/json"})
    assert_problem(streamed, 413, "exceeds the limit")
    assert (await api.get(f"/api/liveblogs/{slug}")).json()["seq"] == 0


async def test_unknown_route_and_method_are_problems(api: httpx.AsyncClient) -> None:
    """Even the framework's own 404 and 405 use the problem shape."""
    assert_problem(await api.get("/api/nothing-here"), 404)
    assert_problem(await api.put("/api/liveblogs"), 405)


async def test_405_lists_every_method_of_the_path(anonymous: httpx.AsyncClient) -> None:
    """A path served by several routes names all their methods in Allow."""
    response = await anonymous.delete("/api/liveblogs")
    assert_problem(response, 405, "DELETE")
    assert response.headers["allow"] == "GET, HEAD, POST"
