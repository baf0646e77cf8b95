"""A database that cannot be had in time: a write answers 503 with Retry-After, never 500; an
import refuses to lock a running server's writes out unless told to, and stays all or nothing;
a document with thousands of problems names the first few and counts the rest.

Real servers and real commands: the lock is held from another connection, as another process
(an import, an operator's `sqlite3` shell) would hold it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from app.storage.db import WRITE_WAIT_SECONDS
from tests.console.newsroom import console_liveblog, save_draft
from tests.harness import (
    ROOT,
    ConsoleClient,
    LiveServer,
    cli,
    create_user,
    problem,
    seconds,
    writer,
)
from tests.services import asyncpg_dsn

TIME = "2026-12-01T08:00:00Z"


@contextlib.contextmanager
def write_lock(database: Path) -> Iterator[None]:
    """Hold SQLite's write lock on `database` for the block, as another process would."""
    connection = sqlite3.connect(database, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield
        connection.execute("ROLLBACK")
    finally:
        connection.close()


def assert_busy(response: httpx.Response) -> dict[str, Any]:
    """A 503 problem saying the database was busy, with a Retry-After in seconds."""
    body = problem(response, 503)
    assert "busy" in body["detail"] and "Nothing was written" in body["detail"], body
    assert int(response.headers["retry-after"]) > 0, response.headers
    return body


def archive(slug: str, entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "format": "liveblog-export",
        "version": 1,
        "liveblog": {"slug": slug, "title": f"Archive {slug}", "created_at": TIME,
                     "updated_at": TIME},
        "entries": entries,
    }  # fmt: skip


def entry(number: int) -> dict[str, Any]:
    return {
        "title": f"Part {number}",
        "body": f"<p>Archived report number {number}, with <em>some</em> words in it.</p>",
        "created_at": TIME,
        "updated_at": TIME,
    }


async def test_a_write_locked_out_answers_503_and_goes_through_once_the_lock_is_gone(
    isolated_server: Callable[..., LiveServer],
) -> None:
    """Another connection holds the write lock past the server's wait: a REST POST and a
    console publish answer 503 + Retry-After (problem+json, the request's id) after about
    WRITE_WAIT_SECONDS, reads go on meanwhile, nothing is written; once the lock is gone the
    same writes succeed (under the same Idempotency-Key too)."""
    server = isolated_server()
    editor = create_user(server)
    async with writer(server) as api, ConsoleClient(server) as console:
        assert (await console.sign_in(editor)).status_code == 303
        slug = await console_liveblog(console)
        draft = await save_draft(console, slug, "Held back")
        url = f"/api/liveblogs/{slug}/entries"
        publish = f"/console/liveblogs/{slug}/drafts/{draft['id']}/publish"
        assert (await api.post(url, json={"body": "<p>before</p>"})).status_code == 201

        with write_lock(server.data_dir / "liveblog.db"):
            started = time.monotonic()
            posted, *more, published, read = await asyncio.gather(
                api.post(
                    url,
                    json={"body": "<p>locked out</p>"},
                    headers={"X-Request-ID": "locked-out-1", "Idempotency-Key": "locked-out"},
                    timeout=seconds(30),
                ),
                # Queued behind the first, in this server's own turn-taking.
                *(
                    api.post(url, json={"body": f"<p>also {n}</p>"}, timeout=seconds(30))
                    for n in range(3)
                ),
                console.post(publish, timeout=seconds(30)),
                api.get(f"/api/liveblogs/{slug}"),
            )
            took = time.monotonic() - started
        assert_busy(posted)
        assert posted.headers["x-request-id"] == "locked-out-1"
        for response in (*more, published):
            assert_busy(response)
            assert response.headers["x-request-id"]
        assert WRITE_WAIT_SECONDS * 0.9 <= took < seconds(WRITE_WAIT_SECONDS + 3), took
        assert read.status_code == 200 and read.json()["seq"] == 1, read.text

        # The refusal is of the moment: a retry under the same key is carried out, not
        # answered with the 503 again.
        retried = await api.post(
            url, json={"body": "<p>locked out</p>"}, headers={"Idempotency-Key": "locked-out"}
        )
        assert retried.status_code == 201 and "idempotent-replayed" not in retried.headers
        assert (await console.post(publish)).status_code == 201
        listed = (await api.get(url, params={"since": 0})).json()["entries"]
        assert [e["body"] for e in listed] == [
            "<p>before</p>", "<p>locked out</p>", "<p>Body of <strong>Held back</strong>.</p>",
        ]  # fmt: skip
    assert "unhandled error" not in server.log()


async def test_a_postgres_lock_timeout_answers_503(
    isolated_server: Callable[..., LiveServer], postgres_url: str
) -> None:
    """On PostgreSQL with a `lock_timeout` (the operator's), a write that waited it out on
    another transaction's lock answers 503 + Retry-After, not 500."""
    dsn = asyncpg_dsn(postgres_url)
    admin = await asyncpg.connect(dsn)
    try:
        name = make_url(postgres_url).database
        await admin.execute(f'ALTER DATABASE "{name}" SET lock_timeout = 1000')
    finally:
        await admin.close()
    server = isolated_server(database_url=postgres_url)
    async with writer(server) as api:
        created = await api.post("/api/liveblogs", json={"slug": "held", "title": "Held"})
        assert created.status_code == 201, created.text
        holder = await asyncpg.connect(dsn)
        try:
            async with holder.transaction():
                await holder.execute("SELECT 1 FROM liveblogs WHERE slug = 'held' FOR UPDATE")
                posted = await api.post(
                    "/api/liveblogs/held/entries", json={"body": "<p>x</p>"}, timeout=seconds(30)
                )
        finally:
            await holder.close()
        assert_busy(posted)
        after = await api.post("/api/liveblogs/held/entries", json={"body": "<p>y</p>"})
        assert after.status_code == 201, after.text
    assert "unhandled error" not in server.log()


async def test_an_import_refuses_while_a_server_has_the_database(
    isolated_server: Callable[..., LiveServer], tmp_path: Path
) -> None:
    """Without --while-serving, an import into a SQLite database a server has open refuses,
    saying why and what to do, and writes nothing."""
    server = isolated_server()
    path = tmp_path / "small.json"
    path.write_text(json.dumps(archive("small", [entry(n) for n in range(3)])))
    result = cli(server.data_dir, "import", str(path), env=server.env)
    assert result.returncode == 1, result.stderr
    assert "in use by another process" in result.stderr, result.stderr
    assert "--while-serving" in result.stderr and "nothing" not in result.stdout
    async with writer(server) as api:
        assert (await api.get("/api/liveblogs/small")).status_code == 404


async def test_a_big_import_beside_a_server_never_makes_its_writes_500_and_is_all_or_nothing(
    isolated_server: Callable[..., LiveServer], tmp_path: Path
) -> None:
    """An import run --while-serving holds the write lock for its one transaction: the
    server's POSTs meanwhile all answer 201 or 503 + Retry-After (none 500, none left
    hanging). Killed midway, the import leaves no liveblog behind, and writes go on."""
    server = isolated_server()
    path = tmp_path / "big.json"
    path.write_text(json.dumps(archive("big", [entry(n) for n in range(20_000)])))
    statuses: list[int] = []
    refused: list[httpx.Response] = []
    stop = asyncio.Event()

    async def post_until_stopped(api: httpx.AsyncClient, slug: str) -> None:
        while not stop.is_set():
            response = await api.post(
                f"/api/liveblogs/{slug}/entries",
                json={"body": "<p>news</p>"},
                timeout=seconds(WRITE_WAIT_SECONDS * 2 + 5),
            )
            statuses.append(response.status_code)
            if response.status_code == 503:
                refused.append(response)
                await asyncio.sleep(0.2)
            else:
                await asyncio.sleep(0.05)

    async with writer(server) as api:
        assert (await api.post("/api/liveblogs", json={"slug": "desk", "title": "D"})).is_success
        importing = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "app", "import", str(path), "--while-serving",
            cwd=ROOT, env=server.env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        posters = [asyncio.create_task(post_until_stopped(api, "desk")) for _ in range(3)]
        try:
            # Until the import is well inside its transaction: the server's writes are refused.
            deadline = time.monotonic() + seconds(40)
            while len(refused) < 2 and importing.returncode is None:
                assert time.monotonic() < deadline, statuses
                await asyncio.sleep(0.1)
            assert importing.returncode is None, await importing.communicate()
            importing.send_signal(signal.SIGKILL)
            await asyncio.wait_for(importing.communicate(), seconds(10))
            # Writes go on once the lock is gone.
            deadline = time.monotonic() + seconds(WRITE_WAIT_SECONDS * 2 + 5)
            while statuses[-1:] != [201]:
                assert time.monotonic() < deadline, statuses
                await asyncio.sleep(0.1)
            stop.set()
            await asyncio.gather(*posters)
        finally:
            stop.set()
            for poster in posters:
                poster.cancel()
            if importing.returncode is None:
                importing.kill()
                await importing.communicate()
        assert set(statuses) <= {201, 503}, statuses
        for response in refused:
            assert_busy(response)
        assert (await api.get("/api/liveblogs/big")).status_code == 404
        slugs = [b["slug"] for b in (await api.get("/api/liveblogs")).json()["liveblogs"]]
        assert slugs == ["desk"], slugs
    assert "unhandled error" not in server.log()


def test_an_import_of_many_bad_entries_names_the_first_20_problems_and_counts_the_rest(
    tmp_path: Path,
) -> None:
    """20,000 entries without times (two problems each): 20 named, then a count, not 40,000
    lines."""
    path = tmp_path / "bad.json"
    bad = [{"body": f"<p>{n}</p>"} for n in range(20_000)]
    path.write_text(json.dumps(archive("bad", bad)))
    result = cli(tmp_path / "data", "import", str(path))
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 22, (len(lines), lines[:25])
    assert lines[0] == f"error: {path} is not a liveblog export (40,000 errors):", lines[:3]
    assert lines[1] == "  entries.0.created_at: Field required", lines[:3]
    assert lines[-1] == "  … and 39,980 more errors", lines[-3:]
