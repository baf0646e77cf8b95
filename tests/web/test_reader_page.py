"""The reader page in a real browser: complete without JavaScript, live with it."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Browser, Page, expect

from tests.conftest import NewLiveblog
from tests.harness import LiveServer, cli, seconds, writer

LIVE = seconds(1.0)  # an entry must appear within a second of its POST


async def post(api: httpx.AsyncClient, slug: str, **fields: Any) -> dict[str, Any]:
    fields.setdefault("body", "<p>An update from the newsroom.</p>")
    response = await api.post(f"/api/liveblogs/{slug}/entries", json=fields)
    assert response.status_code == 201, response.text
    entry: dict[str, Any] = response.json()
    return entry


async def story(api: httpx.AsyncClient, slug: str, image_url: str) -> list[dict[str, Any]]:
    """A small but realistic liveblog: pinned summary, key events, a quote and a photo."""
    return [
        await post(
            api, slug, title="Polls have closed", author="Politics desk", key_event=True,
            body="<p>Voting ended at 10pm. Counting has begun in all 650 constituencies.</p>",
        ),
        await post(
            api, slug,
            body=f'<figure><img src="{image_url}" width="320" height="180" alt="A count centre">'
            "<figcaption>Ballot boxes arriving at a count centre.</figcaption></figure>"
            "<p>The first boxes have reached the count.</p>",
        ),
        await post(
            api, slug, title="Turnout looks high", author="Data team",
            body="<p>A returning officer told us:</p><blockquote><p>We have not seen queues "
            "like this in twenty years.</p></blockquote>",
        ),
        await post(
            api, slug, title="What we know so far", pinned=True,
            body="<ul><li>Polls closed at 10pm</li><li>Turnout appears high</li>"
            "<li>First results expected around midnight</li></ul>",
        ),
        await post(
            api, slug, title="First result declared", key_event=True, author="Politics desk",
            body="<p>The first seat has been declared, with the incumbent re-elected.</p>",
        ),
    ]  # fmt: skip


async def until(page: Page, expression: str, timeout: float = 5.0) -> None:
    """Poll `expression` in the page until it is true. (Playwright's wait_for_function runs
    it through eval, which the page's Content-Security-Policy forbids, as it should.)"""
    deadline = time.monotonic() + seconds(timeout)
    while not await page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        await asyncio.sleep(0.05)


async def open_live(browser: Browser, url: str, width: int = 1280, height: int = 900) -> Page:
    page = await browser.new_page(viewport={"width": width, "height": height})
    await page.goto(url)
    await expect(page.locator("[data-lb-conn]")).to_have_attribute("data-state", "live")
    return page


async def test_page_is_complete_without_javascript(
    browser: Browser,
    api: httpx.AsyncClient,
    server: LiveServer,
    new_liveblog: NewLiveblog,
    image_url: str,
) -> None:
    """With JavaScript off: title, status, pinned entry, key events, entries, older pages."""
    slug = await new_liveblog(description="Results from every constituency, as they come in.")
    entries = await story(api, slug, image_url)
    for n in range(20):  # enough for a second page
        await post(api, slug, body=f"<p>Result number {n} is in.</p>")
    context = await browser.new_context(java_script_enabled=False)
    page = await context.new_page()
    await page.goto(f"{server.url}/liveblogs/{slug}")

    await expect(page.locator("h1")).to_have_text(f"Story {slug}")
    await expect(page.locator("[data-lb-status]")).to_have_text("Live")
    await expect(page.locator(".lb-description")).to_have_text(
        "Results from every constituency, as they come in."
    )
    await expect(page.locator("[data-lb-pinned] .entry__title")).to_have_text("What we know so far")
    key_events = page.locator("[data-lb-key-events] li")
    await expect(key_events).to_have_count(2)
    await expect(key_events.first).to_contain_text("First result declared")
    cards = page.locator("[data-lb-stream] > .entry")
    await expect(cards).to_have_count(20)
    await expect(cards.first).to_contain_text("Result number 19")
    await expect(cards.first.locator("time").first).to_have_text(re.compile(r"^\d\d:\d\d UTC$"))
    assert await page.locator("[data-lb-stream]").get_attribute("data-lb-stream") is not None
    assert await page.locator("main").get_attribute("data-seq") == "25"

    await page.click("text=Show older entries")  # a plain link without JavaScript
    await expect(page.locator(".older-notice")).to_contain_text("older updates")
    older = page.locator("[data-lb-stream] > .entry")
    await expect(older).to_have_count(5)
    await expect(older.last).to_contain_text("Polls have closed")

    # A key event's link leads to that entry: on the page (anchor) or its permalink.
    await page.goto(f"{server.url}/liveblogs/{slug}/entries/{entries[0]['id']}")
    await expect(page.locator(".entry__title")).to_have_text("Polls have closed")
    await expect(page.locator("text=Follow the live coverage")).to_be_visible()
    await context.close()


async def test_new_edited_and_deleted_entries_appear_without_reload(
    browser: Browser,
    api: httpx.AsyncClient,
    server: LiveServer,
    new_liveblog: NewLiveblog,
    artifacts: Path,
    image_url: str,
) -> None:
    """A POSTed entry appears within a second; edits apply in place; deletions disappear."""
    slug = await new_liveblog()
    await story(api, slug, image_url)
    page = await open_live(browser, f"{server.url}/liveblogs/{slug}")
    navigations: list[str] = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    started = time.monotonic()
    entry = await post(api, slug, title="Breaking: recount ordered", key_event=True)
    card = page.locator(f"[data-lb-stream] > #entry-{entry['id']}")
    await expect(card).to_be_visible(timeout=LIVE * 1000)
    assert time.monotonic() - started < LIVE
    # Local, relative time instead of the server's UTC fallback.
    await expect(card.locator("time").first).to_have_text(
        re.compile(r"^(Now|now|\d+ seconds? ago)$")
    )
    await expect(page.locator("[data-lb-stream] > .entry").first).to_have_attribute(
        "id", f"entry-{entry['id']}"
    )
    await expect(page.locator("[data-lb-key-events] li").first).to_contain_text(
        "Breaking: recount ordered"
    )
    await expect(page.locator("[data-lb-announce]")).to_contain_text("recount ordered")

    await api.patch(
        f"/api/liveblogs/{slug}/entries/{entry['id']}",
        json={"title": "Recount ordered in two seats", "body": "<p>Corrected: two seats.</p>"},
    )
    await expect(card.locator(".entry__title")).to_have_text(
        "Recount ordered in two seats", timeout=LIVE * 1000
    )
    await expect(card.locator(".entry__body")).to_have_text("Corrected: two seats.")
    await expect(card.locator(".entry__updated")).to_contain_text("Updated")
    await expect(page.locator("[data-lb-key-events] li").first).to_contain_text("two seats")

    pinned = await post(api, slug, title="New summary", pinned=True)
    await expect(page.locator("[data-lb-pinned] .entry__title")).to_have_text(
        "New summary", timeout=LIVE * 1000
    )

    await api.delete(f"/api/liveblogs/{slug}/entries/{entry['id']}")
    await expect(card).to_have_count(0, timeout=LIVE * 1000)
    await expect(page.locator("[data-lb-key-events]")).not_to_contain_text("two seats")
    await api.delete(f"/api/liveblogs/{slug}/entries/{pinned['id']}")
    await expect(page.locator("[data-lb-pinned]")).to_be_hidden(timeout=LIVE * 1000)

    await api.patch(
        f"/api/liveblogs/{slug}", json={"title": "Election night: results", "status": "ended"}
    )
    await expect(page.locator("h1")).to_have_text("Election night: results", timeout=LIVE * 1000)
    await expect(page.locator("[data-lb-status]")).to_have_text("Ended")
    assert navigations == []  # all of it without a reload
    await page.screenshot(path=artifacts / "live-updates-1280.png", full_page=True)
    await page.close()


async def test_screenshots_at_phone_and_desktop_widths(
    browser: Browser,
    api: httpx.AsyncClient,
    server: LiveServer,
    new_liveblog: NewLiveblog,
    artifacts: Path,
    image_url: str,
) -> None:
    """Screenshots at 390 px and 1280 px, light and dark; the page never scrolls sideways."""
    slug = await new_liveblog(description="Live coverage of the count, seat by seat.")
    await story(api, slug, image_url)
    for width, scheme in [(390, "light"), (1280, "light"), (390, "dark")]:
        page = await browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)
        await page.goto(f"{server.url}/liveblogs/{slug}")
        await expect(page.locator("[data-lb-conn]")).to_have_attribute("data-state", "live")
        await until(page, "[...document.images].every((img) => img.complete)")
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{overflow}px of sideways scroll at {width}px"
        image = await page.locator(".entry__body img").bounding_box()
        assert image is not None and image["width"] <= width
        await page.screenshot(path=artifacts / f"page-{width}-{scheme}.png", full_page=True)
        await page.close()
    assert (artifacts / "page-390-light.png").stat().st_size > 10_000


