"""Roles in the console, on SQLite and PostgreSQL: what a contributor, an editor and an admin may
do, what each sees, and that every console write is attributed to its user in the revisions.

One server per database for the whole module (`database_server`); each test works in its own
liveblog, and the users are made once.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.harness import (
    PASSWORD,
    ConsoleClient,
    LiveServer,
    api_client,
    create_user,
    problem,
    unique_username,
)

_slugs = itertools.count(1)
EDITOR_NAME = "Edna Editor"
FIRST_NAME = "Cole Contributor"
SECOND_NAME = "Cleo Contributor"


@dataclass
class Staff:
    admin: ConsoleClient
    editor: ConsoleClient
    first: ConsoleClient  # a contributor
    second: ConsoleClient  # another contributor
    editor_id: int
    first_id: int


@pytest.fixture(scope="module")
async def staff(database_server: LiveServer) -> AsyncIterator[Staff]:
    """An admin (from the CLI), who makes an editor and two contributors; all signed in."""
    server = database_server
    admin_name = await asyncio.to_thread(create_user, server, "admin", display_name="Ada Admin")
    clients = [ConsoleClient(server) for _ in range(4)]
    admin, editor, first, second = clients
    try:
        assert (await admin.sign_in(admin_name)).status_code == 303
        for client, role, name in (
            (editor, "editor", EDITOR_NAME),
            (first, "contributor", FIRST_NAME),
            (second, "contributor", SECOND_NAME),
        ):
            username = unique_username(role)
            made = await admin.post(
                "/console/users",
                {"username": username, "display_name": name, "role": role, "password": PASSWORD},
            )
            assert made.status_code == 201, made.text
            assert (await client.sign_in(username)).status_code == 303
        # Their ids, as drafts name their authors.
        slug = await new_liveblog(editor)
        ids = []
        for client in (editor, first):
            draft = await save_draft(client, slug, "Whoami")
            ids.append(draft["created_by"]["id"])
            assert (
                await client.delete(f"/console/liveblogs/{slug}/drafts/{draft['id']}")
            ).status_code == 204
        yield Staff(admin, editor, first, second, ids[0], ids[1])
    finally:
        for client in clients:
            await client.http.aclose()


@pytest.fixture
async def admin_api(
    database_server: LiveServer, database_token: str
) -> AsyncIterator[httpx.AsyncClient]:
    """The token API with an admin token: revisions are for the newsroom, not readers."""
    async with api_client(database_server, database_token) as client:
        yield client


async def new_liveblog(editor: ConsoleClient) -> str:
    slug = f"roles-{next(_slugs)}-{uuid.uuid4().hex[:6]}"
    made = await editor.post("/console/liveblogs", {"title": f"Roles {slug}", "slug": slug})
    assert made.status_code == 201, made.text
    assert made.json()["console"] == f"/console/liveblogs/{slug}"
    return slug


async def save_draft(client: ConsoleClient, slug: str, title: str, **fields: Any) -> dict[str, Any]:
    made = await client.post(
        f"/console/liveblogs/{slug}/drafts",
        {"title": title, "source": f"{title}, in *Markdown*.", **fields},
    )
    assert made.status_code == 201, made.text
    draft: dict[str, Any] = made.json()
    return draft


async def entries(server: LiveServer, slug: str) -> dict[str, Any]:
    """The public entries list: {"seq": head, "entries": [...]}."""
    async with api_client(server) as reader:
        listed = await reader.get(f"/api/liveblogs/{slug}/entries", params={"limit": 100})
    assert listed.status_code == 200, listed.text
    body: dict[str, Any] = listed.json()
    return body


async def revisions(api: httpx.AsyncClient, slug: str, entry_id: int) -> list[dict[str, Any]]:
    listed = await api.get(f"/api/liveblogs/{slug}/entries/{entry_id}/revisions")
    assert listed.status_code == 200, listed.text
    found: list[dict[str, Any]] = listed.json()["revisions"]
    return found


async def read(client: ConsoleClient, path: str) -> httpx.Response:
    """A console JSON read as console.js makes it: a same-origin GET (browsers send no Origin
    there, but Sec-Fetch-Site) with the session's token."""
    headers = {"Sec-Fetch-Site": "same-origin", "X-CSRF-Token": client.csrf}
    return await client.http.get(path, headers=headers)


