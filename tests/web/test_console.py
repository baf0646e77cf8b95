"""The editor's console in a real browser: sign in, compose, publish, edit, review, schedule.

Every test shares the session's server and browser and works in a liveblog of its own. Each
browser context a test opens is watched (`Browsing`): a Content-Security-Policy violation, an
uncaught script error or a native dialog anywhere fails the test.
"""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
from playwright.async_api import (
    Locator,
    Page,
    Request,
    expect,
)

from tests.conftest import NewLiveblog
from tests.harness import ConsoleClient, LiveServer, seconds
from tests.web.axe import assert_accessible
from tests.web.console_pages import DESKTOP, PHONE, Browsing, People
from tests.web.test_reader_page import LIVE, until

# The scheduler looks for due entries every 0.5 s; a scheduled entry must be out within this.
SCHEDULED_LATENESS = seconds(2.0)
# Reader counts are reported every 2 s and sent to consoles every 2 s.
READERS_LAG = seconds(6.0)


# What a page shows ------------------------------------------------------------------------------


def item(page: Page, title: str) -> Locator:
    """An entry or draft in the workspace's list, an article named by its title."""
    return page.locator("[data-items]").get_by_role("article", name=title, exact=True)


def group(page: Page, heading: str) -> Locator:
    """A section of the list ("Scheduled", "Waiting for review", "Drafts", "Published")."""
    return page.get_by_role("region", name=re.compile(rf"^{heading}( \d+)?$"))


def body_input(page: Page) -> Locator:
    return page.get_by_role("textbox", name="Body")


def status(page: Page) -> Locator:
    return page.locator("[data-compose-status]")


def button(scope: Page | Locator, name: str) -> Locator:
    return scope.get_by_role("button", name=name, exact=True)


def stream_entry(reader: Page, title: str) -> Locator:
    return reader.locator("[data-lb-stream] > .entry").filter(
        has=reader.get_by_role("heading", name=title, exact=True)
    )


async def compose(page: Page, title: str, text: str) -> None:
    await page.get_by_label("Title", exact=True).fill(title)
    await body_input(page).fill(text)


async def publish(page: Page, title: str, text: str) -> None:
    """Write and publish an entry from the workspace; returns once the list shows it."""
    await compose(page, title, text)
    await button(page, "Publish").click()
    await expect(status(page)).to_have_text("Published.")
    await expect(item(page, title)).to_be_visible()


async def entries(api: httpx.AsyncClient, slug: str) -> list[dict[str, Any]]:
    response = await api.get(f"/api/liveblogs/{slug}/entries", params={"limit": 100})
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["entries"]
    return found


async def entry_titled(api: httpx.AsyncClient, slug: str, title: str) -> dict[str, Any]:
    (entry,) = [e for e in await entries(api, slug) if e["title"] == title]
    return entry


async def no_sideways_scroll(page: Page, what: str) -> None:
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    width = page.viewport_size["width"] if page.viewport_size else "?"
    assert overflow <= 0, f"{what}: {overflow}px of sideways scroll at {width}px"


# The markup inside an element, each element's attributes in name order: the comparison is of
# what the browser shows, not of how one serializer orders attributes.
CANONICAL_HTML = """(element) => {
  const doc = new DOMParser().parseFromString(element.innerHTML, "text/html");  // inert: no loads
  for (const el of doc.body.querySelectorAll("*")) {
    const attributes = [...el.attributes].map((a) => [a.name, a.value]).sort();
    attributes.forEach(([name]) => el.removeAttribute(name));
    attributes.forEach(([name, value]) => el.setAttribute(name, value));
  }
  return doc.body.innerHTML;
}"""


async def canonical_html(element: Locator) -> str:
    html: str = await element.evaluate(CANONICAL_HTML)
    return html


ADD_IMAGE = """(src) => {
  const img = new Image();
  img.alt = "";
  img.src = src;
  document.body.append(img);
}"""


async def images_loaded(page: Page) -> None:
    await until(page, "[...document.images].every((img) => img.complete && img.naturalWidth)")


# The tests --------------------------------------------------------------------------------------


