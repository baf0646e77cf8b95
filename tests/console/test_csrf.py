"""Cross-site request forgery: a console write needs the console's Origin (or, without one,
Sec-Fetch-Site: same-origin) and the session's own token; the sign-in form and the console's
WebSocket check the Origin too. Ends with a real replay from a page on another port of
127.0.0.1, which is same-site, so Chromium sends it the SameSite=Lax cookie.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson
import pytest
import websockets
from playwright.async_api import Browser, Page, Request, Response, expect

from tests.harness import (
    PASSWORD,
    ConsoleClient,
    LiveServer,
    create_user,
    free_port,
    problem,
    seconds,
)

SLUG = "desk"


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """This module's own server: its sign-ins never meet another module's back-off counts."""
    live = LiveServer(tmp_path_factory.mktemp("console-csrf")).start()
    yield live
    live.stop()


@pytest.fixture(scope="module")
async def editor(console_server: LiveServer) -> str:
    return await asyncio.to_thread(create_user, console_server, "editor", display_name="Eve Ed")


@pytest.fixture(scope="module")
async def desk(console_server: LiveServer, editor: str) -> AsyncIterator[ConsoleClient]:
    """The editor, signed in, with the liveblog SLUG made through the console."""
    async with ConsoleClient(console_server) as client:
        assert (await client.sign_in(editor)).status_code == 303
        made = await client.post("/console/liveblogs", {"title": "The desk", "slug": SLUG})
        assert made.status_code == 201, made.text
        yield client


async def published(server: LiveServer, slug: str = SLUG) -> list[dict[str, Any]]:
    """The liveblog's entries, as any reader gets them."""
    async with httpx.AsyncClient(base_url=server.url, timeout=seconds(10)) as http:
        response = await http.get(f"/api/liveblogs/{slug}/entries", params={"limit": 100})
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["entries"]
    return entries


# Console writes --------------------------------------------------------------------------------

# Headers of a write besides the cookie; ORIGIN, TOKEN and OTHER stand for the console's origin,
# the session's token, and the origin of another port on the same host.
REFUSED = {
    "origin of another port": {"Origin": "OTHER", "X-CSRF-Token": "TOKEN"},
    "https origin of the same host": {"Origin": "HTTPS", "X-CSRF-Token": "TOKEN"},
    "no token": {"Origin": "ORIGIN"},
    "empty token": {"Origin": "ORIGIN", "X-CSRF-Token": ""},
    "wrong token": {"Origin": "ORIGIN", "X-CSRF-Token": "not-the-token"},
    "no Origin, no Sec-Fetch-Site": {"X-CSRF-Token": "TOKEN"},
    "no Origin, same-site": {"Sec-Fetch-Site": "same-site", "X-CSRF-Token": "TOKEN"},
    "no Origin, cross-site": {"Sec-Fetch-Site": "cross-site", "X-CSRF-Token": "TOKEN"},
    "opaque Origin, cross-site": {
        "Origin": "null",
        "Sec-Fetch-Site": "cross-site",
        "X-CSRF-Token": "TOKEN",
    },
}
ALLOWED = {
    "console Origin and token": {"Origin": "ORIGIN", "X-CSRF-Token": "TOKEN"},
    "no Origin, same-origin, token": {"Sec-Fetch-Site": "same-origin", "X-CSRF-Token": "TOKEN"},
}


def fill(headers: dict[str, str], server: LiveServer, token: str) -> dict[str, str]:
    values = {
        "ORIGIN": server.url,
        "OTHER": f"http://127.0.0.1:{free_port()}",
        "HTTPS": f"https://127.0.0.1:{server.port}",
        "TOKEN": token,
    }
    return {name: values.get(value, value) for name, value in headers.items()}


@pytest.mark.parametrize("case", list(REFUSED))
async def test_write_without_both_proofs_is_refused(
    console_server: LiveServer, desk: ConsoleClient, case: str
) -> None:
    """A write with the cookie but without the console's Origin and token: 403, nothing made."""
    before = await published(console_server)
    response = await desk.http.post(
        f"/console/liveblogs/{SLUG}/entries",
        json={"title": f"Forged: {case}", "source": "forged"},
        headers=fill(REFUSED[case], console_server, desk.csrf),
    )
    body = problem(response, 403)
    assert "required_role" not in body  # refused as a forgery, not for the role
    assert await published(console_server) == before


