"""Whatever a journalist types into the workspace's search box, whatever "Load older" and a
refresh send, and whatever goes into the title and description form: never a 5xx. The list
answers 200 (or a 422 problem naming the parameter), the settings 200, 412 or 422."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import given, strategies as st

from tests.console.newsroom import console_liveblog, read
from tests.entry_bodies import examples
from tests.harness import ConsoleClient, LiveServer, create_user
from tests.media.photos import encoded, photo

TYPED = st.text(st.characters(codec="utf-8"), max_size=250)
# What a query parameter can carry: numbers in and out of range, and anything else.
PARAMETER = st.one_of(st.integers(min_value=-(2**70), max_value=2**70).map(str), TYPED)


@pytest.fixture(scope="module")
async def console(server: LiveServer) -> AsyncIterator[ConsoleClient]:
    async with ConsoleClient(server) as client:
        assert (await client.sign_in(create_user(server, "editor"))).status_code == 303
        yield client


@pytest.fixture(scope="module")
async def slug(console: ConsoleClient) -> str:
    slug = await console_liveblog(console)
    for title in ("Convoy at the border", "Évacuation du port", "Talks resume"):
        sent = await console.post(
            f"/console/liveblogs/{slug}/entries", {"title": title, "source": f"{title}."}
        )
        assert sent.status_code == 201, sent.text
    return slug


def answered(response: httpx.Response, *allowed: int) -> None:
    assert response.status_code < 500, response.text[:500]
    assert response.status_code in allowed, (response.status_code, response.text[:500])
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["detail"]


@examples(80)
@given(q=TYPED, before=st.one_of(st.none(), PARAMETER), shown=st.one_of(st.none(), PARAMETER))
async def test_any_search_or_paging_is_answered(
    console: ConsoleClient, slug: str, q: str, before: str | None, shown: str | None
) -> None:
    params = {"q": q} | ({"before": before} if before is not None else {})
    params |= {"shown": shown} if shown is not None else {}
    response = await read(
        console, f"/console/liveblogs/{slug}/items?" + str(httpx.QueryParams(params))
    )
    answered(response, 200, 422)
    if response.status_code == 200:
        assert "data-published" in response.text or before is not None


@examples(60)
@given(
    title=st.one_of(st.none(), TYPED), description=st.one_of(st.none(), TYPED), stale=st.booleans()
)
async def test_any_title_and_description_is_answered(
    console: ConsoleClient, slug: str, title: str | None, description: str | None, stale: bool
) -> None:
    current = await read(console, f"/console/liveblogs/{slug}/items")
    assert current.status_code == 200
    version = current.text.split('data-state-version="', 1)[1].split('"', 1)[0]
    response = await console.patch(
        f"/console/liveblogs/{slug}",
        {"title": title, "description": description},
        headers={"If-Match": f'"{int(version) - 1 if stale else version}"'},
    )
    answered(response, 200, 412, 422)
    if response.status_code == 200 and title is not None:
        assert response.json()["title"] == title.strip()


# Any If-Match a client can send: visible ASCII and inner spaces (HTTP trims the ends), tag-shaped
# or not.
IF_MATCH = st.one_of(
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60).map(str.strip),
    st.integers(min_value=-(2**70), max_value=2**70).map(lambda n: f'"{n}"'),
    st.just("*"),
)


@examples(40)
@given(if_match=IF_MATCH, action=st.sampled_from(["end", "reopen"]))
async def test_any_if_match_on_ending_or_reopening_is_answered(
    console: ConsoleClient, slug: str, if_match: str, action: str
) -> None:
    """End and reopen take If-Match since the services decide LIVEBLOG_REQUIRE_IF_MATCH for
    both edges: any value is applied (200), refused as malformed (400) or stale (412)."""
    response = await console.post(
        f"/console/liveblogs/{slug}/{action}", {}, headers={"If-Match": if_match}
    )
    answered(response, 200, 400, 412)
    if response.status_code == 200:
        assert response.json()["status"] == ("ended" if action == "end" else "live")


# A photo's words: up to past their limits (alt and caption 1,000 characters, credit 200).
LONG_TYPED = st.text(st.characters(codec="utf-8"), max_size=1200)
PHOTO = encoded(photo(320, 240), "PNG")  # one photo: after the first upload, found stored


@examples(40)
@given(alt=LONG_TYPED, caption=LONG_TYPED, credit=LONG_TYPED)
async def test_any_alt_caption_and_credit_is_answered(
    console: ConsoleClient, alt: str, caption: str, credit: str
) -> None:
    response = await console.http.post(
        "/console/media",
        files={"file": ("photo.png", PHOTO)},
        data={"alt": alt, "caption": caption, "credit": credit},
        headers={"Origin": console.origin, "X-CSRF-Token": console.csrf},
    )
    answered(response, 201, 422)
    if response.status_code == 201:
        assert response.json()["html"].startswith("<figure><img ")


# What may be pasted as a link: anything, and links into the newsroom's own network (refused
# before any connection). Links to other names are left out: they would ask DNS, and the
# machine may have none (tests/console/test_link_previews.py fetches a page of its own).
NETWORK_HOSTS = ["10.0.0.1", "127.0.0.1:8080", "169.254.169.254", "[::1]", "[fd00::1]",
                 "192.168.1.1:22", "user:pw@10.1.1.1"]  # fmt: skip
LINKS = st.one_of(
    TYPED.filter(lambda text: not text.strip().lower().startswith(("http://", "https://"))),
    st.builds(
        "{}://{}{}".format,
        st.sampled_from(["http", "https", "ftp", "javascript", "HTTP"]),
        st.sampled_from(NETWORK_HOSTS),
        TYPED.map(lambda tail: "/" + tail),
    ),
)


@examples(60)
@given(url=LINKS)
async def test_any_link_to_preview_is_answered(console: ConsoleClient, url: str) -> None:
    response = await console.post("/console/link-previews", {"url": url})
    answered(response, 200, 422)
