"""Link cards worth clicking: a link's title and picture, fetched once by the server when a
journalist composes, never by readers; and never from the newsroom's own network (loopback,
private, link-local addresses, after DNS and on every redirect) unless allowed."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hypothesis import given, settings, strategies as st

from app.domain.link_previews import summarize
from app.outbound import Outbound, OutboundRefused
from tests.harness import ConsoleClient, LiveServer, api_client, create_token, create_user, problem
from tests.media.photos import encoded, photo

StartServer = Callable[..., LiveServer]

PAGE = b"""<!doctype html><html><head><title>Fallback title</title>
<meta property="og:title" content="Ceasefire talks resume in Geneva">
<meta property="og:site_name" content="Example Wire">
<meta property="og:image" content="/lead.png"></head><body>Story</body></html>"""


class Site:
    """Another site, on loopback: a page with Open Graph tags, its picture, and redirects."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        site = self
        picture = encoded(photo(1200, 630), "PNG")

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.requests.append(self.path)
                if self.path.startswith("/redirect?to="):
                    self.send_response(302)
                    self.send_header("Location", self.path.split("=", 1)[1])
                    self.end_headers()
                    return
                body, kind = (
                    (picture, "image/png")
                    if self.path == "/lead.png"
                    else (PAGE, "text/html; charset=utf-8")
                )
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site() -> Iterator[Site]:
    served = Site()
    yield served
    served.close()


async def signed_in(server: LiveServer, role: str = "contributor") -> ConsoleClient:
    console = ConsoleClient(server)
    assert (await console.sign_in(create_user(server, role))).status_code == 303
    return console


async def test_a_card_shows_the_title_and_picture_fetched_when_composing(
    isolated_server: StartServer, site: Site
) -> None:
    server = isolated_server(outbound_allow_private="true")
    token = create_token(server.data_dir)
    async with api_client(server, token) as api:
        made = await api.post("/api/liveblogs", json={"slug": "talks", "title": "Talks"})
        assert made.status_code == 201
    async with await signed_in(server, "editor") as editor:
        link = f"{site.url}/story"
        fetched = await editor.post("/console/link-previews", {"url": link})
        assert fetched.status_code == 200, fetched.text
        assert fetched.json()["title"] == "Ceasefire talks resume in Geneva"
        assert fetched.json()["site_name"] == "Example Wire"
        assert fetched.json()["image"].startswith("/media/")
        assert site.requests == ["/story", "/lead.png"]
        published = await editor.post("/console/liveblogs/talks/entries", {"source": link})
        assert published.status_code == 201, published.text
    async with api_client(server) as reader:
        body = (await reader.get("/api/liveblogs/talks/entries")).json()["entries"][0]["body"]
        page = await reader.get("/liveblogs/talks")
        assert (await reader.get(fetched.json()["image"])).status_code == 200
    assert '<span class="embed-card__title">Ceasefire talks resume in Geneva</span>' in body
    assert '<img class="embed-card__image" src="/media/' in body and 'alt=""' in body
    assert "embed-card__title" in page.text
    assert site.requests == ["/story", "/lead.png"]  # readers caused no fetch


async def test_the_newsroom_network_is_refused(server: LiveServer, site: Site) -> None:
    async with await signed_in(server) as console:
        for url, why in [
            (f"{site.url}/story", "loopback"),
            ("http://localhost:8080/", "loopback"),
            ("http://example.org:22/", "port 22"),
            ("http://10.20.30.40/admin", "private"),
            ("http://169.254.169.254/latest/meta-data/", "link-local"),
            ("http://[::1]:8080/", "loopback"),
            ("http://100.64.0.1/", "not a public address"),
            ("ftp://example.org/file", "only http and https"),
            ("http://user:pw@example.org/", "user name"),
        ]:
            refused = await console.post("/console/link-previews", {"url": url})
            assert why in problem(refused, 422)["detail"], url
    assert site.requests == []  # nothing was asked of the site


async def test_a_redirect_into_the_network_is_refused(site: Site) -> None:
    """The first hop is allowed (this test's own site), the hop it redirects to is checked
    again: another loopback address, a private one, the metadata service."""
    outbound = Outbound(also_allowed=[ipaddress.ip_network("127.0.0.1/32")])
    fetched = await outbound.get(f"{site.url}/story", max_bytes=100_000)
    assert b"og:title" in fetched.body
    port = site.url.rsplit(":", 1)[1]
    for target in (f"http://127.0.0.2:{port}/story", "http://10.0.0.1/", "http://169.254.169.254/"):
        with pytest.raises(OutboundRefused):
            await outbound.get(f"{site.url}/redirect?to={target}", max_bytes=100_000)
    assert site.requests.count("/story") == 1  # the redirects were not followed


async def test_footage_links_fetch_nothing(isolated_server: StartServer) -> None:
    server = isolated_server(outbound_allow_private="true")
    async with await signed_in(server) as console:
        answer = await console.post(
            "/console/link-previews", {"url": "https://youtu.be/dQw4w9WgXcQ"}
        )
    assert answer.status_code == 200 and answer.json()["title"] is None


@settings(max_examples=200, deadline=None)
@given(page=st.binary(max_size=2000) | st.text(max_size=500).map(str.encode))
def test_any_page_summarizes_without_error(page: bytes) -> None:
    summary = summarize(page, "https://example.org/a/b")
    assert summary.title is None or len(summary.title) <= 300
    assert summary.image_url is None or summary.image_url.startswith(("http://", "https://"))
