"""A journalist's breaking-news day in the console, in a real browser: the entry shapes they
write most, embargoes that hold, nothing typed ever lost, conflicts merged field by field,
every entry reachable, the keyboard, a phone, and an ended liveblog reopened.

Each test fails on the console as it was before issue 21 (a 500 for text-then-photo, Publish
ignoring "Publish at", a form emptied under the journalist's hands, a panel for a pin).
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from playwright.async_api import Dialog, Route, expect

from tests.conftest import NewLiveblog
from tests.harness import seconds
from tests.web.axe import assert_accessible
from tests.web.console_pages import DESKTOP, PHONE, Browsing, People
from tests.web.test_console import (
    body_input,
    button,
    compose,
    entries,
    entry_titled,
    item,
    publish,
    status,
    stream_entry,
)
from tests.web.test_reader_page import LIVE


def utc_now() -> datetime:
    """Now, as the browser's clock reads it in a context whose time zone is UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def local_input(moment: datetime) -> str:
    """A `datetime-local` value: the browser's local time (the tests run it in UTC)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


async def test_text_then_photo_publishes(
    browsing: Browsing, people: People, new_liveblog: NewLiveblog, image_url: str
) -> None:
    """The most common entry there is, a paragraph then a photo, previews and publishes to an
    open reader page (it was a 500 in both)."""
    slug = await new_liveblog()
    editor = await browsing.workspace(await browsing.sign_in(people.editor), slug)
    reader = await browsing.reader(slug)
    await compose(
        editor,
        "Convoy reaches the border",
        f"The first trucks crossed at dawn.\n\n![Trucks at the crossing]({image_url})",
    )
    preview = editor.locator("[data-preview]")
    await expect(preview.locator("figure figcaption")).to_have_text("Trucks at the crossing")
    await button(editor, "Publish").click()
    await expect(status(editor)).to_have_text("Published.")
    card = stream_entry(reader, "Convoy reaches the border")
    await expect(card.locator("figure img")).to_have_attribute("src", image_url)
    await expect(card.locator(".entry__body p")).to_have_text("The first trucks crossed at dawn.")


async def test_a_time_ahead_schedules_and_holds_the_embargo(
    browsing: Browsing, people: People, new_liveblog: NewLiveblog, api: httpx.AsyncClient
) -> None:
    """With "Publish at" ahead, the main button reads "Schedule for …" and Ctrl+Enter
    schedules: nothing reaches an open reader page before the time, the entry does after it.
    "Publish now" stands beside it, and a time that has passed asks first."""
    slug = await new_liveblog()
    editor = await browsing.workspace(
        await browsing.sign_in(people.editor, timezone_id="UTC"), slug
    )
    reader = await browsing.reader(slug)
    await expect(button(editor, "Publish now")).to_be_hidden()

    at = utc_now().replace(microsecond=0) + timedelta(seconds=seconds(4))
    await compose(editor, "Embargoed statement", "The statement is embargoed until noon.")
    await editor.get_by_label("Publish at").fill(local_input(at))
    primary = editor.locator("[data-primary]")
    await expect(primary).to_have_text(re.compile(r"^Schedule for "))
    await expect(button(editor, "Publish now")).to_be_visible()
    await body_input(editor).press("Control+Enter")
    await expect(status(editor)).to_contain_text("Scheduled for")
    await expect(item(editor, "Embargoed statement")).to_contain_text("Scheduled")
    assert await entries(api, slug) == []  # not before its time
    card = stream_entry(reader, "Embargoed statement")
    await expect(card).to_be_visible(timeout=seconds(15) * 1000)
    published = await entry_titled(api, slug, "Embargoed statement")
    assert datetime.fromisoformat(published["created_at"].replace("Z", "")) >= at

    # A time that has passed: Publish asks before it publishes now.
    await compose(editor, "Late note", "This was meant for earlier.")
    await editor.get_by_label("Publish at").fill(local_input(utc_now() - timedelta(hours=1)))
    await expect(primary).to_have_text("Publish")
    await primary.click()
    confirm = editor.get_by_role(
        "group", name="The time you set has already passed. Publish now anyway?"
    )
    await expect(confirm).to_be_visible()
    assert all(e["title"] != "Late note" for e in await entries(api, slug))
    await button(confirm, "Publish anyway").click()
    await expect(status(editor)).to_have_text("Published.")
    await expect(stream_entry(reader, "Late note")).to_be_visible(timeout=LIVE * 1000)


async def test_typing_during_a_slow_publish_is_kept(
    browsing: Browsing, people: People, new_liveblog: NewLiveblog, api: httpx.AsyncClient
) -> None:
    """The form keeps what was typed after Publish was pressed; the button shows it is busy
    meanwhile and the old "Published." goes away when the new action starts."""
    slug = await new_liveblog()
    editor = await browsing.workspace(await browsing.sign_in(people.editor), slug)
    await publish(editor, "First", "The first entry.")
    await expect(status(editor)).to_have_text("Published.")

    release = asyncio.Event()

    async def slowly(route: Route) -> None:
        if route.request.method == "POST":
            await release.wait()
        await route.continue_()

    await editor.route(f"**/console/liveblogs/{slug}/entries", slowly)
    await compose(editor, "Second", "The second entry.")
    primary = editor.locator("[data-primary]")
    await primary.click()
    await expect(primary).to_have_attribute("aria-busy", "true")
    await expect(primary).to_be_disabled()
    await expect(primary).to_have_text("Publishing…")
    await expect(status(editor)).to_be_hidden()
    # The next entry, begun while the server has not answered.
    await editor.get_by_label("Title", exact=True).fill("Third")
    await body_input(editor).fill("Words typed while publishing.")
    release.set()
    await expect(status(editor)).to_contain_text("Published.")
    await expect(status(editor)).to_contain_text("What you typed since is still in the form.")
    await expect(editor.get_by_label("Title", exact=True)).to_have_value("Third")
    await expect(body_input(editor)).to_have_value("Words typed while publishing.")
    await expect(primary).to_have_text("Publish")
    await expect(primary).not_to_have_attribute("aria-busy", "true")
    await editor.unroute(f"**/console/liveblogs/{slug}/entries")
    titles = [e["title"] for e in await entries(api, slug)]
    assert titles == ["Second", "First"], titles
    await button(editor, "Publish").click()  # the kept words are a new entry, not an edit
    await expect(status(editor)).to_have_text("Published.")
    assert [e["title"] for e in await entries(api, slug)] == ["Third", "Second", "First"]


async def test_an_edit_neither_eats_the_new_entry_nor_becomes_one(
    browsing: Browsing, people: People, new_liveblog: NewLiveblog, api: httpx.AsyncClient
) -> None:
    """Half a new entry, then Edit on a published one: saving the edit brings the new entry
    back. Words typed while an edit is being saved stay in that edit, not in a new entry."""
    slug = await new_liveblog()
    editor = await browsing.workspace(await browsing.sign_in(people.editor), slug)
    await publish(editor, "Talks", "Talks begin at nine.")
    await compose(editor, "Next", "The next entry, half")
    await button(item(editor, "Talks"), "Edit").click()
    await expect(body_input(editor)).to_have_value("Talks begin at nine.")
    await body_input(editor).fill("Talks begin at ten.")

    release = asyncio.Event()

    async def slowly(route: Route) -> None:
        if route.request.method == "PATCH":
            await release.wait()
        await route.continue_()

    await editor.route(f"**/console/liveblogs/{slug}/entries/*", slowly)
    await button(editor, "Save").click()
    await expect(editor.locator('[data-edit-actions] [aria-busy="true"]')).to_have_text("Saving…")
    await body_input(editor).press("End")
    await editor.keyboard.type(" Delegations are late.")
    release.set()
    await expect(status(editor)).to_contain_text("Saved. What you typed since is still in the form")
    await expect(editor.get_by_role("heading", name="Edit published entry")).to_be_visible()
    await expect(body_input(editor)).to_have_value("Talks begin at ten. Delegations are late.")
    await editor.unroute(f"**/console/liveblogs/{slug}/entries/*")
    await button(editor, "Save").click()  # the same entry again, from the version just saved
    await expect(status(editor)).to_have_text("Saved.")
    talks = await entry_titled(api, slug, "Talks")
    assert talks["body"] == "<p>Talks begin at ten. Delegations are late.</p>"
    assert [e["title"] for e in await entries(api, slug)] == ["Talks"]  # no second entry

    # The form is the new entry again, as it was left.
    await expect(editor.get_by_role("heading", name="New entry")).to_be_visible()
    await expect(editor.get_by_label("Title", exact=True)).to_have_value("Next")
    await expect(body_input(editor)).to_have_value("The next entry, half")


async def test_a_reload_restores_the_unsaved_form(
    browsing: Browsing, people: People, new_liveblog: NewLiveblog
) -> None:
    """Leaving asks first; what was typed comes back after a reload (or a crash), per user and
    liveblog, and goes once it is published."""
    slug = await new_liveblog()
    editor = await browsing.workspace(await browsing.sign_in(people.editor), slug)
    await compose(editor, "Half written", "The talks broke up without")
    await editor.get_by_label("Key event").check()
    asked: list[str] = []

    async def leave(dialog: Dialog) -> None:
        asked.append(dialog.type)
        await dialog.accept()

    browsing.expected_dialogs.add("beforeunload")
    editor.on("dialog", leave)
    await editor.reload()
    await expect(editor.locator("[data-conn]")).to_have_attribute("data-state", "live")
    assert asked == ["beforeunload"]
    await expect(editor.get_by_role("status").filter(has_text="Restored")).to_be_visible()
    await expect(editor.get_by_label("Title", exact=True)).to_have_value("Half written")
    await expect(body_input(editor)).to_have_value("The talks broke up without")
    await expect(editor.get_by_label("Key event")).to_be_checked()
    await assert_accessible(editor)

    await body_input(editor).press("End")
    await editor.keyboard.type(" agreement.")
    await button(editor, "Publish").click()
    await expect(status(editor)).to_have_text("Published.")
    await editor.reload()  # nothing unsaved: no question, nothing restored
    await expect(editor.locator("[data-conn]")).to_have_attribute("data-state", "live")
    await expect(body_input(editor)).to_have_value("")
    await expect(editor.locator("[data-restored]")).to_be_hidden()
    assert asked == ["beforeunload"]


async def test_a_flag_only_conflict_is_merged_without_a_panel(
    browsing: Browsing, people: People, new_liveblog: NewLiveblog, api: httpx.AsyncClient
) -> None:
    """Another editor pinned the entry while I edited its text: my save keeps their pin (a
    three-way merge), with no panel; a field both changed still opens the panel, and only it."""
    slug = await new_liveblog()
    alex = await browsing.workspace(await browsing.sign_in(people.editor), slug)
    sam = await browsing.workspace(await browsing.sign_in(people.rival), slug)
    await publish(alex, "Ceasefire talks", "Talks resume at nine.")
    await button(item(alex, "Ceasefire talks"), "Edit").click()
    await expect(body_input(alex)).to_have_value("Talks resume at nine.")

    await expect(item(sam, "Ceasefire talks")).to_be_visible()
    await button(item(sam, "Ceasefire talks"), "Pin").click()
    await expect(item(alex, "Ceasefire talks")).to_contain_text("Pinned")

    await body_input(alex).fill("Talks resume at ten, an hour late.")
    await button(alex, "Save").click()
    await expect(status(alex)).to_contain_text("Saved.")
    await expect(status(alex)).to_contain_text("What was changed meanwhile is kept: Pinned.")
    conflict = alex.get_by_role("alertdialog", name="Someone else changed this entry")
    await expect(conflict).to_be_hidden()
    entry = await entry_titled(api, slug, "Ceasefire talks")
    assert entry["pinned"] is True
    assert entry["body"] == "<p>Talks resume at ten, an hour late.</p>"

    # Both change the title, Sam also the author: only the title is shown side by side.
    for page in (alex, sam):
        await button(item(page, "Ceasefire talks"), "Edit").click()
        await expect(body_input(page)).to_have_value("Talks resume at ten, an hour late.")
    await sam.get_by_label("Title", exact=True).fill("Ceasefire talks delayed")
    await sam.get_by_label("Author").fill("Desk")
    await button(sam, "Save").click()
    await expect(status(sam)).to_have_text("Saved.")
    await alex.get_by_label("Title", exact=True).fill("Ceasefire talks: a late start")
    await button(alex, "Save").click()
    await expect(conflict).to_be_visible()
    await expect(conflict.get_by_role("heading", name="Title", exact=True)).to_be_visible()
    await expect(conflict.get_by_role("heading", name="Author", exact=True)).to_have_count(0)
    await expect(conflict).to_contain_text("Ceasefire talks delayed")
    await expect(conflict).to_contain_text("Ceasefire talks: a late start")
    await assert_accessible(alex)
    await button(conflict, "Keep mine").click()
    await expect(status(alex)).to_contain_text("Saved.")
    entry = await entry_titled(api, slug, "Ceasefire talks: a late start")
    assert (entry["author"], entry["pinned"]) == ("Desk", True)


async def test_an_entry_deleted_while_edited_can_go_out_as_new(
    browsing: Browsing, people: People, new_liveblog: NewLiveblog, api: httpx.AsyncClient
) -> None:
    slug = await new_liveblog()
    alex = await browsing.workspace(await browsing.sign_in(people.editor), slug)
    sam = await browsing.workspace(await browsing.sign_in(people.rival), slug)
    await publish(alex, "Casualty figures", "Figures are unconfirmed.")
    await button(item(alex, "Casualty figures"), "Edit").click()
    await expect(item(sam, "Casualty figures")).to_be_visible()
    await button(item(sam, "Casualty figures"), "Delete").click()
    await button(item(sam, "Casualty figures"), "Confirm delete").click()
    await expect(item(alex, "Casualty figures")).to_have_count(0)

    await body_input(alex).fill("Figures are now confirmed by the ministry.")
    await button(alex, "Save").click()
    deleted = alex.get_by_role("alertdialog", name="This entry was deleted")
    await expect(deleted).to_be_visible()
    await expect(deleted).to_contain_text("Deleted by Sam Rivera at")
    await assert_accessible(alex)
    await button(deleted, "Publish mine as a new entry").click()
    await expect(status(alex)).to_have_text("Published.")
    entry = await entry_titled(api, slug, "Casualty figures")
    assert entry["body"] == "<p>Figures are now confirmed by the ministry.</p>"


async def test_presence_and_delivery_receipts(
    browsing: Browsing, people: People, new_liveblog: NewLiveblog
) -> None:
    """An entry being edited shows who is editing it on the other editors' consoles, until they
    save or leave; each published entry shows how many readers it reached."""
    slug = await new_liveblog()
    alex = await browsing.workspace(await browsing.sign_in(people.editor), slug)
    sam = await browsing.workspace(await browsing.sign_in(people.rival), slug)
    readers = [await browsing.reader(slug) for _ in range(3)]
    await expect(alex.locator("[data-readers]")).to_have_text("3", timeout=seconds(10) * 1000)
    await publish(alex, "Vote count", "Counting has begun.")
    for reader in readers:
        await expect(stream_entry(reader, "Vote count")).to_be_visible(timeout=LIVE * 1000)
    for page in (alex, sam):
        receipt = item(page, "Vote count").get_by_text(re.compile(r"^Delivered to \d+ readers"))
        await expect(receipt).to_have_text(
            re.compile(r"^Delivered to 3 readers · p99 [0-9.]+ ms$"), timeout=seconds(10) * 1000
        )

    await button(item(sam, "Vote count"), "Edit").click()
    presence = item(alex, "Vote count").get_by_text("Sam Rivera is editing")
    await expect(presence).to_be_visible(timeout=seconds(5) * 1000)
    await expect(item(sam, "Vote count").get_by_text("is editing")).to_have_count(0)  # not oneself
    await assert_accessible(alex)
    await body_input(sam).fill("Counting has begun in every district.")
    await button(sam, "Save").click()
    await expect(status(sam)).to_have_text("Saved.")
    await expect(presence).to_have_count(0, timeout=seconds(5) * 1000)

    # The edit is its own event, with its own receipt.
    for reader in readers:
        await expect(stream_entry(reader, "Vote count")).to_contain_text("every district")
    await expect(item(alex, "Vote count")).to_contain_text("Delivered to 3 readers")

    await button(item(sam, "Vote count"), "Edit").click()
    await expect(presence).to_be_visible(timeout=seconds(5) * 1000)
    await sam.close()  # leaving clears it too
    await expect(presence).to_have_count(0, timeout=seconds(10) * 1000)


async def test_a_live_refresh_keeps_focus_and_place(
    browsing: Browsing, people: People, new_liveblog: NewLiveblog, api: httpx.AsyncClient
) -> None:
    """Keyboard focus stays on the control it was on, and the list does not jump, when another
    editor's entry arrives at the top of the list."""
    slug = await new_liveblog()
    for number in range(1, 31):
        response = await api.post(
            f"/api/liveblogs/{slug}/entries",
            json={"title": f"Earlier {number}", "body": f"<p>Entry {number}.</p>"},
        )
        assert response.status_code == 201, response.text
    editor = await browsing.workspace(await browsing.sign_in(people.editor), slug)
    target = button(item(editor, "Earlier 10"), "Key event")
    await target.focus()
    await expect(target).to_be_focused()
    top_before = (await item(editor, "Earlier 10").bounding_box() or {}).get("y")
    response = await api.post(
        f"/api/liveblogs/{slug}/entries", json={"title": "Breaking", "body": "<p>New.</p>"}
    )
    assert response.status_code == 201, response.text
    await expect(item(editor, "Breaking")).to_be_visible()
    await expect(target).to_be_focused()
    top_after = (await item(editor, "Earlier 10").bounding_box() or {}).get("y")
    assert top_before is not None and top_after is not None
    assert abs(top_after - top_before) < 2, (top_before, top_after)


