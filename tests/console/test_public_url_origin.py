"""LIVEBLOG_PUBLIC_URL is compared as browsers write an Origin: an explicit default port
(https://Example.org:443) is the same console as https://example.org."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.harness import PASSWORD, LiveServer, create_user, problem, seconds

ORIGIN = "https://example.org"  # what a browser sends from the console's pages
SECURE_COOKIE = "__Host-liveblog_session"


@pytest.fixture(scope="module")
def public_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    """A server whose public URL is written with capitals and its scheme's default port; an
    editor of it."""
    live = LiveServer(
        tmp_path_factory.mktemp("public-url"), public_url="https://Example.org:443"
    ).start()
    try:
        yield live, create_user(live, "editor")
    finally:
        live.stop()


async def test_public_url_with_its_default_port_accepts_the_browsers_origin(
    public_server: tuple[LiveServer, str],
) -> None:
    """Public URL https://Example.org:443: sign-in and writes from https://example.org pass."""
    server, editor = public_server
    async with httpx.AsyncClient(base_url=server.url, timeout=seconds(10)) as http:
        signed_in = await http.post(
            "/console/sign-in",
            data={"username": editor, "password": PASSWORD},
            headers={"Origin": ORIGIN},
        )
        assert signed_in.status_code == 303, signed_in.text
        # Secure (https public URL), so the jar would not send it over http: sent by hand.
        cookie = signed_in.cookies[SECURE_COOKIE]
        http.cookies.clear()
        session = {"Cookie": f"{SECURE_COOKIE}={cookie}"}
        page = await http.get("/console", headers=session)
        found = re.search(r'data-csrf="([^"]+)"', page.text)
        assert found, page.text
        write = {**session, "X-CSRF-Token": found.group(1)}

        created = await http.post(
            "/console/liveblogs",
            json={"title": "Origins", "slug": "origins"},
            headers={**write, "Origin": ORIGIN},
        )
        assert created.status_code == 201, created.text
        # Other origins are still refused.
        for other in (f"{ORIGIN}:8443", "http://example.org", server.url):
            refused = await http.post(
                "/console/liveblogs",
                json={"title": "Forged", "slug": "forged"},
                headers={**write, "Origin": other},
            )
            problem(refused, 403)
