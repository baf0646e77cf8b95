"""Named queries over the entries table, and its search index.

Every query filters on one liveblog and walks an index ((liveblog_id, seq) for catch-up,
(liveblog_id, created_seq) for pages), so cost follows the page size, not the liveblog's length.

The search index (`entry_search`, migration 0007) holds the words (domain/search.py) of every
visible entry, keyed by the entry's id: an FTS5 table on SQLite, a tsvector with a GIN index on
PostgreSQL. It is not in models.py: neither database can declare the other's, and `liveblog
copy` (copying.py), which copies the tables of models.py, rebuilds it as it copies entries
instead. `insert` and `apply_change` keep it in step in the writing transaction; deleting an
entry row drops its words too (a trigger on SQLite, the foreign key's cascade on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Row,
    cast,
    column,
    insert as insert_into,
    literal_column,
    select,
    table,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain import search as rules
from app.domain.model import Entry
from app.storage.db import inserted_id
from app.storage.models import EntryRow


def to_entry(row: Row[Any]) -> Entry:
    """From a row of the entries table (all its columns)."""
    return Entry(
        id=row.id,
        seq=row.seq,
        created_seq=row.created_seq,
        title=row.title,
        body=row.body,
        author=row.author,
        pinned=row.pinned,
        key_event=row.key_event,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
        deleted=row.deleted,
        correction=row.correction,
        source=row.source,
        edited_at=row.edited_at,
    )


async def insert(
    conn: AsyncConnection,
    *,
    liveblog_id: int,
    seq: int,
    title: str | None,
    body: str,
    author: str | None,
    pinned: bool,
    key_event: bool,
    now: datetime,
    source: str | None = None,
    correction: str | None = None,
    updated_at: datetime | None = None,
    edited_at: datetime | None = None,
) -> Entry:
    """A new entry at version 1. `correction`, `updated_at` (default `now`) and `edited_at`
    are an import's: an entry published elsewhere, with its note and last edit times."""
    values: dict[str, Any] = {
        "seq": seq,
        "created_seq": seq,
        "title": title,
        "body": body,
        "author": author,
        "pinned": pinned,
        "key_event": key_event,
        "created_at": now,
        "updated_at": updated_at or now,
        "version": 1,
        "deleted": False,
        "correction": correction,
        "source": source,
        "edited_at": edited_at,
    }
    result = await conn.execute(_INSERT, {**values, "liveblog_id": liveblog_id})
    entry = Entry(id=inserted_id(result), **values)
    await index(conn, [(entry.id, title, body, False)])
    return entry


# Built once, the values bound per call: see storage/liveblogs.py's _NEXT_SEQ.
_INSERT = insert_into(EntryRow)


async def get(conn: AsyncConnection, liveblog_id: int, entry_id: int) -> Entry | None:
    result = await conn.execute(
        select(EntryRow).where(EntryRow.liveblog_id == liveblog_id, EntryRow.id == entry_id)
    )
    row = result.first()
    return to_entry(row) if row else None


async def apply_change(
    conn: AsyncConnection, entry_id: int, seq: int, now: datetime, fields: dict[str, Any]
) -> Entry:
    """Write changed fields, record `seq` as the entry's latest change and bump its version;
    a change of its words (not only of its flags) is also its `edited_at`."""
    edited = {"edited_at": now} if fields.keys() & _WORDS and not fields.get("deleted") else {}
    result = await conn.execute(
        update(EntryRow)
        .where(EntryRow.id == entry_id)
        .values(**fields, **edited, seq=seq, updated_at=now, version=EntryRow.version + 1)
        .returning(*EntryRow.__table__.c)
    )
    entry = to_entry(result.one())
    if fields.keys() & _SEARCHED:
        await index(conn, [(entry.id, entry.title, entry.body, entry.deleted)])
    return entry


# The fields readers read as the entry's words: changing one is an edit ("Updated"); a pin or a
# key-event mark is not.
_WORDS = frozenset({"title", "body", "author", "correction"})
# The fields whose change changes what an entry is found by (a deletion empties it).
_SEARCHED = frozenset({"title", "body", "deleted"})


async def pinned(conn: AsyncConnection, liveblog_id: int) -> list[Entry]:
    """The pinned entries (at most one, by the pinning rule), whole: unpinning one records
    its previous state."""
    rows = await conn.execute(
        select(EntryRow).where(EntryRow.liveblog_id == liveblog_id, EntryRow.pinned)
    )
    return [to_entry(row) for row in rows]


async def changed_after(
    conn: AsyncConnection, liveblog_id: int, after_seq: int, limit: int
) -> list[Entry]:
    """Entries whose latest change is after `after_seq`, oldest change first, at most `limit`."""
    rows = await conn.execute(
        select(EntryRow)
        .where(EntryRow.liveblog_id == liveblog_id, EntryRow.seq > after_seq)
        .order_by(EntryRow.seq)
        .limit(limit)
    )
    return [to_entry(row) for row in rows]