async def test_search_and_load_older_reach_every_entry(
    browsing: Browsing, people: People, new_liveblog: NewLiveblog, api: httpx.AsyncClient
) -> None:
    """120 entries: the list shows 50, "Load older" pages back to the first, and the search
    box finds an entry that sits on page 3."""
    slug = await new_liveblog()
    for number in range(1, 121):
        word = "Kherson" if number == 7 else "update"
        response = await api.post(
            f"/api/liveblogs/{slug}/entries",
            json={"title": f"Entry {number}", "body": f"<p>Routine {word} number {number}.</p>"},
        )
        assert response.status_code == 201, response.text
    editor = await browsing.workspace(await browsing.sign_in(people.editor), slug)
    published = editor.locator('[data-published] article[data-kind="entry"]')
    await expect(published).to_have_count(50)
    await button(editor, "Load older").click()
    await expect(published).to_have_count(100)
    await button(editor, "Load older").click()
    await expect(published).to_have_count(120)
    await expect(button(editor, "Load older")).to_have_count(0)
    await expect(item(editor, "Entry 1")).to_be_visible()

    search = editor.get_by_role("searchbox", name="Search entries")
    await search.fill("khers")
    await expect(published).to_have_count(1)
    await expect(item(editor, "Entry 7")).to_be_visible()
    await assert_accessible(editor)
    await button(item(editor, "Entry 7"), "Edit").click()
    await expect(body_input(editor)).to_have_value("<p>Routine Kherson number 7.</p>")
    await search.fill("")
    await expect(published).to_have_count(50)


