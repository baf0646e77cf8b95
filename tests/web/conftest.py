"""Browser fixtures: Playwright for Python driving Debian's Chromium, headless."""

from __future__ import annotations

import os
import struct
import threading
import zlib
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import Browser, async_playwright

from tests.harness import ROOT, LiveServer, create_user
from tests.web.console_pages import Browsing, People

CHROMIUM = os.environ.get("LIVEBLOG_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FOUND = Path(CHROMIUM).exists()
ARTIFACTS = ROOT / "test-artifacts"
# Headless on a machine with no network beyond loopback: keep Chromium from calling home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM_FOUND:
        message = f"Chromium not found at {CHROMIUM} (make test installs Debian's package)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def _png(width: int, height: int) -> bytes:
    """A small landscape picture (sky over a darker ground), made here: no files, no network."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            if y < height * 0.62:
                shade = int(150 + 80 * y / height)
                rows += bytes((shade - 60, shade - 20, 235))
            else:
                rows += bytes((70 + x * 40 // width, 80, 60))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows)))
        + chunk(b"IEND", b"")
    )


EMBED_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A news site</title>
<link rel="stylesheet" href="{origin}/static/liveblog.css"></head>
<body><h1>Our news site</h1>
<div data-liveblog="{slug}" data-origin="{origin}"></div>
<script src="{origin}/static/liveblog.js" defer></script>
</body></html>"""


@pytest.fixture(scope="session")
def newsroom_site() -> Iterator[str]:
    """Another origin on loopback, like a newsroom's own site: it hosts images (`/photo.png`)
    and a page embedding a liveblog with the snippet of docs/reader-page.md
    (`/embed?origin=…&slug=…`)."""
    picture = _png(320, 180)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/embed":
                query = {key: values[0] for key, values in parse_qs(url.query).items()}
                body, kind = EMBED_PAGE.format(**query).encode(), "text/html; charset=utf-8"
            else:
                body, kind = picture, "image/png"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def image_url(newsroom_site: str) -> str:
    """An http:// image on another loopback origin, as a newsroom's image host serves one."""
    return f"{newsroom_site}/photo.png"


@pytest.fixture(scope="session")
def people(server: LiveServer) -> People:
    roles = [
        ("editor", "Alex Morgan"),
        ("editor", "Sam Rivera"),
        ("contributor", "Chris Lee"),
        ("admin", "Pat Okafor"),
    ]
    with ThreadPoolExecutor(len(roles)) as pool:  # each CLI run is mostly Python starting up
        made = [pool.submit(create_user, server, role, display_name=name) for role, name in roles]
        return People(*(future.result() for future in made))


@pytest.fixture
async def browsing(browser: Browser, server: LiveServer) -> AsyncIterator[Browsing]:
    watched = Browsing(browser, server)
    try:
        yield watched
    finally:
        await watched.close()
    watched.assert_clean()
