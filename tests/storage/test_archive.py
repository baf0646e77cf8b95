"""`liveblog export` and `liveblog import`: one liveblog as a JSON document, on both databases."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.harness import LiveServer, cli, writer

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