async def test_keyboard_shortcuts(
    browsing: Browsing, people: People, new_liveblog: NewLiveblog
) -> None:
    """Ctrl+B, I and K in the body; Link selects the URL; Escape closes an inserter and asks
    before it cancels a changed edit; Ctrl+S saves a draft."""
    slug = await new_liveblog()
    editor = await browsing.workspace(await browsing.sign_in(people.editor), slug)
    body = body_input(editor)
    await body.fill("Shelling ")
    await body.press("End")
    await body.press("Control+b")
    await editor.keyboard.type("overnight")
    await body.press("End")
    await editor.keyboard.type(" in ")
    await body.press("Control+i")
    await editor.keyboard.type("three")
    await body.press("End")
    await editor.keyboard.type(" districts, ")
    await body.press("Control+k")
    await editor.keyboard.type("https://example.org/report")  # replaces the selected URL
    await expect(body).to_have_value(
        "Shelling **overnight** in *three* districts, [link text](https://example.org/report)"
    )
    await button(editor, "Image").click()
    await expect(editor.locator("[data-image-file]")).to_be_focused()  # a photo first
    await editor.keyboard.press("Escape")
    await expect(editor.get_by_label("Image URL")).to_be_hidden()
    await expect(button(editor, "Image")).to_be_focused()

    await body.press("Control+s")
    await expect(status(editor)).to_have_text("Draft saved.")
    await expect(body).to_have_value("")
    draft = editor.locator('[data-items] article[data-kind="draft"]')
    await expect(draft).to_have_count(1)
    await button(draft, "Edit").click()
    await expect(editor.get_by_role("heading", name="Edit draft")).to_be_visible()
    await expect(body).to_have_value(re.compile(r"^Shelling \*\*overnight\*\*"))
    await body.press("End")
    await editor.keyboard.type(" More.")
    await body.press("Escape")
    cancel = editor.get_by_role("group", name="Throw away your changes to this entry?")
    await expect(cancel).to_be_visible()
    await button(cancel, "Discard changes").click()
    await expect(editor.get_by_role("heading", name="New entry")).to_be_visible()


