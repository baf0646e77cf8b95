"""A liveblog with many entries stored: what the first page, an older page and a catch-up cost."""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.harness import LIVEBLOG, Server
from bench.message import BODY

BIG_SIZES = (1_000, 100_000)
BIG_REPEATS = 30


def big_liveblog(entries: int) -> dict[str, Any]:
    """A liveblog with `entries` stored: what the first page, an older page and a catch-up cost."""
    with tempfile.TemporaryDirectory(prefix="liveblog-bench-") as tmp:
        server = Server(LIVEBLOG, Path(tmp)).start()
        server.stop()
        _seed(Path(tmp) / "liveblog.db", entries)
        server = Server(LIVEBLOG, Path(tmp))  # same data directory, now with the big liveblog
        try:
            server.start()
            with server.http() as client:
                head = client.get("/api/liveblogs/big").raise_for_status().json()["seq"]
                older = head // 2
                timings = {
                    "first_page_ms": _median_ms(client, "/liveblogs/big"),
                    "older_page_ms": _median_ms(client, f"/liveblogs/big?before={older}"),
                    "catch_up_100_ms": _median_ms(
                        client, f"/api/liveblogs/big/entries?since={head - 100}&limit=100"
                    ),
                }
        finally:
            server.stop()
    return timings


def _seed(database: Path, entries: int) -> None:
    """Write a liveblog of `entries` entries straight into the migrated SQLite file."""
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    with sqlite3.connect(database) as db:
        db.execute(
            "INSERT INTO liveblogs (slug, title, description, status, head_seq, meta_seq,"
            " created_at, updated_at) VALUES ('big', 'Big', '', 'live', ?, 0, ?, ?)",
            (entries, now, now),
        )
        (liveblog_id,) = db.execute("SELECT id FROM liveblogs WHERE slug = 'big'").fetchone()
        db.executemany(
            "INSERT INTO entries (liveblog_id, seq, created_seq, title, body, author, pinned,"
            " key_event, created_at, updated_at, version, deleted)"
            " VALUES (?, ?, ?, ?, ?, 'Bench', ?, ?, ?, ?, 1, 0)",
            (
                (liveblog_id, n, n, f"Update {n}", BODY, n == 1, n % 50 == 0, now, now)
                for n in range(1, entries + 1)
            ),
        )


def _median_ms(client: httpx.Client, path: str) -> float:
    client.get(path).raise_for_status()  # warm up
    samples = []
    for _ in range(BIG_REPEATS):
        started = time.perf_counter()
        client.get(path).raise_for_status()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)
