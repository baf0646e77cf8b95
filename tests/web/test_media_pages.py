"""Photos and footage in a real browser: a photo dropped or pasted into the console reaches open
reader pages at every size without moving them, and footage from another site shows as a
placeholder that asks nothing of that site until the reader says so.

Every context a test opens is watched (`Browsing`: CSP violations, script errors, native
dialogs) and kept on this machine (`keep_local`): each request is recorded, and one to any host
but the test server's is aborted, so a test can say which requests left for another host.
"""

from __future__ import annotations

import base64
import functools
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from playwright.async_api import Locator, Page, Request, Route, ViewportSize, expect

from app.domain.media import SIZES
from tests.conftest import NewLiveblog
from tests.harness import ConsoleClient, LiveServer, until
from tests.media.photos import jpeg_with_gps, png
from tests.web.axe import assert_accessible
from tests.web.console_pages import DESKTOP, PHONE, Browsing, People
from tests.web.test_console import (
    body_input,
    button,
    no_sideways_scroll,
    status,
    stream_entry,
)

YOUTUBE_LINK = "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
YOUTUBE_SRC = "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"
# app/domain/embeds.py's table for YouTube: a player, its own origin's storage, links opening a
# new tab, casting; never allow-top-navigation.
YOUTUBE_SANDBOX = "allow-scripts allow-same-origin allow-popups allow-presentation"
# A link on a line of its own, the caption and credit on the line under it.
FOOTAGE = f"{YOUTUBE_LINK}\nSmoke over the port | Video: Reuters"
ALWAYS_KEY = "liveblog.embeds.always"  # static/embeds.js keeps the reader's choice here


@functools.cache
def phone_photo() -> bytes:
    """A 2000 × 1500 JPEG with GPS in its EXIF: stored at 1600 px at most, in three WebP sizes."""
    return jpeg_with_gps(2000, 1500)


# Set up ------------------------------------------------------------------------------------------

# Installed in every document of a context before its own scripts: CSP violations the page
# reports, and every layout shift not caused by input (`hadRecentInput`: a click may move
# things), with what moved, so a failure names it.
WATCH_PAGE = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
window.__layoutShifts = [];
new PerformanceObserver((list) => {
  for (const shift of list.getEntries()) {
    if (shift.hadRecentInput) continue;
    const moved = shift.sources.map((source) =>
      source.node ? `${source.node.nodeName}.${source.node.className || ""}` : "?");
    window.__layoutShifts.push({ value: shift.value, at: shift.startTime, moved });
  }
}).observe({ type: "layout-shift", buffered: true });
"""


def on_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in {"data", "blob"} or parts.hostname == "127.0.0.1"


def elsewhere(requested: list[str]) -> list[str]:
    """The requests that went to a host other than the test server's (all on 127.0.0.1)."""
    return [url for url in requested if not on_loopback(url)]


async def keep_local(page: Page) -> list[str]:
    """From now on, record the URL of every request `page`'s context makes (frames too), and
    abort each one to another host: nothing leaves the machine (it is offline anyway), and the
    list says what would have. Also installs `WATCH_PAGE` for the documents loaded next."""
    requested: list[str] = []

    def record(request: Request) -> None:
        requested.append(request.url)

    async def abort(route: Route) -> None:
        await route.abort()

    page.context.on("request", record)
    await page.context.route(lambda url: not on_loopback(url), abort)
    await page.context.add_init_script(WATCH_PAGE)
    return requested


async def local_page(
    browsing: Browsing, viewport: ViewportSize = DESKTOP, **options: Any
) -> tuple[Page, list[str]]:
    """A page in a new watched context, kept local: the page and its requests (`keep_local`)."""
    page = await browsing.page(viewport, **options)
    return page, await keep_local(page)


async def open_reader(
    browsing: Browsing, slug: str, viewport: ViewportSize = DESKTOP, **options: Any
) -> tuple[Page, list[str]]:
    """The liveblog's public page, kept local, its live connection up; and its requests."""
    page, requested = await local_page(browsing, viewport, **options)
    await page.goto(f"{browsing.server.url}/liveblogs/{slug}")
    await expect(page.locator("[data-lb-conn]")).to_have_attribute("data-state", "live")
    return page, requested


async def open_workspace(browsing: Browsing, people: People, slug: str) -> tuple[Page, list[str]]:
    """An editor signed in through the form, on the liveblog's workspace, kept local from the
    workspace on (the sign-in pages are the server's own); and its requests."""
    page = await browsing.sign_in(people.editor)
    requested = await keep_local(page)
    return await browsing.workspace(page, slug), requested