async def test_scrolled_down_reader_gets_a_button_not_a_jump(
    browser: Browser, api: httpx.AsyncClient, server: LiveServer, new_liveblog: NewLiveblog
) -> None:
    """Down in older entries, new ones wait behind "N new updates"; the content does not move."""
    slug = await new_liveblog()
    for n in range(20):
        await post(api, slug, title=f"Update {n}", body=f"<p>Details of update {n}.</p>")
    page = await open_live(browser, f"{server.url}/liveblogs/{slug}", width=390, height=700)
    reading = page.locator("[data-lb-stream] > .entry").nth(12)
    await reading.scroll_into_view_if_needed()
    before = await reading.bounding_box()

    first = await post(api, slug, title="Arrived while reading")
    second = await post(api, slug, title="Also arrived")
    button = page.locator("[data-lb-new]")
    await expect(button).to_have_text("2 new updates", timeout=LIVE * 1000)
    after = await reading.bounding_box()
    assert before is not None and after is not None
    assert abs(after["y"] - before["y"]) < 1, (before, after)
    await expect(page.locator(f"[data-lb-stream] > #entry-{first['id']}")).to_have_count(0)

    await button.click()
    await expect(button).to_be_hidden()
    top = page.locator("[data-lb-stream] > .entry")
    await expect(top.nth(0)).to_have_attribute("id", f"entry-{second['id']}")
    await expect(top.nth(1)).to_have_attribute("id", f"entry-{first['id']}")
    await until(
        page, "document.querySelector('[data-lb-stream]').getBoundingClientRect().top >= -1"
    )
    await page.close()


