"""The reader pages meet WCAG 2.1 AA as far as axe-core can tell, in light and dark mode."""

from __future__ import annotations

from typing import Literal

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.conftest import NewLiveblog
from tests.harness import LiveServer
from tests.web.axe import assert_accessible
from tests.web.test_reader_page import LIVE, post, story, until

ColorScheme = Literal["light", "dark"]

# Each page is checked as a reader with either system setting sees it: contrast differs.
pytestmark = pytest.mark.parametrize("color_scheme", ["light", "dark"])


async def open_page(browser: Browser, url: str, color_scheme: ColorScheme) -> Page:
    """A page at `url`, loaded, its images decoded. Reduced motion: the arrival highlight would
    otherwise fade under axe's contrast check."""
    page = await browser.new_page(color_scheme=color_scheme, reduced_motion="reduce")
    await page.goto(url)
    await until(page, "[...document.images].every((img) => img.complete)")
    return page


async def test_index(
    browser: Browser,
    api: httpx.AsyncClient,
    server: LiveServer,
    new_liveblog: NewLiveblog,
    color_scheme: ColorScheme,
) -> None:
    """`/`, listing a live and an ended liveblog, has no violation."""
    await new_liveblog(description="Results from every constituency, as they come in.")
    ended = await new_liveblog()
    await api.patch(f"/api/liveblogs/{ended}", json={"status": "ended"})
    page = await open_page(browser, server.url + "/", color_scheme)
    await expect(page.locator(".index__title").first).to_be_visible()
    await assert_accessible(page)
    await page.close()


async def test_liveblog_page(
    browser: Browser,
    api: httpx.AsyncClient,
    server: LiveServer,
    new_liveblog: NewLiveblog,
    image_url: str,
    color_scheme: ColorScheme,
) -> None:
    """A live liveblog (pinned entry, key events, a photo, an entry that arrived live) has none."""
    slug = await new_liveblog(description="Results from every constituency, as they come in.")
    await story(api, slug, image_url)
    page = await open_page(browser, f"{server.url}/liveblogs/{slug}", color_scheme)
    await expect(page.locator("[data-lb-conn]")).to_have_attribute("data-state", "live")
    # A pinned key event, arriving live: its badges sit on a plain background in the pinned
    # box, where axe can measure their contrast (on the stream's key-event tint, a gradient,
    # it cannot and says "incomplete").
    arrived = await post(api, slug, title="A seat changes hands", key_event=True, pinned=True)
    await expect(page.locator(f"[data-lb-pinned] #pinned-{arrived['id']}")).to_be_visible(
        timeout=LIVE * 1000
    )
    await assert_accessible(page)
    await page.close()


async def test_entry_permalink(
    browser: Browser,
    api: httpx.AsyncClient,
    server: LiveServer,
    new_liveblog: NewLiveblog,
    image_url: str,
    color_scheme: ColorScheme,
) -> None:
    """An entry's own page (a photo with its caption) has none."""
    slug = await new_liveblog()
    photo = (await story(api, slug, image_url))[1]
    page = await open_page(
        browser, f"{server.url}/liveblogs/{slug}/entries/{photo['id']}", color_scheme
    )
    await expect(page.locator(".entry__body figcaption")).to_be_visible()
    await assert_accessible(page)
    await page.close()


async def test_not_found_page(
    browser: Browser, server: LiveServer, color_scheme: ColorScheme
) -> None:
    """The 404 page has none."""
    page = await browser.new_page(color_scheme=color_scheme)
    response = await page.goto(f"{server.url}/liveblogs/no-such-story")
    assert response is not None and response.status == 404
    await assert_accessible(page)
    await page.close()
