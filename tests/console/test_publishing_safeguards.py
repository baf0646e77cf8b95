"""What goes public is what an editor meant to publish: a draft changed since the editor read it
is not published unseen, a scheduled entry whose scheduler may no longer publish is held back,
and a refused publish leaves its Idempotency-Key refused while a new key works.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.console.newsroom import (
    compose,
    console_liveblog,
    entries_of,
    head_seq,
    iso,
    read,
    save_draft,
    utc_in,
)
from tests.harness import (
    PASSWORD,
    ConsoleClient,
    LiveServer,
    Subscriber,
    api_client,
    create_user,
    problem,
    seconds,
)

SCHEDULER_NAME = "Sid Scheduler"


@pytest.fixture(scope="module")
def staff(server: LiveServer) -> dict[str, str]:
    """Users of the shared server by role, made side by side (a CLI run is mostly start-up);
    "scheduler" is an editor the scheduling test disables."""
    made = {
        "editor": ("editor", "Eddie Editor"),
        "contributor": ("contributor", "Cora Contributor"),
        "admin": ("admin", None),
        "scheduler": ("editor", SCHEDULER_NAME),
    }
    with ThreadPoolExecutor(len(made)) as pool:
        usernames = pool.map(
            lambda role_name: create_user(server, role_name[0], display_name=role_name[1]),
            made.values(),
        )
        return dict(zip(made, usernames, strict=True))


async def signed_in(stack: AsyncExitStack, server: LiveServer, username: str) -> ConsoleClient:
    client = await stack.enter_async_context(ConsoleClient(server))
    assert (await client.sign_in(username)).status_code == 303
    return client


@pytest.fixture
async def editor(server: LiveServer, staff: dict[str, str]) -> AsyncIterator[ConsoleClient]:
    async with AsyncExitStack() as stack:
        yield await signed_in(stack, server, staff["editor"])


@pytest.fixture
async def public(server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(server) as client:
        yield client


def if_match(version: int) -> dict[str, str]:
    return {"If-Match": f'"{version}"'}


async def test_publishing_a_draft_changed_since_it_was_read_is_412(
    server: LiveServer,
    staff: dict[str, str],
    editor: ConsoleClient,
    public: httpx.AsyncClient,
) -> None:
    """Publish draft with the version the editor read, changed since by its contributor: 412."""
    slug = await console_liveblog(editor)
    async with AsyncExitStack() as stack:
        contributor = await signed_in(stack, server, staff["contributor"])
        draft = await save_draft(contributor, slug, "Council vote")
        path = f"/console/liveblogs/{slug}/drafts/{draft['id']}"
        submitted = await contributor.post(f"{path}/submit")
        assert submitted.json()["version"] == 2, submitted.text

        reviewed = (await read(editor, path)).json()
        assert (reviewed["state"], reviewed["version"]) == ("review", 2)
        changed = await contributor.patch(
            path, compose("Council vote", source="The council voted **no**."), if_match(2)
        )
        assert changed.status_code == 200 and changed.json()["version"] == 3, changed.text

        head = await head_seq(public, slug)
        stale = await editor.post(
            f"{path}/publish",
            headers={"Idempotency-Key": f"draft-{draft['id']}-2", **if_match(2)},
        )
        body = problem(stale, 412)
        assert body["current_version"] == 3
        assert body["current"]["source"] == "The council voted **no**.", body["current"]
        assert await entries_of(public, slug) == []
        assert await head_seq(public, slug) == head
        still = (await read(editor, path)).json()
        assert (still["state"], still["version"], still["entry_id"]) == ("review", 3, None)

        fresh = await editor.post(
            f"{path}/publish",
            headers={"Idempotency-Key": f"draft-{draft['id']}-3", **if_match(3)},
        )
        assert fresh.status_code == 201, fresh.text
        assert "<strong>no</strong>" in fresh.json()["body"]
        assert [e["id"] for e in await entries_of(public, slug)] == [fresh.json()["id"]]


async def wait_for_draft(console: ConsoleClient, path: str, until: float) -> dict[str, Any]:
    """The draft once it has left the scheduled state (or the last read, at `until`)."""
    while True:
        response = await read(console, path)
        assert response.status_code == 200, response.text  # published, it would be 404
        draft: dict[str, Any] = response.json()
        if draft["state"] != "scheduled" or time.monotonic() > until:
            return draft
        await asyncio.sleep(0.1)


async def test_an_entry_scheduled_by_a_now_disabled_editor_returns_to_the_drafts(
    server: LiveServer,
    staff: dict[str, str],
    editor: ConsoleClient,
    public: httpx.AsyncClient,
) -> None:
    """Its scheduler disabled before its time, an entry is not published but returned, noted."""
    scheduler = staff["scheduler"]
    slug = await console_liveblog(editor)
    async with AsyncExitStack() as stack:
        reader = await stack.enter_async_context(Subscriber(server, slug))
        await reader.wait_for(lambda r: bool(r.messages), what="hello")
        head = reader.last_seq
        leaving = await signed_in(stack, server, scheduler)
        admin = await signed_in(stack, server, staff["admin"])
        due = utc_in(2.0)
        draft = await save_draft(leaving, slug, "Embargoed", "scheduled", publish_at=iso(due))
        disabled = await admin.post(f"/console/users/{scheduler}/disable")
        assert disabled.status_code == 200 and disabled.json()["disabled"] is True

        path = f"/console/liveblogs/{slug}/drafts/{draft['id']}"
        returned = await wait_for_draft(editor, path, time.monotonic() + seconds(6.0))
        assert (returned["state"], returned["publish_at"]) == ("draft", None), returned
        assert returned["version"] == draft["version"] + 1
        assert SCHEDULER_NAME in returned["note"] and "no longer publish" in returned["note"]
        assert reader.events == []
        assert await entries_of(public, slug) == []

        # No waiting for more scheduler rounds: the editor's publish settles it. It succeeds only
        # if no round ever published the draft (one already published is refused, 409), it takes
        # the next seq after anything that did go out, and readers get events in seq order.
        published = await editor.post(
            f"{path}/publish",
            headers={"Idempotency-Key": str(uuid.uuid4()), **if_match(returned["version"])},
        )
        assert published.status_code == 201, published.text
        assert published.json()["seq"] == head + 1
        await reader.wait_for_seq(published.json()["seq"])
    assert [e["entry"]["title"] for e in reader.events] == ["Embargoed"]


async def test_a_refused_publish_keeps_its_key_refused_and_a_new_key_publishes(
    editor: ConsoleClient, public: httpx.AsyncClient
) -> None:
    """After a 422 under key K: K with another body is 422 'different request'; a new key, 201."""
    slug = await console_liveblog(editor)
    entries = f"/console/liveblogs/{slug}/entries"
    key = {"Idempotency-Key": f"compose-{uuid.uuid4()}"}
    refused = problem(await editor.post(entries, {"source": "<!-- only a comment -->"}, key), 422)
    again = problem(await editor.post(entries, {"source": "<!-- only a comment -->"}, key), 422)
    assert again["detail"] == refused["detail"]  # the stored refusal, replayed

    corrected = {"title": "Fixed", "source": "Now with **words**."}
    reused = problem(await editor.post(entries, corrected, key), 422)
    assert "different request" in reused["detail"], reused
    assert await entries_of(public, slug) == []

    fresh = await editor.post(entries, corrected, {"Idempotency-Key": f"compose-{uuid.uuid4()}"})
    assert fresh.status_code == 201, fresh.text
    assert [e["title"] for e in await entries_of(public, slug)] == ["Fixed"]


async def test_the_console_publishes_the_corrected_entry_after_a_refusal(
    browser: Browser,
    server: LiveServer,
    staff: dict[str, str],
    editor: ConsoleClient,
    public: httpx.AsyncClient,
) -> None:
    """Chromium: Publish refused (422), the body corrected, Publish again: the entry goes out."""
    slug = await console_liveblog(editor)
    context = await browser.new_context()
    try:
        page = await context.new_page()
        await page.goto(f"{server.url}/console")
        await page.get_by_label("Username").fill(staff["editor"])
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        await page.goto(f"{server.url}/console/liveblogs/{slug}")
        await expect(page.locator("[data-conn]")).to_have_attribute("data-state", "live")

        body = page.get_by_role("textbox", name="Body")
        publish = page.get_by_role("button", name="Publish", exact=True)
        await page.get_by_label("Title", exact=True).fill("Corrected")
        await body.fill("<!-- only a comment -->")
        await publish.click()
        error = page.locator("[data-compose-error]")
        await expect(error).to_be_visible()
        await body.fill("Now with **words**.")
        await publish.click()
        await expect(page.locator("[data-compose-status]")).to_have_text("Published.")
        await expect(error).to_be_hidden()
    finally:
        await context.close()
    assert [e["title"] for e in await entries_of(public, slug)] == ["Corrected"]
