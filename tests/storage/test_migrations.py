"""The same Alembic migrations on SQLite and PostgreSQL: up to head, down to base, up again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import inspect, make_url
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from app.storage import migrate
from tests.harness import LiveServer, writer

TABLES = {
    "liveblogs", "entries", "api_tokens", "revisions", "idempotency_keys",
    "users", "sessions", "drafts", "media", "media_files", "link_previews",
}  # fmt: skip
MEDIA_TABLES = {"media", "media_files", "link_previews"}  # migration 0010
CONSOLE_TABLES = {"users", "sessions", "drafts"}
# Migration 0007: an FTS5 table and the shadow tables it keeps its index in (SQLite), or a
# table of tsvectors (PostgreSQL).
SEARCH_TABLES = {
    "sqlite": {"entry_search", *(f"entry_search_{part}" for part in
               ("config", "content", "data", "docsize", "idx"))},
    "postgresql": {"entry_search"},
}  # fmt: skip
HEAD = "0010_media"


def schema(url: str) -> tuple[set[str], set[str], str | None]:
    """(tables, index names of entries, alembic revision) as the database reports them."""

    def read(connection: Connection) -> tuple[set[str], set[str], str | None]:
        inspector = inspect(connection)
        tables = set(inspector.get_table_names())
        indexes = (
            {i["name"] for i in inspector.get_indexes("entries")} if "entries" in tables else set()
        )
        revision = None
        if "alembic_version" in tables:
            revision = connection.exec_driver_sql(
                "SELECT version_num FROM alembic_version"
            ).scalar()
        return tables - {"alembic_version"}, indexes, revision

    async def run() -> tuple[set[str], set[str], str | None]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(read)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def columns(url: str, table: str) -> set[str]:
    async def run() -> set[str]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as connection:
                found = await connection.run_sync(lambda c: inspect(c).get_columns(table))
                return {column["name"] for column in found}
        finally:
            await engine.dispose()

    return asyncio.run(run())


def round_trip(url: str) -> None:
    search_tables = SEARCH_TABLES[make_url(url).get_backend_name()]
    migrate.upgrade(url)
    tables, indexes, revision = schema(url)
    assert tables == TABLES | search_tables
    assert {"ix_entries_pinned", "ix_entries_key_event"} <= indexes
    assert revision == HEAD

    migrate.downgrade(url, "0009_epoch_rotated_at")
    tables, indexes, revision = schema(url)
    assert (tables, revision) == ((TABLES - MEDIA_TABLES) | search_tables, "0009_epoch_rotated_at")
    before = TABLES - MEDIA_TABLES  # the older schemas have none of them

    assert "epoch_rotated_at" in columns(url, "liveblogs")
    migrate.downgrade(url, "0008_edited_at")
    assert schema(url) == (before | search_tables, indexes, "0008_edited_at")
    assert "epoch_rotated_at" not in columns(url, "liveblogs")

    migrate.downgrade(url, "0007_entry_search")
    assert schema(url) == (before | search_tables, indexes, "0007_entry_search")

    migrate.downgrade(url, "0006_epochs")
    assert schema(url) == (before, indexes, "0006_epochs")

    migrate.downgrade(url, "0005_console")
    assert schema(url) == (before, indexes, "0005_console")

    migrate.downgrade(url, "0004_bigint_ids")
    tables, indexes_before_console, revision = schema(url)
    assert tables == before - CONSOLE_TABLES
    assert revision == "0004_bigint_ids"

    migrate.downgrade(url, "0003_trust")
    assert schema(url) == (before - CONSOLE_TABLES, indexes_before_console, "0003_trust")

    migrate.downgrade(url, "0002_pinned_index_order")
    tables, _, revision = schema(url)
    assert tables == {"liveblogs", "entries", "api_tokens"}
    assert revision == "0002_pinned_index_order"

    migrate.downgrade(url, "0001_initial")
    assert schema(url)[2] == "0001_initial"

    migrate.downgrade(url, "base")
    tables, _, revision = schema(url)
    assert tables == set() and revision is None

    migrate.upgrade(url)
    assert schema(url)[0] == TABLES | search_tables


def test_migrations_round_trip_on_sqlite(tmp_path: Path) -> None:
    round_trip(f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}")


@pytest.mark.slow
def test_migrations_round_trip_on_postgresql(postgres_url: str) -> None:
    round_trip(postgres_url)


def test_trust_migration_keeps_tokens_that_shared_a_name(tmp_path: Path) -> None:
    """Names become unique: older holders of a shared name are renamed (around a name that is
    taken already), none is lost."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'names.db'}"
    migrate.upgrade(url, "0002_pinned_index_order")
    asyncio.run(
        _sql(
            url,
            "INSERT INTO api_tokens (name, token_hash, created_at) VALUES "
            "('cms', 'a', '2026-11-25 08:00:00'), ('cms', 'b', '2026-11-26 08:00:00'), "
            "('desk', 'c', '2026-11-26 08:00:00'), ('cms#1', 'd', '2026-11-27 08:00:00')",
        )
    )
    migrate.upgrade(url)
    rows = asyncio.run(_sql(url, "SELECT id, name, scope, revoked_at FROM api_tokens ORDER BY id"))
    assert rows == [
        (1, "cms#1-2", "admin", None),  # "cms#1" was somebody's name already
        (2, "cms", "admin", None),
        (3, "desk", "admin", None),
        (4, "cms#1", "admin", None),
    ]