async def test_key_event_is_a_flag_and_a_returned_draft_carries_its_note(
    browsing: Browsing, people: People, new_liveblog: NewLiveblog, api: httpx.AsyncClient
) -> None:
    slug = await new_liveblog()
    editor = await browsing.workspace(await browsing.sign_in(people.editor), slug)
    await publish(editor, "Bridge destroyed", "The main bridge is down.")
    toggle = button(item(editor, "Bridge destroyed"), "Key event")
    await expect(toggle).to_have_attribute("aria-pressed", "false")
    reader = await browsing.reader(slug)
    card = stream_entry(reader, "Bridge destroyed")
    await toggle.click()
    await expect(toggle).to_have_attribute("aria-pressed", "true")
    assert (await entry_titled(api, slug, "Bridge destroyed"))["key_event"] is True
    await button(item(editor, "Bridge destroyed"), "Pin").click()
    await expect(reader.locator("[data-lb-pinned] .entry__title")).to_have_text(
        "Bridge destroyed", timeout=LIVE * 1000
    )
    await expect(card).to_contain_text("Key event")
    # Flags are not edits: no "Updated", live or on a fresh page.
    await expect(card.locator(".entry__updated")).to_have_count(0)
    fresh = await browsing.reader(slug)
    await expect(stream_entry(fresh, "Bridge destroyed").locator(".entry__updated")).to_have_count(
        0
    )
    await button(item(editor, "Bridge destroyed"), "Edit").click()
    await expect(body_input(editor)).to_have_value("The main bridge is down.")
    await body_input(editor).fill("The main bridge and a rail bridge are down.")
    await button(editor, "Save").click()
    await expect(card.locator(".entry__updated")).to_contain_text("Updated")

    chris = await browsing.workspace(await browsing.sign_in(people.contributor), slug)
    await compose(chris, "Eyewitness account", "A resident describes the night.")
    await chris.get_by_label("Pinned").check()
    await button(chris, "Submit for review").click()
    card = item(editor, "Eyewitness account")
    await expect(card).to_contain_text("Pinned")  # the flag is seen before publishing
    await button(card, "Return to contributor").click()
    await card.get_by_label("Note to Chris Lee").fill("Name the district, please.")
    await button(card, "Return with note").click()
    await expect(item(chris, "Eyewitness account")).to_contain_text(
        "Editor's note: Name the district, please."
    )