async def upload(api: httpx.AsyncClient, data: bytes, **fields: str) -> dict[str, Any]:
    """POST /api/media with a token: for tests about showing a photo, not the console's upload."""
    response = await api.post(
        "/api/media", files={"file": ("IMG_0042.jpg", data, "image/jpeg")}, data=fields
    )
    assert response.status_code == 201, response.text
    media: dict[str, Any] = response.json()
    return media


async def publish_markdown(
    server: LiveServer, username: str, slug: str, title: str, source: str
) -> dict[str, Any]:
    """Publish Markdown as the console does (its own endpoint, the editor's session)."""
    async with ConsoleClient(server) as console:
        assert (await console.sign_in(username)).status_code == 303
        response = await console.post(
            f"/console/liveblogs/{slug}/entries", json={"title": title, "source": source}
        )
    assert response.status_code == 201, response.text
    entry: dict[str, Any] = response.json()
    return entry


async def photo_and_footage(api: httpx.AsyncClient) -> str:
    """Markdown with an uploaded photo (caption and credit), a paragraph, and footage."""
    media = await upload(api, phone_photo(), alt="Firefighters on the quay")
    return (
        f'![Firefighters on the quay]({media["url"]} "Smoke over the port | Photo: Reuters")\n\n'
        f"Crews have been at the port since dawn.\n\n{FOOTAGE}"
    )


# Files built in the page from the bytes the test passes (base64: a string crosses cheaply).
FILE_TRANSFER = """([name, type, data]) => {
  const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type }));
  return transfer;
}"""
PASTE_FILE = f"""(target, file) => {{
  const transfer = ({FILE_TRANSFER})(file);
  const paste = new ClipboardEvent("paste", {{
    clipboardData: transfer, bubbles: true, cancelable: true,
  }});
  return target.dispatchEvent(paste);  // false once the page has taken it (preventDefault)
}}"""
# The two events a drag from the desktop ends with; each gives false if the page took it.
DRAG_AND_DROP = """(target, transfer) => ["dragover", "drop"].map((type) =>
  target.dispatchEvent(new DragEvent(type, {
    dataTransfer: transfer, bubbles: true, cancelable: true, composed: true,
  })));"""


def file_argument(name: str, data: bytes, kind: str) -> list[str]:
    return [name, kind, base64.b64encode(data).decode()]


async def drop_file(target: Locator, name: str, data: bytes, kind: str = "image/jpeg") -> None:
    """Drag a file over `target` and drop it, as from the desktop: a DataTransfer holding it.
    Fails unless the page takes both events: a `dragover` it lets through refuses the drop,
    and a `drop` it lets through is the browser's to handle (it would open the file)."""
    transfer = await target.page.evaluate_handle(FILE_TRANSFER, file_argument(name, data, kind))
    let_through = await target.evaluate(DRAG_AND_DROP, transfer)
    await transfer.dispose()
    assert let_through == [False, False], f"dragover, drop let through: {let_through}"


async def paste_file(target: Locator, name: str, data: bytes, kind: str) -> None:
    """Paste a file into `target`, as from a screenshot tool; fails unless the page takes it."""
    taken = not await target.evaluate(PASTE_FILE, file_argument(name, data, kind))
    assert taken, "the page let the paste through as text"


def image_box(page: Page) -> Locator:
    return page.locator("[data-image-box]")


async def describe_photo(page: Page, alt: str, caption: str = "", credit: str = "") -> None:
    box = image_box(page)
    await box.get_by_label("Alt text").fill(alt)
    await box.get_by_label("Caption").fill(caption)
    await box.get_by_label("Credit").fill(credit)


async def next_frames(page: Page) -> None:
    """Wait for two frames to be drawn: what the last change did to the layout is measured and
    reported (layout shifts are reported after the frame that made them)."""
    await page.evaluate(
        "new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))"
    )


async def layout_shifts(page: Page) -> list[dict[str, Any]]:
    await next_frames(page)
    shifts: list[dict[str, Any]] = await page.evaluate("window.__layoutShifts")
    return shifts


async def csp_violations(page: Page) -> list[str]:
    violations: list[str] = await page.evaluate("window.__cspViolations")
    return violations


