"""POST /api/media: photos judged by content, stripped of where they were taken, stored once at
every size, served immutable; every refusal a 4xx that says what to change, nothing stored."""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable

import httpx
from PIL import Image

from tests.harness import LiveServer, api_client, create_token, problem
from tests.media.photos import GPS_IFD, encoded, jpeg_with_gps, png, png_bomb

StartServer = Callable[..., LiveServer]


def stored_files(server: LiveServer) -> set[str]:
    media = server.data_dir / "media"
    return {path.name for path in media.iterdir()} if media.exists() else set()


async def upload(
    api: httpx.AsyncClient, data: bytes, name: str = "photo.jpg", **fields: str
) -> httpx.Response:
    return await api.post(
        "/api/media", files={"file": (name, data, "application/octet-stream")}, data=fields
    )


async def test_a_phone_photo_is_stored_without_its_metadata_at_every_size(
    api: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    sent = jpeg_with_gps(2000, 1500, colour="darkgreen")
    response = await upload(
        api, sent, alt="Smoke over the port", caption="At dawn", credit="Photo: Reuters"
    )
    assert response.status_code == 201, response.text
    media = response.json()
    assert response.headers["location"] == f"/api/media/{media['id']}"
    assert media["id"] == hashlib.sha256(sent).hexdigest()[:32]
    assert (media["width"], media["height"]) == (1600, 1200)
    assert media["content_type"] == "image/jpeg" and media["source_type"] == "image/jpeg"
    widths = [f["width"] for f in media["files"] if f["content_type"] == "image/webp"]
    assert widths == [480, 960, 1600]
    assert media["srcset"] == ", ".join(
        f"{f['url']} {f['width']}w" for f in media["files"] if f["content_type"] == "image/webp"
    )
    assert media["html"].startswith("<figure><img ")
    assert 'alt="Smoke over the port"' in media["html"]
    assert "<figcaption>At dawn <small>Photo: Reuters</small></figcaption>" in media["html"]
    for file in media["files"]:
        served = await anonymous.get(file["url"])
        assert served.status_code == 200
        assert served.headers["content-type"] == file["content_type"]
        assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert served.headers["x-content-type-options"] == "nosniff"
        name = file["url"].rsplit("/", 1)[1]
        assert name.split(".")[0] == hashlib.sha256(served.content).hexdigest()[:32]
        image = Image.open(io.BytesIO(served.content))
        assert (image.width, image.height) == (file["width"], file["height"])
        assert not image.getexif() and not image.getexif().get_ifd(GPS_IFD)
        assert b"Exif" not in served.content and b"PhoneModel" not in served.content
        again = await anonymous.get(file["url"], headers={"If-None-Match": served.headers["etag"]})
        assert again.status_code == 304


async def test_the_same_photo_twice_is_stored_once(server: LiveServer, token: str) -> None:
    sent = jpeg_with_gps(900, 600, colour="purple")
    async with api_client(server, token) as api:
        first = await upload(api, sent, alt="One")
        files = stored_files(server)
        second = await upload(api, sent, alt="Two")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["files"] == second.json()["files"]
    assert 'alt="Two"' in second.json()["html"]  # the words are each upload's own
    assert stored_files(server) == files


async def test_judged_by_content_not_by_name(api: httpx.AsyncClient) -> None:
    as_jpg = await upload(api, png(), name="holiday.jpg")
    assert as_jpg.status_code == 201, as_jpg.text
    assert as_jpg.json()["source_type"] == "image/png"
    script = await upload(api, b"<script>alert(1)</script>", name="innocent.png")
    body = problem(script, 415)
    assert "not an image" in body["detail"]
    assert script.headers["accept-post"].startswith("image/jpeg")


async def test_refusals_store_nothing(isolated_server: StartServer) -> None:
    server = isolated_server(max_upload_bytes=200_000)
    token = create_token(server.data_dir)
    async with api_client(server, token) as api:
        bomb = await upload(api, png_bomb(), name="bomb.png")
        assert "pixels" in problem(bomb, 413)["detail"]
        # Noise does not compress: a PNG of it is as big as its pixels.
        oversize = encoded(Image.frombytes("RGB", (400, 400), os.urandom(480_000)), "PNG")
        too_big = await upload(api, oversize, name="big.png")
        assert "exceeds the limit" in problem(too_big, 413)["detail"]  # refused unread
        just_over = encoded(Image.frombytes("L", (470, 470), os.urandom(470 * 470)), "PNG")
        assert 200_000 < len(just_over) < 200_000 + 64 * 1024
        over = await upload(api, just_over, name="over.png")
        assert "LIVEBLOG_MAX_UPLOAD_BYTES" in problem(over, 413)["detail"]
        broken = await upload(api, jpeg_with_gps()[:2000], name="cut.jpg")
        problem(broken, 422)
        not_a_form = await api.post(
            "/api/media", content=png(), headers={"Content-Type": "image/png"}
        )
        assert "multipart/form-data" in problem(not_a_form, 415)["detail"]
    async with api_client(server) as anonymous:
        no_token = await anonymous.post("/api/media", files={"file": ("a.png", png())})
        problem(no_token, 401)
    assert stored_files(server) == set()


async def test_uploads_per_minute(isolated_server: StartServer) -> None:
    server = isolated_server(uploads_per_minute=2)
    token = create_token(server.data_dir)
    async with api_client(server, token) as api:
        answers = [
            (await upload(api, png(100 + n, 100), name=f"{n}.png")).status_code for n in range(3)
        ]
        refused = await upload(api, png(99, 99))
    assert answers == [201, 201, 429]
    assert "LIVEBLOG_UPLOADS_PER_MINUTE" in problem(refused, 429)["detail"]
    assert int(refused.headers["retry-after"]) > 0
