"""`liveblog backup` and `liveblog restore` on the embedded database, with a server writing,
and the media files that go with it.

PostgreSQL is backed up with its own tools (docs/operations.md: "Backups"); what Liveblog adds
there,
`liveblog rotate-epochs`, is tested on both databases in tests/realtime/test_epochs.py.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.harness import LiveServer, Subscriber, cli, problem, seconds, writer
from tests.media.photos import jpeg_with_gps

POSTS = 200
POSTERS = 8
AFTER_BACKUP = 3  # posts each poster makes once the backup has finished
MAX_PER_POSTER = 2_000  # the bound on a poster, however long the backup takes
SLUGS = ("north", "south")


async def every_entry(api: httpx.AsyncClient, slug: str) -> dict[str, Any]:
    """The liveblog's entries page by page (`next_before`), all of them: how many a backup
    holds depends on how far the writers got while it ran. Returns the first page's members
    ("seq", "epoch") with "entries" holding every entry."""
    first: dict[str, Any] = {}
    entries: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        response = await api.get(f"/api/liveblogs/{slug}/entries", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        first = first or page
        entries += page["entries"]
        if page["next_before"] is None:
            return {**first, "entries": entries}
        params["before"] = page["next_before"]


def stored(path: Path) -> dict[str, tuple[int, str, dict[int, int]]]:
    """slug → (head seq, epoch, {entry id: seq}) as the database file at `path` holds them."""
    connection = sqlite3.connect(path)
    try:
        liveblogs = connection.execute("SELECT id, slug, head_seq, epoch FROM liveblogs").fetchall()
        result = {}
        for liveblog_id, slug, head, epoch in liveblogs:
            entries = connection.execute(
                "SELECT id, seq FROM entries WHERE liveblog_id = ?", (liveblog_id,)
            ).fetchall()
            result[slug] = (head, epoch, dict(entries))
        return result
    finally:
        connection.close()


async def _reader_of_seq_20_resyncs(server: LiveServer, slug: str, old_epoch: str) -> str:
    """The liveblog, restored to seq 10 in a new epoch, is written on to seq 25; a reader that
    held seq 20 of the old epoch gets hello and a resync. Returns the new epoch."""
    async with writer(server) as api:
        new_epoch: str = (await api.get(f"/api/liveblogs/{slug}")).json()["epoch"]
        assert new_epoch != old_epoch
        for n in range(15):
            await api.post(f"/api/liveblogs/{slug}/entries", json={"body": f"<p>after {n}</p>"})
    async with Subscriber(server, slug, since=20, epoch=old_epoch) as reader:
        await reader.wait_for(lambda s: len(s.messages) >= 2, what="hello and resync")
    hello, resync = reader.messages[:2]
    assert (hello["seq"], hello["epoch"]) == (25, new_epoch)
    assert (resync["type"], resync["reason"], resync["epoch"]) == (
        "resync",
        "epoch_changed",
        new_epoch,
    )
    return new_epoch


async def test_backup_while_posting_restores_every_acknowledged_entry(
    isolated_server: Callable[..., LiveServer], tmp_path: Path
) -> None:
    """A backup taken during 200 concurrent POSTs holds every entry acknowledged before it
    started and, per liveblog, a gap-free prefix of the seqs; restored, it is what readers get,
    in a new epoch, and writing goes on from its head."""
    server = isolated_server()
    backup_file = tmp_path / "nightly.db"
    acknowledged: list[tuple[float, str, int]] = []  # (when, slug, entry id)
    async with writer(server) as api:
        for slug in SLUGS:
            await api.post("/api/liveblogs", json={"slug": slug, "title": slug})
        epochs = {slug: (await api.get(f"/api/liveblogs/{slug}")).json()["epoch"] for slug in SLUGS}

        backup_done = asyncio.Event()

        async def poster(number: int) -> None:
            # At least POSTS // POSTERS each, and on until the backup has finished and a few
            # more have gone in after it (bounded): on a slow machine the backup command's own
            # start-up may outlast a fixed number of posts.
            n = after = 0
            while n < POSTS // POSTERS or (after < AFTER_BACKUP and n < MAX_PER_POSTER):
                slug = SLUGS[(number + n) % 2]
                response = await api.post(
                    f"/api/liveblogs/{slug}/entries", json={"body": f"<p>{number}-{n}</p>"}
                )
                assert response.status_code == 201, response.text
                acknowledged.append((time.monotonic(), slug, response.json()["id"]))
                n += 1
                after += backup_done.is_set()

        posters = [asyncio.create_task(poster(number)) for number in range(POSTERS)]
        deadline = time.monotonic() + seconds(30)
        while len(acknowledged) < POSTS // 4:
            stopped = [task for task in posters if task.done()]
            if stopped:
                await asyncio.gather(*stopped)  # a poster stops this early only on a failure
            assert time.monotonic() < deadline, f"{len(acknowledged)} posts in 30 s"
            await asyncio.sleep(0.005)
        started = time.monotonic()
        backup = await asyncio.to_thread(
            cli, server.data_dir, "backup", str(backup_file), env=server.env
        )
        finished = time.monotonic()
        backup_done.set()
        await asyncio.gather(*posters)
    assert backup.returncode == 0, backup.stderr
    assert "backed up to" in backup.stdout

    copy = stored(backup_file)
    before = {entry for when, _, entry in acknowledged if when < started}
    after = {entry for when, _, entry in acknowledged if when > finished}
    in_copy = {entry for _, _, entries in copy.values() for entry in entries}
    assert before <= in_copy, "an entry acknowledged before the backup began is missing"
    assert in_copy <= {entry for _, _, entry in acknowledged}
    assert after - in_copy, "the backup should not have waited for the writers to finish"
    for slug, (head, epoch, entries) in copy.items():
        assert epoch == epochs[slug]
        assert sorted(entries.values()) == list(range(1, head + 1)), slug  # a seq prefix

    server.stop()
    restored = cli(server.data_dir, "restore", str(backup_file))
    assert restored.returncode == 0, restored.stderr
    assert f"new epochs for {len(SLUGS)} liveblogs" in restored.stdout
    server.start()
    async with writer(server) as api:
        for slug, (head, epoch, entries) in copy.items():
            page = await every_entry(api, slug)
            assert page["seq"] == head and page["epoch"] != epoch
            assert {entry["id"] for entry in page["entries"]} == set(entries)
            more = await api.post(f"/api/liveblogs/{slug}/entries", json={"body": "<p>on</p>"})
            assert more.status_code == 201, more.text
            assert more.json()["seq"] == head + 1


async def test_restore_refuses_while_serving_then_readers_of_the_old_history_resync(
    isolated_server: Callable[..., LiveServer], tmp_path: Path
) -> None:
    """Restore is refused while the server runs; after it, a reader at seq 20 of the old epoch,
    with the restored liveblog written on to seq 25, gets a resync (WebSocket) and 409 (REST),
    never a silent skip. Restoring the same backup twice gives two different epochs."""
    server = isolated_server()
    backup_file = tmp_path / "story.db"
    async with writer(server) as api:
        await api.post("/api/liveblogs", json={"slug": "story", "title": "Story"})
        for n in range(10):
            await api.post("/api/liveblogs/story/entries", json={"body": f"<p>kept {n}</p>"})
        assert cli(server.data_dir, "backup", str(backup_file)).returncode == 0
        for n in range(10):
            await api.post("/api/liveblogs/story/entries", json={"body": f"<p>lost {n}</p>"})
        old_epoch = (await api.get("/api/liveblogs/story")).json()["epoch"]

        refused = cli(server.data_dir, "restore", str(backup_file))
        assert refused.returncode == 1 and "in use" in refused.stderr, refused.stderr
        assert (await api.get("/api/liveblogs/story")).json()["seq"] == 20  # untouched

    server.stop()
    restored = cli(server.data_dir, "restore", str(backup_file))
    assert restored.returncode == 0, restored.stderr
    kept = list(server.data_dir.glob("liveblog.db.replaced-*"))
    assert len(kept) == 1 and stored(kept[0])["story"][0] == 20  # the old database, whole
    assert stored(server.data_dir / "liveblog.db")["story"][0] == 10
    server.start()
    new_epoch = await _reader_of_seq_20_resyncs(server, "story", old_epoch)
    async with writer(server) as api:
        body = problem(
            await api.get("/api/liveblogs/story/entries", params={"since": 20, "epoch": old_epoch}),
            409,
        )
        assert (body["reason"], body["epoch"], body["seq"]) == ("epoch_changed", new_epoch, 25)

    server.stop()
    again = cli(server.data_dir, "restore", str(backup_file))
    assert again.returncode == 0, again.stderr
    third = stored(server.data_dir / "liveblog.db")["story"]
    assert third[0] == 10 and third[1] not in (old_epoch, new_epoch)


async def test_backup_and_restore_carry_the_media_files(
    isolated_server: Callable[..., LiveServer], tmp_path: Path
) -> None:
    """A backup copies the photos' files beside it (only the missing ones, run again); a
    restore into a data directory that lost them puts them back, and the page's image is
    served again."""
    server = isolated_server()
    backup_file = tmp_path / "with-photos.db"
    beside = tmp_path / "with-photos.db.media"
    async with writer(server) as api:
        await api.post("/api/liveblogs", json={"slug": "harbour", "title": "Harbour"})
        photo = await api.post(
            "/api/media", files={"file": ("p.jpg", jpeg_with_gps(900, 600))}, data={"alt": "Quay"}
        )
        assert photo.status_code == 201, photo.text
        files = {f["url"].rsplit("/", 1)[1] for f in photo.json()["files"]}
        made = await api.post("/api/liveblogs/harbour/entries", json={"body": photo.json()["html"]})
        assert made.status_code == 201, made.text
        page = (await api.get("/liveblogs/harbour")).text
        image = re.search(r'<img [^>]*src="(/media/[^"]+)"', page)
        assert image is not None, page
        assert (await api.get(image[1])).status_code == 200

        first = cli(server.data_dir, "backup", str(backup_file), env=server.env)
        assert first.returncode == 0, first.stderr
        count = len(files)
        assert first.stdout.rstrip().endswith(
            f", {count} media files in {beside} ({count} copied)"
        ), first.stdout
        assert {path.name for path in beside.iterdir()} == files
        again = cli(server.data_dir, "backup", str(backup_file), env=server.env)
        assert again.stdout.rstrip().endswith("(0 copied)"), again.stdout

    server.stop()
    for path in (server.data_dir / "media").iterdir():
        path.unlink()
    restored = cli(server.data_dir, "restore", str(backup_file), env=server.env)
    assert restored.returncode == 0, restored.stderr
    assert (
        f"put back {count} media files missing from {server.data_dir / 'media'} "
        f"({count} in {beside})"
    ) in restored.stdout.splitlines(), restored.stdout
    assert {path.name for path in (server.data_dir / "media").iterdir()} == files
    server.start()
    async with writer(server) as api:
        page = (await api.get("/liveblogs/harbour")).text
        assert image[1] in page
        served = await api.get(image[1])
        assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"


def test_backup_leaves_media_in_a_bucket_and_says_how_to_keep_them(tmp_path: Path) -> None:
    """Media in a bucket are not copied: the backup says where they are and how to keep them,
    and so does a restore of it."""
    bucket = {"LIVEBLOG_MEDIA_URL": "s3://newsroom-media/liveblog"}
    backup_file = tmp_path / "b.db"
    assert cli(tmp_path / "data", "migrate").returncode == 0
    backup = cli(tmp_path / "data", "backup", str(backup_file), env=bucket)
    assert backup.returncode == 0, backup.stderr
    said = backup.stdout.splitlines()
    assert said[0].startswith(f"backed up to {backup_file} in ") and "media file" not in said[0]
    assert said[1].startswith(
        "media files are not in the backup: they stay in s3://newsroom-media/liveblog; keep "
        "them with the bucket's versioning, or copy them with `aws s3 sync "
        "s3://newsroom-media/liveblog DIR`"
    ), said
    assert not (tmp_path / "b.db.media").exists()
    restored = cli(tmp_path / "data", "restore", str(backup_file), env=bucket)
    assert restored.returncode == 0, restored.stderr
    assert "media files were not in the backup: they are in s3://newsroom-media/liveblog" in (
        restored.stdout
    )


def test_restore_refuses_what_is_not_a_backup(tmp_path: Path) -> None:
    """A missing file, a file that is not a database, the database itself and a backup of a
    newer version are refused with a reason (and backups where they cannot go), and the
    database is left as it was, nothing left beside it."""
    data = tmp_path / "data"
    assert cli(data, "migrate").returncode == 0
    database = data / "liveblog.db"
    before = database.read_bytes()
    junk = tmp_path / "junk.db"
    junk.write_text("not a database")
    newer = tmp_path / "newer.db"
    assert cli(data, "backup", str(newer)).returncode == 0
    with sqlite3.connect(newer) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999_future'")
    connection.close()
    for source, reason in (
        (tmp_path / "missing.db", "is not a file"),
        (junk, "is not a Liveblog database"),
        (database, "is the database itself"),
        (newer, "made by a newer one"),
    ):
        result = cli(data, "restore", str(source))
        assert result.returncode == 1 and reason in result.stderr, result.stderr
        assert "the database was not changed" in result.stderr
    # (The media store's directory is the backup's doing: it looked for files to copy.)
    assert sorted(p.name for p in data.iterdir()) == ["liveblog.db", "liveblog.db.lock", "media"]
    for target, reason in (
        (tmp_path / "missing" / "b.db", "there is no directory"),
        (database, "is the database itself"),
    ):
        result = cli(data, "backup", str(target))
        assert result.returncode == 1 and reason in result.stderr, result.stderr
    assert database.read_bytes() == before


@pytest.mark.slow
def test_backup_and_restore_point_postgresql_to_its_own_tools(
    postgres_url: str, tmp_path: Path
) -> None:
    for command in ("backup", "restore"):
        result = cli(
            tmp_path, command, str(tmp_path / "x.db"), env={"LIVEBLOG_DATABASE_URL": postgres_url}
        )
        assert result.returncode == 2, result.stderr
        assert "pg_dump" in result.stderr and "rotate-epochs" in result.stderr


@pytest.mark.slow
async def test_postgresql_restore_in_the_readme_order_resyncs_readers(
    isolated_server: Callable[..., LiveServer], postgres_url: str, tmp_path: Path
) -> None:
    """README's order for PostgreSQL: stop → pg_restore → liveblog rotate-epochs → start. A
    reader of the old history then gets a resync, not a silent skip."""
    tools = [shutil.which(name) for name in ("pg_dump", "pg_restore")]
    if None in tools:
        message = "pg_dump and pg_restore (Debian's postgresql-client) are needed"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    libpq_url = make_url(postgres_url).set(drivername="postgresql").render_as_string(False)
    dump = tmp_path / "liveblog.dump"
    server = isolated_server(database_url=postgres_url)
    async with writer(server) as api:
        await api.post("/api/liveblogs", json={"slug": "pg", "title": "PG"})
        for n in range(10):
            await api.post("/api/liveblogs/pg/entries", json={"body": f"<p>kept {n}</p>"})
        await asyncio.to_thread(
            subprocess.run, ["pg_dump", "-Fc", "-f", str(dump), libpq_url], check=True
        )
        for n in range(10):
            await api.post("/api/liveblogs/pg/entries", json={"body": f"<p>lost {n}</p>"})
        old_epoch = (await api.get("/api/liveblogs/pg")).json()["epoch"]

    server.stop()
    await asyncio.to_thread(
        subprocess.run,
        ["pg_restore", "--clean", "--if-exists", "--no-owner", "-d", libpq_url, str(dump)],
        check=True,
    )
    rotated = cli(server.data_dir, "rotate-epochs", env=server.env)
    assert rotated.returncode == 0, rotated.stderr
    server.start()
    await _reader_of_seq_20_resyncs(server, "pg", old_epoch)


async def test_serve_gives_new_epochs_to_a_database_copied_back_under_it(
    isolated_server: Callable[..., LiveServer], tmp_path: Path
) -> None:
    """A restart, or `rotate-epochs` while stopped, changes no epoch at start. An older backup
    copied over liveblog.db while the server is stopped (no `liveblog restore`): serve gives
    each liveblog it holds older a new epoch and logs why, so a reader that sends `since`
    alone, written on past its seq, gets a resync (WebSocket) or 409 (REST), not a replay."""
    server = isolated_server(process=True)  # `liveblog serve` keeps the served heads
    backup_file = tmp_path / "older.db"
    slugs = ("copied", "steady")
    async with writer(server) as api:
        for slug in slugs:
            await api.post("/api/liveblogs", json={"slug": slug, "title": slug})
        for n in range(5):
            await api.post("/api/liveblogs/copied/entries", json={"body": f"<p>kept {n}</p>"})
        assert cli(server.data_dir, "backup", str(backup_file)).returncode == 0
        for n in range(10):
            await api.post("/api/liveblogs/copied/entries", json={"body": f"<p>lost {n}</p>"})
        first = {slug: (await api.get(f"/api/liveblogs/{slug}")).json() for slug in slugs}
    assert first["copied"]["seq"] == 15

    server.stop()
    rotated = cli(server.data_dir, "rotate-epochs", "steady")
    assert rotated.returncode == 0, rotated.stderr
    steady_epoch = rotated.stdout.split()[1]
    server.start()
    async with writer(server) as api:
        again = {slug: (await api.get(f"/api/liveblogs/{slug}")).json() for slug in slugs}
    assert again["copied"]["epoch"] == first["copied"]["epoch"]
    assert again["steady"]["epoch"] == steady_epoch
    assert "older than" not in server.log()

    server.stop()
    database = server.data_dir / "liveblog.db"
    assert not database.with_name("liveblog.db-wal").exists()  # an orderly stop left none
    shutil.copyfile(backup_file, database)
    server.start()
    log = server.log()
    assert "liveblog 'copied' is older than" in log and "below seq 15" in log, log
    assert "liveblog 'steady' is older than" in log, log  # the backup has its first epoch
    async with writer(server) as api:
        now = {slug: (await api.get(f"/api/liveblogs/{slug}")).json() for slug in slugs}
        assert now["copied"]["seq"] == 5
        assert now["copied"]["epoch"] != first["copied"]["epoch"]
        assert now["steady"]["epoch"] not in (first["steady"]["epoch"], steady_epoch)
        for n in range(15):
            await api.post("/api/liveblogs/copied/entries", json={"body": f"<p>new {n}</p>"})
        new_epoch = now["copied"]["epoch"]
        async with Subscriber(server, "copied", since=12) as bare:
            await bare.wait_for(lambda s: len(s.messages) >= 2, what="hello and resync")
        hello, resync = bare.messages[:2]
        assert (hello["type"], hello["seq"], hello["epoch"]) == ("hello", 20, new_epoch)
        assert (resync["type"], resync["reason"], resync["seq"], resync["epoch"]) == (
            "resync",
            "epoch_changed",
            20,
            new_epoch,
        )
        old = first["copied"]["epoch"]
        async with Subscriber(server, "copied", since=12, epoch=old) as stale:
            await stale.wait_for(lambda s: len(s.messages) >= 2, what="hello and resync")
        assert stale.messages[1]["reason"] == "epoch_changed"
        body = problem(await api.get("/api/liveblogs/copied/entries", params={"since": 12}), 409)
        assert (body["reason"], body["epoch"], body["seq"]) == ("epoch_changed", new_epoch, 20)

    server.stop()  # the new epochs are what the record holds now: no rotation at this start
    server.start()
    async with writer(server) as api:
        assert (await api.get("/api/liveblogs/copied")).json()["epoch"] == new_epoch
