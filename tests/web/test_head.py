"""HEAD on every page answers as GET does (the same status and headers) without a body: reader
pages, the index, the console's pages, /docs and its files, static files, /healthz, /readyz,
and the API's reads. It was 405 for all but the static files."""

from __future__ import annotations

import string

import httpx
from hypothesis import given, strategies as st

from tests.conftest import NewLiveblog
from tests.entry_bodies import examples
from tests.harness import ConsoleClient, LiveServer, create_user

# Headers that differ from one response to the next by design.
PER_RESPONSE = {"date", "x-request-id"}


def assert_head_as_get(head: httpx.Response, get: httpx.Response) -> None:
    path = get.request.url.path
    assert head.status_code == get.status_code, (path, head.status_code, get.status_code)
    assert head.content == b"", path
    heads = {k: v for k, v in head.headers.items() if k not in PER_RESPONSE}
    gets = {k: v for k, v in get.headers.items() if k not in PER_RESPONSE}
    assert heads == gets, path


async def test_head_answers_every_public_page_as_get(
    anonymous: httpx.AsyncClient, api: httpx.AsyncClient, new_liveblog: NewLiveblog
) -> None:
    """Reader pages (index, liveblog, entry permalink, a missing one), /docs and an asset,
    static files, health, readiness, metrics and API reads: HEAD is GET without the body."""
    slug = await new_liveblog()
    entry = await api.post(f"/api/liveblogs/{slug}/entries", json={"body": "<p>Live.</p>"})
    assert entry.status_code == 201, entry.text
    entry_id = entry.json()["id"]
    for path in [
        "/",
        f"/liveblogs/{slug}",
        f"/liveblogs/{slug}/entries/{entry_id}",
        "/liveblogs/no-such-liveblog",
        "/docs",
        "/docs/assets/swagger-ui.css",
        "/static/liveblog.css",
        "/healthz",
        "/readyz",
        "/metrics",
        "/openapi.json",
        "/api/liveblogs",
        f"/api/liveblogs/{slug}",
        f"/api/liveblogs/{slug}/entries/{entry_id}",
        "/api/liveblogs/no-such-liveblog",
    ]:
        get = await anonymous.get(path)
        head = await anonymous.head(path)
        if path != "/metrics":  # its figures move with every request, so its length too
            assert_head_as_get(head, get)
        else:
            assert (head.status_code, head.content) == (get.status_code, b"")
        assert get.status_code in (200, 404), (path, get.status_code)


async def test_head_answers_the_console_pages_as_get(
    server: LiveServer, new_liveblog: NewLiveblog
) -> None:
    """The console's pages, signed out (the sign-in page) and signed in, and a redirect: HEAD
    is GET without the body."""
    slug = await new_liveblog()
    async with ConsoleClient(server) as signed_out:
        assert_head_as_get(await signed_out.http.head("/console"), await signed_out.get("/console"))
    username = create_user(server, "admin")
    async with ConsoleClient(server) as editor:
        assert (await editor.sign_in(username)).status_code == 303
        pages = ["/console", f"/console/liveblogs/{slug}", "/console/users", "/console/account"]
        for path in pages:
            get = await editor.http.get(path)
            head = await editor.http.head(path)
            assert get.status_code == 200, (path, get.status_code)
            assert_head_as_get(head, get)


async def test_head_on_a_path_that_takes_no_get_is_405(anonymous: httpx.AsyncClient) -> None:
    """Where GET is not served, neither is HEAD: 405, and Allow lists what is; where GET is,
    Allow names HEAD too."""
    response = await anonymous.head("/console/sign-out")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    response = await anonymous.delete("/")
    assert response.headers["allow"] == "GET, HEAD"


path_segments = st.text(alphabet=string.ascii_letters + string.digits + "-._~", max_size=10)
page_paths = st.builds(
    lambda start, rest: "/".join([start, *rest]),
    st.sampled_from(
        ["", "/liveblogs", "/console", "/console/liveblogs", "/docs/assets", "/static", "/api",
         "/api/liveblogs", "/healthz", "/nothing"]
    ),
    st.lists(path_segments, max_size=3),
)  # fmt: skip


@examples(80)
@given(path=page_paths)
async def test_head_and_get_agree_on_any_path(server: LiveServer, path: str) -> None:
    """Whatever path is typed: HEAD gets GET's status and no body."""
    async with httpx.AsyncClient(base_url=server.url) as client:
        get = await client.get(path or "/")
        head = await client.head(path or "/")
    assert head.status_code == get.status_code, (path, head.status_code, get.status_code)
    assert head.content == b""
