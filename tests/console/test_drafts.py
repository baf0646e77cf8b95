"""Drafts, drafts in review and scheduled entries stay out of everything public; publishing one
is one ordinary entry creation, once however often it is pressed; corrections reach readers.

Storage behaviour, so every test runs on SQLite and on PostgreSQL (`database_server`).
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any

import httpx
import pytest

from tests.console.newsroom import (
    compose,
    console_liveblog,
    entries_of,
    head_seq,
    iso,
    parse_time,
    read,
    save_draft,
    utc_in,
)
from tests.harness import ConsoleClient, LiveServer, Subscriber, api_client, create_user, problem

REPLAYED = "idempotent-replayed"
# In every unpublished title and body: a leak anywhere public shows this word.
SECRET = "Embargoed"


@pytest.fixture(scope="module")
def editor(database_server: LiveServer) -> str:
    return create_user(database_server, "editor")


@pytest.fixture
async def console(database_server: LiveServer, editor: str) -> AsyncIterator[ConsoleClient]:
    """The editor, signed in to the console of this module's server."""
    async with ConsoleClient(database_server) as client:
        assert (await client.sign_in(editor)).status_code == 303
        yield client


@pytest.fixture
async def public(database_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """What anyone can read: no token, no cookie."""
    async with api_client(database_server) as client:
        yield client


@pytest.fixture
async def newsroom_api(
    database_server: LiveServer, database_token: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The token API, as a newsroom tool posting entries uses it."""
    async with api_client(database_server, database_token) as client:
        yield client


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"press-{uuid.uuid4()}"}


async def hello_of(reader: Subscriber) -> dict[str, Any]:
    await reader.wait_for(lambda r: bool(r.messages), what="hello")
    hello = reader.messages[0]
    assert hello["type"] == "hello", hello
    return hello


async def marker(api: httpx.AsyncClient, reader: Subscriber, slug: str) -> int:
    """A later event on `slug`, once `reader` has it; returns its seq.

    A change of the liveblog's description (liveblog.updated) through the token API takes the
    next seq after every write that committed before it, and a reader gets events in seq order:
    once this one is in, any earlier event (a duplicate create, say) would be too.
    """
    changed = await api.patch(
        f"/api/liveblogs/{slug}", json={"description": f"mark {uuid.uuid4()}"}
    )
    assert changed.status_code == 200, changed.text
    seq: int = changed.json()["seq"]
    await reader.wait_for_seq(seq)
    return seq


def json_ld(html: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert found, "the reader page has no JSON-LD"
    data: dict[str, Any] = json.loads(found.group(1))
    return data


async def assert_nothing_public(
    public: httpx.AsyncClient, slug: str, head: int, draft_ids: list[int]
) -> None:
    """No public surface of `slug` shows an unpublished entry, and its seq has not moved."""
    assert await head_seq(public, slug) == head
    listed = await public.get(f"/api/liveblogs/{slug}/entries")
    assert listed.json()["entries"] == [] and listed.json()["seq"] == head, listed.text
    feed = await public.get(f"/api/liveblogs/{slug}/entries", params={"since": 0})
    assert feed.json()["entries"] == [] and feed.json()["seq"] == head, feed.text

    page = await public.get(f"/liveblogs/{slug}")
    assert page.status_code == 200
    assert SECRET not in page.text
    posting = json_ld(page.text)
    assert posting["@type"] == "LiveBlogPosting" and posting["liveBlogUpdate"] == []
    assert SECRET not in json.dumps(posting)

    for draft_id in draft_ids:
        permalink = await public.get(f"/liveblogs/{slug}/entries/{draft_id}")
        assert permalink.status_code == 404, (draft_id, permalink.status_code)
        assert SECRET not in permalink.text
        problem(await public.get(f"/api/liveblogs/{slug}/entries/{draft_id}"), 404)


async def test_unpublished_entries_reach_nothing_public(
    database_server: LiveServer,
    console: ConsoleClient,
    public: httpx.AsyncClient,
    newsroom_api: httpx.AsyncClient,
) -> None:
    """Drafts, drafts in review and scheduled entries, made and changed, reach no public surface."""
    slug = await console_liveblog(console)
    head = await head_seq(public, slug)
    async with Subscriber(database_server, slug) as reader:
        hello = await hello_of(reader)
        draft = await save_draft(console, slug, f"{SECRET} draft")
        review = await save_draft(console, slug, f"{SECRET} in review", state="review")
        scheduled = await save_draft(
            console, slug, f"{SECRET} scheduled", "scheduled", publish_at=iso(utc_in(3600))
        )
        base = f"/console/liveblogs/{slug}/drafts"
        # Changes to them are as private as they are: an edit, a submit, a return, a reschedule.
        edited = await console.patch(
            f"{base}/{draft['id']}", compose(f"{SECRET} draft, edited"), {"If-Match": '"1"'}
        )
        assert edited.status_code == 200, edited.text
        assert (await console.post(f"{base}/{draft['id']}/submit")).status_code == 200
        assert (await console.post(f"{base}/{review['id']}/return", {})).status_code == 200
        rescheduled = await console.post(
            f"{base}/{scheduled['id']}/schedule", {"publish_at": iso(utc_in(7200))}
        )
        assert rescheduled.status_code == 200, rescheduled.text

        ids = [draft["id"], review["id"], scheduled["id"]]
        await assert_nothing_public(public, slug, head, ids)
        assert reader.messages == [hello] and reader.last_seq == head
        async with Subscriber(database_server, slug, since=0) as catching_up:
            await hello_of(catching_up)

            # The socket was live all along: the next public entry is the first thing it gets.
            # For the reader catching up from 0 it is the marker: a replay is sent right after
            # the hello, before any live event, so once this entry is in, a replay would be too.
            posted = await newsroom_api.post(
                f"/api/liveblogs/{slug}/entries", json={"title": "Public", "body": "<p>Out</p>"}
            )
            assert posted.status_code == 201, posted.text
            await reader.wait_for_seq(head + 1)
            await catching_up.wait_for_seq(head + 1)
            assert [(m["type"], m["seq"]) for m in catching_up.messages] == [
                ("hello", head),
                ("entry.created", head + 1),
            ]
        assert [(e["type"], e["seq"], e["entry"]["title"]) for e in reader.events] == [
            ("entry.created", head + 1, "Public")
        ]
    assert [e["title"] for e in await entries_of(public, slug)] == ["Public"]
    # All three are still unpublished, where editors see them.
    items = (await console.get(f"/console/liveblogs/{slug}/items")).text
    for draft_id in ids:
        assert f'data-kind="draft" data-id="{draft_id}"' in items


async def test_publishing_a_draft_is_one_create_at_publish_time(
    database_server: LiveServer,
    console: ConsoleClient,
    public: httpx.AsyncClient,
    newsroom_api: httpx.AsyncClient,
) -> None:
    """Publishing a draft sends readers one entry.created, next seq, created at publish time."""
    slug = await console_liveblog(console)
    earlier = await newsroom_api.post(f"/api/liveblogs/{slug}/entries", json={"body": "<p>1</p>"})
    assert earlier.status_code == 201, earlier.text
    draft = await save_draft(
        console, slug, "Ferry docks", author="Harbour desk", key_event=True, state="review"
    )
    items = f"/console/liveblogs/{slug}/items"
    assert f'data-kind="draft" data-id="{draft["id"]}"' in (await console.get(items)).text
    head = await head_seq(public, slug)
    async with Subscriber(database_server, slug) as reader:
        await hello_of(reader)
        # Time is what is tested here: the entry must carry the time it was published, not the
        # draft's, so the two must be told apart by well over the 0.5 s allowed below.
        await asyncio.sleep(1.0)
        before = datetime.now(UTC)
        response = await console.post(f"/console/liveblogs/{slug}/drafts/{draft['id']}/publish")
        after = datetime.now(UTC)
        assert response.status_code == 201, response.text
        entry = response.json()
        assert entry["seq"] == head + 1
        # A later event on the liveblog: a duplicate create would have come before it.
        assert await marker(newsroom_api, reader, slug) == head + 2
        assert [(e["type"], e["seq"]) for e in reader.events] == [
            ("entry.created", head + 1),
            ("liveblog.updated", head + 2),
        ]
    sent = reader.events[0]["entry"]
    assert sent["id"] == entry["id"] and "source" not in sent
    assert (sent["title"], sent["author"], sent["key_event"]) == (
        "Ferry docks",
        "Harbour desk",
        True,
    )
    assert "<strong>Ferry docks</strong>" in sent["body"]
    created = parse_time(sent["created_at"])
    assert before - timedelta(seconds=0.5) <= created <= after + timedelta(seconds=0.5)
    assert created - parse_time(draft["created_at"]) >= timedelta(seconds=0.9)

    assert await head_seq(public, slug) == head + 2  # the entry, then the marker
    assert [e["id"] for e in await entries_of(public, slug)] == [entry["id"], earlier.json()["id"]]
    listed = (await console.get(items)).text
    assert f'data-kind="draft" data-id="{draft["id"]}"' not in listed
    assert f'data-kind="entry" data-id="{entry["id"]}"' in listed
    problem(await read(console, f"/console/liveblogs/{slug}/drafts/{draft['id']}"), 404)


async def test_a_draft_pressed_twice_is_published_once(
    database_server: LiveServer,
    console: ConsoleClient,
    public: httpx.AsyncClient,
    newsroom_api: httpx.AsyncClient,
) -> None:
    """Two concurrent publishes, then a click with a new key: one entry, 409s; the key replays."""
    slug = await console_liveblog(console)
    draft = await save_draft(console, slug, "Vote count")
    path = f"/console/liveblogs/{slug}/drafts/{draft['id']}/publish"
    head = await head_seq(public, slug)
    async with Subscriber(database_server, slug) as reader:
        await hello_of(reader)
        keys = [key(), key()]
        pressed = await asyncio.gather(*(console.post(path, headers=k) for k in keys))
        assert sorted(r.status_code for r in pressed) == [201, 409], [r.text for r in pressed]
        won = next(n for n, r in enumerate(pressed) if r.status_code == 201)
        entry = pressed[won].json()
        problem(pressed[1 - won], 409)

        problem(await console.post(path, headers=key()), 409)  # a second click, later
        problem(await console.post(path), 409)  # and one without a key

        replay = await console.post(path, headers=keys[won])
        assert replay.status_code == 201 and replay.json() == entry, replay.text
        assert replay.headers.get(REPLAYED) == "true"
        loser_again = await console.post(path, headers=keys[1 - won])
        assert problem(loser_again, 409) == pressed[1 - won].json()

        # Every press has been answered; a later event proves any create they made is in.
        assert await marker(newsroom_api, reader, slug) == head + 2
        assert [(e["type"], e["seq"]) for e in reader.events] == [
            ("entry.created", head + 1),
            ("liveblog.updated", head + 2),
        ]
        assert reader.events[0]["entry"]["id"] == entry["id"]
    assert [e["id"] for e in await entries_of(public, slug)] == [entry["id"]]
    assert await head_seq(public, slug) == head + 2  # the entry, then the marker


async def test_a_draft_published_twice_at_once_with_one_key_makes_one_entry(
    database_server: LiveServer, console: ConsoleClient, public: httpx.AsyncClient
) -> None:
    """The same Idempotency-Key on two concurrent draft publishes: both 201, one entry."""
    slug = await console_liveblog(console)
    draft = await save_draft(console, slug, "Double press")
    path = f"/console/liveblogs/{slug}/drafts/{draft['id']}/publish"
    same = key()
    first, second = await asyncio.gather(
        console.post(path, headers=same), console.post(path, headers=same)
    )
    assert (first.status_code, second.status_code) == (201, 201), (first.text, second.text)
    assert first.json() == second.json()
    assert sorted(r.headers.get(REPLAYED, "") for r in (first, second)) == ["", "true"]
    assert [e["id"] for e in await entries_of(public, slug)] == [first.json()["id"]]


async def test_publish_pressed_twice_at_once_makes_one_entry(
    database_server: LiveServer,
    console: ConsoleClient,
    public: httpx.AsyncClient,
    newsroom_api: httpx.AsyncClient,
) -> None:
    """Publish (a new entry) pressed twice at once with one Idempotency-Key: one entry."""
    slug = await console_liveblog(console)
    head = await head_seq(public, slug)
    async with Subscriber(database_server, slug) as reader:
        await hello_of(reader)
        same = key()
        path = f"/console/liveblogs/{slug}/entries"
        pressed = await asyncio.gather(
            *(console.post(path, compose("Goal!"), headers=same) for _ in range(3))
        )
        assert [r.status_code for r in pressed] == [201, 201, 201], [r.text for r in pressed]
        assert len({r.json()["id"] for r in pressed}) == 1
        assert sum(r.headers.get(REPLAYED) == "true" for r in pressed) == 2
        # Every press has been answered; a later event proves any create they made is in.
        assert await marker(newsroom_api, reader, slug) == head + 2
        assert [(e["type"], e["seq"]) for e in reader.events] == [
            ("entry.created", head + 1),
            ("liveblog.updated", head + 2),
        ]
    assert [e["title"] for e in await entries_of(public, slug)] == ["Goal!"]
    assert await head_seq(public, slug) == head + 2  # the entry, then the marker


async def test_editing_a_draft_with_a_stale_if_match_is_412_with_current(
    console: ConsoleClient,
) -> None:
    """A draft saved with an If-Match someone else's save made stale: 412 showing the current."""
    slug = await console_liveblog(console)
    draft = await save_draft(console, slug, "First words")
    path = f"/console/liveblogs/{slug}/drafts/{draft['id']}"
    theirs = await console.patch(path, compose("Their words"), {"If-Match": '"1"'})
    assert theirs.status_code == 200 and theirs.json()["version"] == 2, theirs.text

    mine = await console.patch(path, compose("My words"), {"If-Match": '"1"'})
    body = problem(mine, 412)
    assert mine.headers["etag"] == '"2"'
    assert body["current_version"] == 2
    assert body["current"]["title"] == "Their words" and body["current"]["version"] == 2
    assert body["current"]["id"] == draft["id"]
    stored = (await read(console, path)).json()
    assert (stored["title"], stored["version"]) == ("Their words", 2)

    retried = await console.patch(path, compose("My words"), {"If-Match": '"2"'})
    assert retried.status_code == 200 and retried.json()["title"] == "My words", retried.text


async def test_concurrent_saves_of_a_draft_with_one_if_match_let_exactly_one_win(
    console: ConsoleClient,
) -> None:
    """Five saves of one draft version at once: one 200, four 412, no lost update."""
    slug = await console_liveblog(console)
    draft = await save_draft(console, slug, "Shared draft")
    path = f"/console/liveblogs/{slug}/drafts/{draft['id']}"
    saves = await asyncio.gather(
        *(console.patch(path, compose(f"Version {n}"), {"If-Match": '"1"'}) for n in range(5))
    )
    statuses = [r.status_code for r in saves]
    assert sorted(statuses) == [200, 412, 412, 412, 412], [r.text for r in saves]
    winner = saves[statuses.index(200)].json()
    stored = (await read(console, path)).json()
    assert (stored["title"], stored["version"]) == (winner["title"], 2)


async def test_a_save_racing_a_publish_is_never_lost(
    console: ConsoleClient, public: httpx.AsyncClient
) -> None:
    """A save racing a publish lands in the entry or is refused (404), never silently lost."""
    slug = await console_liveblog(console)
    for attempt in range(4):
        draft = await save_draft(console, slug, f"Take {attempt}")
        path = f"/console/liveblogs/{slug}/drafts/{draft['id']}"
        saved, published = await asyncio.gather(
            console.patch(path, compose(f"Take {attempt}, revised")),
            console.post(f"{path}/publish"),
        )
        assert published.status_code == 201, published.text
        entry = (await public.get(f"/api/liveblogs/{slug}/entries/{published.json()['id']}")).json()
        if saved.status_code == 200:
            assert entry["title"] == f"Take {attempt}, revised", (attempt, saved.json(), entry)
        else:
            problem(saved, 404)
            assert entry["title"] == f"Take {attempt}"


async def test_a_correction_made_in_the_console_reaches_readers_and_rest(
    database_server: LiveServer, console: ConsoleClient, public: httpx.AsyncClient
) -> None:
    """A console correction reaches readers (entry.updated), REST and the page; null removes it."""
    slug = await console_liveblog(console)
    published = await console.post(f"/console/liveblogs/{slug}/entries", compose("Turnout"))
    assert published.status_code == 201, published.text
    entry = published.json()
    assert entry["correction"] is None
    path = f"/console/liveblogs/{slug}/entries/{entry['id']}"
    text = "An earlier version gave turnout as 71% & rising; it was 61%."
    async with Subscriber(database_server, slug) as reader:
        hello = await hello_of(reader)
        corrected = await console.patch(
            path, compose("Turnout", correction=text), {"If-Match": '"1"'}
        )
        assert corrected.status_code == 200 and corrected.json()["correction"] == text
        await reader.wait_for_seq(hello["seq"] + 1)
        update = reader.events[-1]
        assert (update["type"], update["entry"]["id"]) == ("entry.updated", entry["id"])
        assert update["entry"]["correction"] == text
        rest = (await public.get(f"/api/liveblogs/{slug}/entries/{entry['id']}")).json()
        assert rest["correction"] == text and rest["body"] == entry["body"]
        page = (await public.get(f"/liveblogs/{slug}")).text
        shown = f'<p class="entry__correction"><strong>Correction:</strong> {escape(text, False)}'
        assert shown in page

        removed = await console.patch(
            path, compose("Turnout", correction=None), {"If-Match": '"2"'}
        )
        assert removed.status_code == 200 and removed.json()["correction"] is None
        await reader.wait_for_seq(hello["seq"] + 2)
        assert [(e["type"], e["entry"]["correction"]) for e in reader.events] == [
            ("entry.updated", text),
            ("entry.updated", None),
        ]
    rest = (await public.get(f"/api/liveblogs/{slug}/entries/{entry['id']}")).json()
    assert rest["correction"] is None
    assert "entry__correction" not in (await public.get(f"/liveblogs/{slug}")).text
