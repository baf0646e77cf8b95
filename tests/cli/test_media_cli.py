"""`liveblog media prune`: an upload nothing shows any more goes, with its files, once it is
older than the age given; one an entry, a draft or only a revision shows stays, and so does one
newer than the age (the entry around it may not be saved yet). Files a crash left without a row
go by the same age; files not named as ours are never touched. On a directory and a bucket.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from app.cli.media import parse_age
from app.storage.db import Database
from app.storage.models import MediaRow
from app.storage.objects import MediaStore
from tests.harness import (
    ConsoleClient,
    LiveServer,
    api_client,
    cli,
    create_token,
    create_user,
    on_database_of,
    until,
)
from tests.media.photos import jpeg_with_gps
from tests.services import S3Server

StartServer = Callable[..., LiveServer]
LONG_AGO = datetime.now(UTC) - timedelta(days=40)


async def upload(api: httpx.AsyncClient, colour: str) -> dict[str, Any]:
    response = await api.post(
        "/api/media",
        files={"file": (f"{colour}.jpg", jpeg_with_gps(640, 480, colour=colour))},
        data={"alt": f"A {colour} square"},
    )
    assert response.status_code == 201, response.text
    media: dict[str, Any] = response.json()
    return media


def names(media: dict[str, Any]) -> set[str]:
    return {file["url"].rsplit("/", 1)[1] for file in media["files"]}


def made_old(server: LiveServer, media: list[dict[str, Any]]) -> None:
    """Uploaded 40 days ago, as far as the database and (in a directory) the files' times say."""

    async def age(db: Database) -> None:
        async with db.write() as conn:
            await conn.execute(
                update(MediaRow)
                .where(MediaRow.id.in_([m["id"] for m in media]))
                .values(created_at=LONG_AGO)
            )

    on_database_of(server.env, age)
    for name in set().union(*(names(m) for m in media)):
        path = server.data_dir / "media" / name
        if path.exists():
            os.utime(path, (LONG_AGO.timestamp(), LONG_AGO.timestamp()))


async def served(api: httpx.AsyncClient, media: dict[str, Any]) -> set[int]:
    """The statuses its files answer with."""
    return {(await api.get(file["url"])).status_code for file in media["files"]}


def prune(server: LiveServer, *args: str) -> list[str]:
    result = cli(server.data_dir, "media", "prune", *args, env=server.env)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def stray(directory: Path, content: bytes, *, old: bool) -> str:
    """A file as a crash between storing an upload's files and its row leaves it."""
    name = hashlib.sha256(content).hexdigest()[:32] + ".webp"
    path = directory / name
    path.write_bytes(content)
    if old:
        os.utime(path, (LONG_AGO.timestamp(), LONG_AGO.timestamp()))
    return name


