"""Any HTML posted to the REST API, on the shared server: never a 5xx, and what is stored is
exactly the sanitized body. A 4xx only where the body is really invalid: empty, a NUL in it, or
nothing left once sanitized.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import given

from app.domain.sanitize import sanitize_html
from tests.entry_bodies import assert_sanitized, examples, html_fragments
from tests.harness import LiveServer, api_client, create_token, problem


@pytest.fixture(scope="module")
async def slug(server: LiveServer, token: str) -> str:
    slug = f"any-html-{uuid.uuid4().hex[:8]}"
    async with api_client(server, token) as admin:
        response = await admin.post("/api/liveblogs", json={"slug": slug, "title": "Any HTML"})
    assert response.status_code == 201, response.text
    return slug


@pytest.fixture(scope="module")
async def publisher(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """A client with a publish-scope token (entries only), as a newsroom tool would hold."""
    async with api_client(server, create_token(server.data_dir, scope="publish")) as client:
        yield client


@examples(80)
@given(html=html_fragments())
async def test_any_html_is_stored_sanitized(
    publisher: httpx.AsyncClient, slug: str, html: str
) -> None:
    """201 with the sanitized body, or a 422 problem for a body that is empty, holds a NUL, or
    has nothing left once sanitized."""
    response = await publisher.post(f"/api/liveblogs/{slug}/entries", json={"body": html})
    clean = sanitize_html(html)
    if not html or "\x00" in html:
        problem(response, 422)
        return
    if not clean:
        assert "empty" in problem(response, 422)["detail"]
        return
    assert response.status_code == 201, (response.status_code, response.text[:500])
    assert response.json()["body"] == clean
    assert_sanitized(clean)