@pytest.mark.parametrize("case", list(ALLOWED))
async def test_write_with_both_proofs_is_allowed(
    console_server: LiveServer, desk: ConsoleClient, case: str
) -> None:
    """The console's Origin (or Sec-Fetch-Site: same-origin) plus the token: the write goes in."""
    response = await desk.http.post(
        f"/console/liveblogs/{SLUG}/entries",
        json={"title": f"Allowed: {case}", "source": "fine"},
        headers=fill(ALLOWED[case], console_server, desk.csrf),
    )
    assert response.status_code == 201, response.text
    assert response.json()["title"] in {entry["title"] for entry in await published(console_server)}


async def test_each_session_has_its_own_token(
    console_server: LiveServer, editor: str, desk: ConsoleClient
) -> None:
    """Each session has its own CSRF token, which passes with no other session's cookie."""
    async with ConsoleClient(console_server) as other:
        assert (await other.sign_in(editor)).status_code == 303
        assert other.csrf and desk.csrf and other.csrf != desk.csrf
        crossed = await other.http.post(
            f"/console/liveblogs/{SLUG}/preview",
            json={"source": "crossed"},
            headers={"Origin": console_server.url, "X-CSRF-Token": desk.csrf},
        )
        problem(crossed, 403)
        own = await other.post(f"/console/liveblogs/{SLUG}/preview", {"source": "own"})
        assert own.status_code == 200 and "own" in own.text


async def test_sign_in_from_another_origin_is_refused(
    console_server: LiveServer, editor: str
) -> None:
    """The sign-in form posted from another origin is refused (403) and sets no cookie."""
    other = f"http://127.0.0.1:{free_port()}"
    async with httpx.AsyncClient(base_url=console_server.url, timeout=seconds(10)) as http:
        for headers in ({"Origin": other}, {}, {"Sec-Fetch-Site": "same-site"}):
            response = await http.post(
                "/console/sign-in",
                data={"username": editor, "password": PASSWORD},
                headers=headers,
            )
            assert response.status_code == 403, (headers, response.status_code)
            assert "set-cookie" not in response.headers, headers
            assert 'role="alert"' in response.text and "Sign out" not in response.text
        assert not http.cookies
        home = await http.get("/console")
    assert 'name="password"' in home.text and "data-csrf" not in home.text


# The console's WebSocket -------------------------------------------------------------------------


async def test_console_socket_checks_origin_and_session(
    console_server: LiveServer, desk: ConsoleClient
) -> None:
    """The console socket opens only from the console's origin, and closes 4401 without a cookie."""
    url = f"{console_server.ws_url}/console/liveblogs/{SLUG}/socket"
    cookie = {"Cookie": f"liveblog_session={desk.cookie}"}
    other = f"http://127.0.0.1:{free_port()}"
    for headers in ({**cookie, "Origin": other}, cookie):
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(url, additional_headers=headers, open_timeout=seconds(5))
        assert refused.value.response.status_code == 403, headers

    own = {**cookie, "Origin": console_server.url}
    async with websockets.connect(url, additional_headers=own, open_timeout=seconds(5)) as socket:
        first = orjson.loads(await asyncio.wait_for(socket.recv(), seconds(5)))
        assert first["type"] == "hello" and isinstance(first["user"], int), first
        second = orjson.loads(await asyncio.wait_for(socket.recv(), seconds(5)))
        assert second == {"type": "readers", "count": 0}

    anonymous = {"Origin": console_server.url}
    async with websockets.connect(url, additional_headers=anonymous) as socket:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), seconds(5))
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


# A real replay from another origin, in Chromium -------------------------------------------------

# A page on another port of 127.0.0.1 (same site as the console, so the browser sends it the
# SameSite=Lax cookie) that tries what a forger would: a JSON fetch with a guessed token (CORS
# preflights it), a "simple" no-cors fetch that needs no preflight, and a plain form post.
ATTACK_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Cute cats</title></head>
<body><h1>Cute cats</h1>
<form method="post" action="{console}/console/liveblogs">
  <input name="title" value="Forged liveblog"><input name="slug" value="forged">