async def test_phone_keeps_the_actions_in_reach(
    browsing: Browsing, people: People, new_liveblog: NewLiveblog, artifacts: Path
) -> None:
    """At 390 px, with a long body, Publish is on screen without scrolling past the body."""
    slug = await new_liveblog()
    page = await browsing.sign_in(people.editor, viewport=PHONE, has_touch=True, is_mobile=True)
    editor = await browsing.workspace(page, slug)
    await compose(editor, "Long entry", "\n\n".join(f"Paragraph {n}." for n in range(60)))
    await body_input(editor).focus()
    await editor.evaluate("window.scrollTo(0, 0)")
    await body_input(editor).scroll_into_view_if_needed()
    primary = editor.locator("[data-primary]")
    box = await primary.bounding_box()
    assert box is not None
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], box
    tool = await button(editor, "Bold").bounding_box()
    assert tool is not None and tool["width"] >= 44 and tool["height"] >= 44, tool
    await editor.screenshot(path=str(artifacts / "console-day-390.png"))


async def test_ending_refuses_publish_and_reopening_goes_live(
    browsing: Browsing, people: People, new_liveblog: NewLiveblog, artifacts: Path
) -> None:
    slug = await new_liveblog()
    editor = await browsing.workspace(await browsing.sign_in(people.editor, viewport=DESKTOP), slug)
    rival = await browsing.workspace(await browsing.sign_in(people.rival), slug)
    reader = await browsing.reader(slug)
    await button(editor, "End liveblog").click()
    await button(editor, "Confirm end").click()
    await expect(editor.locator("[data-status]")).to_have_text("Ended")
    await expect(reader.locator("[data-lb-status]")).to_have_text("Ended")
    # Every editor's console follows, not only the one that pressed End.
    await expect(rival.locator("[data-status]")).to_have_text("Ended")
    await expect(button(rival, "Reopen liveblog")).to_be_visible()
    await expect(button(rival, "End liveblog")).to_be_hidden()
    await compose(editor, "After the end", "One more thing.")
    await button(editor, "Publish").click()
    await expect(editor.locator("[data-compose-error]")).to_contain_text("has ended")
    await expect(body_input(editor)).to_have_value("One more thing.")  # refused, kept
    await button(editor, "Reopen liveblog").click()
    await expect(editor.locator("[data-status]")).to_have_text("Live")
    await expect(reader.locator("[data-lb-status]")).to_have_text("Live")
    await expect(rival.locator("[data-status]")).to_have_text("Live")
    await expect(button(rival, "End liveblog")).to_be_visible()
    await expect(body_input(editor)).to_have_value("One more thing.")
    await button(editor, "Publish").click()
    await expect(status(editor)).to_have_text("Published.")
    await expect(stream_entry(reader, "After the end")).to_be_visible(timeout=LIVE * 1000)

    await button(editor, "Edit title and description").click()
    await editor.get_by_label("Liveblog title").fill("Coverage resumes")
    await assert_accessible(editor)
    await button(editor, "Save title and description").click()
    await expect(editor.get_by_role("heading", level=1)).to_have_text("Coverage resumes")
    await expect(rival.get_by_role("heading", level=1)).to_have_text("Coverage resumes")
    await editor.screenshot(path=str(artifacts / "console-day-1280.png"), full_page=True)