async def test_sign_in_create_compose_preview_and_publish(
    browsing: Browsing, people: People, api: httpx.AsyncClient, image_url: str
) -> None:
    """Signed in through the form, an editor creates a liveblog, writes Markdown with the
    toolbar and inserters, sees the preview readers will get, and publishes to an open page."""
    editor = await browsing.sign_in(people.editor)
    await expect(editor.get_by_role("heading", name="Liveblogs", exact=True)).to_be_visible()
    slug = f"console-{uuid4().hex[:8]}"
    await editor.get_by_label("Liveblog title").fill("Election night: the count")
    await expect(editor.get_by_label("Slug")).to_have_value("election-night-the-count")
    await editor.get_by_label("Slug").fill(slug)
    await button(editor, "Create liveblog").click()
    await expect(editor).to_have_url(f"{browsing.server.url}/console/liveblogs/{slug}")
    await expect(editor.get_by_role("heading", level=1)).to_have_text("Election night: the count")
    await expect(editor.locator("[data-conn]")).to_have_attribute("data-state", "live")
    reader = await browsing.reader(slug)  # another context: a reader somewhere else

    await editor.get_by_label("Title", exact=True).fill("First boxes reach the count")
    body = body_input(editor)
    await body.fill("Ballot boxes from ")
    await body.press("End")
    await button(editor, "Bold").click()  # inserts **bold text**, the placeholder selected
    await editor.keyboard.type("all 650 seats")
    await body.press("End")
    await editor.keyboard.type(" are on their way.\n\nWe have not seen queues like this.")
    await body.press("Shift+Home")  # select the last line, then make it a quote
    await button(editor, "Quote").click()
    await expect(body).to_have_value(
        "Ballot boxes from **all 650 seats** are on their way.\n\n"
        "> We have not seen queues like this.\n\n"
    )
    await button(editor, "Image").click()
    await editor.get_by_label("Image URL").fill(image_url)
    await editor.get_by_label("Caption").fill("Boxes arriving at the count centre")
    await editor.get_by_label("Width").fill("320")
    await editor.get_by_label("Height").fill("180")
    await button(editor, "Insert image").click()
    await button(editor, "Embed link").click()
    await editor.get_by_label("Embed URL").fill("https://example.com/results/live")
    await button(editor, "Insert link card").click()
    await expect(body).to_have_value(
        re.compile(
            r"> We have not seen queues like this\.\n\n"
            rf"!\[Boxes arriving at the count centre\]\({re.escape(image_url)} \"320x180\"\)\n\n"
            r"https://example\.com/results/live\n\n$"
        )
    )

    preview = editor.locator("[data-preview]")
    await expect(preview.locator(".entry__title")).to_have_text("First boxes reach the count")
    await expect(preview.locator(".entry__body strong")).to_have_text("all 650 seats")
    await expect(preview.locator(".entry__body blockquote")).to_have_text(
        "We have not seen queues like this."
    )
    picture = preview.locator(".entry__body figure img")
    await expect(picture).to_have_attribute("src", image_url)
    await expect(picture).to_have_attribute("width", "320")
    await expect(picture).to_have_attribute("height", "180")
    await expect(preview.locator("figcaption")).to_have_text("Boxes arriving at the count centre")
    await expect(preview.locator(".entry__body a.embed-card")).to_have_attribute(
        "href", "https://example.com/results/live"
    )
    await expect(preview.locator(".entry__author")).to_have_text("Alex Morgan")
    await images_loaded(editor)
    previewed = await canonical_html(preview.locator(".entry__body"))

    started = time.monotonic()
    await button(editor, "Publish").click()
    card = stream_entry(reader, "First boxes reach the count")
    await expect(card).to_be_visible(timeout=LIVE * 1000)
    assert time.monotonic() - started < LIVE
    await expect(status(editor)).to_have_text("Published.")
    await expect(body).to_have_value("")  # ready for the next one
    await expect(item(editor, "First boxes reach the count")).to_be_visible()

    # Same template, same sanitizer: what the preview showed is what readers get, whether the
    # entry arrived live (liveblog.js) or with the page (the server's template).
    assert await canonical_html(card.locator(".entry__body")) == previewed
    fresh = await browsing.reader(slug)
    entry = await entry_titled(api, slug, "First boxes reach the count")
    assert await canonical_html(fresh.locator(f"#entry-{entry['id']} .entry__body")) == previewed
    assert entry["author"] == "Alex Morgan"