# When the first byte of an image's chosen file arrived (Resource Timing, same origin).
FIRST_BYTE = """(img) => {
  const [timing] = performance.getEntriesByName(img.currentSrc);
  return timing.responseStart;
}"""
# Another copy of a figure's photo, put in above its caption without width or height: the
# page cannot reserve its box, so it moves the caption when it loads.
UNSIZED_IMAGE = """(figure) => new Promise((loaded) => {
  const img = new Image();
  img.alt = "";
  img.onload = () => loaded(img);
  img.src = figure.querySelector("img").currentSrc;
  figure.querySelector("figcaption").before(img);
})"""


OTHER_FRAME = """(src) => {
  const frame = document.createElement("iframe");
  frame.title = "Not a provider";
  frame.src = src;
  document.body.append(frame);
}"""


def srcset_candidates(srcset: str) -> list[tuple[str, str]]:
    """`srcset` as (URL, descriptor) pairs."""
    return [
        (url, descriptor)
        for url, descriptor in (candidate.split() for candidate in srcset.split(","))
    ]


def frame_src(policy: str) -> list[str]:
    """The sources of a Content-Security-Policy's frame-src directive."""
    for directive in policy.split(";"):
        name, *sources = directive.split()
        if name == "frame-src":
            return sources
    raise AssertionError(f"no frame-src in {policy}")


async def check_footage_placeholder(figure: Locator) -> None:
    """The placeholder as embeds.js offers it: provider, link, caption and credit, the button
    and the checkbox; no player."""
    await expect(figure).to_have_attribute("data-embed", "youtube")
    await expect(figure).to_have_attribute("data-embed-src", YOUTUBE_SRC)
    card = figure.locator("a.embed-card")
    await expect(card).to_have_attribute("href", YOUTUBE_LINK)
    await expect(card.locator(".embed-card__host")).to_have_text("YouTube")
    await expect(card.locator(".embed-card__url")).to_have_text(YOUTUBE_LINK)
    await expect(figure.locator("figcaption")).to_have_text("Smoke over the port Video: Reuters")
    await expect(figure.locator("figcaption small")).to_have_text("Video: Reuters")
    await expect(button(figure, "Load content from YouTube")).to_be_visible()
    always = figure.get_by_role("checkbox", name="Always load YouTube")
    await expect(always).to_be_visible()
    await expect(always).not_to_be_checked()
    await expect(figure.locator("iframe")).to_have_count(0)


async def check_player(figure: Locator) -> None:
    """The player's iframe in the card's place, with the provider table's attributes."""
    frame = figure.locator("iframe")
    await expect(frame).to_have_count(1)
    await expect(frame).to_have_attribute("src", YOUTUBE_SRC)
    await expect(frame).to_have_attribute("sandbox", YOUTUBE_SANDBOX)
    await expect(frame).to_have_attribute("allow", re.compile(r"(^|;\s*)fullscreen(;|$)"))
    await expect(frame).to_have_attribute("referrerpolicy", "strict-origin-when-cross-origin")
    await expect(frame).to_have_attribute("title", "YouTube content")
    await expect(figure.locator("a.embed-card")).to_have_count(0)
    await expect(button(figure, "Load content from YouTube")).to_have_count(0)


# The tests ---------------------------------------------------------------------------------------


