"""`liveblog export` and `liveblog import`: one liveblog as a JSON document, on both databases,
with the photos its entries show."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.harness import LiveServer, cli, writer
from tests.media.photos import jpeg_with_gps, png

ENTRY_KEYS = {
    "title", "body", "author", "pinned", "key_event", "correction", "source",
    "created_at", "updated_at", "edited_at",
}  # fmt: skip


def export(server: LiveServer, slug: str) -> dict[str, Any]:
    result = cli(server.data_dir, "export", slug, env=server.env)
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def import_(server: LiveServer, path: Path, *args: str) -> tuple[int, str, str]:
    """Import beside the running server (--while-serving: these imports are small, and the
    refusal without it is tested in test_database_busy.py)."""
    result = cli(server.data_dir, "import", str(path), "--while-serving", *args, env=server.env)
    return result.returncode, result.stdout, result.stderr


async def test_export_import_export_keeps_every_entry(
    isolated_server: Callable[..., LiveServer], database: dict[str, str], tmp_path: Path
) -> None:
    """The document holds the published entries, oldest first, with their content, flags,
    corrections and times, and no ids, seqs or epoch; imported under another slug they get new
    ids and seqs 1..N in that order, a new epoch, and the same content; exported again, the
    entries are the same."""
    server = isolated_server(**database)
    async with writer(server) as api:
        await api.post("/api/liveblogs", json={"slug": "vote", "title": "Vote", "description": "D"})
        url = "/api/liveblogs/vote/entries"
        made = [
            (
                await api.post(
                    url, json={"title": f"T{n}", "body": f"<p>{n}</p>", "author": "Desk"}
                )
            ).json()
            for n in range(5)
        ]
        await api.patch(f"{url}/{made[1]['id']}", json={"pinned": True, "key_event": True})
        await api.patch(
            f"{url}/{made[2]['id']}", json={"body": "<p>2b</p>", "correction": "Fixed."}
        )
        await api.delete(f"{url}/{made[3]['id']}")
        await api.patch("/api/liveblogs/vote", json={"status": "ended"})
        original = (await api.get("/api/liveblogs/vote")).json()

        document = export(server, "vote")
        assert (document["format"], document["version"]) == ("liveblog-export", 1)
        assert document["liveblog"]["status"] == "ended" and "epoch" not in document["liveblog"]
        entries = document["entries"]
        assert [e["title"] for e in entries] == ["T0", "T1", "T2", "T4"]  # no tombstone
        assert all(set(e) == ENTRY_KEYS for e in entries)
        assert entries[1]["pinned"] and entries[1]["key_event"]
        assert (entries[2]["body"], entries[2]["correction"]) == ("<p>2b</p>", "Fixed.")

        path = tmp_path / "vote.json"
        path.write_text(json.dumps(document))
        code, out, err = import_(server, path, "--as", "vote-archive")
        assert code == 0, err
        assert "imported 'vote-archive' with 4 entries" in out
        copy = (await api.get("/api/liveblogs/vote-archive")).json()
        assert copy["epoch"] != original["epoch"] and copy["seq"] == 4
        assert (copy["status"], copy["ended_at"], copy["created_at"]) == (
            original["status"], original["ended_at"], original["created_at"],
        )  # fmt: skip
        listed = (await api.get("/api/liveblogs/vote-archive/entries", params={"since": 0})).json()
        assert [e["seq"] for e in listed["entries"]] == [1, 2, 3, 4]
        assert [e["title"] for e in listed["entries"]] == ["T0", "T1", "T2", "T4"]
        assert not {e["id"] for e in listed["entries"]} & {e["id"] for e in made}
        revisions = await api.get(
            f"/api/liveblogs/vote-archive/entries/{listed['entries'][0]['id']}/revisions"
        )
        assert revisions.json()["revisions"][0]["by"] == {
            "type": "system",
            "id": 0,
            "name": "import",
        }

        again = export(server, "vote-archive")
        assert again["entries"] == document["entries"]
        assert again["liveblog"] == {**document["liveblog"], "slug": "vote-archive"}


async def test_import_sanitizes_and_refuses_what_it_cannot_take(
    isolated_server: Callable[..., LiveServer], tmp_path: Path
) -> None:
    """Bodies are sanitized as any write's are; a taken slug, a malformed document, or a body
    with nothing left are refused with the reason, and nothing is written."""
    server = isolated_server()
    when = "2026-11-30T21:00:00.000Z"
    entry = {"body": '<p onclick="x()">Kept<script>alert(1)</script></p>', "created_at": when,
             "updated_at": when}  # fmt: skip
    document = {
        "format": "liveblog-export",
        "version": 1,
        "liveblog": {"slug": "hand-made", "title": "Hand made",
                     "created_at": "2026-11-30T23:00:00+02:00", "updated_at": when},
        "entries": [entry],
    }  # fmt: skip
    path = tmp_path / "hand.json"
    path.write_text(json.dumps(document))
    code, _, err = import_(server, path)
    assert code == 0, err
    async with writer(server) as api:
        page = (await api.get("/api/liveblogs/hand-made/entries")).json()
        assert [e["body"] for e in page["entries"]] == ["<p>Kept</p>"]
        made = (await api.get("/api/liveblogs/hand-made")).json()
        assert made["created_at"] == "2026-11-30T21:00:00.000Z"  # stored in UTC

        code, _, err = import_(server, path)
        assert code == 1 and "already exists" in err and "nothing was imported" in err

        bad = {
            **document,
            "liveblog": {**document["liveblog"], "status": "ended"},
            "entries": [{**entry, "colour": "red", "created_at": "yesterday", "title": "nul\x00"}],
        }
        path.write_text(json.dumps(bad))
        code, _, err = import_(server, path, "--as", "bad")
        assert code == 1
        assert "entries.0.colour: Extra inputs are not permitted" in err
        assert "entries.0.created_at:" in err
        assert "entries.0.title: must not contain NUL characters" in err
        assert 'liveblog: ended_at is set exactly when status is "ended"' in err

        empty = {**document, "entries": [{**entry, "body": "<script>x</script>"}]}
        path.write_text(json.dumps(empty))
        code, _, err = import_(server, path, "--as", "empty")
        assert code == 1 and "entries.0.body: Entry body is empty" in err

        path.write_text("{not json")
        code, _, err = import_(server, path, "--as", "junk")
        assert code == 1 and "is not JSON" in err
        for slug in ("bad", "empty", "junk"):
            assert (await api.get(f"/api/liveblogs/{slug}")).status_code == 404


async def photo_entry(api: httpx.AsyncClient, slug: str, colour: str) -> dict[str, Any]:
    """A liveblog `slug` with one entry showing a new photo; returns the upload."""
    await api.post("/api/liveblogs", json={"slug": slug, "title": slug.title()})
    made = await api.post(
        "/api/media",
        files={"file": ("p.jpg", jpeg_with_gps(800, 600, colour=colour))},
        data={"alt": "The quay at dawn"},
    )
    assert made.status_code == 201, made.text
    media: dict[str, Any] = made.json()
    entry = await api.post(f"/api/liveblogs/{slug}/entries", json={"body": media["html"]})
    assert entry.status_code == 201, entry.text
    return media


def stored(server: LiveServer) -> set[str]:
    media = server.data_dir / "media"
    return {path.name for path in media.iterdir()} if media.exists() else set()


async def test_an_export_carries_its_photos_to_another_instance(
    isolated_server: Callable[..., LiveServer], database: dict[str, str], tmp_path: Path
) -> None:
    """The document holds the photos its entries show (an unused upload is left out), each
    file's bytes in base64; imported on another instance, the page shows the photo from there,
    at the same URL. Imported again, nothing is stored twice."""
    source, target = isolated_server(), isolated_server(**database)
    async with writer(source) as api:
        media = await photo_entry(api, "quay", "darkred")
        unused = await api.post(
            "/api/media", files={"file": ("u.png", png())}, data={"alt": "Unused"}
        )
        assert unused.status_code == 201, unused.text
        exported = cli(source.data_dir, "export", "quay", env=source.env)
    assert exported.returncode == 0, exported.stderr
    count = len(media["files"])
    assert re.fullmatch(
        rf"exported 'quay': 1 entries, 1 media \({count} files, \d+\.\d MB\)\n", exported.stderr
    ), exported.stderr
    document = json.loads(exported.stdout)
    [archived] = document["media"]
    assert archived["id"] == media["id"] and archived["source_type"] == "image/jpeg"
    assert (archived["width"], archived["height"]) == (media["width"], media["height"])
    urls = {f["url"].rsplit("/", 1)[1]: f for f in media["files"]}
    assert {f["name"] for f in archived["files"]} == set(urls)
    for file in archived["files"]:
        data = base64.b64decode(file["data"])
        assert hashlib.sha256(data).hexdigest()[:32] == file["name"][:32]
        assert (file["width"], file["height"]) == (urls[file["name"]]["width"],
                                                   urls[file["name"]]["height"])  # fmt: skip
    assert f"/media/{media['files'][-1]['url'].rsplit('/', 1)[1]}" in document["entries"][0]["body"]

    path = tmp_path / "quay.json"
    path.write_text(exported.stdout)
    code, out, err = import_(target, path)
    assert code == 0, err
    assert out == (
        f"imported 'quay' with 1 entry and 1 media (1 new, {count} files stored): /liveblogs/quay\n"
    )
    assert stored(target) == set(urls)
    async with writer(target) as api:
        page = (await api.get("/liveblogs/quay")).text
        image = re.search(r'<img [^>]*src="(/media/[^"]+)"', page)
        assert image is not None and image[1] == media["url"], page
        served = await api.get(image[1])
        assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
        assert hashlib.sha256(served.content).hexdigest()[:32] == image[1][7:39]
        assert (await api.get(f"/api/media/{media['id']}")).json()["files"] == media["files"]

        code, out, err = import_(target, path, "--as", "quay-again")
        assert code == 0, err
        assert "with 1 entry and 1 media (0 new, 0 files stored)" in out


async def test_a_tampered_photo_refuses_the_whole_document(
    isolated_server: Callable[..., LiveServer], tmp_path: Path
) -> None:
    """A file whose bytes do not hash to its name, a name that is not one of ours, or bytes
    that are not the image type the name says: refused with where and why, and nothing of
    the document is imported (no liveblog, no media, no file)."""
    source, target = isolated_server(), isolated_server()
    async with writer(source) as api:
        media = await photo_entry(api, "pier", "navy")
    document = json.loads(cli(source.data_dir, "export", "pier", env=source.env).stdout)
    other = base64.b64encode(jpeg_with_gps(80, 60)).decode()
    script = b"<script>alert(1)</script>"
    disguised = hashlib.sha256(script).hexdigest()[:32] + ".png"
    first = document["media"][0]["files"][0]
    for change, reason in (
        ({"data": other}, f"the bytes of {first['name']} do not hash to its name"),
        ({"name": "../../etc/passwd.jpg"}, "is not a media file name"),
        ({"data": "not base64!"}, "is not base64"),
        (
            {"name": disguised, "data": base64.b64encode(script).decode()},
            f"the bytes of {disguised} are not the image type its name says",
        ),
    ):
        tampered = json.loads(json.dumps(document))
        tampered["media"][0]["files"][0].update(change)
        path = tmp_path / "tampered.json"
        path.write_text(json.dumps(tampered))
        code, _, err = import_(target, path)
        assert code == 1
        assert "is not a liveblog export (1 error):" in err, err
        assert reason in err and "media.0.files.0" in err, err
    assert stored(target) == set()
    async with writer(target) as api:
        assert (await api.get("/api/liveblogs/pier")).status_code == 404
        assert (await api.get(f"/api/media/{media['id']}")).status_code == 404