async def test_ctrl_enter_and_double_presses_publish_once(
    browsing: Browsing, people: People, api: httpx.AsyncClient, new_liveblog: NewLiveblog
) -> None:
    """Ctrl+Enter in the body publishes; two quick presses, or a double click, make one entry."""
    slug = await new_liveblog()
    editor = await browsing.workspace(await browsing.sign_in(people.editor), slug)
    body = body_input(editor)
    publishes: list[Request] = []  # every publish the page sends, for their answers below
    path = f"/console/liveblogs/{slug}/entries"
    editor.on(
        "request",
        lambda request: (
            publishes.append(request)
            if request.method == "POST" and request.url.endswith(path)
            else None
        ),
    )

    await compose(editor, "Keyboard", "Published with Ctrl+Enter.")
    await body.press("Control+Enter")
    await body.press("Control+Enter")
    await expect(item(editor, "Keyboard")).to_be_visible()
    await expect(status(editor)).to_have_text("Published.")

    await compose(editor, "Double click", "Published with a double click.")
    await button(editor, "Publish").dblclick()
    await expect(item(editor, "Double click")).to_be_visible()
    await expect(status(editor)).to_have_text("Published.")
    await expect(editor.locator("[data-compose-error]")).to_be_hidden()

    # A second entry could only come from a second publish the presses sent: the page sends
    # them as it handles the presses, long before "Published." shows. Once each has its answer,
    # whatever it made is stored.
    assert len(publishes) >= 2, [request.url for request in publishes]
    for request in publishes:
        assert await request.response() is not None, f"no answer to {request.url}"
    titles = [entry["title"] for entry in await entries(api, slug)]
    assert titles == ["Double click", "Keyboard"], titles


async def test_correction_note_shows_live_on_the_reader_page(
    browsing: Browsing, people: People, api: httpx.AsyncClient, new_liveblog: NewLiveblog
) -> None:
    """Editing a published entry with a correction note shows "Correction: …" to open pages."""
    slug = await new_liveblog()
    editor = await browsing.workspace(await browsing.sign_in(people.editor), slug)
    await publish(editor, "Recount ordered", "A recount has been ordered in **three** seats.")
    reader = await browsing.reader(slug)
    card = stream_entry(reader, "Recount ordered")
    await expect(card).to_be_visible()

    await button(item(editor, "Recount ordered"), "Edit").click()
    await expect(editor.get_by_role("heading", name="Edit published entry")).to_be_visible()
    await expect(body_input(editor)).to_have_value("A recount has been ordered in **three** seats.")
    await expect(body_input(editor)).to_be_focused()
    await body_input(editor).fill("A recount has been ordered in **two** seats.")
    await editor.get_by_label("Correction note").fill("An earlier version said three seats.")
    await expect(editor.locator("[data-preview] .entry__correction")).to_have_text(
        "Correction: An earlier version said three seats."
    )
    started = time.monotonic()
    await button(editor, "Save").click()
    await expect(card.locator(".entry__correction")).to_have_text(
        "Correction: An earlier version said three seats.", timeout=LIVE * 1000
    )
    assert time.monotonic() - started < LIVE
    await expect(card.locator(".entry__body strong")).to_have_text("two")
    await expect(status(editor)).to_have_text("Saved.")
    await expect(item(editor, "Recount ordered")).to_contain_text("Corrected")
    await expect(editor.get_by_label("Correction note")).to_be_hidden()  # back to a new entry
    entry = await entry_titled(api, slug, "Recount ordered")
    assert entry["correction"] == "An earlier version said three seats."