async def page(
    conn: AsyncConnection,
    liveblog_id: int,
    *,
    before: int | None,
    limit: int,
    pinned: bool | None = None,
    key_event: bool | None = None,
) -> list[Entry]:
    """Visible entries newest first, created before the cursor `before` (a created_seq).

    `pinned` and `key_event` filter on those flags; True walks their partial indexes.
    """
    query = select(EntryRow).where(EntryRow.liveblog_id == liveblog_id, ~EntryRow.deleted)
    if before is not None:
        query = query.where(EntryRow.created_seq < before)
    # The bare column (`pinned = 1` on SQLite), not a bound parameter: a partial index is only
    # used when the query's condition matches the index's literally.
    if pinned is not None:
        query = query.where(EntryRow.pinned if pinned else ~EntryRow.pinned)
    if key_event is not None:
        query = query.where(EntryRow.key_event if key_event else ~EntryRow.key_event)
    rows = await conn.execute(query.order_by(EntryRow.created_seq.desc()).limit(limit))
    return [to_entry(row) for row in rows]


async def search(
    conn: AsyncConnection,
    liveblog_id: int,
    query: rules.Query,
    *,
    before: int | None,
    limit: int,
) -> list[Entry]:
    """Visible entries with every word of `query`, newest first, created before the cursor
    `before` (a created_seq), as `page` reads them.

    Cost: one lookup of the words in the whole index (FTS5's doclists, or the GIN index), and
    the liveblog's entries walked newest first until `limit` of them matched.
    """
    if query.empty:
        return []
    found = select(EntryRow).where(EntryRow.liveblog_id == liveblog_id, ~EntryRow.deleted)
    if before is not None:
        found = found.where(EntryRow.created_seq < before)
    if conn.dialect.name == "sqlite":
        # A subquery, not a join: joined, SQLite walks the liveblog's entries newest first and
        # runs the MATCH once for each of them (seconds for a prefix over 10,000 entries);
        # this way the MATCH runs once, and the walk only looks its ids up.
        matching = select(_FTS5.c.rowid).where(
            literal_column(_FTS5.name).op("MATCH")(fts5_query(query))
        )
        found = found.where(EntryRow.id.in_(matching))
    else:
        found = found.join(_TSVECTORS, _TSVECTORS.c.entry_id == EntryRow.id).where(
            _TSVECTORS.c.document.op("@@")(cast(tsquery(query), TSQUERY))
        )
    rows = await conn.execute(found.order_by(EntryRow.created_seq.desc()).limit(limit))
    return [to_entry(row) for row in rows]


def fts5_query(query: rules.Query) -> str:
    """The query in FTS5's syntax: each word a quoted string (so `AND`, `NEAR` or `*` typed by
    a reader are words, never operators), all of them required, the last one a prefix."""
    quoted = ['"' + word.replace('"', '""') + '"' for word in query.words]
    return " ".join(quoted) + ("*" if query.prefix else "")


def tsquery(query: rules.Query) -> str:
    """The query as a tsquery literal: each word a quoted lexeme, taken as it is (the indexed
    lexemes are the same words, unparsed), all of them required (`&`), the last a prefix."""
    quoted = ["'" + word.replace("\\", "\\\\").replace("'", "''") + "'" for word in query.words]
    return " & ".join(quoted) + (":*" if query.prefix else "")


# An entry's words, as index() writes them: (id, title, body as stored, deleted).
Searched = tuple[int, str | None, str, bool]


async def index(conn: AsyncConnection, entries: Iterable[Searched]) -> None:
    """Bring the search index in step with `entries`: a visible entry is found by the words of
    its title and body, a deleted one by none. Call it in the transaction that writes them."""
    put: list[dict[str, Any]] = []
    drop: list[dict[str, Any]] = []
    sqlite = conn.dialect.name == "sqlite"
    for entry_id, title, body, deleted in entries:
        if deleted:
            drop.append({"id": entry_id})
            continue
        words = rules.document(title, body)
        if sqlite:
            put.append(
                {"id": entry_id, "title": " ".join(words.title), "body": " ".join(words.body)}
            )
        else:
            put.append({"id": entry_id, "words": words.title + words.body})
    if drop:
        await conn.execute(_SQLITE_DROP if sqlite else _PG_DROP, drop)
    if put:
        await conn.execute(_SQLITE_PUT if sqlite else _PG_PUT, put)


_FTS5 = table("entry_search", column("rowid"))
_TSVECTORS = table("entry_search", column("entry_id"), column("document"))
# The words go in joined by spaces: FTS5's tokenizer (unicode61 with the same categories of
# word characters) cuts them back into exactly these.
_SQLITE_PUT = text(
    "INSERT OR REPLACE INTO entry_search (rowid, title, body) VALUES (:id, :title, :body)"
)
_SQLITE_DROP = text("DELETE FROM entry_search WHERE rowid = :id")
# array_to_tsvector takes the words as lexemes, unparsed (to_tsvector would cut them again).
_PG_PUT = text(
    "INSERT INTO entry_search (entry_id, document) "
    "VALUES (:id, array_to_tsvector(CAST(:words AS TEXT[]))) "
    "ON CONFLICT (entry_id) DO UPDATE SET document = excluded.document"
)
_PG_DROP = text("DELETE FROM entry_search WHERE entry_id = :id")
