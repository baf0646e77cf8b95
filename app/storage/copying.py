"""Copying every table from one database to another, row for row, primary keys kept.

Used by `liveblog copy` (services/transfer.py) to move an install from SQLite to PostgreSQL or
between instances. Rows are upserted by primary key in batches, each batch its own transaction,
so an interrupted copy is completed by running it again. Tables go in foreign-key order.

What the target cannot store is looked for before anything is written: PostgreSQL refuses NUL
characters in text, and checks the lengths SQLite ignores.

The search index (storage/entries.py) is no table of models.py, and each database keeps it in
its own form: each batch of entries is indexed in the target as it is written.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Column, String, Table, delete, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from app.storage import entries as entry_rows
from app.storage.db import Database
from app.storage.models import Base

# Rows per INSERT … ON CONFLICT and per transaction.
BATCH = 500

# The tables every other row hangs from, and the column that identifies a row beyond its id. A
# target holding a row of these that this source does not (same id and same identity) belongs
# to another install, and the copy refuses to touch it. Rows of the other tables that the
# source no longer has (a purged history, an expired key) are deleted from the target.
IDENTITY = {"liveblogs": "slug", "users": "username", "api_tokens": "token_hash"}
# Tables that change by themselves (keys expire, sessions are seen): not compared when the copy
# checks whether the source was written meanwhile.
EPHEMERAL = {"idempotency_keys", "sessions"}


class ForeignTarget(Exception):
    """The target holds rows that are not an interrupted copy of this source."""


@dataclass(frozen=True, slots=True)
class Unstorable:
    table: str
    row_id: Any
    column: str
    why: str

    def __str__(self) -> str:
        return f"{self.table} id {self.row_id}, {self.column}: {self.why}"


def tables() -> list[Table]:
    """Every table of the schema, parents before children."""
    return list(Base.metadata.sorted_tables)


def _kept(table: Table) -> Any:
    """The WHERE clause of the rows that are copied (all, but live idempotency keys only)."""
    if table.name == "idempotency_keys":
        return table.c.expires_at > datetime.now(UTC)
    return None


def _select(table: Table) -> Any:
    query = select(table).order_by(*table.primary_key.columns)
    where = _kept(table)
    return query if where is None else query.where(where)


async def rows_of(conn: AsyncConnection, table: Table) -> AsyncIterator[list[dict[str, Any]]]:
    """The rows to copy, BATCH at a time (their datetimes aware of UTC: models.UtcDateTime)."""
    result = await conn.stream(_select(table))
    async for partition in result.mappings().partitions(BATCH):
        yield [dict(row) for row in partition]


async def unstorable(conn: AsyncConnection) -> list[Unstorable]:
    """Values of the source that the target may not be able to store, for every table."""
    found: list[Unstorable] = []
    for table in tables():
        texts = [c for c in table.columns if isinstance(c.type, String)]
        if not texts:
            continue
        async for batch in rows_of(conn, table):
            for row in batch:
                found.extend(_check(table, row, texts))
    return found


def _check(table: Table, row: dict[str, Any], columns: list[Column[Any]]) -> list[Unstorable]:
    problems = []
    for column in columns:
        value = row[column.name]
        if not isinstance(value, str):
            continue
        row_id = row.get("id")
        if "\x00" in value:
            problems.append(Unstorable(table.name, row_id, column.name, "holds a NUL character"))
        length = getattr(column.type, "length", None)
        if length is not None and len(value) > length:
            why = f"is {len(value)} characters, over its {length}"
            problems.append(Unstorable(table.name, row_id, column.name, why))
    return problems


async def check_target(source: AsyncConnection, target: AsyncConnection) -> None:
    """Raises ForeignTarget unless every liveblog, user and token of the target is one of the
    source's, by id and identity (then every other row hangs from one of the source's)."""
    for table in tables():
        if table.name not in IDENTITY:
            continue
        (key,) = table.primary_key.columns
        wanted = [key, table.c[IDENTITY[table.name]]]
        theirs = {tuple(row) for row in await target.execute(select(*wanted))}
        if not theirs:
            continue
        ours = {tuple(row) for row in await source.execute(select(*wanted))}
        foreign = theirs - ours
        if foreign:
            sample = ", ".join(str(row[0]) for row in sorted(foreign)[:5])
            raise ForeignTarget(
                f"the target's {table.name} holds {len(foreign)} rows this database does not "
                f"(ids {sample}…): it is not empty and not an earlier copy of this database"
            )


@dataclass(frozen=True, slots=True)
class Copied:
    rows: int
    digest: str  # of the rows as read: see `digest`


async def copy_table(source: AsyncConnection, target: Database, table: Table) -> Copied:
    """Upsert every row of `table` into the target by primary key, then delete the target's
    rows the source does not have (check_target has made sure they are this source's)."""
    copied = 0
    ids: set[Any] = set()
    hasher = hashlib.sha256()
    (key,) = table.primary_key.columns
    async for batch in rows_of(source, table):
        async with target.write() as conn:
            await conn.execute(_upsert(conn, table), batch)
            if table.name == "entries":
                # The search index is no table of the schema's: made anew from the entries.
                await entry_rows.index(
                    conn, [(r["id"], r["title"], r["body"], r["deleted"]) for r in batch]
                )
        ids.update(row[key.name] for row in batch)
        _hash(hasher, batch)
        copied += len(batch)
    async with target.write() as conn:
        stale = [row[0] for row in await conn.execute(select(key))]
        gone = [row_id for row_id in stale if row_id not in ids]
        for start in range(0, len(gone), BATCH):
            await conn.execute(delete(table).where(key.in_(gone[start : start + BATCH])))
    return Copied(copied, hasher.hexdigest())


async def digest(conn: AsyncConnection, table: Table) -> str:
    """SHA-256 of the rows a copy would take from `table`, in key order: equal digests, equal
    rows (how the copy notices a source written to while it ran)."""
    hasher = hashlib.sha256()
    async for batch in rows_of(conn, table):
        _hash(hasher, batch)
    return hasher.hexdigest()


def _hash(hasher: Any, batch: list[dict[str, Any]]) -> None:
    for row in batch:
        hasher.update(orjson.dumps(row, default=str, option=orjson.OPT_SORT_KEYS))


def _upsert(conn: AsyncConnection, table: Table) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    (key,) = table.primary_key.columns
    others = {c.name: statement.excluded[c.name] for c in table.columns if c is not key}
    return statement.on_conflict_do_update(index_elements=[key], set_=others)


async def count(conn: AsyncConnection, table: Table) -> int:
    query = select(func.count()).select_from(table)
    where = _kept(table)
    result = await conn.execute(query if where is None else query.where(where))
    return int(result.scalar_one())


async def reset_sequences(conn: AsyncConnection) -> None:
    """Make the target's next ids follow the copied ones (PostgreSQL's sequences; SQLite takes
    the largest id plus one by itself)."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables():
        (key,) = table.primary_key.columns
        if key.type.python_type is not int:  # keyed by content (media): no sequence
            continue
        await conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', '{key.name}'), "
                f"coalesce((SELECT max({key.name}) FROM {table.name}), 0) + 1, false)"
            )
        )