async def test_two_editors_saving_the_same_entry_lose_nothing(
    browsing: Browsing,
    people: People,
    api: httpx.AsyncClient,
    new_liveblog: NewLiveblog,
    artifacts: Path,
) -> None:
    """The second save of an entry opens the conflict panel with both versions: "Keep mine"
    saves over the first (both stay in the history), "Take theirs" loads the other version."""
    slug = await new_liveblog()
    alex = await browsing.workspace(await browsing.sign_in(people.editor), slug)
    sam = await browsing.workspace(await browsing.sign_in(people.rival), slug)
    await publish(alex, "Turnout", "Turnout is 61%.")
    await expect(item(sam, "Turnout")).to_be_visible()  # Sam's list follows without a reload

    for page in (alex, sam):
        await button(item(page, "Turnout"), "Edit").click()
        await expect(body_input(page)).to_have_value("Turnout is 61%.")
    await body_input(alex).fill("Turnout is 64%, the council says.")
    await button(alex, "Save").click()
    await expect(status(alex)).to_have_text("Saved.")
    await body_input(sam).fill("Turnout is 63% by *our* count.")
    await button(sam, "Save").click()

    conflict = sam.get_by_role("alertdialog", name="Someone else changed this entry")
    await expect(conflict).to_be_visible()
    await expect(conflict).to_contain_text("Turnout is 64%, the council says.")
    await expect(conflict).to_contain_text("Turnout is 63% by *our* count.")
    await expect(button(conflict, "Keep mine")).to_be_focused()
    await check_page(sam, artifacts, "conflict")

    await button(conflict, "Keep mine").click()
    await expect(conflict).to_be_hidden()
    await expect(status(sam)).to_have_text("Saved.")
    entry = await entry_titled(api, slug, "Turnout")
    assert entry["body"] == "<p>Turnout is 63% by <em>our</em> count.</p>", entry
    response = await api.get(f"/api/liveblogs/{slug}/entries/{entry['id']}/revisions")
    assert response.status_code == 200, response.text
    history = [
        (r["kind"], r["by"]["name"], r["changes"].get("body", {}).get("new"))
        for r in response.json()["revisions"]
    ]
    assert history == [
        ("created", "Alex Morgan", "<p>Turnout is 61%.</p>"),
        ("updated", "Alex Morgan", "<p>Turnout is 64%, the council says.</p>"),
        ("updated", "Sam Rivera", "<p>Turnout is 63% by <em>our</em> count.</p>"),
    ], history

    # Again, and this time Sam takes Alex's version: it comes into the form as Alex wrote it
    # (Markdown), while Sam's own text stays on the page to copy from.
    await expect(item(alex, "Turnout")).to_be_visible()
    for page in (sam, alex):
        await button(item(page, "Turnout"), "Edit").click()
        await expect(body_input(page)).to_have_value("Turnout is 63% by *our* count.")
    await body_input(alex).fill("Turnout was **65%** at the close.")
    await button(alex, "Save").click()
    await expect(status(alex)).to_have_text("Saved.")
    await body_input(sam).fill("Turnout was 66%, we hear.")
    await button(sam, "Save").click()
    await expect(conflict).to_be_visible()
    await button(conflict, "Take theirs").click()
    await expect(conflict).to_be_hidden()
    await expect(body_input(sam)).to_have_value("Turnout was **65%** at the close.")
    await expect(sam.locator("[data-discarded]")).to_contain_text("Turnout was 66%, we hear.")
    await assert_accessible(sam)
    await body_input(sam).press("End")
    await sam.keyboard.type(" Up from 2019.")
    await button(sam, "Save").click()  # Alex's version, as its base: no second conflict
    await expect(status(sam)).to_have_text("Saved.")
    await expect(conflict).to_be_hidden()
    entry = await entry_titled(api, slug, "Turnout")
    assert entry["body"] == "<p>Turnout was <strong>65%</strong> at the close. Up from 2019.</p>"


