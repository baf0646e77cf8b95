"""The engine and its transactions, created in the app's lifespan (never at import).

Repositories run Core statements on a connection, not through an ORM session: the session's
unit of work cost a quarter of a POST's CPU for the few rows a write touches. Two kinds of
transaction:
- `write()`: one transaction; the caller's first statement must be a write (repositories start
  every write with the liveblog's sequence bump). SQLite has one writer at a time: our own
  writers queue on an asyncio lock (fair, no thread blocked, no polling) and take turns on one
  connection, and only another process's writer is waited out with `busy_timeout`, whose retry
  sleeps grow to 100 ms.
- `snapshot()`: a read transaction whose statements all see one committed state. Catch-up
  relies on it: the head seq and the changed entries must come from the same moment.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, overload

from sqlalchemy import CursorResult, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

# How long a SQLite writer waits for another's lock before giving up (ms). Writes are short
# (a few rows), so this is only reached if the disk stalls.
SQLITE_BUSY_TIMEOUT_MS = 10_000


def inserted_id(result: CursorResult[Any]) -> int:
    """The primary key of the row a single-row INSERT just wrote."""
    key = result.inserted_primary_key
    assert key is not None
    new_id: int = key[0]
    return new_id


@overload
def aware(moment: datetime) -> datetime: ...
@overload
def aware(moment: None) -> None: ...
def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands datetimes back naive; every one we store is UTC."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for another database or an in-memory one."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return Path(parsed.database)
    return None


def ensure_sqlite_directory(url: str) -> None:
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: fsync the WAL on every commit, so a 201 means the entry survives power loss,
        # not only a process crash.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "reset")
    def _on_reset(dbapi_connection: Any, record: Any, _state: Any) -> None:
        # Replaces the pool's unconditional ROLLBACK on check-in (a round trip to the driver's
        # thread after every transaction): `write()` and `snapshot()` end their own, so only a
        # connection left inside one (an interrupted commit, say) needs rolling back.
        if record.driver_connection.in_transaction:
            dbapi_connection.rollback()


class Database:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        ensure_sqlite_directory(url)
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        self.engine = create_async_engine(
            url,
            echo=echo,
            pool_pre_ping=not self.is_sqlite,
            # SQLite: _on_reset does it, only when needed.
            pool_reset_on_return=None if self.is_sqlite else "rollback",
        )
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self._sqlite_writer = asyncio.Lock() if self.is_sqlite else None
        # The connection SQLite writes take turns on, between writes (see `write()`).
        self._sqlite_connection: AsyncConnection | None = None
        # PostgreSQL's default READ COMMITTED takes a new snapshot per statement; SQLite in WAL
        # mode reads one snapshot from a transaction's first SELECT, once `snapshot()` has
        # begun it.
        self._snapshot_engine = (
            self.engine
            if self.is_sqlite
            else self.engine.execution_options(isolation_level="REPEATABLE READ")
        )

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A transaction that commits when the block ends and rolls back on any exception."""
        if self._sqlite_writer is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._sqlite_writer:
            # Writers take turns anyway, so they share one connection: taking it from the pool
            # and giving it back cost more CPU per write than one of its statements.
            conn = self._sqlite_connection or await self.engine.connect()
            self._sqlite_connection = None
            try:
                async with conn.begin():
                    yield conn
            except BaseException:
                # Back to the pool, whose reset rolls back what a failed commit may have left;
                # the next write takes a fresh connection.
                await conn.close()
                raise
            self._sqlite_connection = conn

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction over one consistent state of the database."""
        async with self._snapshot_engine.begin() as conn:
            if self.is_sqlite:
                # The driver begins a transaction by itself only before a write, which is
                # enough for `write()`; a snapshot's first statement is a read. (Done here,
                # not in a "begin" event listener: any such listener makes SQLAlchemy dispatch
                # events around every statement of every connection, writes included.)
                await conn.exec_driver_sql("BEGIN")
            yield conn

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            # Reads the schema, so a locked or missing database file is noticed.
            await connection.execute(text("SELECT 1 FROM liveblogs LIMIT 1"))

    async def dispose(self) -> None:
        if self._sqlite_connection is not None:
            await self._sqlite_connection.close()
            self._sqlite_connection = None
        await self.engine.dispose()
