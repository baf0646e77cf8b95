"""Attribution: every change of an entry records who made it; the history is for tokens allowed
on the liveblog, never for readers; a purge erases it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import orjson

from tests.conftest import NewLiveblog
from tests.harness import (
    LiveServer,
    Subscriber,
    api_client,
    create_token,
    create_tokens,
    problem,
    writer,
)

REVISION_KEYS = {"seq", "at", "kind", "version", "by", "fields", "changes"}


def distinctive(prefix: str) -> str:
    """A token name that cannot appear in a payload by chance."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def revisions(api: httpx.AsyncClient, slug: str, entry_id: int) -> list[dict[str, Any]]:
    response = await api.get(f"/api/liveblogs/{slug}/entries/{entry_id}/revisions")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["entry_id"] == entry_id
    listed: list[dict[str, Any]] = body["revisions"]
    for revision in listed:
        assert set(revision) == REVISION_KEYS, revision
        assert isinstance(revision["seq"], int) and isinstance(revision["version"], int)
        assert isinstance(revision["at"], str) and revision["at"]
        assert set(revision["fields"]) == set(revision["changes"]), revision
    seqs = [revision["seq"] for revision in listed]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs  # oldest first
    return listed


def by(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda revision: revision["by"]["type"] == "token" and revision["by"]["name"] == name


async def test_revisions_name_the_author_and_fields_of_every_change(
    database_server: LiveServer,
) -> None:
    """Create → edit → pin another entry (unpinning this one) → delete: four revisions, oldest
    first, each naming its token, fields and previous/new values; an admin still reads them after
    the delete, a publish token no longer does."""
    server = database_server
    slug = distinctive("vote")
    first_name, second_name, admin_name = (distinctive(n) for n in ("alice", "bob", "chief"))
    tokens = await create_tokens(
        server.data_dir,
        {"name": admin_name},
        {"name": first_name, "scope": "publish", "liveblogs": [slug]},
        {"name": second_name, "scope": "publish", "liveblogs": [slug]},
        env=server.env,
    )
    async with writer(server, token=tokens[0]) as admin:
        made_liveblog = await admin.post("/api/liveblogs", json={"slug": slug, "title": "V"})
        assert made_liveblog.status_code == 201, made_liveblog.text
        async with (
            writer(server, token=tokens[1]) as alice,
            writer(server, token=tokens[2]) as bob,
        ):
            created = await alice.post(
                f"/api/liveblogs/{slug}/entries",
                json={"title": "Polls close", "body": "<p>Counting.</p>", "pinned": True},
            )
            assert created.status_code == 201, created.text
            entry = created.json()
            url = f"/api/liveblogs/{slug}/entries/{entry['id']}"
            edited = (await bob.patch(url, json={"title": "Polls closed"})).json()
            pin_other = await bob.post(
                f"/api/liveblogs/{slug}/entries", json={"body": "<p>Exit poll</p>", "pinned": True}
            )
            assert pin_other.status_code == 201, pin_other.text
            unpinned = (await bob.get(url)).json()
            assert unpinned["pinned"] is False

            history = await revisions(alice, slug, entry["id"])
            assert [r["kind"] for r in history] == ["created", "updated", "updated"]
            made, edit, unpin = history
            assert by(first_name)(made) and by(second_name)(edit) and by(second_name)(unpin)
            assert isinstance(made["by"]["id"], int) and made["by"]["id"] != edit["by"]["id"]
            assert edit["by"]["id"] == unpin["by"]["id"]
            assert made["version"] == entry["version"] == 1
            assert {"title", "body", "pinned"} <= set(made["fields"])
            assert all(change["previous"] is None for change in made["changes"].values())
            assert made["changes"]["title"]["new"] == "Polls close"
            assert made["changes"]["body"]["new"] == "<p>Counting.</p>"
            assert made["changes"]["pinned"]["new"] is True
            assert edit["version"] == edited["version"] == 2
            assert edit["fields"] == ["title"]
            assert edit["changes"] == {"title": {"previous": "Polls close", "new": "Polls closed"}}
            assert unpin["version"] == unpinned["version"] == 3
            assert unpin["fields"] == ["pinned"]
            assert unpin["changes"] == {"pinned": {"previous": True, "new": False}}

            deleted = await admin.delete(url)
            assert deleted.status_code == 200, deleted.text
            after = await revisions(admin, slug, entry["id"])
            assert after[:3] == history
            assert after[3]["kind"] == "deleted" and by(admin_name)(after[3])
            assert after[3]["version"] == deleted.json()["version"]
            refused = await alice.get(f"{url}/revisions")
            assert problem(refused, 403)["detail"]


async def test_revisions_need_a_token_allowed_on_the_liveblog(
    anonymous: httpx.AsyncClient,
    api: httpx.AsyncClient,
    server: LiveServer,
    new_liveblog: NewLiveblog,
) -> None:
    """No token: 401; a publish token of another liveblog: 403; unknown entry, or an entry of
    another liveblog: 404."""
    slug, other = await new_liveblog(), await new_liveblog()
    entry = (await api.post(f"/api/liveblogs/{slug}/entries", json={"body": "<p>x</p>"})).json()
    foreign = (await api.post(f"/api/liveblogs/{other}/entries", json={"body": "<p>y</p>"})).json()
    path = f"/api/liveblogs/{slug}/entries/{entry['id']}/revisions"

    missing = await anonymous.get(path)
    problem(missing, 401)
    assert missing.headers["www-authenticate"].startswith("Bearer")
    outsider = create_token(server.data_dir, env=server.env, scope="publish", liveblogs=[other])
    async with api_client(server, outsider) as desk:
        assert problem(await desk.get(path), 403)["liveblog"] == slug
    problem(await api.get(f"/api/liveblogs/{slug}/entries/999999/revisions"), 404)
    problem(await api.get(f"/api/liveblogs/{slug}/entries/{foreign['id']}/revisions"), 404)
    problem(await api.get(f"/api/liveblogs/no-such-story/entries/{entry['id']}/revisions"), 404)


async def test_reader_payloads_never_show_token_names(
    anonymous: httpx.AsyncClient, server: LiveServer, new_liveblog: NewLiveblog
) -> None:
    """Entries as readers get them (REST, WebSocket frames, the pages) carry no token name."""
    name = distinctive("night-editor")
    async with writer(server, name) as api:
        slug = await new_liveblog(api)
        async with Subscriber(server, slug) as reader:
            await reader.wait_for(lambda r: bool(r.messages), what="hello")
            created = await api.post(
                f"/api/liveblogs/{slug}/entries", json={"title": "T", "body": "<p>b</p>"}
            )
            entry = created.json()
            url = f"/api/liveblogs/{slug}/entries/{entry['id']}"
            await api.patch(url, json={"title": "T2", "pinned": True})
            await api.patch(f"/api/liveblogs/{slug}", json={"title": "Retitled"})
            await api.delete(url)
            await reader.wait_for_seq(4)
        assert name in (await api.get(f"{url}/revisions")).text  # the name is stored
    payloads = [
        orjson.dumps(reader.messages).decode(),
        (await anonymous.get(url)).text,
        (await anonymous.get(f"/api/liveblogs/{slug}")).text,
        (await anonymous.get(f"/api/liveblogs/{slug}/entries", params={"since": 0})).text,
        (await anonymous.get("/api/liveblogs")).text,
        (await anonymous.get(f"/liveblogs/{slug}")).text,
        (await anonymous.get("/")).text,
    ]
    for payload in payloads:
        assert name not in payload


async def test_purge_erases_the_history(database_server: LiveServer, database_token: str) -> None:
    """DELETE ?purge=true leaves a tombstone and a history of one 'purged' revision: no old
    title or body anywhere, also for an entry deleted before."""
    slug = distinctive("takedown")
    async with writer(database_server, token=database_token) as admin:
        await admin.post("/api/liveblogs", json={"slug": slug, "title": "Takedown"})
        secrets = ["Libellous claim", "<p>Private address</p>", "Still libellous"]
        live = (
            await admin.post(
                f"/api/liveblogs/{slug}/entries", json={"title": secrets[0], "body": secrets[1]}
            )
        ).json()
        gone = (
            await admin.post(
                f"/api/liveblogs/{slug}/entries", json={"title": secrets[2], "body": secrets[1]}
            )
        ).json()
        await admin.patch(f"/api/liveblogs/{slug}/entries/{live['id']}", json={"title": secrets[2]})
        await admin.delete(f"/api/liveblogs/{slug}/entries/{gone['id']}")

        for entry in (live, gone):
            url = f"/api/liveblogs/{slug}/entries/{entry['id']}"
            purged = await admin.delete(url, params={"purge": "true"})
            assert purged.status_code == 200, purged.text
            tomb = purged.json()
            assert tomb["deleted"] is True and (tomb["title"], tomb["body"]) == (None, "")
            response = await admin.get(f"{url}/revisions")
            history = await revisions(admin, slug, entry["id"])
            assert [r["kind"] for r in history] == ["purged"]
            assert history[0]["changes"] == {}
            for secret in secrets:
                assert secret not in response.text
                assert secret not in (await admin.get(url)).text
