"""The ingest floor (issue 14, point 4): the least a durable write API must do.

One `POST /api/liveblogs/{slug}/entries` that validates a body shaped like Liveblog's EntryCreate
with Pydantic (no sanitizing), inserts one row into SQLite in WAL mode with synchronous=FULL (an
fsync on every commit) and answers 201 with the row as JSON. It answers the Bearer header the
bench's Poster sends without checking it. Served by uvicorn as Liveblog serves HTTP: httptools,
uvloop, no access log. Writes go through one thread with one connection, so the event loop never
waits on the fsync and commits are one row each (no batching, as in Liveblog).

    python -m bench.servers.ingest_floor PORT [DATA_DIR]  # else $LIVEBLOG_DATA_DIR, else .
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import uvicorn
from fastapi import FastAPI, Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, StrictBool, StringConstraints

# The same limits as Liveblog's (app/domain/model.py), without importing the app.
TITLE_MAX, AUTHOR_MAX = 300, 200


class EntryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, StringConstraints(max_length=TITLE_MAX)] | None = None
    body: Annotated[str, StringConstraints(min_length=1)]
    author: Annotated[str, StringConstraints(max_length=AUTHOR_MAX)] | None = None
    pinned: StrictBool = False
    key_event: StrictBool = False


SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY,
    liveblog TEXT NOT NULL,
    title TEXT,
    body TEXT NOT NULL,
    author TEXT,
    pinned INTEGER NOT NULL,
    key_event INTEGER NOT NULL,
    created_at TEXT NOT NULL
)
"""


class Store:
    """One connection, used only by one writer thread."""

    def __init__(self, path: Path) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")
        self._path = path
        self._db: sqlite3.Connection | None = None
        self._executor.submit(self._open).result()

    def _open(self) -> None:
        self._db = sqlite3.connect(self._path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute(SCHEMA)

    def _insert(self, slug: str, entry: EntryCreate, created_at: str) -> int:
        assert self._db is not None
        self._db.execute("BEGIN IMMEDIATE")
        try:
            cursor = self._db.execute(
                "INSERT INTO entries (liveblog, title, body, author, pinned, key_event, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (slug, entry.title, entry.body, entry.author, entry.pinned, entry.key_event,
                 created_at),
            )  # fmt: skip
            self._db.execute("COMMIT")  # fsync: synchronous=FULL
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    async def insert(self, slug: str, entry: EntryCreate, created_at: str) -> int:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._insert, slug, entry, created_at)


def create_app(data_dir: Path) -> FastAPI:
    app = FastAPI()
    store = Store(data_dir / "floor.db")

    @app.post("/api/liveblogs/{slug}/entries", status_code=201)
    async def create_entry(
        slug: str, entry: EntryCreate, authorization: Annotated[str | None, Header()] = None
    ) -> JSONResponse:
        # The Bearer token is accepted as sent: the floor has no tokens to check.
        now = datetime.fromtimestamp(time.time(), UTC).isoformat(timespec="milliseconds")
        created_at = now.replace("+00:00", "Z")
        entry_id = await store.insert(slug, entry, created_at)
        row: dict[str, Any] = {"id": entry_id, "liveblog": slug, **entry.model_dump(),
                               "created_at": created_at}  # fmt: skip
        return JSONResponse(row, status_code=201)

    return app


def main(port: int, data_dir: Path) -> None:
    uvicorn.run(
        create_app(data_dir),
        host="127.0.0.1",
        port=port,
        http="httptools",
        loop="uvloop",
        access_log=False,
        log_level="warning",
        backlog=4096,
    )


if __name__ == "__main__":
    where = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("LIVEBLOG_DATA_DIR", ".")
    main(int(sys.argv[1]), Path(where))