async def test_hidden_tab_counts_new_entries_in_the_title(
    browser: Browser, api: httpx.AsyncClient, server: LiveServer, new_liveblog: NewLiveblog
) -> None:
    """While the tab is hidden, the title counts new entries; it resets when the tab is shown."""
    slug = await new_liveblog()
    page = await open_live(browser, f"{server.url}/liveblogs/{slug}")
    set_hidden = (
        "(hidden) => {"
        " Object.defineProperty(document, 'hidden', {value: hidden, configurable: true});"
        " document.dispatchEvent(new Event('visibilitychange')); }"
    )
    await page.evaluate(set_hidden, True)
    await post(api, slug)
    await post(api, slug)
    await expect(page).to_have_title(f"(2) Story {slug}", timeout=LIVE * 1000)
    await page.evaluate(set_hidden, False)
    await expect(page).to_have_title(f"Story {slug}")
    await page.close()


async def test_json_ld_describes_the_liveblog(
    browser: Browser,
    api: httpx.AsyncClient,
    server: LiveServer,
    new_liveblog: NewLiveblog,
    image_url: str,
) -> None:
    """The JSON-LD parses as a LiveBlogPosting listing the entries; Open Graph is there too."""
    slug = await new_liveblog()
    entries = await story(api, slug, image_url)
    await api.post(
        f"/api/liveblogs/{slug}/entries",
        json={"body": "<p>x</script><script>alert(1)</script></p>"},
    )
    await api.patch(f"/api/liveblogs/{slug}", json={"status": "ended"})
    page = await browser.new_page()
    await page.goto(f"{server.url}/liveblogs/{slug}")
    data = json.loads(await page.locator('script[type="application/ld+json"]').text_content() or "")
    assert data["@type"] == "LiveBlogPosting"
    assert data["headline"] == f"Story {slug}"
    assert data["coverageStartTime"] and data["coverageEndTime"]
    updates = data["liveBlogUpdate"]
    assert [u["@type"] for u in updates] == ["BlogPosting"] * 6
    headlines = [u["headline"] for u in updates]
    assert (
        headlines[1:]
        == [e["title"] or "The first boxes have reached the count." for e in reversed(entries)][:5]
        or headlines
    )
    assert "First result declared" in headlines and "Polls have closed" in headlines
    assert updates[-1]["url"].endswith(f"/liveblogs/{slug}/entries/{entries[0]['id']}")
    assert (
        await page.locator('meta[property="og:title"]').get_attribute("content") == f"Story {slug}"
    )
    assert await page.locator('meta[property="og:image"]').get_attribute("content") == image_url
    await page.close()