</form>
<script>
const consoleOrigin = "{console}";
const target = consoleOrigin + "/console/liveblogs/{slug}/entries";
window.results = {{}};
fetch(target, {{
  method: "POST",
  credentials: "include",
  headers: {{"Content-Type": "application/json", "X-CSRF-Token": "guess"}},
  body: JSON.stringify({{title: "Forged by fetch", source: "forged"}}),
}}).then(r => {{ window.results.json = "status " + r.status; }},
         e => {{ window.results.json = "error " + e.name; }});
fetch(target, {{
  method: "POST",
  mode: "no-cors",
  credentials: "include",
  headers: {{"Content-Type": "text/plain"}},
  body: JSON.stringify({{title: "Forged simply", source: "forged"}}),
}}).then(r => {{ window.results.simple = r.type; }},
         e => {{ window.results.simple = "error " + e.name; }});
// Not a write: shows whether the cookie goes along (the fragment, or a 303 to sign in).
fetch(consoleOrigin + "/console/liveblogs/{slug}/items", {{
  mode: "no-cors",
  credentials: "include",
}}).then(r => {{ window.results.read = r.type; }},
         e => {{ window.results.read = "error " + e.name; }});
</script>
</body></html>"""


@pytest.fixture
def attacker_site(console_server: LiveServer) -> Iterator[str]:
    """Another origin on loopback serving ATTACK_PAGE aimed at the console; yields its URL."""
    page = ATTACK_PAGE.format(console=console_server.url, slug=SLUG).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *_: object) -> None:
            pass

    site = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{site.server_address[1]}/cats"
    site.shutdown()
    site.server_close()


async def until(page: Page, expression: str, timeout: float = 5.0) -> Any:
    """Poll `expression` in the page until it is truthy; returns it (no wait_for_function: the
    console's CSP forbids the eval it uses)."""
    deadline = time.monotonic() + seconds(timeout)
    while not (value := await page.evaluate(expression)):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        await asyncio.sleep(0.05)
    return value


async def test_forged_requests_from_another_port_change_nothing(
    browser: Browser,
    console_server: LiveServer,
    editor: str,
    desk: ConsoleClient,
    attacker_site: str,
) -> None:
    """In Chromium, forged fetches and a form post from another port carry the cookie, get 403."""
    before = await published(console_server)
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(f"{console_server.url}/console")
        await page.get_by_label("Username").fill(editor)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        # The session works from the console's own page (same origin, its token).
        own = await page.evaluate(
            """async (slug) => (await fetch(`/console/liveblogs/${slug}/preview`, {
                method: "POST",
                headers: {"Content-Type": "application/json",
                          "X-CSRF-Token": document.body.dataset.csrf},
                body: JSON.stringify({source: "from the console"}),
            })).status""",
            SLUG,
        )
        assert own == 200

        sent: list[Request] = []
        answered: list[Response] = []
        attack = await context.new_page()
        attack.on("request", lambda r: sent.append(r) if "/console/" in r.url else None)
        attack.on("response", lambda r: answered.append(r) if "/console/" in r.url else None)
        await attack.goto(attacker_site)
        results = await until(
            attack,
            "window.results.json && window.results.simple && window.results.read && window.results",
        )
        assert results["json"].startswith("error"), results  # the CORS preflight fails
        assert results["simple"] == "opaque", results

        async with attack.expect_response(
            lambda r: r.url.endswith("/console/liveblogs") and r.request.method == "POST"
        ) as posted:
            await attack.evaluate("document.forms[0].submit()")
        form = await posted.value
        assert form.status == 403, form.status
        assert orjson.loads(await form.body())["status"] == 403

        posts = [r for r in answered if r.request.method == "POST"]
        assert sorted(r.status for r in posts) == [403, 403], [(r.url, r.status) for r in posts]
        # The cookie did go along (another port is the same site): the fragment came back, not a
        # redirect to sign in. Only the Origin and token checks stopped the writes.
        reads = [r.status for r in answered if r.url.endswith("/items")]
        assert reads == [200], reads
        # Three forged posts left the page; the JSON one died at its CORS preflight, unanswered.
        assert len([r for r in sent if r.method == "POST"]) == 3, [(r.method, r.url) for r in sent]
    finally:
        await context.close()

    assert await published(console_server) == before
    async with httpx.AsyncClient(base_url=console_server.url, timeout=seconds(10)) as http:
        assert (await http.get("/api/liveblogs/forged")).status_code == 404