async def test_contributor_submits_and_an_editor_publishes(
    browsing: Browsing, people: People, new_liveblog: NewLiveblog
) -> None:
    """A contributor can only save drafts and submit them; the editor's list shows the draft
    live, in review with "Publish draft" and "Return to contributor", and publishes it."""
    slug = await new_liveblog()
    editor = await browsing.workspace(await browsing.sign_in(people.editor), slug)
    navigations: list[str] = []
    editor.on("framenavigated", lambda frame: navigations.append(frame.url))
    reader = await browsing.reader(slug)
    chris = await browsing.workspace(await browsing.sign_in(people.contributor), slug)

    await expect(button(chris, "Publish")).to_have_count(0)
    await expect(button(chris, "Schedule")).to_have_count(0)
    await expect(chris.get_by_label("Publish at")).to_be_hidden()
    actions = chris.locator("[data-new-actions]").get_by_role("button")
    await expect(actions).to_have_text(["Save draft", "Submit for review"])

    await compose(chris, "Queues at St Mary's", "Voters are queueing round the block.")
    await button(chris, "Save draft").click()
    await expect(status(chris)).to_have_text("Draft saved.")
    draft = item(chris, "Queues at St Mary's")
    await expect(group(chris, "Drafts").get_by_role("article")).to_have_count(1)
    await expect(button(draft, "Publish draft")).to_have_count(0)
    await expect(group(editor, "Drafts")).to_contain_text("Queues at St Mary's")

    await button(draft, "Submit for review").click()
    waiting = item(editor, "Queues at St Mary's")
    await expect(group(editor, "Waiting for review")).to_contain_text("Queues at St Mary's")
    await expect(waiting).to_contain_text("In review")
    await expect(waiting).to_contain_text("by Chris Lee")
    await expect(button(waiting, "Return to contributor")).to_be_visible()
    await expect(group(chris, "Waiting for review")).to_contain_text("Queues at St Mary's")

    started = time.monotonic()
    await button(waiting, "Publish draft").click()
    await expect(stream_entry(reader, "Queues at St Mary's")).to_be_visible(timeout=LIVE * 1000)
    assert time.monotonic() - started < LIVE
    await expect(group(editor, "Published")).to_contain_text("Queues at St Mary's")
    await expect(group(editor, "Waiting for review")).to_have_count(0)
    await expect(group(chris, "Waiting for review")).to_have_count(0)
    assert navigations == [], navigations  # the editor's list changed without a reload


async def test_pin_unpin_and_delete_with_an_in_page_confirmation(
    browsing: Browsing, people: People, api: httpx.AsyncClient, new_liveblog: NewLiveblog
) -> None:
    """Pin and Unpin reach readers live; Delete asks "Confirm delete" in the page, no dialog."""
    slug = await new_liveblog()
    editor = await browsing.workspace(await browsing.sign_in(people.editor), slug)
    await publish(editor, "What we know", "- Polls closed at 10pm\n- Turnout looks high")
    reader = await browsing.reader(slug)
    entry = item(editor, "What we know")

    pin = button(entry, "Pin")  # a toggle: its name stays, aria-pressed says which way
    await expect(pin).to_have_attribute("aria-pressed", "false")
    await pin.click()
    await expect(reader.locator("[data-lb-pinned] .entry__title")).to_have_text(
        "What we know", timeout=LIVE * 1000
    )
    await expect(entry).to_contain_text("Pinned")
    await expect(pin).to_have_attribute("aria-pressed", "true")
    await pin.click()
    await expect(reader.locator("[data-lb-pinned]")).to_be_hidden(timeout=LIVE * 1000)
    await expect(pin).to_have_attribute("aria-pressed", "false")

    await button(entry, "Delete").click()
    await expect(button(entry, "Confirm delete")).to_be_focused()
    await button(entry, "Cancel").click()
    await expect(button(entry, "Confirm delete")).to_be_hidden()
    await button(entry, "Delete").click()
    await button(entry, "Confirm delete").click()
    await expect(entry).to_have_count(0)
    await expect(stream_entry(reader, "What we know")).to_have_count(0, timeout=LIVE * 1000)
    assert await entries(api, slug) == []
    assert browsing.dialogs == []