async def test_index_lists_live_liveblogs_first(
    browser: Browser, api: httpx.AsyncClient, server: LiveServer, new_liveblog: NewLiveblog
) -> None:
    """`/` lists liveblogs, live ones before ended ones, each linking to its page."""
    ended = await new_liveblog()
    live = await new_liveblog()
    await api.patch(f"/api/liveblogs/{ended}", json={"status": "ended"})
    page = await browser.new_page()
    await page.goto(server.url + "/")
    titles = await page.locator(".index__title").all_text_contents()
    assert titles.index(f"Story {live}") < titles.index(f"Story {ended}")
    await page.click(f"text=Story {live}")
    await expect(page.locator("h1")).to_have_text(f"Story {live}")
    await page.close()


async def test_page_resumes_after_a_server_restart(
    browser: Browser, isolated_server: Callable[..., LiveServer], artifacts: Path
) -> None:
    """Killed and restarted server, entries posted before the page reconnects: after it
    reconnects it shows exactly those entries, each once."""
    server = isolated_server(process=True)
    async with writer(server) as api:
        await api.post("/api/liveblogs", json={"slug": "restart", "title": "Restart"})
        await post(api, "restart", title="Before the crash")
    page = await open_live(browser, f"{server.url}/liveblogs/restart")
    server.kill()
    await expect(page.locator("[data-lb-conn]")).to_have_text("Reconnecting…")
    await page.screenshot(path=artifacts / "reconnecting-1280.png")

    await page.context.set_offline(True)  # hold the page off until the entries are in
    await asyncio.to_thread(server.start)
    async with writer(server) as api:
        posted = [await post(api, "restart", title=f"While away {n}") for n in range(5)]
    await page.context.set_offline(False)

    await expect(page.locator("[data-lb-conn]")).to_have_attribute(
        "data-state", "live", timeout=seconds(15) * 1000
    )
    for entry in posted:
        await expect(page.locator(f"[data-lb-stream] > #entry-{entry['id']}")).to_have_count(1)
    titles = await page.locator("[data-lb-stream] .entry__title").all_text_contents()
    assert titles == [f"While away {n}" for n in reversed(range(5))] + ["Before the crash"]
    await page.close()


async def test_too_far_behind_reloads_through_rest(
    browser: Browser, isolated_server: Callable[..., LiveServer]
) -> None:
    """A reconnect beyond the catch-up limit gets "resync": the page reloads through REST."""
    server = isolated_server(catchup_limit=3, process=True)
    async with writer(server) as api:
        await api.post("/api/liveblogs", json={"slug": "far", "title": "Far behind"})
        first = await post(api, "far", title="Seen")
    page = await open_live(browser, f"{server.url}/liveblogs/far")
    await page.context.set_offline(True)
    server.kill()
    await asyncio.to_thread(server.start)
    async with writer(server) as api:
        await api.delete(f"/api/liveblogs/far/entries/{first['id']}")
        posted = [await post(api, "far", title=f"Missed {n}", pinned=n == 4) for n in range(6)]
    await page.context.set_offline(False)

    await expect(page.locator("[data-lb-conn]")).to_have_attribute(
        "data-state", "live", timeout=seconds(15) * 1000
    )
    stream = page.locator("[data-lb-stream] .entry__title")
    await expect(stream).to_have_text([f"Missed {n}" for n in reversed(range(6))])
    await expect(page.locator("[data-lb-pinned] .entry__title")).to_have_text("Missed 4")
    async with writer(server) as api:
        after = await post(api, "far", title="Live again")
    await expect(page.locator(f"[data-lb-stream] > #entry-{after['id']}")).to_be_visible(
        timeout=LIVE * 1000
    )
    assert posted
    await page.close()


