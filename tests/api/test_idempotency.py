"""Idempotency-Key on POST: a retry (also in parallel, also after a crash) replays the stored
response and creates nothing; a reused key with another request is 422."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from app.services import idempotency
from tests.conftest import NewLiveblog
from tests.harness import LiveServer, api_client, create_token, on_database_of, problem

REPLAYED = "idempotent-replayed"


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"retry-{uuid.uuid4()}"}


def same_response(first: httpx.Response, second: httpx.Response) -> None:
    assert (second.status_code, second.json()) == (first.status_code, first.json())


async def entry_count(api: httpx.AsyncClient, slug: str) -> tuple[int, int]:
    """(entries listed, the liveblog's seq): both say how many entries were made."""
    page = (await api.get(f"/api/liveblogs/{slug}/entries", params={"limit": 100})).json()
    return len(page["entries"]), (await api.get(f"/api/liveblogs/{slug}")).json()["seq"]


async def liveblogs_named(api: httpx.AsyncClient, slug: str) -> int:
    listed = (await api.get("/api/liveblogs")).json()["liveblogs"]
    return sum(item["slug"] == slug for item in listed)


async def test_invalid_keys_are_400(api: httpx.AsyncClient, new_liveblog: NewLiveblog) -> None:
    """A key is 1 to 255 printable ASCII characters; anything else is 400 and writes nothing."""
    slug = await new_liveblog()
    invalid: list[str | bytes] = ["", "k" * 256, "tab\there", "caf\u00e9".encode()]
    for value in invalid:
        for path, payload in [
            (f"/api/liveblogs/{slug}/entries", {"body": "<p>x</p>"}),
            ("/api/liveblogs", {"slug": f"{slug}-bad-key", "title": "T"}),
        ]:
            response = await api.post(path, json=payload, headers={"Idempotency-Key": value})
            assert "idempotency" in problem(response, 400)["detail"].lower(), value
    assert await entry_count(api, slug) == (0, 0)
    assert (await api.get(f"/api/liveblogs/{slug}-bad-key")).status_code == 404

    longest = await api.post(
        f"/api/liveblogs/{slug}/entries",
        json={"body": "<p>x</p>"},
        headers={"Idempotency-Key": "a ~!" + "k" * 251},
    )
    assert longest.status_code == 201, longest.text


async def test_a_retry_replays_the_stored_response(
    database_server: LiveServer, database_token: str
) -> None:
    """The same POST with the same key returns the same status and body, marked replayed, and
    makes no second entry or liveblog."""
    slug = f"summit-{uuid.uuid4().hex[:8]}"
    async with api_client(database_server, database_token) as api:
        liveblog = {"slug": slug, "title": "Summit"}
        headers = key()
        first = await api.post("/api/liveblogs", json=liveblog, headers=headers)
        assert first.status_code == 201, first.text
        assert first.headers.get(REPLAYED) is None
        again = await api.post("/api/liveblogs", json=liveblog, headers=headers)
        same_response(first, again)
        assert again.headers[REPLAYED] == "true"

        entry = {"title": "Opening", "body": "<p>Leaders arrive.</p>"}
        headers = key()
        path = f"/api/liveblogs/{slug}/entries"
        posted = await api.post(path, json=entry, headers=headers)
        assert posted.status_code == 201, posted.text
        for _ in range(3):
            retried = await api.post(path, json=entry, headers=headers)
            same_response(posted, retried)
            assert retried.headers[REPLAYED] == "true"
        assert await entry_count(api, slug) == (1, 1)
        assert await liveblogs_named(api, slug) == 1


async def test_parallel_identical_posts_make_one_entry(
    database_server: LiveServer, database_token: str
) -> None:
    """Ten identical POSTs with one key at once: ten identical responses, one entry; the same
    for ten creating one liveblog (none of them sees 'slug taken')."""
    slug = f"storm-{uuid.uuid4().hex[:8]}"
    async with api_client(database_server, database_token) as api:

        async def ten(path: str, payload: dict[str, Any]) -> list[httpx.Response]:
            headers = key()
            return await asyncio.gather(
                *(api.post(path, json=payload, headers=headers) for _ in range(10))
            )

        made = await ten("/api/liveblogs", {"slug": slug, "title": "Storm"})
        assert [r.status_code for r in made] == [201] * 10, [r.text for r in made]
        assert all(r.json() == made[0].json() for r in made)
        assert sum(r.headers.get(REPLAYED) == "true" for r in made) == 9

        posted = await ten(f"/api/liveblogs/{slug}/entries", {"body": "<p>Landfall</p>"})
        assert [r.status_code for r in posted] == [201] * 10, [r.text for r in posted]
        assert all(r.json() == posted[0].json() for r in posted)
        assert sum(r.headers.get(REPLAYED) == "true" for r in posted) == 9
        assert await entry_count(api, slug) == (1, 1)
        assert await liveblogs_named(api, slug) == 1


async def test_same_key_with_another_request_is_422(
    api: httpx.AsyncClient, new_liveblog: NewLiveblog
) -> None:
    """A key reused with another body or path is 422 and creates nothing."""
    slug, other = await new_liveblog(), await new_liveblog()
    headers = key()
    path = f"/api/liveblogs/{slug}/entries"
    first = await api.post(path, json={"body": "<p>one</p>"}, headers=headers)
    assert first.status_code == 201, first.text
    other_body = await api.post(path, json={"body": "<p>two</p>"}, headers=headers)
    assert "idempotency" in problem(other_body, 422)["detail"].lower()
    other_path = await api.post(
        f"/api/liveblogs/{other}/entries", json={"body": "<p>one</p>"}, headers=headers
    )
    problem(other_path, 422)
    assert await entry_count(api, slug) == (1, 1)
    assert await entry_count(api, other) == (0, 0)

    headers = key()
    made = await api.post(
        "/api/liveblogs", json={"slug": f"{slug}-k", "title": "A"}, headers=headers
    )
    assert made.status_code == 201, made.text
    changed = await api.post(
        "/api/liveblogs", json={"slug": f"{slug}-k2", "title": "A"}, headers=headers
    )
    problem(changed, 422)
    assert (await api.get(f"/api/liveblogs/{slug}-k2")).status_code == 404


async def test_keys_belong_to_their_token(
    api: httpx.AsyncClient, server: LiveServer, new_liveblog: NewLiveblog
) -> None:
    """Another token's request with the same key is a new request, not a replay."""
    slug = await new_liveblog()
    headers = key()
    path = f"/api/liveblogs/{slug}/entries"
    mine = await api.post(path, json={"body": "<p>same</p>"}, headers=headers)
    async with api_client(server, create_token(server.data_dir, env=server.env)) as other:
        theirs = await other.post(path, json={"body": "<p>same</p>"}, headers=headers)
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert theirs.headers.get(REPLAYED) is None
    assert theirs.json()["id"] != mine.json()["id"]
    assert await entry_count(api, slug) == (2, 2)


async def test_a_4xx_response_is_stored_and_replayed(
    api: httpx.AsyncClient, new_liveblog: NewLiveblog
) -> None:
    """A final 4xx is stored too: the retry gets the same 404, even once the liveblog exists."""
    slug = f"later-{uuid.uuid4().hex[:8]}"
    headers = key()
    path = f"/api/liveblogs/{slug}/entries"
    first = await api.post(path, json={"body": "<p>early</p>"}, headers=headers)
    problem(first, 404)
    assert first.headers.get(REPLAYED) is None
    created = await api.post("/api/liveblogs", json={"slug": slug, "title": "Later"})
    assert created.status_code == 201, created.text
    again = await api.post(path, json={"body": "<p>early</p>"}, headers=headers)
    same_response(first, again)
    assert again.headers[REPLAYED] == "true"
    assert await entry_count(api, slug) == (0, 0)


@pytest.mark.slow
async def test_a_retry_after_a_crash_is_replayed(
    isolated_server: Callable[..., LiveServer], database: dict[str, str]
) -> None:
    """POST → 201, the server is SIGKILLed and restarted, the retry with the same key is
    replayed: the same body, still one entry."""
    server = isolated_server(**database, process=True)
    token = create_token(server.data_dir, env=server.env)
    headers = key()
    entry = {"title": "Before the crash", "body": "<p>Stored.</p>"}
    async with api_client(server, token) as api:
        made = await api.post("/api/liveblogs", json={"slug": "crash", "title": "Crash"})
        assert made.status_code == 201, made.text
        first = await api.post("/api/liveblogs/crash/entries", json=entry, headers=headers)
        assert first.status_code == 201, first.text
    server.kill()
    await asyncio.to_thread(server.start)
    async with api_client(server, token) as api:
        retried = await api.post("/api/liveblogs/crash/entries", json=entry, headers=headers)
        same_response(first, retried)
        assert retried.headers[REPLAYED] == "true"
        assert await entry_count(api, "crash") == (1, 1)


async def test_a_body_refused_by_the_sanitizer_is_stored_under_its_key(
    api: httpx.AsyncClient, new_liveblog: NewLiveblog
) -> None:
    """A refusal found before the write (the body is empty once sanitized) is kept like any
    4xx: the retry replays it, and the key cannot then be used for another body."""
    slug = await new_liveblog()
    headers, path = key(), f"/api/liveblogs/{slug}/entries"
    first = await api.post(path, json={"body": "<script>x()</script>"}, headers=headers)
    problem(first, 422)
    again = await api.post(path, json={"body": "<script>x()</script>"}, headers=headers)
    same_response(first, again)
    assert again.headers[REPLAYED] == "true"
    other = await api.post(path, json={"body": "<p>fine</p>"}, headers=headers)
    assert "different request" in problem(other, 422)["detail"]
    assert await entry_count(api, slug) == (0, 0)


async def test_a_purged_entry_is_not_replayed_nor_published_again(
    api: httpx.AsyncClient, new_liveblog: NewLiveblog
) -> None:
    """After a takedown (DELETE ?purge=true) the POST's stored response no longer holds the
    content: a retry of that POST gets 410 and publishes nothing."""
    slug = await new_liveblog()
    headers, path = key(), f"/api/liveblogs/{slug}/entries"
    secret = "<p>Home address of a witness</p>"
    posted = await api.post(path, json={"body": secret}, headers=headers)
    assert posted.status_code == 201
    purged = await api.delete(f"{path}/{posted.json()['id']}", params={"purge": "true"})
    assert purged.status_code == 200
    retry = await api.post(path, json={"body": secret}, headers=headers)
    assert retry.headers[REPLAYED] == "true"
    assert "erased" in problem(retry, 410)["detail"]
    assert "witness" not in retry.text
    assert await entry_count(api, slug) == (0, 2)


ENTRY = {"title": "Kept once", "body": "<p>Once.</p>"}


async def test_expired_keys_are_swept_in_batches(
    isolated_server: Callable[..., LiveServer],
    database: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The sweep deletes every expired key, a few to a transaction, and leaves the rest: a
    retry of a swept key is a new request, one of a kept key still a replay."""
    server = isolated_server(**database)
    async with api_client(server, create_token(server.data_dir, env=server.env)) as api:
        created = await api.post("/api/liveblogs", json={"slug": "swept", "title": "Swept"})
        assert created.status_code == 201, created.text
        keys = [key() for _ in range(5)]
        for headers in keys:
            posted = await api.post("/api/liveblogs/swept/entries", json=ENTRY, headers=headers)
            assert posted.status_code == 201, posted.text
        monkeypatch.setattr(idempotency, "SWEEP_BATCH", 2)  # 5 keys: three transactions

        def sweep(at: datetime) -> int:
            return on_database_of(server.env, lambda db: idempotency.delete_expired_keys(db, at))

        assert sweep(datetime.now(UTC)) == 0  # none has expired
        kept = await api.post("/api/liveblogs/swept/entries", json=ENTRY, headers=keys[0])
        assert kept.headers.get(REPLAYED) == "true"
        assert sweep(datetime.now(UTC) + timedelta(days=365)) == 5
        again = await api.post("/api/liveblogs/swept/entries", json=ENTRY, headers=keys[0])
        assert again.status_code == 201 and REPLAYED not in again.headers
        assert await entry_count(api, "swept") == (6, 6)