def needs(response: httpx.Response, role: str) -> None:
    """A 403 problem naming the role the action needs."""
    assert problem(response, 403).get("required_role") == role, response.text


def in_future(minutes: int = 30) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


def titles(fragment: str) -> set[str]:
    """The titles of the items in a workspace list fragment."""
    return {html.unescape(t) for t in re.findall(r'class="item__title"[^>]*>([^<]*)<', fragment)}


# Contributors ----------------------------------------------------------------------------------


async def test_contributor_cannot_publish_create_schedule_or_edit_entries(
    database_server: LiveServer, staff: Staff
) -> None:
    """A contributor cannot publish, make liveblogs, schedule or edit entries: 403, role editor."""
    slug = await new_liveblog(staff.editor)
    published = await staff.editor.post(
        f"/console/liveblogs/{slug}/entries", {"source": "Editor's"}
    )
    assert published.status_code == 201, published.text
    entry = published.json()
    before = await entries(database_server, slug)
    contributor, base = staff.first, f"/console/liveblogs/{slug}"
    own = await save_draft(contributor, slug, "Mine")

    needs(await contributor.post(f"{base}/entries", {"title": "Sneaky", "source": "x"}), "editor")
    other = f"roles-sneaky-{uuid.uuid4().hex[:6]}"
    needs(
        await contributor.post("/console/liveblogs", {"title": "Sneaky", "slug": other}), "editor"
    )
    needs(
        await contributor.post(
            f"{base}/drafts",
            {"title": "Later", "source": "x", "state": "scheduled", "publish_at": in_future()},
        ),
        "editor",
    )
    draft_path = f"{base}/drafts/{own['id']}"
    needs(await contributor.post(f"{draft_path}/schedule", {"publish_at": in_future()}), "editor")
    needs(await contributor.post(f"{draft_path}/publish"), "editor")
    entry_path = f"{base}/entries/{entry['id']}"
    needs(
        await contributor.patch(entry_path, {"source": "rewritten", "correction": "no"}), "editor"
    )
    needs(await contributor.post(f"{entry_path}/flags", {"pinned": True}), "editor")
    needs(await contributor.delete(entry_path), "editor")
    needs(await contributor.post(f"{base}/end"), "editor")

    assert await entries(database_server, slug) == before
    async with api_client(database_server) as reader:
        assert (await reader.get(f"/api/liveblogs/{other}")).status_code == 404
        assert (await reader.get(f"/api/liveblogs/{slug}")).json()["status"] == "live"
    mine = await read(contributor, draft_path)
    assert mine.json()["state"] == "draft" and mine.json()["publish_at"] is None


async def test_contributor_cannot_see_or_touch_anothers_draft(staff: Staff) -> None:
    """A contributor cannot see (GET, list) or change (edit, submit, delete) another's draft."""
    slug = await new_liveblog(staff.editor)
    draft = await save_draft(staff.first, slug, "First's scoop")
    path = f"/console/liveblogs/{slug}/drafts/{draft['id']}"
    problem(await read(staff.second, path), 404)
    # Another's draft does not exist for a contributor: no write learns otherwise.
    problem(await staff.second.patch(path, {"title": "Mine now", "source": "stolen"}), 404)
    problem(await staff.second.post(f"{path}/submit"), 404)
    problem(await staff.second.delete(path), 404)
    second_own = await save_draft(staff.second, slug, "Second's own")

    items = f"/console/liveblogs/{slug}/items"
    seen = {
        name: titles((await client.get(items)).text)
        for name, client in (
            ("first", staff.first),
            ("second", staff.second),
            ("editor", staff.editor),
        )
    }
    assert seen["second"] == {"Second's own"}, seen
    assert seen["first"] == {"First's scoop"}, seen
    assert seen["editor"] == {"First's scoop", "Second's own"}, seen
    workspace = await staff.second.get(f"/console/liveblogs/{slug}")
    assert workspace.status_code == 200 and "scoop" not in html.unescape(workspace.text)

    unchanged = await read(staff.first, path)
    assert unchanged.status_code == 200
    assert (
        unchanged.json()["title"] == "First's scoop"
        and unchanged.json()["version"] == draft["version"]
    )
    assert second_own["created_by"]["name"] == SECOND_NAME


