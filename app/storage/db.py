"""The engine and its transactions, created in the app's lifespan (never at import).

Repositories run Core statements on a connection, not through an ORM session: the session's
unit of work cost a quarter of a POST's CPU for the few rows a write touches. Two kinds of
transaction:
- `write()`: one transaction; the caller's first statement must be a write (repositories start
  every write with the liveblog's sequence bump). SQLite has one writer at a time: our own
  writers queue on an asyncio lock (fair, no thread blocked, no polling) and take turns on one
  connection, and only another process's writer is waited out with `busy_timeout`, whose retry
  sleeps grow to 100 ms.
- A write that cannot get the database within WRITE_WAIT_SECONDS raises ServiceUnavailable
  (503 with Retry-After), never a driver error (a 500): its turn among this process's writers
  is waited for that long, and (SQLite) another process's write lock that long again, except
  by a write queued behind one that has just given up on that lock, which gives up at once.
  So a write waits about WRITE_WAIT_SECONDS at most (twice that only if the other process
  takes the lock again just as a queued write gets its turn). On PostgreSQL the same error
  stands for a lock or statement timeout (`lock_timeout`, `statement_timeout`, if the
  operator sets them) and for no pooled connection free within the pool's timeout.
- `snapshot()`: a read transaction whose statements all see one committed state. Catch-up
  relies on it: the head seq and the changed entries must come from the same moment.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import CursorResult, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from app.errors import ServiceUnavailable

# How long a write waits for the database before it is refused with 503 (see the docstring):
# long enough for any of our own writes (a few rows, milliseconds) to go first many times over,
# short enough that a client hears back well within its own timeouts. Another process holding
# SQLite's write lock longer than this (an import run with --while-serving, a `sqlite3` shell)
# is what reaches it.
WRITE_WAIT_SECONDS = 5
# How long a SQLite connection waits for another's lock before giving up (ms).
SQLITE_BUSY_TIMEOUT_MS = WRITE_WAIT_SECONDS * 1000
# What a refused write's Retry-After says: the lock is usually the other process's for a while
# yet, and each retry waits up to WRITE_WAIT_SECONDS again.
RETRY_AFTER_SECONDS = 2

# SQLITE_BUSY and SQLITE_LOCKED (primary result codes: the low byte of an extended one).
_SQLITE_BUSY_CODES = {5, 6}
# PostgreSQL: lock_not_available (lock_timeout, NOWAIT) and query_canceled (statement_timeout).
_POSTGRES_BUSY_STATES = {"55P03", "57014"}

_LOCKED_OUT = (
    f"another process (an import, a maintenance command) has held its write lock for over "
    f"{WRITE_WAIT_SECONDS} s"
)


def busy(detail: str) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"The database is busy: {detail}. Nothing was written; retry in a few seconds.",
        retry_after=RETRY_AFTER_SECONDS,
    )


def _busy_error(error: BaseException) -> ServiceUnavailable | None:
    """The 503 for a driver error that means the database could not be had in time; None for
    any other error."""
    if isinstance(error, PoolTimeout):
        return busy("no database connection came free in time")
    if not isinstance(error, DBAPIError):
        return None
    cause = error.orig
    if isinstance(cause, sqlite3.OperationalError):
        code = getattr(cause, "sqlite_errorcode", None)
        if (code is not None and code & 0xFF in _SQLITE_BUSY_CODES) or "locked" in str(cause):
            return busy(_LOCKED_OUT)
        return None
    if getattr(cause, "sqlstate", None) in _POSTGRES_BUSY_STATES:
        return busy("a lock or statement timeout ran out")
    return None


def inserted_id(result: CursorResult[Any]) -> int:
    """The primary key of the row a single-row INSERT just wrote."""
    key = result.inserted_primary_key
    assert key is not None
    new_id: int = key[0]
    return new_id


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
        # When the last SQLite write gave up on another process's lock (loop time): the writes
        # that were queued behind it give up too, rather than each wait as long again.
        self._gave_up_at = float("-inf")
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
        """A transaction that commits when the block ends and rolls back on any exception.

        Raises ServiceUnavailable if the database cannot be had within WRITE_WAIT_SECONDS
        (nothing is written then).
        """
        if self._sqlite_writer is None:
            try:
                async with self.engine.begin() as conn:
                    yield conn
            except (DBAPIError, PoolTimeout) as error:
                unavailable = _busy_error(error)
                if unavailable is None:
                    raise
                raise unavailable from error
            return
        loop = asyncio.get_running_loop()
        queued_at = loop.time()
        await self._take_turn(self._sqlite_writer)
        try:
            if self._gave_up_at >= queued_at:
                raise busy(_LOCKED_OUT)
            # Writers take turns anyway, so they share one connection: taking it from the pool
            # and giving it back cost more CPU per write than one of its statements.
            try:
                conn = self._sqlite_connection or await self.engine.connect()
            except PoolTimeout as error:
                raise busy("no database connection came free in time") from error
            self._sqlite_connection = None
            try:
                async with conn.begin():
                    yield conn
            except BaseException as error:
                # Back to the pool, whose reset rolls back what a failed commit may have left;
                # the next write takes a fresh connection.
                await conn.close()
                unavailable = _busy_error(error)
                if unavailable is None:
                    raise
                self._gave_up_at = loop.time()
                raise unavailable from error
            self._sqlite_connection = conn
        finally:
            self._sqlite_writer.release()

    @staticmethod
    async def _take_turn(writer: asyncio.Lock) -> None:
        """Acquire `writer`, waiting WRITE_WAIT_SECONDS at most (ServiceUnavailable after)."""
        try:
            async with asyncio.timeout(WRITE_WAIT_SECONDS):
                await writer.acquire()
        except TimeoutError:
            raise busy(
                f"this server's writes have queued for over {WRITE_WAIT_SECONDS} s"
            ) from None

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
