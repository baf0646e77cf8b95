"""`liveblog copy`: an install moved from SQLite to PostgreSQL, served from there as before."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from tests.harness import (
    ConsoleClient,
    LiveServer,
    api_client,
    cli,
    create_token,
    create_user,
    writer,
)

pytestmark = pytest.mark.slow


def _without_epoch(document: Any) -> Any:
    """A REST answer with its epochs taken out (the copy gives the liveblogs new ones)."""
    if isinstance(document, dict):
        return {k: _without_epoch(v) for k, v in document.items() if k != "epoch"}
    if isinstance(document, list):
        return [_without_epoch(item) for item in document]
    return document


async def _what_readers_get(api: httpx.AsyncClient, slugs: list[str]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for slug in slugs:
        base = f"/api/liveblogs/{slug}"
        liveblog = (await api.get(base)).json()
        # With the epoch: a copy replaces it, and a bare `since` is not trusted after that.
        since = {"since": 0, "epoch": liveblog["epoch"], "limit": 100}
        seen[slug] = {
            "liveblog": liveblog,
            "page": (await api.get(f"{base}/entries", params={"limit": 3})).json(),
            "older": (await api.get(f"{base}/entries", params={"limit": 3, "before": 3})).json(),
            "since": (await api.get(f"{base}/entries", params=since)).json(),
            "pinned": (await api.get(f"{base}/entries", params={"pinned": "true"})).json(),
            "page_html": (await api.get(f"/liveblogs/{slug}")).status_code,
        }
    return seen


async def _story(api: httpx.AsyncClient, slug: str) -> None:
    """Entries with edits, a pin, a deletion and a correction: every kind of change."""
    await api.post("/api/liveblogs", json={"slug": slug, "title": f"Story {slug}"})
    url = f"/api/liveblogs/{slug}/entries"
    made = []
    for n in range(6):
        response = await api.post(
            url,
            json={"title": f"{slug} {n}", "body": f"<p>Entry {n} of {slug}.</p>"},
            headers={"Idempotency-Key": f"{slug}-{n}"},
        )
        made.append(response.json())
    await api.patch(f"{url}/{made[1]['id']}", json={"pinned": True})
    await api.patch(f"{url}/{made[2]['id']}", json={"title": "Fixed", "correction": "A typo."})
    await api.delete(f"{url}/{made[3]['id']}")
    await api.patch(f"/api/liveblogs/{slug}", json={"description": "What happened."})


async def _table_counts(url: str) -> dict[str, int]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            counts = {}
            for table in ("liveblogs", "entries", "revisions", "api_tokens", "users"):
                result = await conn.exec_driver_sql(f"SELECT count(*) FROM {table}")
                counts[table] = int(result.scalar_one())
            return counts
    finally:
        await engine.dispose()


async def test_copy_to_postgresql_then_serve_from_it(
    isolated_server: Callable[..., LiveServer], postgres_url: str, tmp_path: Path
) -> None:
    """Readers get the same entries, seqs and pages from PostgreSQL; tokens, users and
    idempotency keys came along; a POST after the copy takes the next seq and a new id."""
    sqlite_server = isolated_server()
    slugs = ["night", "day"]
    token = create_token(sqlite_server.data_dir, "newsroom")
    editor = create_user(sqlite_server, "editor")
    async with api_client(sqlite_server, token) as api:
        for slug in slugs:
            await _story(api, slug)
        before = await _what_readers_get(api, slugs)
    sqlite_server.stop()

    copied = cli(
        sqlite_server.data_dir, "copy", env={"LIVEBLOG_COPY_TO": postgres_url}
    )  # the URL from the environment, not argv
    assert copied.returncode == 0, copied.stderr
    assert "the row counts and the checksums of 2 liveblogs match" in copied.stdout
    assert "stop every server" in copied.stderr

    pg_server = isolated_server(database_url=postgres_url)
    async with api_client(pg_server, token) as api:  # the same token works there
        after = await _what_readers_get(api, slugs)
        assert _without_epoch(after) == _without_epoch(before)
        for slug in slugs:
            assert after[slug]["liveblog"]["epoch"] != before[slug]["liveblog"]["epoch"]
        replayed = await api.post(
            "/api/liveblogs/night/entries",
            json={"title": "night 0", "body": "<p>Entry 0 of night.</p>"},
            headers={"Idempotency-Key": "night-0"},
        )
        assert replayed.headers.get("idempotent-replayed") == "true"
        fresh = await api.post("/api/liveblogs/night/entries", json={"body": "<p>On PG.</p>"})
        assert fresh.status_code == 201, fresh.text
        head = before["night"]["liveblog"]["seq"]
        assert fresh.json()["seq"] == head + 1
        highest = max(e["id"] for s in slugs for e in before[s]["since"]["entries"])
        assert fresh.json()["id"] > highest
    async with ConsoleClient(pg_server) as console:  # the user came along, password and all
        signed_in = await console.sign_in(editor)
        assert signed_in.status_code == 303, signed_in.text


async def test_interrupted_copy_completes_and_foreign_targets_are_refused(
    isolated_server: Callable[..., LiveServer], postgres_url: str, tmp_path: Path
) -> None:
    """A target holding part of a copy is completed by running copy again, and follows a
    source whose history shrank since; a target holding another install's data is refused
    before anything is written."""
    server = isolated_server()
    async with writer(server) as api:
        await _story(api, "one")
    server.stop()
    env = {"LIVEBLOG_COPY_TO": postgres_url}
    assert cli(server.data_dir, "copy", env=env).returncode == 0
    complete = await _table_counts(postgres_url)

    # What a copy killed halfway leaves: the later tables partly written.
    engine = create_async_engine(postgres_url)
    async with engine.begin() as conn:
        await conn.exec_driver_sql("DELETE FROM revisions WHERE id > 3")
        await conn.exec_driver_sql("DELETE FROM entries WHERE id > 2")
    await engine.dispose()
    assert (await _table_counts(postgres_url))["entries"] == 2
    again = cli(server.data_dir, "copy", env=env)
    assert again.returncode == 0, again.stderr
    assert await _table_counts(postgres_url) == complete

    # The source's history shrinks between two runs (a legal takedown): the target follows.
    server.start()
    async with writer(server) as api:
        purged = await api.delete("/api/liveblogs/one/entries/3", params={"purge": "true"})
        assert purged.status_code == 200, purged.text
    server.stop()
    sqlite_url = f"sqlite+aiosqlite:///{server.data_dir / 'liveblog.db'}"
    after_purge = cli(server.data_dir, "copy", env=env)
    assert after_purge.returncode == 0, after_purge.stderr
    mirrored = await _table_counts(postgres_url)
    assert mirrored == await _table_counts(sqlite_url)
    assert mirrored["revisions"] < complete["revisions"]

    other = isolated_server()
    async with writer(other) as api:
        await _story(api, "another")
    other.stop()
    refused = cli(other.data_dir, "copy", env=env)
    assert refused.returncode == 1
    assert "not an earlier copy of this database" in refused.stderr
    assert "nothing was written" in refused.stderr
    assert await _table_counts(postgres_url) == mirrored


async def test_values_postgresql_cannot_store_are_reported_first(
    isolated_server: Callable[..., LiveServer], postgres_url: str
) -> None:
    """A NUL character (which the API refuses, but an old or hand-edited database may hold)
    is named with its table, row and column, and nothing is written."""
    server = isolated_server()
    async with writer(server) as api:
        await _story(api, "nul")
    server.stop()
    database = sqlite3.connect(server.data_dir / "liveblog.db")
    with database:
        database.execute("UPDATE entries SET title = ? WHERE id = 2", ("bad\x00title",))
    database.close()
    refused = cli(server.data_dir, "copy", "--to", postgres_url)
    assert refused.returncode == 1
    assert "entries id 2, title: holds a NUL character" in refused.stderr
    assert "nothing was written" in refused.stderr
    assert await _table_counts(postgres_url) == {
        "liveblogs": 0,
        "entries": 0,
        "revisions": 0,
        "api_tokens": 0,
        "users": 0,
    }
