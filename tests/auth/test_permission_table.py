"""Who may do what, as one table run through both edges: each principal × action → the answer.

API tokens ask through the REST API, console users through the console; both reach the same
services, which decide (app/domain/policy.py). A cell is the status, and for a 403 what it names
as missing: the token's scope, its liveblogs, or the user's role. "—" marks an action the
principal's edge does not offer (the API has no drafts or users; the console does not purge).
Each test is one action across every principal, each in a fresh liveblog, on the session's
shared server.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.harness import (
    ConsoleClient,
    LiveServer,
    api_client,
    create_token,
    create_user,
    problem,
)
from tests.media.photos import encoded, photo

PRINCIPALS = (
    "admin token",
    "publish token",
    "token of another liveblog",
    "contributor",
    "editor",
    "admin",
)
TOKENS = PRINCIPALS[:3]

OK = "ok"
SCOPE = "403 scope"  # the token's scope lacks it (`required_scope`)
LIVEBLOG = "403 liveblog"  # the token was made for other liveblogs (`liveblog`)
ROLE = "403 role"  # the user's role lacks it (`required_role`)
GONE = "410"
OFF = "—"  # the principal's edge does not offer the action

# fmt: off
TABLE: dict[str, tuple[str, ...]] = {
    # action                 admin tok  publish    other lb    contributor  editor       admin
    "create liveblog":       (OK,       SCOPE,     SCOPE,      ROLE,        OK,          OK),
    "retitle liveblog":      (OK,       SCOPE,     SCOPE,      ROLE,        OK,          OK),
    "end liveblog":          (OK,       SCOPE,     SCOPE,      ROLE,        OK,          OK),
    "publish entry":         (OK,       OK,        LIVEBLOG,   ROLE,        OK,          OK),
    "edit entry":            (OK,       OK,        LIVEBLOG,   ROLE,        OK,          OK),
    "pin entry":             (OK,       OK,        LIVEBLOG,   ROLE,        OK,          OK),
    "delete entry":          (OK,       OK,        LIVEBLOG,   ROLE,        OK,          OK),
    "purge entry":           (OK,       SCOPE,     SCOPE,      OFF,         OFF,         OFF),
    "read revisions":        (OK,       OK,        LIVEBLOG,   OK,          OK,          OK),
    # The console answers a deleted entry 410 naming who deleted it, and shows no revisions.
    "read deleted entry's revisions":
                             (OK,       SCOPE,     LIVEBLOG,   GONE,        GONE,        GONE),
    "write draft":           (OFF,      OFF,       OFF,        OK,          OK,          OK),
    "schedule draft":        (OFF,      OFF,       OFF,        ROLE,        OK,          OK),
    "publish draft":         (OFF,      OFF,       OFF,        ROLE,        OK,          OK),
    "create user":           (OFF,      OFF,       OFF,        ROLE,        ROLE,        OK),
    # Media belongs to no liveblog: a token made for others may upload too.
    "upload photo":          (OK,       OK,        OK,         OK,          OK,          OK),
    "fetch link preview":    (OFF,      OFF,       OFF,        OK,          OK,          OK),
}
# fmt: on

_slugs = itertools.count(1)


@dataclass
class Caller:
    """A principal, and its way in: an API client (tokens) or a signed-in console (users)."""

    name: str
    api: httpx.AsyncClient | None = None
    console: ConsoleClient | None = None


@dataclass
class Place:
    """What an action works on: a fresh liveblog with one entry, made by the admin token."""

    slug: str
    entry: int


Request = Callable[[Caller, Place], Awaitable[httpx.Response]]


@pytest.fixture(scope="module")
async def callers(server: LiveServer, token: str) -> AsyncIterator[dict[str, Caller]]:
    """Every principal of the table, on the shared server; the limited token is made for a
    liveblog none of the tests works in."""
    other = f"elsewhere-{uuid.uuid4().hex[:8]}"
    async with api_client(server, token) as admin:
        made = await admin.post("/api/liveblogs", json={"slug": other, "title": "Elsewhere"})
        assert made.status_code == 201, made.text
    publish, limited = await asyncio.gather(
        asyncio.to_thread(create_token, server.data_dir, scope="publish"),
        asyncio.to_thread(create_token, server.data_dir, scope="publish", liveblogs=[other]),
    )
    callers = {
        "admin token": Caller("admin token", api=api_client(server, token)),
        "publish token": Caller("publish token", api=api_client(server, publish)),
        "token of another liveblog": Caller("limited", api=api_client(server, limited)),
    }
    for role in ("contributor", "editor", "admin"):
        username = await asyncio.to_thread(create_user, server, role)
        console = ConsoleClient(server)
        assert (await console.sign_in(username)).status_code == 303
        callers[role] = Caller(role, console=console)
    try:
        yield callers
    finally:
        for caller in callers.values():
            if caller.api is not None:
                await caller.api.aclose()
            if caller.console is not None:
                await caller.console.http.aclose()


async def new_place(admin: httpx.AsyncClient) -> Place:
    slug = f"perm-{next(_slugs)}-{uuid.uuid4().hex[:6]}"
    made = await admin.post("/api/liveblogs", json={"slug": slug, "title": "Permissions"})
    assert made.status_code == 201, made.text
    entry = await admin.post(f"/api/liveblogs/{slug}/entries", json={"body": "<p>First</p>"})
    assert entry.status_code == 201, entry.text
    return Place(slug, entry.json()["id"])


def in_an_hour() -> str:
    return (datetime.now(UTC) + timedelta(hours=1)).isoformat()


async def own_draft(console: ConsoleClient, place: Place) -> int:
    made = await console.post(f"/console/liveblogs/{place.slug}/drafts", {"source": "A draft"})
    assert made.status_code == 201, made.text
    draft_id: int = made.json()["id"]
    return draft_id


async def deleted(place: Place, admin: httpx.AsyncClient) -> Place:
    gone = await admin.delete(f"/api/liveblogs/{place.slug}/entries/{place.entry}")
    assert gone.status_code == 200, gone.text
    return place


def _api(caller: Caller) -> httpx.AsyncClient:
    assert caller.api is not None
    return caller.api


def _console(caller: Caller) -> ConsoleClient:
    assert caller.console is not None
    return caller.console


def entry_url(place: Place) -> str:
    return f"/liveblogs/{place.slug}/entries/{place.entry}"


# Each action as a token sends it to the API, and as a user sends it through the console.
API: dict[str, Request] = {
    "create liveblog": lambda c, p: _api(c).post(
        "/api/liveblogs", json={"slug": f"{p.slug}-new", "title": "New"}
    ),
    "retitle liveblog": lambda c, p: _api(c).patch(
        f"/api/liveblogs/{p.slug}", json={"title": "Retitled"}
    ),
    "end liveblog": lambda c, p: _api(c).patch(
        f"/api/liveblogs/{p.slug}", json={"status": "ended"}
    ),
    "publish entry": lambda c, p: _api(c).post(
        f"/api/liveblogs/{p.slug}/entries", json={"body": "<p>Second</p>"}
    ),
    "edit entry": lambda c, p: _api(c).patch(f"/api{entry_url(p)}", json={"title": "Edited"}),
    "pin entry": lambda c, p: _api(c).patch(f"/api{entry_url(p)}", json={"pinned": True}),
    "delete entry": lambda c, p: _api(c).delete(f"/api{entry_url(p)}"),
    "purge entry": lambda c, p: _api(c).delete(f"/api{entry_url(p)}", params={"purge": "true"}),
    "read revisions": lambda c, p: _api(c).get(f"/api{entry_url(p)}/revisions"),
    "read deleted entry's revisions": lambda c, p: _api(c).get(f"/api{entry_url(p)}/revisions"),
    "upload photo": lambda c, p: _api(c).post("/api/media", files={"file": ("p.png", _photo())}),
}


def _photo() -> bytes:
    """A new photo each time (its own bytes: never one already stored)."""
    return encoded(photo(64 + next(_slugs) % 500, 48), "PNG")


async def _upload_in_console(caller: Caller, place: Place) -> httpx.Response:
    console = _console(caller)
    return await console.http.post(
        "/console/media",
        files={"file": ("p.png", _photo())},
        headers={"Origin": console.origin, "X-CSRF-Token": console.csrf},
    )


async def _schedule(caller: Caller, place: Place) -> httpx.Response:
    console = _console(caller)
    draft = await own_draft(console, place)
    return await console.post(
        f"/console/liveblogs/{place.slug}/drafts/{draft}/schedule", {"publish_at": in_an_hour()}
    )


async def _publish_draft(caller: Caller, place: Place) -> httpx.Response:
    console = _console(caller)
    draft = await own_draft(console, place)
    return await console.post(f"/console/liveblogs/{place.slug}/drafts/{draft}/publish", {})


CONSOLE: dict[str, Request] = {
    "create liveblog": lambda c, p: _console(c).post(
        "/console/liveblogs", {"slug": f"{p.slug}-new", "title": "New"}
    ),
    "retitle liveblog": lambda c, p: _console(c).patch(
        f"/console/liveblogs/{p.slug}", {"title": "Retitled"}
    ),
    "end liveblog": lambda c, p: _console(c).post(f"/console/liveblogs/{p.slug}/end", {}),
    "publish entry": lambda c, p: _console(c).post(
        f"/console/liveblogs/{p.slug}/entries", {"source": "Second"}
    ),
    "edit entry": lambda c, p: _console(c).patch(f"/console{entry_url(p)}", {"source": "Edited"}),
    "pin entry": lambda c, p: _console(c).post(f"/console{entry_url(p)}/flags", {"pinned": True}),
    "delete entry": lambda c, p: _console(c).delete(f"/console{entry_url(p)}"),
    "read revisions": lambda c, p: _console(c).get(f"/console{entry_url(p)}"),
    "read deleted entry's revisions": lambda c, p: _console(c).get(f"/console{entry_url(p)}"),
    "write draft": lambda c, p: _console(c).post(
        f"/console/liveblogs/{p.slug}/drafts", {"source": "A draft"}
    ),
    "schedule draft": _schedule,
    "publish draft": _publish_draft,
    "upload photo": _upload_in_console,
    # A link to footage: answered without fetching anything (no site to reach from here).
    "fetch link preview": lambda c, p: _console(c).post(
        "/console/link-previews", {"url": "https://youtu.be/dQw4w9WgXcQ"}
    ),
    "create user": lambda c, p: _console(c).post(
        "/console/users",
        {"username": f"made{uuid.uuid4().hex[:10]}", "role": "contributor", "password": "x" * 16},
    ),
}


def assert_answer(response: httpx.Response, expected: str, who: str, action: str) -> None:
    where = f"{who} / {action}: {response.status_code} {response.text[:300]}"
    if expected == OK:
        assert response.status_code in (200, 201), where
    elif expected == GONE:
        problem(response, 410)
    else:
        body = problem(response, 403)
        member = {SCOPE: "required_scope", LIVEBLOG: "liveblog", ROLE: "required_role"}[expected]
        assert member in body, where


@pytest.mark.parametrize("action", list(TABLE))
async def test_who_may(action: str, callers: dict[str, Caller]) -> None:
    """Every principal asks for `action` in a liveblog of its own; each answer is the table's,
    and a refusal changed nothing (the liveblog's seq stands)."""
    admin = _api(callers["admin token"])
    for who, expected in zip(PRINCIPALS, TABLE[action], strict=True):
        if expected == OFF:
            edge = API if who in TOKENS else CONSOLE
            assert action not in edge, f"{who} / {action}: offered, but the table says not"
            continue
        place = await new_place(admin)
        if action == "read deleted entry's revisions":
            await deleted(place, admin)
        before = (await admin.get(f"/api/liveblogs/{place.slug}")).json()["seq"]
        send = (API if who in TOKENS else CONSOLE)[action]
        response = await send(callers[who], place)
        assert_answer(response, expected, who, action)
        if expected not in (OK, GONE):
            after = (await admin.get(f"/api/liveblogs/{place.slug}")).json()["seq"]
            assert after == before, f"{who} / {action}: refused, yet the liveblog changed"


@pytest.mark.parametrize("action", [a for a in API if TABLE[a][2] == LIVEBLOG])
async def test_a_token_learns_nothing_of_liveblogs_beyond_it(
    action: str, callers: dict[str, Caller]
) -> None:
    """A token made for other liveblogs gets the same refusal whether the liveblog exists."""
    limited = callers["token of another liveblog"]
    admin = _api(callers["admin token"])
    real = await new_place(admin)
    if action == "read deleted entry's revisions":
        await deleted(real, admin)
    missing = Place(f"{real.slug}-never-made", real.entry)
    answers: list[dict[str, Any]] = []
    for place in (real, missing):
        body = problem(await API[action](limited, place), 403)
        assert body["liveblog"] == place.slug, body
        answers.append({k: v for k, v in body.items() if k not in ("detail", "liveblog")})
    assert answers[0] == answers[1], answers


async def test_if_match_is_required_through_either_edge(
    isolated_server: Callable[..., LiveServer],
) -> None:
    """With LIVEBLOG_REQUIRE_IF_MATCH=true a change without If-Match is 428 whether a tool sends
    it or an editor's console does, and changes nothing; with it, it applies."""
    server = isolated_server(require_if_match="true")
    token, username = await asyncio.gather(
        asyncio.to_thread(create_token, server.data_dir, env=server.env),
        asyncio.to_thread(create_user, server, "editor"),
    )
    async with api_client(server, token) as admin, ConsoleClient(server) as console:
        assert (await console.sign_in(username)).status_code == 303
        place = await new_place(admin)
        url = entry_url(place)
        for refused in [
            await admin.patch(f"/api{url}", json={"title": "Edited"}),
            await admin.patch(f"/api/liveblogs/{place.slug}", json={"status": "ended"}),
            await console.patch(f"/console{url}", {"source": "Edited"}),
            await console.post(f"/console{url}/flags", {"pinned": True}),
            await console.delete(f"/console{url}"),
            await console.post(f"/console/liveblogs/{place.slug}/end", {}),
            await console.patch(f"/console/liveblogs/{place.slug}", {"title": "Retitled"}),
        ]:
            assert "if-match" in problem(refused, 428)["detail"].lower()
        assert (await admin.get(f"/api/liveblogs/{place.slug}")).json()["seq"] == 1
        edited = await console.patch(f"/console{url}", {"source": "Edited"}, {"If-Match": '"1"'})
        assert edited.status_code == 200, edited.text
        ended = await console.post(f"/console/liveblogs/{place.slug}/end", {}, {"If-Match": "*"})
        assert ended.status_code == 200 and ended.json()["status"] == "ended", ended.text
