"""Corrections and the console's entry markup on the reader page, in a real browser."""

from __future__ import annotations

import time
from html import escape
from typing import Any

import httpx
from playwright.async_api import Browser, expect

from tests.conftest import NewLiveblog
from tests.harness import LiveServer
from tests.web.test_reader_page import LIVE, open_live, post, until

# Plain text with markup characters in it: it must show as typed, never as HTML.
CORRECTION = "An earlier version said <b>three</b> seats & a recount; it was two."
LONG_URL = "https://example.com/news/" + "/".join(f"section-{n}" for n in range(30)) + "?ref=live"


def correction_html(text: str) -> str:
    """The correction's markup, as the template and liveblog.js render it (and a browser
    serializes it: `&`, `<` and `>` escaped in text, quotes left alone)."""
    text = escape(text, quote=False)
    return f'<p class="entry__correction"><strong>Correction:</strong> {text}</p>'


async def patch(api: httpx.AsyncClient, slug: str, entry_id: int, **fields: Any) -> None:
    response = await api.patch(f"/api/liveblogs/{slug}/entries/{entry_id}", json=fields)
    assert response.status_code == 200, response.text


async def test_correction_is_added_changed_and_removed_live(
    browser: Browser, api: httpx.AsyncClient, server: LiveServer, new_liveblog: NewLiveblog
) -> None:
    """A correction PATCHed on, changed and removed shows on an open page within a second."""
    slug = await new_liveblog()
    entry = await post(
        api, slug, title="Recount ordered", author="Politics desk", pinned=True,
        body="<p>A recount has been ordered in three seats.</p>",
    )  # fmt: skip
    page = await open_live(browser, f"{server.url}/liveblogs/{slug}")
    # The stream's card and the pinned copy both carry it.
    cards = [page.locator(f"#entry-{entry['id']}"), page.locator(f"#pinned-{entry['id']}")]
    for card in cards:
        await expect(card.locator(".entry__correction")).to_have_count(0)

    started = time.monotonic()
    await patch(api, slug, entry["id"], correction=CORRECTION)
    for card in cards:
        await expect(card.locator(".entry__correction")).to_have_text(
            f"Correction: {CORRECTION}", timeout=LIVE * 1000
        )
    assert time.monotonic() - started < LIVE
    for card in cards:
        correction = card.locator(".entry__correction")
        assert await correction.evaluate("(p) => p.outerHTML") == correction_html(CORRECTION)
        await expect(correction.locator("b")).to_have_count(0)
        # After the body, before the author; the entry's own text stays as it was.
        order = await card.evaluate("(card) => [...card.children].map((el) => el.className)")
        assert order[-3:] == ["entry__body", "entry__correction", "entry__author"], order
        await expect(card.locator(".entry__body")).to_have_text(
            "A recount has been ordered in three seats."
        )
        await expect(card.locator(".entry__title")).to_have_text("Recount ordered")
        await expect(card.locator(".entry__updated")).to_contain_text("Updated")

    await patch(api, slug, entry["id"], correction="The recount covers two seats, not three.")
    for card in cards:
        await expect(card.locator(".entry__correction")).to_have_text(
            "Correction: The recount covers two seats, not three.", timeout=LIVE * 1000
        )

    await patch(api, slug, entry["id"], correction=None)
    for card in cards:
        await expect(card.locator(".entry__correction")).to_have_count(0, timeout=LIVE * 1000)
        await expect(card.locator(".entry__body")).to_have_text(
            "A recount has been ordered in three seats."
        )
    await page.close()


async def test_correction_is_rendered_by_the_server(
    browser: Browser, api: httpx.AsyncClient, server: LiveServer, new_liveblog: NewLiveblog
) -> None:
    """With JavaScript off, a fresh page and the permalink show the correction, escaped."""
    slug = await new_liveblog()
    entry = await post(api, slug, title="Turnout", pinned=True, body="<p>Turnout was 71%.</p>")
    await patch(api, slug, entry["id"], correction=CORRECTION)
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    for path, ids in [
        (f"/liveblogs/{slug}", [f"entry-{entry['id']}", f"pinned-{entry['id']}"]),
        (f"/liveblogs/{slug}/entries/{entry['id']}", [f"entry-{entry['id']}"]),
    ]:
        await page.goto(server.url + path)
        for id_ in ids:
            card = page.locator(f"#{id_}")
            correction = card.locator(".entry__correction")
            await expect(correction).to_have_text(f"Correction: {CORRECTION}")
            assert await correction.evaluate("(p) => p.outerHTML") == correction_html(CORRECTION)
            await expect(card.locator(".entry__body")).to_have_text("Turnout was 71%.")
    await context.close()


async def test_embed_card_and_figure_fit_a_phone(
    browser: Browser,
    api: httpx.AsyncClient,
    server: LiveServer,
    new_liveblog: NewLiveblog,
    image_url: str,
) -> None:
    """At 390 px a link card and a wide figure fit: no sideways scroll, the URL ends in "…"."""
    slug = await new_liveblog()
    card_html = (
        f'<p><a class="embed-card" href="{LONG_URL}"><span class="embed-card__host">example.com'
        f'</span> <span class="embed-card__url">{LONG_URL}</span></a></p>'
    )
    figure_html = (
        f'<figure><img src="{image_url}" width="1200" height="675" alt="A count centre">'
        "<figcaption>Ballot boxes arriving at the count centre in "
        "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch.</figcaption></figure>"
    )
    entry = await post(api, slug, title="Links", body=card_html + figure_html)
    page = await open_live(browser, f"{server.url}/liveblogs/{slug}", width=390, height=844)
    body = page.locator(f"#entry-{entry['id']} .entry__body")
    link = body.locator("a.embed-card")  # the sanitizer keeps the card's classes and spans
    await expect(link.locator("span")).to_have_count(2)
    await expect(body.locator("figure figcaption")).to_have_count(1)
    await until(page, "[...document.images].every((img) => img.complete)")

    assert await page.evaluate("document.documentElement.scrollWidth") <= 390
    box = await link.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    url = link.locator(".embed-card__url")
    await expect(url).to_have_css("text-overflow", "ellipsis")
    await expect(url).to_have_css("white-space", "nowrap")
    assert await url.evaluate("(el) => el.scrollWidth > el.clientWidth")  # truncated, one line
    host = link.locator(".embed-card__host")
    await expect(host).to_have_css("font-weight", "700")
    image = await body.locator("img").bounding_box()
    assert image is not None and image["x"] + image["width"] <= 390, image

    await link.focus()
    await expect(link).to_have_css("outline-style", "solid")
    await page.close()