async def test_prune_keeps_what_an_entry_a_draft_or_a_revision_shows(
    isolated_server: StartServer, database: dict[str, str]
) -> None:
    """Of five uploads, four 40 days old: the one nothing shows goes with its files; the one an
    entry shows, the one a saved draft shows and the one only an entry's earlier version
    shows stay, as does the unused one uploaded today. A stray file that old goes, a newer one
    and a file not named as ours stay. --dry-run says the same and removes nothing."""
    server = isolated_server(**database)
    token = create_token(server.data_dir, env=server.env)
    async with api_client(server, token) as api:
        await api.post("/api/liveblogs", json={"slug": "port", "title": "Port"})
        unused, in_entry, in_draft, in_revision, today = [
            await upload(api, colour) for colour in ("red", "green", "blue", "olive", "teal")
        ]
        entries = "/api/liveblogs/port/entries"
        made = await api.post(entries, json={"body": in_entry["html"]})
        assert made.status_code == 201, made.text
        edited = (await api.post(entries, json={"body": in_revision["html"]})).json()
        changed = await api.patch(f"{entries}/{edited['id']}", json={"body": "<p>No photo.</p>"})
        assert changed.status_code == 200, changed.text
        async with ConsoleClient(server) as editor:
            assert (await editor.sign_in(create_user(server, "editor"))).status_code == 303
            draft = await editor.post(
                "/console/liveblogs/port/drafts",
                {"source": f"Later.\n\n![A blue square]({in_draft['url']})"},
            )
            assert draft.status_code == 201, draft.text
        made_old(server, [unused, in_entry, in_draft, in_revision])
        directory = server.data_dir / "media"
        old_stray = stray(directory, b"left by a crash", old=True)
        new_stray = stray(directory, b"being uploaded", old=False)
        (directory / "notes.txt").write_text("not ours")
        os.utime(directory / "notes.txt", (LONG_AGO.timestamp(), LONG_AGO.timestamp()))
        before = {path.name for path in directory.iterdir()}

        size = r"\d+\.\d MB"
        files = f"{len(unused['files'])} files"
        *listed, summary = prune(server, "--older-than", "30d", "--dry-run")
        assert listed[0].startswith(f"would remove media {unused['id']} of ")
        assert re.fullmatch(rf".* \({files}, {size}\)", listed[0]), listed
        assert listed[1].startswith(f"would remove stray file {old_stray} of "), listed
        assert len(listed) == 2, listed
        assert re.fullmatch(
            rf"would prune 1 media \({files}, {size}\) and 1 stray file \({size}\); 3 in use "
            r"kept, 1 newer than 30d kept; nothing was removed \(--dry-run\)",
            summary,
        ), summary
        assert {path.name for path in directory.iterdir()} == before
        assert await served(api, unused) == {200}

        *listed, summary = prune(server, "--older-than", "30d")
        assert [line.split(" of ")[0] for line in listed] == [
            f"removed media {unused['id']}",
            f"removed stray file {old_stray}",
        ]
        assert re.fullmatch(
            rf"pruned 1 media \({files}, {size}\) and 1 stray file \({size}\); 3 in use kept, "
            r"1 newer than 30d kept",
            summary,
        ), summary
        assert {path.name for path in directory.iterdir()} == before - names(unused) - {old_stray}
        assert new_stray in before and "notes.txt" in before
        assert await served(api, unused) == {404}
        assert (await api.get(f"/api/media/{unused['id']}")).status_code == 404
        for kept in (in_entry, in_draft, in_revision, today):
            assert await served(api, kept) == {200}
            assert (await api.get(f"/api/media/{kept['id']}")).status_code == 200

        *listed, summary = prune(server, "--older-than", "30d")
        assert not listed and summary.startswith("pruned 0 media (0 files, 0.0 MB); 3 in use")


async def test_prune_in_a_bucket(
    isolated_server: StartServer, s3_server: S3Server, tmp_path: Path
) -> None:
    """The same on an S3 bucket: the unused upload's objects leave it, the used one's stay."""
    bucket = f"s3://{s3_server.create_bucket()}/liveblog"
    server = isolated_server(media_url=bucket, media_s3_endpoint=s3_server.endpoint)
    token = create_token(server.data_dir, env=server.env)
    async with api_client(server, token) as api:
        await api.post("/api/liveblogs", json={"slug": "bay", "title": "Bay"})
        unused, used = await upload(api, "navy"), await upload(api, "gold")
        assert (
            await api.post("/api/liveblogs/bay/entries", json={"body": used["html"]})
        ).is_success
        # The bucket keeps times in whole seconds: "older than 0m" holds once the clock has
        # passed the newest upload's second.
        store = MediaStore.open(bucket, tmp_path, endpoint=s3_server.endpoint)
        newest = max(file.last_modified for file in await store.listing())
        await until(
            lambda: datetime.now(UTC) - newest >= timedelta(seconds=1),
            "the uploads to be older than the bucket's whole-second clock",
        )
        *listed, summary = prune(server, "--older-than", "0m")
        assert [line.split(" of ")[0] for line in listed] == [f"removed media {unused['id']}"]
        assert (
            summary.startswith(f"pruned 1 media ({len(unused['files'])} files, ")
            and "; 1 in use kept" in summary
        )
        assert await store.names() == names(used)
        assert await served(api, unused) == {404}
        assert await served(api, used) == {200}


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("30d", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        ("90m", timedelta(minutes=90)),
        ("0m", timedelta(0)),
        (" 7d ", timedelta(days=7)),
        ("30", None),
        ("1w", None),
        ("-1d", None),
        ("1.5d", None),
        ("30 d", None),
        ("d", None),
        ("", None),
    ],
)
def test_ages(text: str, age: timedelta | None) -> None:
    assert parse_age(text) == age


def test_an_age_it_cannot_read_is_one_line(tmp_path: Path) -> None:
    result = cli(tmp_path, "media", "prune", "--older-than", "2 weeks")
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: --older-than: '2 weeks' is not an age; expected a number and a unit: 30d "
        "(days), 12h (hours) or 90m (minutes)"
    ]
    assert not (tmp_path / "liveblog.db").exists()  # refused before opening anything
