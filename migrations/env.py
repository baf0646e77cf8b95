"""Alembic environment: runs migrations over the async engine for any configured URL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import pool, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from app.settings import Settings
from app.storage.db import ensure_sqlite_directory
from app.storage.models import Base

# Any constant shared by every Liveblog process; names the PostgreSQL advisory lock.
MIGRATION_LOCK = 0x11FEB106

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    # app/storage/migrate.py passes the URL it was given; the alembic CLI falls back to settings.
    return config.get_main_option("sqlalchemy.url") or Settings().database_url


# Written by migration 0007 in SQL, not modelled (an FTS5 table and its shadow tables, or a
# tsvector table): autogenerate must not offer to drop them.
_UNMODELLED = "entry_search"


def _ours(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    return not (type_ == "table" and reflected and (name or "").startswith(_UNMODELLED))


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=_ours,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Replicas starting together migrate one at a time: the lock is held until this
            # transaction commits, and the next one then finds the schema already at head.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()


async def _run_online() -> None:
    url = _url()
    ensure_sqlite_directory(url)
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