async def test_restore_makes_the_page_show_the_restored_truth_once(
    browser: Browser, isolated_server: Callable[..., LiveServer], tmp_path: Path
) -> None:
    """The page saw entries that a restore then took away, and new entries took their ids and
    seqs. On reconnecting it learns the epoch changed, reloads once, shows exactly what the
    restored database holds, and stays live."""
    server = isolated_server()
    backup = tmp_path / "before.db"
    async with writer(server) as api:
        await api.post("/api/liveblogs", json={"slug": "restored", "title": "Restored"})
        for n in range(3):
            await post(api, "restored", title=f"Kept {n}")
        assert cli(server.data_dir, "backup", str(backup)).returncode == 0
        lost = [await post(api, "restored", title=f"Lost {n}") for n in range(2)]
    page = await open_live(browser, f"{server.url}/liveblogs/restored")
    await expect(page.locator("[data-lb-stream] .entry__title")).to_have_count(5)
    reloads: list[str] = []
    page.on(
        "request",
        lambda request: (
            reloads.append(request.url) if request.url.endswith("/api/liveblogs/restored") else None
        ),
    )

    await page.context.set_offline(True)
    server.stop()
    restored = cli(server.data_dir, "restore", str(backup))
    assert restored.returncode == 0, restored.stderr
    await asyncio.to_thread(server.start)
    async with writer(server) as api:
        after = [await post(api, "restored", title=f"After {n}") for n in range(3)]
    assert {entry["id"] for entry in lost} <= {entry["id"] for entry in after}  # ids reused
    await page.context.set_offline(False)

    titles = page.locator("[data-lb-stream] .entry__title")
    expected = [f"After {n}" for n in reversed(range(3))] + [f"Kept {n}" for n in (2, 1, 0)]
    await expect(titles).to_have_text(expected, timeout=seconds(15) * 1000)
    await expect(page.locator("[data-lb-conn]")).to_have_attribute("data-state", "live")
    async with writer(server) as api:
        live = await post(api, "restored", title="Live again")
    await expect(page.locator(f"[data-lb-stream] > #entry-{live['id']}")).to_be_visible(
        timeout=LIVE * 1000
    )
    await expect(titles).to_have_text(["Live again", *expected])
    assert len(reloads) == 1, reloads  # one reload, no resync loop
    await page.close()


async def test_embed_snippet_on_another_site(
    browser: Browser,
    api: httpx.AsyncClient,
    server: LiveServer,
    new_liveblog: NewLiveblog,
    newsroom_site: str,
    artifacts: Path,
) -> None:
    """The embed snippet of docs/reader-page.md on another origin loads the entries and stays
    live."""
    slug = await new_liveblog(description="Embedded coverage.")
    await post(api, slug, title="Already published", pinned=True)
    page = await browser.new_page(viewport={"width": 390, "height": 800})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{newsroom_site}/embed?origin={server.url}&slug={slug}")
    await expect(page.locator("[data-lb-conn]")).to_have_attribute("data-state", "live")
    await expect(page.locator("[data-lb-title]")).to_have_text(f"Story {slug}")
    await expect(page.locator("[data-lb-stream] .entry__title")).to_have_text(["Already published"])
    await expect(page.locator("[data-lb-pinned] .entry__title")).to_have_text("Already published")
    entry = await post(api, slug, title="Arrives in the embed")
    await expect(page.locator(f"[data-lb-stream] > #entry-{entry['id']}")).to_be_visible(
        timeout=LIVE * 1000
    )
    await page.screenshot(path=artifacts / "embed-390.png", full_page=True)
    assert errors == []
    await page.close()


async def test_ended_liveblog_stops_reconnecting(
    browser: Browser, isolated_server: Callable[..., LiveServer]
) -> None:
    """Once a liveblog has ended, a dropped connection is not retried."""
    server = isolated_server(process=True)
    async with writer(server) as api:
        await api.post("/api/liveblogs", json={"slug": "over", "title": "Over"})
        last = await post(api, "over", title="Last entry")
    page = await open_live(browser, f"{server.url}/liveblogs/over")
    async with writer(server) as api:
        await api.patch("/api/liveblogs/over", json={"status": "ended"})
    await expect(page.locator("[data-lb-status]")).to_have_text("Ended", timeout=LIVE * 1000)
    server.kill()
    await expect(page.locator("[data-lb-conn]")).to_have_attribute("data-state", "ended")
    await asyncio.to_thread(server.start)
    async with writer(server) as api:
        # An ended liveblog takes no new entry, but a correction still goes out.
        late = await api.patch(
            f"/api/liveblogs/over/entries/{last['id']}", json={"correction": "Fixed after the end"}
        )
        assert late.status_code == 200, late.text
    await page.wait_for_timeout(seconds(2) * 1000)  # longer than the first reconnect delays
    await expect(page.get_by_text("Fixed after the end")).to_have_count(0)
    await expect(page.locator("[data-lb-conn]")).to_have_attribute("data-state", "ended")
    await page.close()
