"""Full-text search over published entries, on SQLite (FTS5) and PostgreSQL (tsvector): what
finds an entry, that the index follows every write path in its transaction (create, edit,
delete, purge, draft publishing, import, copy, migration backfill), and paging."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.broker.memory import MemoryBroker
from app.domain.drafts import DraftState
from app.domain.model import utcnow
from app.domain.principal import Principal, Scope
from app.services.entries import EntryService
from app.services.liveblogs import LiveblogService
from app.services.transfer import copy_database
from app.storage import drafts as draft_rows, migrate
from app.storage.db import Database
from tests.harness import LiveServer, api_client, cli
from tests.services import fresh_postgres_database

BY = Principal("token", 1, "tests", Scope.ADMIN, None)


@pytest.fixture
async def api(database_server: LiveServer, database_token: str) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(database_server, database_token) as client:
        yield client


async def new_liveblog(api: httpx.AsyncClient) -> str:
    slug = f"search-{uuid.uuid4().hex[:8]}"
    created = await api.post("/api/liveblogs", json={"slug": slug, "title": "Search"})
    assert created.status_code == 201, created.text
    return slug


async def post(api: httpx.AsyncClient, slug: str, body: str, title: str | None = None) -> int:
    posted = await api.post(f"/api/liveblogs/{slug}/entries", json={"title": title, "body": body})
    assert posted.status_code == 201, posted.text
    entry_id: int = posted.json()["id"]
    return entry_id


async def found(api: httpx.AsyncClient, slug: str, q: str, **params: Any) -> list[int]:
    """The ids the search finds, newest first (one page)."""
    response = await api.get(f"/api/liveblogs/{slug}/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return [entry["id"] for entry in response.json()["entries"]]


async def test_finds_entries_by_title_and_body_words_prefixes_and_without_accents(
    api: httpx.AsyncClient,
) -> None:
    """A title word, a body word, the start of a word, any case and accent; the body's text,
    not its markup; every word required; only this liveblog's entries."""
    slug, other = await new_liveblog(api), await new_liveblog(api)
    bridge = await post(
        api, slug, "<p>Crews are <strong>checking</strong> it.</p>", "Bridge closed"
    )
    evacuation = await post(
        api,
        slug,
        '<p>The <a href="https://example.org/plan">évacuation</a> of the Straße '
        "continues.</p><p>Hospitals</p>",
    )
    hindi = await post(api, slug, "<p>हिन्दी में समाचार</p>", "Ünïcödé")
    elsewhere = await post(api, other, "<p>The evacuation continues elsewhere.</p>")

    assert await found(api, slug, "bridge") == [bridge]  # title
    assert await found(api, slug, "CHECKING") == [bridge]  # body, any case
    assert await found(api, slug, "evac") == [evacuation]  # the start of a word
    assert await found(api, slug, "Évacuation") == [evacuation]  # accents either way
    assert await found(api, slug, "evacuation") == [evacuation]
    assert await found(api, slug, "unicode") == [hindi]
    assert await found(api, slug, "strasse") == [evacuation]  # casefolded
    assert await found(api, slug, "हिन्दी") == [hindi]  # combining marks stay in their word
    # "continues" and "hospitals" in separate paragraphs: both required, both found.
    assert await found(api, slug, "hospitals continues") == [evacuation]
    assert await found(api, slug, "hospitals bridge") == []
    # Markup and attributes are not text.
    for markup in ("strong", "href", "example", "noopener", "nofollow", "p"):
        assert await found(api, slug, markup) == [], markup
    # Only the last word is a prefix, and only from two letters on.
    assert await found(api, slug, "evac continues") == []
    assert await found(api, slug, "t") == []
    assert await found(api, other, "evacuation") == [elsewhere]
    assert await found(api, slug, "the") == [evacuation]  # "the" is a word like any other


async def test_the_index_follows_edits_deletions_and_purges(api: httpx.AsyncClient) -> None:
    slug = await new_liveblog(api)
    entries = f"/api/liveblogs/{slug}/entries"
    first = await post(api, slug, "<p>Flooding on the coast road.</p>", "Weather")
    second = await post(api, slug, "<p>Flooding downtown too.</p>")
    assert await found(api, slug, "flooding") == [second, first]

    edited = await api.patch(f"{entries}/{first}", json={"body": "<p>Landslide instead.</p>"})
    assert edited.status_code == 200
    assert await found(api, slug, "flooding") == [second]
    assert await found(api, slug, "landslide") == [first]
    assert await found(api, slug, "weather") == [first]  # the title was kept
    await api.patch(f"{entries}/{first}", json={"title": "Roads"})
    assert await found(api, slug, "weather") == [] and await found(api, slug, "roads") == [first]
    # A change that leaves the text alone leaves the entry found.
    await api.patch(f"{entries}/{first}", json={"pinned": True, "key_event": True})
    assert await found(api, slug, "landslide") == [first]

    assert (await api.delete(f"{entries}/{second}")).status_code == 200
    assert await found(api, slug, "flooding") == [] and await found(api, slug, "downtown") == []
    assert (await api.delete(f"{entries}/{first}", params={"purge": "true"})).status_code == 200
    assert await found(api, slug, "landslide") == [] and await found(api, slug, "roads") == []


