"""The API docs at /docs work on a machine without internet: Swagger UI's files come from this
server, its start-up code is a file of ours, and the browser reports no CSP violation."""

from __future__ import annotations

import html
import re

import httpx
from playwright.async_api import Browser, ConsoleMessage, Locator, Page, Request, expect

from tests.conftest import NewLiveblog
from tests.harness import LiveServer, seconds
from tests.web.test_security_headers import RECORD_VIOLATIONS

RENDERED = seconds(10)  # Swagger UI parses and draws the whole OpenAPI document
ASSET_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


def operation(page: Page, method: str, path: str) -> Locator:
    """Swagger UI's block for one operation (`POST /api/liveblogs`)."""
    summary = page.locator(f'.opblock-summary-path[data-path="{path}"]')
    return page.locator(f".opblock.opblock-{method}").filter(has=summary)


async def test_docs_render_offline_under_their_policy(
    browser: Browser, server: LiveServer, new_liveblog: NewLiveblog
) -> None:
    """Chromium renders the operations, "Try it out" reaches the API; every request goes to the
    server's own origin, with no console error, no page error and no CSP violation."""
    slug = await new_liveblog()
    context = await browser.new_context()
    await context.add_init_script(RECORD_VIOLATIONS)
    page = await context.new_page()
    requested: list[str] = []
    problems: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            problems.append(f"console {message.type}: {message.text}")

    def on_failed(request: Request) -> None:
        problems.append(f"failed: {request.url} {request.failure}")

    page.on("request", lambda request: requested.append(request.url))
    page.on("requestfailed", on_failed)
    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    response = await page.goto(f"{server.url}/docs")
    assert response is not None and response.ok
    timeout = RENDERED * 1000
    await expect(operation(page, "post", "/api/liveblogs")).to_be_visible(timeout=timeout)
    await expect(operation(page, "get", "/api/liveblogs/{slug}/entries")).to_be_visible()

    # Open one operation and run it: the call goes to this server (connect-src 'self').
    listing = operation(page, "get", "/api/liveblogs")
    await listing.locator(".opblock-summary-control").click()
    await listing.get_by_role("button", name="Try it out").click()
    await listing.get_by_role("button", name="Execute").click()
    live = listing.locator(".live-responses-table")
    await expect(live.locator("tr.response .response-col_status")).to_have_text("200")
    await expect(live).to_contain_text(slug)
    await page.wait_for_load_state("networkidle")

    assert f"{server.url}/openapi.json" in requested
    assert any("/docs/assets/swagger-ui-bundle.js" in url for url in requested), requested
    elsewhere = [
        url
        for url in requested
        if not url.startswith(f"{server.url}/") and not url.startswith("data:")
    ]
    assert elsewhere == [], elsewhere
    assert await page.evaluate("window.__violations") == []
    assert problems == []
    await context.close()


async def test_docs_assets_are_served_here_with_their_types(
    anonymous: httpx.AsyncClient,
) -> None:
    """The page names only local files, each answering 200 with its type and cached by its
    version; its policy allows no CDN and no inline script; /openapi.json is still served."""
    page = await anonymous.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
    csp = page.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "style-src 'self';" in csp, csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, csp
    assert "http" not in csp, csp  # no host of any kind: no CDN, no font service
    assert "<script>" not in page.text  # every script has a src: no inline start-up code

    urls = [html.unescape(url) for url in re.findall(r'(?:src|href)="([^"]+)"', page.text)]
    assets = [url for url in urls if url != "/openapi.json"]
    assert {url.split("?")[0] for url in assets} == {
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/swagger-ui.css",
        "/docs/assets/favicon.png",
        "/static/api-docs.js",
    }
    for url in assets:
        asset = await anonymous.get(url)
        assert asset.status_code == 200, url
        suffix = url.split("?")[0].rsplit(".", 1)[-1]
        assert ASSET_TYPES[f".{suffix}"] in asset.headers["content-type"], (url, asset.headers)
        assert asset.content, url
        if url.startswith("/docs/assets/"):
            assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
            unversioned = await anonymous.get(url.split("?")[0])
            assert unversioned.headers["cache-control"] == "no-cache"  # not pinned forever

    assert (await anonymous.get("/docs/assets/redoc.standalone.js")).status_code == 404
    assert (await anonymous.get("/docs/assets/..%2Fcore.py")).status_code == 404
    assert (await anonymous.get("/redoc")).status_code == 404  # turned off (docs/operations.md)

    document = await anonymous.get("/openapi.json")
    assert document.status_code == 200
    assert document.headers["content-type"] == "application/json"
    assert "/api/liveblogs" in document.json()["paths"]