async def test_scheduled_entry_goes_out_once_at_its_local_time(
    browsing: Browsing, people: People, api: httpx.AsyncClient, new_liveblog: NewLiveblog
) -> None:
    """A time in "Publish at" is the browser's local time: scheduled 3 s ahead, the entry waits
    under Scheduled, then reaches the open reader page within 2 s of its time, once."""
    slug = await new_liveblog()
    # Far from the server's UTC, so a zone mix-up would show.
    editor = await browsing.sign_in(people.editor, timezone_id="America/Los_Angeles")
    await browsing.workspace(editor, slug)
    reader = await browsing.reader(slug)

    due = int(time.time()) + 4  # whole seconds, as the field holds them: 3 to 4 s ahead
    local, shown = await editor.evaluate(
        """(ms) => {
          const d = new Date(ms), pad = (n) => String(n).padStart(2, "0");
          return [`${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T` +
                  `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`,
                  d.toLocaleTimeString("en-US", { timeStyle: "medium" })];
        }""",
        due * 1000,
    )
    await compose(editor, "Polls close", "Polls have now closed across the country.")
    await editor.get_by_label("Publish at").fill(local)
    # A time ahead makes the main button schedule (an embargo), in the editor's own time.
    await editor.get_by_role("button", name=re.compile(r"^Schedule for ")).click()
    await expect(status(editor)).to_have_text(re.compile(r"^Scheduled for "))
    scheduled = group(editor, "Scheduled").get_by_role("article", name="Polls close")
    await expect(scheduled).to_contain_text(shown)  # shown in the editor's own time zone
    assert time.time() < due - 1, "scheduling took too long for this test to mean anything"
    while time.time() < due - 0.3:  # not early (the scheduler's clock is the same as ours)
        assert await stream_entry(reader, "Polls close").count() == 0, "published before its time"
        await asyncio.sleep(0.1)

    await expect(stream_entry(reader, "Polls close")).to_be_visible(
        timeout=(due + SCHEDULED_LATENESS - time.time()) * 1000
    )
    assert time.time() <= due + SCHEDULED_LATENESS
    await expect(group(editor, "Published")).to_contain_text("Polls close")
    await expect(group(editor, "Scheduled")).to_have_count(0)
    # Another scheduler pass, proven by an entry it publishes: a marker due now. The pass that
    # publishes it began after it was saved and publishes what is due soonest first, so the
    # entry, were it still scheduled, would reach the reader page before the marker.
    async with ConsoleClient(browsing.server) as console:
        assert (await console.sign_in(people.editor)).status_code == 303
        marker = await console.post(
            f"/console/liveblogs/{slug}/drafts",
            {
                "title": "Marker",
                "source": "Published after the entry.",
                "state": "scheduled",
                "publish_at": datetime.now(UTC).isoformat(),
            },
        )
        assert marker.status_code == 201, marker.text
    await expect(stream_entry(reader, "Marker")).to_be_visible(timeout=SCHEDULED_LATENESS * 1000)
    await expect(stream_entry(reader, "Polls close")).to_have_count(1)
    assert [e["title"] for e in await entries(api, slug)] == ["Marker", "Polls close"]
    entry = await entry_titled(api, slug, "Polls close")
    published_at = datetime.fromisoformat(entry["created_at"]).timestamp()
    assert due <= published_at <= due + SCHEDULED_LATENESS, (entry["created_at"], due)


async def test_readers_now_counts_open_reader_pages(
    browsing: Browsing, people: People, new_liveblog: NewLiveblog
) -> None:
    """The "Readers now" figure follows the reader pages open on the liveblog within seconds."""
    slug = await new_liveblog()
    editor = await browsing.workspace(await browsing.sign_in(people.editor), slug)
    readers_now = editor.get_by_label("Readers now")
    await expect(readers_now).to_have_text("0")
    first = await browsing.reader(slug)
    await browsing.reader(slug)
    await expect(readers_now).to_have_text("2", timeout=READERS_LAG * 1000)
    await first.context.close()
    await expect(readers_now).to_have_text("1", timeout=READERS_LAG * 1000)