async def test_pages_go_through_every_match_once_newest_first(api: httpx.AsyncClient) -> None:
    """25 matches among other entries, 10 a page: 10, 10, 5, no match twice or left out, and
    the same `before` cursor as the entry list."""
    slug = await new_liveblog(api)
    matching = []
    for n in range(25):
        matching.append(await post(api, slug, f"<p>Update {n} on the ceasefire talks.</p>"))
        if n % 3 == 0:
            await post(api, slug, f"<p>Unrelated note {n}.</p>")
    pages, before = [], None
    while True:
        params: dict[str, Any] = {"q": "ceasefire talk", "limit": 10}
        if before is not None:
            params["before"] = before
        page = (await api.get(f"/api/liveblogs/{slug}/search", params=params)).json()
        pages.append([entry["id"] for entry in page["entries"]])
        before = page["next_before"]
        if before is None:
            break
        assert before == page["entries"][-1]["seq"]  # created_seq: never edited here
    assert [len(ids) for ids in pages] == [10, 10, 5]
    assert [entry_id for ids in pages for entry_id in ids] == matching[::-1]


async def test_published_drafts_and_imported_entries_are_found(
    database_server: LiveServer, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    """An import writes every entry in one transaction: each is found at once."""
    slug = f"imported-{uuid.uuid4().hex[:8]}"
    document = {
        "format": "liveblog-export",
        "version": 1,
        "liveblog": {
            "slug": slug,
            "title": "Archive",
            "created_at": "2026-12-01T08:00:00Z",
            "updated_at": "2026-12-01T08:00:00Z",
        },
        "entries": [
            {
                "title": f"Part {n}",
                "body": f"<p>Archived report number {n} about the <em>referendum</em>.</p>",
                "created_at": "2026-12-01T08:00:00Z",
                "updated_at": "2026-12-01T08:00:00Z",
            }
            for n in range(3)
        ],
    }
    path = tmp_path / "archive.json"
    path.write_text(json.dumps(document))
    result = cli(
        database_server.data_dir, "import", str(path), "--while-serving", env=database_server.env
    )
    assert result.returncode == 0, result.stderr
    listed = (await api.get(f"/api/liveblogs/{slug}/entries")).json()["entries"]
    assert await found(api, slug, "referendum") == [entry["id"] for entry in listed]
    assert len(await found(api, slug, "part")) == 3


# Below: the storage functions directly, each on a fresh database of each kind.


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind, not migrated."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'liveblog.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


async def _sql(url: str, statement: str, **params: Any) -> list[tuple[Any, ...]]:
    db = Database(url)
    try:
        async with db.write() as conn:
            result = await conn.execute(text(statement), params)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        await db.dispose()


async def _search(url: str, slug: str, q: str) -> list[str | None]:
    """The titles the service finds, newest first."""
    db = Database(url)
    try:
        page = await EntryService(db, MemoryBroker(), max_body_bytes=65_536).search(slug, q)
        return [entry.title for entry in page.entries]
    finally:
        await db.dispose()


async def test_the_migration_indexes_existing_entries_and_goes_back_cleanly(
    database_url: str,
) -> None:
    """Entries from before migration 0007 are found once it has run (deleted ones are not);
    down to 0006 leaves no trace, and up again indexes them again."""
    await asyncio.to_thread(migrate.upgrade, database_url, "0006_epochs")
    await _sql(
        database_url,
        "INSERT INTO liveblogs (id, slug, title, description, status, head_seq, meta_seq, "
        "created_at, updated_at, version, epoch) VALUES (1, 'old', 'Old', '', 'live', 3, 0, "
        ":now, :now, 1, 'e')",
        now=utcnow(),
    )
    for seq, (title, body, deleted) in enumerate(
        [
            ("Première", "<p>Le <strong>pont</strong> est fermé.</p>", False),
            (None, "<p>Secret gone</p>", True),
            (None, "<p>Pont rouvert</p>", False),
        ],
        start=1,
    ):
        await _sql(
            database_url,
            "INSERT INTO entries (id, liveblog_id, seq, created_seq, title, body, pinned, "
            "key_event, created_at, updated_at, version, deleted) VALUES (:id, 1, :seq, :seq, "
            ":title, :body, false, false, :now, :now, 1, :deleted)",
            id=seq,
            seq=seq,
            title=title,
            body=body,
            deleted=deleted,
            now=utcnow(),
        )
    await asyncio.to_thread(migrate.upgrade, database_url)
    assert await _search(database_url, "old", "pont") == [None, "Première"]
    assert await _search(database_url, "old", "premiere ferme") == ["Première"]
    assert await _search(database_url, "old", "secret") == []

    await asyncio.to_thread(migrate.downgrade, database_url, "0006_epochs")
    leftovers = await _sql(
        database_url,
        "SELECT name FROM sqlite_master WHERE name LIKE 'entry_search%' OR type = 'trigger'"
        if database_url.startswith("sqlite")
        else "SELECT tablename FROM pg_tables WHERE tablename LIKE 'entry_search%'",
    )
    assert leftovers == []
    await asyncio.to_thread(migrate.upgrade, database_url)
    assert await _search(database_url, "old", "pont") == [None, "Première"]


async def test_entries_deleted_with_their_liveblog_leave_no_words(database_url: str) -> None:
    """The index holds no entry that is gone (a trigger on SQLite, a cascade on PostgreSQL),
    so an id used again is not found by the words of the entry that had it."""
    await asyncio.to_thread(migrate.upgrade, database_url)
    db = Database(database_url)
    try:
        await LiveblogService(db, MemoryBroker()).create(
            slug="gone", title="Gone", description="", by=BY
        )
        service = EntryService(db, MemoryBroker(), max_body_bytes=65_536)
        await service.create(
            "gone",
            title=None,
            body="<p>Vanishing words</p>",
            author=None,
            pinned=False,
            key_event=False,
            by=BY,
        )
        async with db.write() as conn:
            await conn.execute(text("DELETE FROM liveblogs WHERE slug = 'gone'"))
        async with db.snapshot() as conn:
            left = (await conn.execute(text("SELECT count(*) FROM entry_search"))).scalar_one()
        assert left == 0
    finally:
        await db.dispose()


async def test_a_published_draft_is_found(database_url: str) -> None:
    """Publishing a draft (by an editor, or the scheduler) creates its entry like any other."""
    await asyncio.to_thread(migrate.upgrade, database_url)
    db = Database(database_url)
    try:
        liveblog = await LiveblogService(db, MemoryBroker()).create(
            slug="drafts", title="Drafts", description="", by=BY
        )
        async with db.write() as conn:
            draft = await draft_rows.insert(
                conn,
                liveblog_id=liveblog.id,
                state=DraftState.SCHEDULED.value,
                title="Embargo",
                body="<p>Lifted at noon</p>",
                source=None,
                author=None,
                pinned=False,
                key_event=False,
                publish_at=None,
                created_by_id=1,
                created_by_name="Ed",
                updated_by_id=1,
                updated_by_name="Ed",
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        service = EntryService(db, MemoryBroker(), max_body_bytes=65_536)
        assert (await service.search("drafts", "lifted")).entries == []
        entry = await service.publish_draft(
            "drafts", draft.id, states=[DraftState.SCHEDULED], by=BY
        )
        assert [e.id for e in (await service.search("drafts", "lifted noon")).entries] == [entry.id]
    finally:
        await db.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def copy_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database to copy into, of each kind."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'target.db'}"
        migrate.upgrade(url)
        yield url
        return
    with fresh_postgres_database(request.getfixturevalue("postgres_admin_url")) as url:
        migrate.upgrade(url)
        yield url


@pytest.mark.slow
async def test_a_copy_is_searchable_and_a_second_copy_brings_its_index_up_to_date(
    tmp_path: Path, copy_target: str
) -> None:
    """`liveblog copy` copies the tables of models.py; the index is made from the copied
    entries in the same transactions, and a copy run again after edits and deletions follows
    them."""
    source_url = f"sqlite+aiosqlite:///{tmp_path / 'source.db'}"
    await asyncio.to_thread(migrate.upgrade, source_url)
    source, target = Database(source_url), Database(copy_target)
    try:
        await LiveblogService(source, MemoryBroker()).create(
            slug="moved", title="Moved", description="", by=BY
        )
        service = EntryService(source, MemoryBroker(), max_body_bytes=65_536)
        made = [
            await service.create(
                "moved",
                title=f"Report {n}",
                body=f"<p>Harbour news {n}</p>",
                author=None,
                pinned=False,
                key_event=False,
                by=BY,
            )
            for n in range(3)
        ]
        await copy_database(source, target)
        assert await _search(copy_target, "moved", "harbour") == [
            "Report 2",
            "Report 1",
            "Report 0",
        ]

        await service.update("moved", made[0].id, {"body": "<p>Airport news</p>"}, by=BY)
        await service.delete("moved", made[1].id, by=BY)
        await copy_database(source, target)
        assert await _search(copy_target, "moved", "harbour") == ["Report 2"]
        assert await _search(copy_target, "moved", "airport") == ["Report 0"]
    finally:
        await source.dispose()
        await target.dispose()