async def test_a_dropped_photo_reaches_open_pages_at_every_size_without_moving_them(
    browsing: Browsing, people: People, new_liveblog: NewLiveblog, artifacts: Path
) -> None:
    """A photo dropped on the body is uploaded with its alt text, caption and credit, and goes
    into the Markdown; published, it reaches open reader pages (390 and 1280 px) as a figure with
    three WebP sizes and its size reserved: it loads, and nothing on the page moves."""
    slug = await new_liveblog()
    readers = {
        viewport["width"]: await open_reader(browsing, slug, viewport)
        for viewport in (PHONE, DESKTOP)
    }
    editor, _ = await open_workspace(browsing, people, slug)

    await drop_file(body_input(editor), "IMG_0042.jpg", phone_photo())
    await expect(image_box(editor)).to_be_visible()
    await expect(image_box(editor).locator("[data-image-error]")).to_have_text(
        "Photo ready: IMG_0042.jpg. Describe it, then insert it."
    )
    await describe_photo(
        editor, "Firefighters on the quay", "Smoke over the port", "Photo: Reuters"
    )
    await button(editor, "Insert image").click()
    await expect(body_input(editor)).to_have_value(
        re.compile(
            r"^!\[Firefighters on the quay\]\(/media/[0-9a-f]{32}\.jpg "
            r'"Smoke over the port \| Photo: Reuters"\)\n\n$'
        )
    )
    await expect(image_box(editor)).to_be_hidden()
    fallback = re.search(r"/media/[0-9a-f]{32}\.jpg", await body_input(editor).input_value())
    assert fallback is not None
    await editor.get_by_label("Title", exact=True).fill("Fire at the port")
    await button(editor, "Publish").click()
    await expect(status(editor)).to_have_text("Published.")

    for width, (reader, requested) in readers.items():
        card = stream_entry(reader, "Fire at the port")
        image = card.locator(".entry__body figure img")
        await expect(image).to_be_attached()
        await expect(image).to_have_attribute("src", fallback[0])
        await expect(image).to_have_attribute("width", "1600")
        await expect(image).to_have_attribute("height", "1200")
        await expect(image).to_have_attribute("alt", "Firefighters on the quay")
        await expect(image).to_have_attribute("loading", "lazy")
        await expect(image).to_have_attribute("decoding", "async")
        await expect(image).to_have_attribute("sizes", SIZES)
        candidates = srcset_candidates(await image.get_attribute("srcset") or "")
        assert [descriptor for _, descriptor in candidates] == ["480w", "960w", "1600w"]
        assert all(re.fullmatch(r"/media/[0-9a-f]{32}\.webp", url) for url, _ in candidates)
        await expect(card.locator("figcaption")).to_have_text("Smoke over the port Photo: Reuters")
        await expect(card.locator("figcaption small")).to_have_text("Photo: Reuters")

        # Lazy: the browser fetches it once it is near the viewport.
        await image.scroll_into_view_if_needed()
        await until(
            lambda image=image: image.evaluate("(img) => img.complete && img.naturalWidth > 0"),
            f"the photo to load at {width} px",
        )
        chosen = await image.evaluate("(img) => img.currentSrc")
        assert chosen in {browsing.server.url + url for url, _ in candidates}, chosen
        # Nothing moves while the photo arrives: width and height reserve its box, so from its
        # first byte (before which the page cannot know its size) to its last, no layout shift.
        # Chromium adds shifts up in floats: below 0.001 is dust, a real shift is far above.
        # (The entry's own arrival, before that, moves what is under it, here the footer: new
        # entries go in at the top for a reader who is at the top.)
        first_byte = await image.evaluate(FIRST_BYTE)
        shifts = await layout_shifts(reader)
        arriving = [shift for shift in shifts if shift["at"] >= first_byte]
        assert sum(shift["value"] for shift in arriving) < 0.001, (width, first_byte, shifts)

        # The watch itself works: a photo without its size, put in above the caption, moves it.
        # (Before the screenshot, which resizes the page: right after one, Chromium was seen
        # not to report this shift.)
        unsized = await card.locator(".entry__body figure").evaluate_handle(UNSIZED_IMAGE)
        await until(
            lambda reader=reader, seen=len(shifts): reader.evaluate(
                f"window.__layoutShifts.length > {seen}"
            ),
            "the layout shift of a photo without its size",
        )
        await unsized.evaluate("(img) => img.remove()")
        await no_sideways_scroll(reader, "a page with a photo")
        await reader.screenshot(path=artifacts / f"media-{width}.png", full_page=True)
        assert elsewhere(requested) == []


async def test_a_pasted_photo_needs_alt_text_before_it_is_uploaded(
    browsing: Browsing, people: People, new_liveblog: NewLiveblog
) -> None:
    """A pasted image opens the image box, "Photo ready", alt text focused; inserting it
    without alt text asks for it and uploads nothing; with alt text it is uploaded and goes in."""
    slug = await new_liveblog()
    editor, _ = await open_workspace(browsing, people, slug)
    uploads: list[str] = []
    editor.on(
        "request",
        lambda request: (
            uploads.append(request.url) if urlsplit(request.url).path == "/console/media" else None
        ),
    )

    # What a screenshot tool puts on the clipboard: a PNG called image.png.
    await paste_file(body_input(editor), "image.png", png(1200, 800), "image/png")
    box = image_box(editor)
    await expect(box).to_be_visible()
    note = box.locator("[data-image-error]")
    await expect(note).to_have_text("Photo ready: image.png. Describe it, then insert it.")
    await expect(box.get_by_label("Alt text")).to_be_focused()
    await expect(body_input(editor)).to_have_value("")  # not pasted as text

    await button(editor, "Insert image").click()
    await expect(note).to_have_text(
        "Add alt text: say what the photo shows, for readers who cannot see it."
    )
    await expect(box.get_by_label("Alt text")).to_be_focused()
    await expect(body_input(editor)).to_have_value("")

    await describe_photo(editor, "A chart of turnout by hour")
    await button(editor, "Insert image").click()
    await expect(body_input(editor)).to_have_value(
        re.compile(r"^!\[A chart of turnout by hour\]\(/media/[0-9a-f]{32}\.(jpg|png)\)\n\n$")
    )
    await expect(box).to_be_hidden()
    # Requests are reported in the order they are sent: had the first press uploaded, its
    # request would be here before this one.
    assert len(uploads) == 1, uploads
    preview_image = editor.locator("[data-preview] figure img")
    await expect(preview_image).to_have_attribute("alt", "A chart of turnout by hour")