async def test_every_console_page_is_accessible_fits_a_phone_and_is_screenshot(
    browsing: Browsing,
    people: People,
    server: LiveServer,
    new_liveblog: NewLiveblog,
    image_url: str,
    artifacts: Path,
) -> None:
    """Sign-in, home, a busy workspace and the users page: no WCAG 2.1 AA violation axe can
    find, no sideways scroll at 390 px; screenshots for a person to look at."""
    slug = await new_liveblog(title="Election night: live results from every count")
    await fill_workspace(server, people, slug, image_url)

    page = await browsing.page()
    await page.goto(f"{server.url}/console")
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    await check_page(page, artifacts, "sign-in")
    # The watch itself works: an image the console's policy refuses is reported, then forgiven.
    await page.evaluate(ADD_IMAGE, "data:image/gif;base64,R0lGODlhAQABAAAAACw=")
    for _ in range(40):
        if browsing.csp_violations:
            break
        await asyncio.sleep(0.05)
    assert browsing.csp_violations and "img-src" in browsing.csp_violations[0]
    browsing.csp_violations.clear()

    editor = await browsing.sign_in(people.editor)
    await expect(editor.locator(".liveblog-list")).to_be_visible()
    await check_page(editor, artifacts, "home")

    await browsing.workspace(editor, slug)
    await compose(
        editor,
        "Count under way in Sunderland",
        "The first boxes are being **opened**. A steward told us:\n\n"
        "> It's the fastest count in the country, again.\n\n"
        f'![Ballot boxes arriving]({image_url} "320x180")\n\n'
        "https://example.com/results/sunderland-central",
    )
    await expect(editor.locator("[data-preview] figure img")).to_be_visible()
    await images_loaded(editor)
    for kind in ("Scheduled", "Waiting for review", "Drafts", "Published"):
        await expect(group(editor, kind)).to_be_visible()
    await check_page(editor, artifacts, "workspace")
    # Confirming a delete and ending the liveblog, open at once.
    await button(item(editor, "Recount in two wards"), "Delete").click()
    await button(editor, "End liveblog").click()
    await expect(button(editor, "Confirm end")).to_be_visible()
    await check_page(editor, artifacts, "workspace-confirming", screenshot=False)

    admin = await browsing.sign_in(people.admin)
    await admin.get_by_role("link", name="Users").click()
    await expect(admin.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    await expect(admin.get_by_role("cell", name=people.contributor, exact=True)).to_be_visible()
    await check_page(admin, artifacts, "users")


async def check_page(page: Page, artifacts: Path, name: str, screenshot: bool = True) -> None:
    """axe at 1280 px and 390 px, no sideways scroll at 390 px, full-page screenshots of both."""
    await page.set_viewport_size(DESKTOP)
    await assert_accessible(page)
    if screenshot:
        await page.screenshot(path=artifacts / f"console-{name}-1280.png", full_page=True)
    await page.set_viewport_size(PHONE)
    await no_sideways_scroll(page, name)
    await assert_accessible(page)
    if screenshot:
        await page.screenshot(path=artifacts / f"console-{name}-390.png", full_page=True)
    await page.set_viewport_size(DESKTOP)


async def fill_workspace(server: LiveServer, people: People, slug: str, image_url: str) -> None:
    """A liveblog in full swing, written through the console's own endpoints: published entries
    (pinned, key event, corrected, with a photo), a draft, one in review and one scheduled."""
    base = f"/console/liveblogs/{slug}"
    async with ConsoleClient(server) as editor, ConsoleClient(server) as contributor:
        assert (await editor.sign_in(people.editor)).status_code == 303
        assert (await contributor.sign_in(people.contributor)).status_code == 303

        async def create(client: ConsoleClient, path: str, **fields: Any) -> dict[str, Any]:
            response = await client.post(f"{base}/{path}", json=fields)
            assert response.status_code == 201, response.text
            created: dict[str, Any] = response.json()
            return created

        await create(
            editor,
            "entries",
            title="Polls have closed",
            key_event=True,
            source="Voting ended at 10pm. Counting has begun in all 650 constituencies.",
        )
        await create(
            editor,
            "entries",
            title="What we know so far",
            pinned=True,
            source="- Polls closed at 10pm\n- Turnout appears high\n- First results at midnight",
        )
        await create(
            editor,
            "entries",
            source=f'![A count centre]({image_url} "320x180")\n\nThe first boxes have arrived.',
        )
        recount = await create(
            editor,
            "entries",
            title="Recount in two wards",
            source="A recount has been ordered in two wards of Newcastle upon Tyne Central.",
        )
        response = await editor.patch(
            f"{base}/entries/{recount['id']}",
            json={
                "title": "Recount in two wards",
                "source": recount["source"],
                "correction": "An earlier version named the wrong constituency.",
            },
            headers={"If-Match": f'"{recount["version"]}"'},
        )
        assert response.status_code == 200, response.text
        await create(editor, "drafts", title="Reaction from the parties", source="To come.")
        await create(
            contributor,
            "drafts",
            state="review",
            title="Queues at St Mary's school",
            source="Voters queued round the block before the polls closed.",
        )
        await create(
            editor,
            "drafts",
            state="scheduled",
            title="Morning summary",
            source="Where things stand.",
            # Far enough ahead not to go out during the test, within the year allowed.
            publish_at=(datetime.now(UTC) + timedelta(days=30)).isoformat(),
        )
