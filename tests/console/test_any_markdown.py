"""Any Markdown through the console's Preview and Publish, on the shared server: never a 5xx, and
the body shown or stored is exactly the sanitized rendering. A 4xx only where the body is really
invalid: a NUL in it (no database stores one), or nothing left once sanitized.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import given, strategies as st

from app.domain.markdown import to_html
from app.domain.sanitize import sanitize_html
from tests.console.newsroom import console_liveblog
from tests.entry_bodies import assert_sanitized, examples, markdown_sources
from tests.harness import ConsoleClient, LiveServer, create_user, problem

# Titles as typed, NUL and all (a NUL is refused with the body's 422).
TITLES = st.text(st.characters(codec="utf-8"), max_size=40)


@pytest.fixture(scope="module")
async def console(server: LiveServer) -> AsyncIterator[ConsoleClient]:
    """An editor signed in to the shared server: Hypothesis runs every example on one client."""
    async with ConsoleClient(server) as client:
        assert (await client.sign_in(create_user(server, "editor"))).status_code == 303
        yield client


@pytest.fixture(scope="module")
async def slug(console: ConsoleClient) -> str:
    return await console_liveblog(console)


def refused(response: httpx.Response, *, nul: bool, empty: bool) -> bool:
    """Whether the console rightly refused the input: a NUL anywhere, or a body with nothing left
    once sanitized, is a 422 problem saying why, and nothing else is refused."""
    if nul:
        problem(response, 422)
        return True
    if empty:
        assert "empty" in problem(response, 422)["detail"]
        return True
    assert response.status_code < 400, (response.status_code, response.text[:500])
    return False


@examples(80)
@given(source=markdown_sources(), title=TITLES)
async def test_any_markdown_previews_as_it_would_publish(
    console: ConsoleClient, slug: str, source: str, title: str
) -> None:
    """Preview answers 200 with the sanitized rendering as the entry's body, or a 422 problem
    (an empty source previews as an empty entry)."""
    response = await console.post(
        f"/console/liveblogs/{slug}/preview", {"source": source, "title": title}
    )
    clean = sanitize_html(to_html(source))
    if refused(response, nul="\x00" in source + title, empty=bool(source) and not clean):
        return
    assert response.status_code == 200, response.text[:500]
    assert f'<div class="entry__body">{clean}</div>' in response.text, (clean, response.text)
    assert_sanitized(clean)


@examples(80)
@given(source=markdown_sources(), title=TITLES)
async def test_any_markdown_publishes_sanitized(
    console: ConsoleClient, slug: str, source: str, title: str
) -> None:
    """Publish answers 201 with the sanitized rendering stored beside its source, or a 422."""
    response = await console.post(
        f"/console/liveblogs/{slug}/entries", {"title": title, "source": source}
    )
    clean = sanitize_html(to_html(source))
    if refused(response, nul="\x00" in source + title, empty=not clean):
        return
    assert response.status_code == 201, response.text[:500]
    entry = response.json()
    assert (entry["body"], entry["source"]) == (clean, source)
    assert_sanitized(entry["body"])
