"""Embargoes and endings hold on the server, whatever a client does: the console's Publish
refuses a time ahead (only Schedule honours it), an ended liveblog takes no new entry from any
path until an editor reopens it, a scheduled entry that falls due after the end goes back to
the drafts with a note, and the console's read of a deleted entry says who deleted it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import httpx
import pytest

from tests.console.newsroom import (
    ConsoleSocket,
    compose,
    console_liveblog,
    entries_of,
    iso,
    read,
    save_draft,
    utc_in,
)
from tests.harness import ConsoleClient, LiveServer, Subscriber, create_user, problem, seconds


@pytest.fixture(scope="module")
def editor(server: LiveServer) -> str:
    return create_user(server, "editor", display_name="Erin Desk")


@pytest.fixture
async def console(server: LiveServer, editor: str) -> AsyncIterator[ConsoleClient]:
    async with ConsoleClient(server) as client:
        assert (await client.sign_in(editor)).status_code == 303
        yield client


async def test_publish_refuses_a_time_ahead_and_takes_a_past_or_no_time(
    console: ConsoleClient, api: httpx.AsyncClient
) -> None:
    slug = await console_liveblog(console)
    ahead = await console.post(
        f"/console/liveblogs/{slug}/entries", compose("Embargoed", publish_at=iso(utc_in(3600)))
    )
    body = problem(ahead, 422)
    assert "schedule" in body["detail"].lower()
    assert [e["field"] for e in body["errors"]] == ["publish_at"]
    assert await entries_of(api, slug) == []  # nothing reached readers

    for when in (iso(utc_in(-60)), None):
        sent = await console.post(
            f"/console/liveblogs/{slug}/entries", compose(f"Out at {when}", publish_at=when)
        )
        assert sent.status_code == 201, sent.text
    assert len(await entries_of(api, slug)) == 2


async def test_an_ended_liveblog_takes_no_entry_until_reopened(
    server: LiveServer, console: ConsoleClient, api: httpx.AsyncClient
) -> None:
    slug = await console_liveblog(console)
    draft = await save_draft(console, slug, "Waiting for the end")
    assert (await console.post(f"/console/liveblogs/{slug}/end")).status_code == 200

    refusals = [
        await console.post(f"/console/liveblogs/{slug}/entries", compose("Too late")),
        await api.post(f"/api/liveblogs/{slug}/entries", json={"body": "<p>Too late</p>"}),
        await console.post(
            f"/console/liveblogs/{slug}/drafts/{draft['id']}/publish",
            headers={"If-Match": f'"{draft["version"]}"'},
        ),
    ]
    for refused in refusals:
        body = problem(refused, 409)
        assert body["reason"] == "liveblog_ended"
        assert "reopen" in body["detail"].lower()
    assert await entries_of(api, slug) == []
    # The draft is still a draft: nothing was claimed by the refused publish.
    assert (await read(console, f"/console/liveblogs/{slug}/drafts/{draft['id']}")).json()[
        "state"
    ] == "draft"

    async with AsyncExitStack() as stack:
        reader = await stack.enter_async_context(Subscriber(server, slug))
        await reader.wait_for(lambda r: bool(r.messages), what="hello")
        reopened = await console.post(f"/console/liveblogs/{slug}/reopen")
        assert reopened.status_code == 200, reopened.text
        assert reopened.json()["status"] == "live" and reopened.json()["ended_at"] is None
        # Readers are told it is live again.
        await reader.wait_for(
            lambda r: any(
                m.get("type") == "liveblog.updated" and m["liveblog"]["status"] == "live"
                for m in r.messages
            ),
            timeout=seconds(5),
            what="liveblog.updated live",
        )
    sent = await console.post(f"/console/liveblogs/{slug}/entries", compose("Back on air"))
    assert sent.status_code == 201, sent.text


async def test_a_contributor_cannot_reopen(server: LiveServer, console: ConsoleClient) -> None:
    slug = await console_liveblog(console)
    assert (await console.post(f"/console/liveblogs/{slug}/end")).status_code == 200
    async with ConsoleClient(server) as contributor:
        assert (await contributor.sign_in(create_user(server, "contributor"))).status_code == 303
        problem(await contributor.post(f"/console/liveblogs/{slug}/reopen"), 403)


async def test_a_scheduled_entry_due_after_the_end_goes_back_to_drafts(
    server: LiveServer, console: ConsoleClient, api: httpx.AsyncClient
) -> None:
    slug = await console_liveblog(console)
    scheduled = await save_draft(
        console, slug, "Embargo lifts", state="scheduled", publish_at=iso(utc_in(3))
    )
    assert (await console.post(f"/console/liveblogs/{slug}/end")).status_code == 200
    path = f"/console/liveblogs/{slug}/drafts/{scheduled['id']}"
    async with ConsoleSocket(server, slug, console.cookie) as socket:
        await socket.wait_for(lambda s: bool(s.messages), what="the first message")
        seen = len(socket.messages)
        # The scheduler's pass at the time returns it, and every console hears of the change.
        await socket.wait_for_change(seen, timeout=seconds(10))
    draft = (await read(console, path)).json()
    assert draft["state"] == "draft"
    assert "ended" in draft["note"]
    assert await entries_of(api, slug) == []


async def test_reading_a_deleted_entry_says_who_deleted_it(
    server: LiveServer, console: ConsoleClient
) -> None:
    slug = await console_liveblog(console)
    entry = (await console.post(f"/console/liveblogs/{slug}/entries", compose("Soon gone"))).json()
    path = f"/console/liveblogs/{slug}/entries/{entry['id']}"
    assert (await console.delete(path)).status_code == 200
    gone = problem(await read(console, path), 410)
    assert gone["deleted_by"]["name"] == "Erin Desk"
    assert gone["deleted_at"].endswith("Z")
    assert "Erin Desk" in gone["detail"]


async def test_title_and_description_with_if_match(
    console: ConsoleClient, anonymous: httpx.AsyncClient
) -> None:
    slug = await console_liveblog(console)
    current = (await anonymous.get(f"/api/liveblogs/{slug}")).json()
    path = f"/console/liveblogs/{slug}"
    changed = await console.patch(
        path,
        {"title": "  Summit: day two ", "description": "Leaders meet again."},
        headers={"If-Match": f'"{current["version"]}"'},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["title"] == "Summit: day two"
    stale = await console.patch(
        path, {"title": "Lost update"}, headers={"If-Match": f'"{current["version"]}"'}
    )
    problem(stale, 412)
    problem(await console.patch(path, {"title": ""}), 422)
    shown = (await anonymous.get(f"/api/liveblogs/{slug}")).json()
    assert (shown["title"], shown["description"]) == ("Summit: day two", "Leaders meet again.")


async def test_a_refusal_for_an_ended_liveblog_is_not_replayed_after_reopening(
    console: ConsoleClient, api: httpx.AsyncClient
) -> None:
    """ "Ended" is a refusal of the moment, not of the request: the same Idempotency-Key
    publishes once the liveblog is reopened (a stored refusal would replay for a day)."""
    slug = await console_liveblog(console)
    draft = await save_draft(console, slug, "Held back")
    assert (await console.post(f"/console/liveblogs/{slug}/end")).status_code == 200
    headers = {"Idempotency-Key": f"draft-{draft['id']}-1", "If-Match": f'"{draft["version"]}"'}
    path = f"/console/liveblogs/{slug}/drafts/{draft['id']}/publish"
    problem(await console.post(path, headers=headers), 409)
    api_key = {"Idempotency-Key": "api-after-reopen"}
    entries_path = f"/api/liveblogs/{slug}/entries"
    problem(await api.post(entries_path, json={"body": "<p>x</p>"}, headers=api_key), 409)
    assert (await console.post(f"/console/liveblogs/{slug}/reopen")).status_code == 200
    published = await console.post(path, headers=headers)
    assert published.status_code == 201, published.text
    posted = await api.post(entries_path, json={"body": "<p>x</p>"}, headers=api_key)
    assert posted.status_code == 201, posted.text
    assert len(await entries_of(api, slug)) == 2
