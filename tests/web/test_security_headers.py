"""Every HTML page carries a Content-Security-Policy and the other security headers, and the
reader page works under its policy: live updates and entry images, with no violation."""

from __future__ import annotations

import httpx
from playwright.async_api import Browser, expect

from tests.conftest import NewLiveblog
from tests.harness import LiveServer
from tests.web.test_reader_page import post

# Collects every CSP violation the page reports, from before its first script runs.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


async def test_pages_carry_the_policy_and_json_does_not_need_it(
    api: httpx.AsyncClient, anonymous: httpx.AsyncClient, new_liveblog: NewLiveblog
) -> None:
    """HTML: CSP (no inline script, images as the sanitizer allows, frames by us only),
    nosniff, referrer and permissions policies. JSON: nosniff and referrer policy."""
    slug = await new_liveblog()
    entry = await post(api, slug, title="Policy")
    pages = ["/", f"/liveblogs/{slug}", f"/liveblogs/{slug}/entries/{entry['id']}"]
    for path in [*pages, "/liveblogs/no-such-story"]:  # the page's own 404 too
        page = await anonymous.get(path)
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, (path, csp)
        assert "img-src 'self' http: https:" in csp
        assert "frame-ancestors 'self'" in csp and "default-src 'none'" in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "camera=()" in page.headers["permissions-policy"]
    data = await anonymous.get(f"/api/liveblogs/{slug}")
    assert data.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in data.headers
    docs = await anonymous.get("/docs")
    assert "unsafe-inline" not in docs.headers["content-security-policy"]  # tests/web/test_docs.py


async def test_the_reader_page_runs_under_its_policy(
    browser: Browser,
    api: httpx.AsyncClient,
    server: LiveServer,
    new_liveblog: NewLiveblog,
    image_url: str,
) -> None:
    """Live updates and an image from another host work; the browser reports no violation."""
    slug = await new_liveblog()
    context = await browser.new_context()
    await context.add_init_script(RECORD_VIOLATIONS)
    page = await context.new_page()
    page_messages: list[str] = []
    page.on("console", lambda message: page_messages.append(message.text))
    await page.goto(f"{server.url}/liveblogs/{slug}")
    await expect(page.locator("[data-lb-conn]")).to_have_attribute("data-state", "live")

    body = f'<figure><img src="{image_url}" alt="Map"><figcaption>Map</figcaption></figure>'
    entry = await post(api, slug, title="With a map", body=body)
    card = page.locator(f"[data-lb-stream] > #entry-{entry['id']}")
    await expect(card).to_be_visible()
    image = card.locator("img")
    await expect(image).to_have_attribute("src", image_url)
    assert await image.evaluate("img => img.decode().then(() => img.naturalWidth)") > 0
    assert await page.evaluate("window.__violations") == []
    assert not [m for m in page_messages if "Content Security Policy" in m], page_messages
    await context.close()