def test_epochs_migration_gives_each_existing_liveblog_its_own(tmp_path: Path) -> None:
    """Liveblogs from before epochs each get a distinct one, and keep their seqs."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'epochs.db'}"
    migrate.upgrade(url, "0005_console")
    asyncio.run(
        _sql(
            url,
            "INSERT INTO liveblogs (slug, title, description, status, head_seq, meta_seq, "
            "created_at, updated_at, version) VALUES "
            "('a', 'A', '', 'live', 7, 0, '2026-11-30 08:00:00', '2026-11-30 08:00:00', 1), "
            "('b', 'B', '', 'live', 3, 0, '2026-11-30 08:00:00', '2026-11-30 08:00:00', 1)",
        )
    )
    migrate.upgrade(url)
    rows = asyncio.run(_sql(url, "SELECT slug, head_seq, epoch FROM liveblogs ORDER BY slug"))
    assert [(slug, seq) for slug, seq, _ in rows] == [("a", 7), ("b", 3)]
    epochs = [epoch for _, _, epoch in rows]
    assert all(isinstance(e, str) and len(e) == 16 for e in epochs) and epochs[0] != epochs[1]


def test_edited_at_migration_keeps_what_readers_saw(tmp_path: Path) -> None:
    """Entries changed before migration 0008 keep their "Updated" (edited_at = updated_at);
    untouched ones have none. Going back drops the column in place: 0007's trigger, which a
    table rebuild would lose, is still there."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'edited.db'}"
    migrate.upgrade(url, "0007_entry_search")
    asyncio.run(
        _sql(
            url,
            "INSERT INTO liveblogs (slug, title, description, status, head_seq, meta_seq, "
            "created_at, updated_at, version, epoch) VALUES "
            "('a', 'A', '', 'live', 2, 0, '2026-12-01 08:00:00', '2026-12-01 08:00:00', 1, 'e')",
        )
    )
    asyncio.run(
        _sql(
            url,
            "INSERT INTO entries (liveblog_id, seq, created_seq, title, body, pinned, key_event, "
            "created_at, updated_at, version, deleted) VALUES "
            "(1, 1, 1, 'Once', '<p>x</p>', 0, 0, '2026-12-01 08:00:00', '2026-12-01 08:00:00', "
            "1, 0), "
            "(1, 2, 2, 'Twice', '<p>y</p>', 0, 0, '2026-12-01 08:00:00', '2026-12-01 09:00:00', "
            "2, 0)",
        )
    )
    migrate.upgrade(url)
    rows = asyncio.run(_sql(url, "SELECT title, edited_at FROM entries ORDER BY id"))
    assert [(title, str(at)[:19] if at else None) for title, at in rows] == [
        ("Once", None),
        ("Twice", "2026-12-01 09:00:00"),
    ]
    migrate.downgrade(url, "0007_entry_search")
    triggers = asyncio.run(_sql(url, "SELECT name FROM sqlite_master WHERE type = 'trigger'"))
    assert ("entries_forget_words",) in triggers


async def _sql(url: str, statement: str) -> list[tuple[object, ...]]:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            result = await connection.exec_driver_sql(statement)
            return list(result.all()) if result.returns_rows else []
    finally:
        await engine.dispose()


@pytest.mark.slow
async def test_ids_and_seqs_go_past_32_bits_on_postgresql(
    postgres_url: str, isolated_server: Callable[..., LiveServer]
) -> None:
    """After migration 0004, a SERIAL id and a seq beyond 2^31 are stored and read back; going
    back to 32-bit columns is then refused instead of truncating."""
    server = isolated_server(database_url=postgres_url)
    big = 2**31 + 5
    async with writer(server) as client:
        created = await client.post("/api/liveblogs", json={"slug": "long", "title": "Long"})
        assert created.status_code == 201
        await _sql(postgres_url, f"SELECT setval('entries_id_seq', {big})")
        await _sql(postgres_url, f"UPDATE liveblogs SET head_seq = {big} WHERE slug = 'long'")
        posted = await client.post("/api/liveblogs/long/entries", json={"body": "<p>far</p>"})
        assert posted.status_code == 201, posted.text
        entry = posted.json()
        assert entry["id"] == big + 1 and entry["seq"] == big + 1
        fetched = await client.get(f"/api/liveblogs/long/entries/{entry['id']}")
        assert fetched.status_code == 200 and fetched.json()["body"] == "<p>far</p>"
    server.stop()
    with pytest.raises(RuntimeError, match="above 2147483647"):
        await asyncio.to_thread(migrate.downgrade, postgres_url, "0003_trust")
    assert (await _sql(postgres_url, "SELECT version_num FROM alembic_version")) == [(HEAD,)]