async def test_contributor_loses_their_draft_once_an_editor_schedules_it(staff: Staff) -> None:
    """Once an editor schedules a contributor's draft, its author may see it but not change it."""
    slug = await new_liveblog(staff.editor)
    draft = await save_draft(staff.first, slug, "Embargoed")
    path = f"/console/liveblogs/{slug}/drafts/{draft['id']}"
    scheduled = await staff.editor.post(f"{path}/schedule", {"publish_at": in_future()})
    assert scheduled.status_code == 200 and scheduled.json()["state"] == "scheduled"
    seen = await read(staff.first, path)  # still theirs to see, in their list too
    assert seen.status_code == 200 and seen.json()["state"] == "scheduled"
    needs(await staff.first.patch(path, {"title": "Embargoed", "source": "changed"}), "editor")
    needs(await staff.first.delete(path), "editor")
    assert (await read(staff.editor, path)).json()["source"] == "Embargoed, in *Markdown*."


# Review and publishing -------------------------------------------------------------------------


async def test_contributor_submits_a_draft_and_an_editor_publishes_it(
    database_server: LiveServer, staff: Staff, admin_api: httpx.AsyncClient
) -> None:
    """A contributor's submitted draft, published by an editor, is the next entry, by the editor."""
    slug = await new_liveblog(staff.editor)
    first = await staff.editor.post(f"/console/liveblogs/{slug}/entries", {"source": "Opening"})
    assert first.status_code == 201
    draft = await save_draft(staff.first, slug, "Scoop")
    assert draft["state"] == "draft" and draft["entry_id"] is None
    assert draft["created_by"] == {"id": staff.first_id, "name": FIRST_NAME}
    path = f"/console/liveblogs/{slug}/drafts/{draft['id']}"
    edited = await staff.first.patch(
        path,
        {"title": "Scoop", "source": "The **council** resigned."},
        headers={"If-Match": f'"{draft["version"]}"'},
    )
    assert edited.status_code == 200, edited.text
    submitted = await staff.first.post(f"{path}/submit")
    assert submitted.status_code == 200 and submitted.json()["state"] == "review"
    head = (await entries(database_server, slug))["seq"]

    key = {"Idempotency-Key": f"publish-{uuid.uuid4()}"}
    published = await staff.editor.post(f"{path}/publish", headers=key)
    assert published.status_code == 201, published.text
    entry = published.json()
    assert entry["seq"] == head + 1 and entry["title"] == "Scoop"
    assert entry["author"] == FIRST_NAME
    assert "<strong>council</strong>" in entry["body"]
    again = await staff.editor.post(f"{path}/publish", headers=key)  # a double press
    assert again.status_code == 201 and again.json()["id"] == entry["id"]

    listed = await entries(database_server, slug)
    assert listed["seq"] == head + 1
    assert [e["id"] for e in listed["entries"] if e["title"] == "Scoop"] == [entry["id"]]
    history = await revisions(admin_api, slug, entry["id"])
    assert [r["kind"] for r in history] == ["created"], history
    assert history[0]["by"] == {"type": "user", "id": staff.editor_id, "name": EDITOR_NAME}
    problem(await read(staff.first, path), 404)  # a published draft is an entry now
    for client in (staff.first, staff.editor):
        fragment = (await client.get(f"/console/liveblogs/{slug}/items")).text
        assert 'data-kind="draft"' not in fragment and "Scoop" in titles(fragment)


async def test_editor_returns_a_draft_in_review_with_a_note(staff: Staff) -> None:
    """An editor returns a draft in review with a note its contributor sees, then resubmits."""
    slug = await new_liveblog(staff.editor)
    draft = await save_draft(staff.first, slug, "Rough")
    path = f"/console/liveblogs/{slug}/drafts/{draft['id']}"
    problem(await staff.editor.post(f"{path}/return", {"note": "Too early"}), 409)
    assert (await staff.first.post(f"{path}/submit")).json()["state"] == "review"
    needs(await staff.first.post(f"{path}/return", {"note": "self-serve"}), "editor")

    returned = await staff.editor.post(f"{path}/return", {"note": "Needs a second source"})
    assert returned.status_code == 200, returned.text
    assert (
        returned.json()["state"] == "draft" and returned.json()["note"] == "Needs a second source"
    )
    assert returned.json()["updated_by"] == {"id": staff.editor_id, "name": EDITOR_NAME}
    seen = await read(staff.first, path)
    assert seen.json()["note"] == "Needs a second source"
    fragment = (await staff.first.get(f"/console/liveblogs/{slug}/items")).text
    assert "Editor's note: Needs a second source" in html.unescape(fragment)
    resubmitted = await staff.first.post(f"{path}/submit")
    assert resubmitted.json()["state"] == "review" and resubmitted.json()["note"] is None


