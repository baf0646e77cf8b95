"""The media store's contract, the same on a directory and on an S3-compatible server (moto's,
on loopback): what is put is got back byte for byte, a missing file is None, names list what is
there, a delete is idempotent; and servers that share a bucket share their media."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from app.storage.objects import MediaStore, MediaStoreError
from tests.harness import LiveServer, api_client, create_token, free_port
from tests.media.photos import jpeg_with_gps
from tests.services import S3Server

StartServer = Callable[..., LiveServer]


@pytest.fixture(params=["directory", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> MediaStore:
    if request.param == "directory":
        return MediaStore.open("", tmp_path)
    s3: S3Server = request.getfixturevalue("s3_server")
    return MediaStore.open(f"s3://{s3.create_bucket()}/media", tmp_path, endpoint=s3.endpoint)


async def test_the_contract(store: MediaStore) -> None:
    name = "0123456789abcdef0123456789abcdef.webp"
    assert await store.get(name) is None
    await store.put(name, b"first bytes")
    await store.put(name, b"first bytes")  # content-addressed: writing it again is harmless
    assert await store.get(name) == b"first bytes"
    other = "fedcba9876543210fedcba9876543210.jpg"
    await store.put(other, bytes(range(256)) * 1000)
    assert await store.get(other) == bytes(range(256)) * 1000
    assert await store.names() == {name, other}
    await store.delete(name)
    await store.delete(name)
    assert await store.get(name) is None
    assert await store.names() == {other}


async def test_concurrent_puts(store: MediaStore) -> None:
    names = [f"{n:032x}.png" for n in range(20)]
    await asyncio.gather(*(store.put(name, name.encode()) for name in names))
    assert await store.names() == set(names)
    got = await asyncio.gather(*(store.get(name) for name in names))
    assert got == [name.encode() for name in names]


async def test_an_unreachable_bucket_is_an_error_not_a_hang(tmp_path: Path) -> None:
    store = MediaStore.open(
        "s3://nowhere/media", tmp_path, endpoint=f"http://127.0.0.1:{free_port()}"
    )
    with pytest.raises(MediaStoreError, match="nowhere"):
        await store.put("0123456789abcdef0123456789abcdef.webp", b"x")


async def test_two_servers_share_media_through_one_bucket(
    isolated_server: StartServer, s3_server: S3Server, tmp_path: Path
) -> None:
    """A photo uploaded to one process is served by another that shares the bucket (and the
    database): what several processes behind a load balancer need."""
    bucket = s3_server.create_bucket()
    shared = {
        "media_url": f"s3://{bucket}/liveblog",
        "media_s3_endpoint": s3_server.endpoint,
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}",
    }
    first = isolated_server(**shared)
    second = LiveServer(tmp_path / "second", **shared).start()
    try:
        token = create_token(first.data_dir, env={"LIVEBLOG_DATABASE_URL": shared["database_url"]})
        async with api_client(first, token) as api:
            made = await api.post(
                "/api/media", files={"file": ("p.jpg", jpeg_with_gps(800, 600))}, data={}
            )
        assert made.status_code == 201, made.text
        async with api_client(second) as reader:
            for file in made.json()["files"]:
                served = await reader.get(file["url"])
                assert served.status_code == 200
                assert served.headers["content-type"] == file["content_type"]
                assert len(served.content) == file["bytes"]
        assert not (first.data_dir / "media").exists()  # nothing went to a local directory
    finally:
        second.stop()


async def test_after_moving_to_a_bucket_an_upload_puts_its_files_there(
    isolated_server: StartServer, s3_server: S3Server, tmp_path: Path
) -> None:
    """The database remembers a photo uploaded while media lived in a directory; once
    LIVEBLOG_MEDIA_URL names a bucket, the same photo uploaded again is stored there too,
    not taken for stored because its row exists."""
    database = {"database_url": f"sqlite+aiosqlite:///{tmp_path / 'moving.db'}"}
    photo = jpeg_with_gps(700, 500, colour="teal")
    before = isolated_server(**database)
    token = create_token(before.data_dir, env={"LIVEBLOG_DATABASE_URL": database["database_url"]})
    async with api_client(before, token) as api:
        first = await api.post("/api/media", files={"file": ("p.jpg", photo)})
    assert first.status_code == 201
    before.stop()
    after = LiveServer(
        tmp_path / "after",
        media_url=f"s3://{s3_server.create_bucket()}/m",
        media_s3_endpoint=s3_server.endpoint,
        **database,
    ).start()
    try:
        async with api_client(after, token) as api:
            url = first.json()["url"]
            assert (await api.get(url)).status_code == 404  # not in the bucket yet
            again = await api.post("/api/media", files={"file": ("p.jpg", photo)})
            assert again.json()["id"] == first.json()["id"]
            assert (await api.get(url)).status_code == 200
    finally:
        after.stop()