async def test_footage_is_a_placeholder_until_the_reader_asks_for_it(
    browsing: Browsing, people: People, server: LiveServer, new_liveblog: NewLiveblog
) -> None:
    """A YouTube link shows as a placeholder (provider, link, caption, credit, "Load content
    from YouTube", "Always load YouTube") and nothing is asked of another host; pressed, the
    button puts in the player's iframe (the table's src, sandbox, allow, referrer policy), which
    the page's frame-src allows by name. "Always load", remembered, loads players unasked."""
    slug = await new_liveblog()
    await publish_markdown(server, people.editor, slug, "Fire at the port", FOOTAGE)
    reader, requested = await local_page(browsing)
    response = await reader.goto(f"{server.url}/liveblogs/{slug}")
    assert response is not None
    sources = frame_src(response.headers["content-security-policy"])
    assert "https://www.youtube-nocookie.com" in sources, sources
    assert not [source for source in sources if "*" in source or source in {"https:", "http:"}]
    await expect(reader.locator("[data-lb-conn]")).to_have_attribute("data-state", "live")

    figure = stream_entry(reader, "Fire at the port").locator("figure.embed")
    await check_footage_placeholder(figure)
    assert elsewhere(requested) == []

    await button(figure, "Load content from YouTube").click()
    await check_player(figure)
    # The frame's request is the first and only one to another host (aborted: offline).
    await until(lambda: elsewhere(requested) == [YOUTUBE_SRC], "the player's request")

    # A second video arrives live: embeds.js offers it as well. "Always load YouTube" ticked,
    # its button loads it (and would load any other YouTube placeholder still waiting).
    await publish_markdown(server, people.editor, slug, "From the harbour", FOOTAGE)
    second = stream_entry(reader, "From the harbour").locator("figure.embed")
    await check_footage_placeholder(second)
    await second.get_by_role("checkbox", name="Always load YouTube").check()
    await button(second, "Load content from YouTube").click()
    await check_player(second)
    assert await reader.evaluate(f"localStorage.getItem({ALWAYS_KEY!r})") == '["youtube"]'

    await reader.reload()
    await expect(reader.locator("[data-lb-conn]")).to_have_attribute("data-state", "live")
    for title in ("Fire at the port", "From the harbour"):
        await check_player(stream_entry(reader, title).locator("figure.embed"))
    # One request per player: the two pressed for, then the two loaded unasked.
    await until(lambda: len(elsewhere(requested)) == 4, "the players' requests")
    assert elsewhere(requested) == [YOUTUBE_SRC] * 4


async def test_without_javascript_footage_is_a_plain_link(
    browsing: Browsing, people: People, server: LiveServer, new_liveblog: NewLiveblog
) -> None:
    """With JavaScript off, the placeholder is the link card to the video and its caption: no
    button, no player, no request to another host."""
    slug = await new_liveblog()
    await publish_markdown(server, people.editor, slug, "Fire at the port", FOOTAGE)
    reader, requested = await local_page(browsing, java_script_enabled=False)
    await reader.goto(f"{server.url}/liveblogs/{slug}")

    figure = stream_entry(reader, "Fire at the port").locator("figure.embed")
    await expect(figure.locator("a.embed-card")).to_have_attribute("href", YOUTUBE_LINK)
    await expect(figure.get_by_role("link")).to_have_accessible_name(f"YouTube {YOUTUBE_LINK}")
    await expect(figure.locator("figcaption")).to_have_text("Smoke over the port Video: Reuters")
    await expect(figure.get_by_role("button")).to_have_count(0)
    await expect(figure.locator("iframe")).to_have_count(0)
    assert elsewhere(requested) == []