# Users -----------------------------------------------------------------------------------------


async def test_admin_creates_and_disables_users_and_editors_cannot(
    database_server: LiveServer, staff: Staff
) -> None:
    """An admin creates and disables users in the console; an editor gets 403 for all of it."""
    username = unique_username("hire")
    body = {
        "username": username,
        "display_name": "New Hire",
        "role": "contributor",
        "password": PASSWORD,
    }
    needs(await staff.editor.post("/console/users", body), "admin")
    page = await staff.editor.get("/console/users")
    assert page.status_code == 403 and username not in page.text

    made = await staff.admin.post("/console/users", body)
    assert made.status_code == 201 and made.json() == {
        "username": username,
        "display_name": "New Hire",
    }
    problem(await staff.admin.post("/console/users", body), 409)
    weak = await staff.admin.post(
        "/console/users", {**body, "username": unique_username("weak"), "password": "short"}
    )
    problem(weak, 422)
    listing = await staff.admin.get("/console/users")
    assert listing.status_code == 200 and username in listing.text and "New Hire" in listing.text

    async with ConsoleClient(database_server) as hire:
        assert (await hire.sign_in(username)).status_code == 303
        assert (await hire.get("/console/users")).status_code == 403
        needs(await staff.editor.post(f"/console/users/{username}/disable"), "admin")
        assert (await hire.get("/console")).text.count("New Hire") >= 1

        disabled = await staff.admin.post(f"/console/users/{username}/disable")
        assert disabled.status_code == 200 and disabled.json() == {
            "username": username,
            "disabled": True,
        }
        gone = await hire.get("/console/liveblogs/anything")
        assert gone.status_code == 303
        assert (await hire.sign_in(username)).status_code == 401
    listing = await staff.admin.get("/console/users")
    row = re.search(rf"<td>{re.escape(username)}</td>.*?</tr>", listing.text, re.S)
    assert row and "Disabled" in row.group(0)


async def test_an_admin_cannot_disable_their_own_account(database_server: LiveServer) -> None:
    """Disabling yourself (in any case) is refused with 422 and leaves you signed in."""
    name = await asyncio.to_thread(create_user, database_server, "admin")
    async with ConsoleClient(database_server) as admin:
        assert (await admin.sign_in(name)).status_code == 303
        for spelled in (name, name.upper()):
            problem(await admin.post(f"/console/users/{spelled}/disable"), 422)
        assert (await admin.get("/console/users")).status_code == 200


# Attribution -----------------------------------------------------------------------------------


async def test_every_console_write_is_attributed_to_its_user(
    staff: Staff, admin_api: httpx.AsyncClient
) -> None:
    """Each console write's revision names its user; a correction lists `correction` in fields."""
    slug = await new_liveblog(staff.editor)
    base = f"/console/liveblogs/{slug}/entries"
    made = await staff.editor.post(base, {"title": "Result", "source": "Turnout was 40%."})
    assert made.status_code == 201, made.text
    entry = made.json()
    path = f"{base}/{entry['id']}"
    corrected = await staff.editor.patch(
        path,
        {
            "title": "Result",
            "source": "Turnout was 45%.",
            "correction": "Turnout was 45%, not 40%.",
        },
        headers={"If-Match": f'"{entry["version"]}"'},
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["correction"] == "Turnout was 45%, not 40%."
    pinned = await staff.editor.post(
        f"{path}/flags", {"pinned": True}, headers={"If-Match": f'"{corrected.json()["version"]}"'}
    )
    assert pinned.status_code == 200 and pinned.json()["pinned"] is True
    assert (await staff.editor.delete(path)).status_code == 200

    history = await revisions(admin_api, slug, entry["id"])
    assert [r["kind"] for r in history] == ["created", "updated", "updated", "deleted"], history
    editor = {"type": "user", "id": staff.editor_id, "name": EDITOR_NAME}
    assert all(r["by"] == editor for r in history), [r["by"] for r in history]
    assert "correction" in history[1]["fields"] and "body" in history[1]["fields"]
    assert history[1]["changes"]["correction"] == {
        "previous": None,
        "new": "Turnout was 45%, not 40%.",
    }
    assert history[2]["fields"] == ["pinned"]