async def test_photos_and_players_break_no_content_security_policy(
    browsing: Browsing,
    people: People,
    api: httpx.AsyncClient,
    server: LiveServer,
    new_liveblog: NewLiveblog,
) -> None:
    """A photo and a player, on the reader page and in the console's preview: the browser
    reports no CSP violation, before or after the player is asked for."""
    slug = await new_liveblog()
    source = await photo_and_footage(api)
    await publish_markdown(server, people.editor, slug, "Fire at the port", source)

    reader, on_reader = await open_reader(browsing, slug)
    card = stream_entry(reader, "Fire at the port")
    await expect(card.locator("figure img")).to_have_attribute("srcset", re.compile(r"1600w$"))
    editor, on_editor = await open_workspace(browsing, people, slug)
    await editor.get_by_label("Title", exact=True).fill("Fire at the port")
    await body_input(editor).fill(source)
    preview = editor.locator("[data-preview]")
    await expect(preview.locator("figure img")).to_have_attribute("srcset", re.compile(r"1600w$"))

    for page, scope, requested in ((reader, card, on_reader), (editor, preview, on_editor)):
        image = scope.locator("figure img")
        await image.scroll_into_view_if_needed()
        await until(
            lambda image=image: image.evaluate("(img) => img.complete && img.naturalWidth > 0"),
            f"the photo to load on {page.url}",
        )
        await button(scope, "Load content from YouTube").click()
        await check_player(scope.locator("figure.embed"))
        await until(lambda seen=requested: YOUTUBE_SRC in seen, "the player's request")
        await next_frames(page)
        assert await csp_violations(page) == [], page.url
    # Chromium's own word for violations (console messages), on every page of the test.
    assert browsing.csp_violations == []

    # The watch itself works: a frame from a host frame-src leaves out is refused and
    # reported both ways, then forgiven.
    await reader.evaluate(OTHER_FRAME, "https://player.example/embed/1")
    await until(
        lambda: reader.evaluate("window.__cspViolations.length > 0"), "the refused frame's report"
    )
    # (A report names only the origin of a URL from another one.)
    assert await csp_violations(reader) == ["frame-src https://player.example"]
    await until(lambda: bool(browsing.csp_violations), "Chromium's console message")
    assert "frame-src" in browsing.csp_violations[0], browsing.csp_violations
    browsing.csp_violations.clear()


async def test_photos_and_placeholders_are_accessible(
    browsing: Browsing,
    people: People,
    api: httpx.AsyncClient,
    server: LiveServer,
    new_liveblog: NewLiveblog,
) -> None:
    """axe finds no WCAG 2.1 AA violation on a reader page with a captioned, credited photo and
    a placeholder, nor once the player is in; nor on the workspace with the image box open."""
    slug = await new_liveblog()
    source = await photo_and_footage(api)
    await publish_markdown(server, people.editor, slug, "Fire at the port", source)

    # Light and dark: contrast differs (the credit, the note, the button).
    for scheme in ("light", "dark"):
        reader, _ = await open_reader(browsing, slug, color_scheme=scheme)
        card = stream_entry(reader, "Fire at the port")
        await expect(button(card, "Load content from YouTube")).to_be_visible()
        await until(
            lambda reader=reader: reader.evaluate(
                "[...document.images].every((img) => img.complete && img.naturalWidth)"
            ),
            f"the photo to load ({scheme})",
        )
        await assert_accessible(reader)
        await button(card, "Load content from YouTube").click()
        await check_player(card.locator("figure.embed"))
        await assert_accessible(reader)

    editor, _ = await open_workspace(browsing, people, slug)
    await drop_file(body_input(editor), "IMG_0042.jpg", phone_photo())
    await expect(image_box(editor).get_by_label("Alt text")).to_be_focused()
    await assert_accessible(editor)


async def test_the_preview_shows_footage_as_the_same_placeholder(
    browsing: Browsing, people: People, new_liveblog: NewLiveblog
) -> None:
    """A YouTube link typed in the body shows in the preview as readers will see it: the
    placeholder with its button, and no request to another host."""
    slug = await new_liveblog()
    editor, requested = await open_workspace(browsing, people, slug)
    await body_input(editor).fill(FOOTAGE)
    figure = editor.locator("[data-preview] figure.embed")
    await check_footage_placeholder(figure)
    assert elsewhere(requested) == []
