from __future__ import annotations

import httpx

from tests.conftest import NewLiveblog


async def post(api: httpx.AsyncClient, slug: str, **fields: object) -> dict[str, object]:
    response = await api.post(
        f"/api/liveblogs/{slug}/entries", json={"body": "<p>text</p>", **fields}
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def test_create_returns_the_stored_entry(
    api: httpx.AsyncClient, new_liveblog: NewLiveblog
) -> None:
    """POST returns every field of the stored entry, times in UTC ISO 8601."""
    slug = await new_liveblog()
    response = await api.post(
        f"/api/liveblogs/{slug}/entries",
        json={
            "title": "Polls close",
            "body": "<p>Counting starts.</p>",
            "author": "Desk",
            "key_event": True,
        },
    )
    assert response.status_code == 201
    entry = response.json()
    assert set(entry) == {
        "id", "seq", "title", "body", "author", "pinned", "key_event",
        "created_at", "updated_at", "version", "deleted", "correction", "edited_at",
    }  # fmt: skip
    assert entry["seq"] == 1
    assert entry["title"] == "Polls close"
    assert entry["body"] == "<p>Counting starts.</p>"
    assert entry["author"] == "Desk"
    assert (entry["pinned"], entry["key_event"], entry["deleted"], entry["version"]) == (
        False,
        True,
        False,
        1,
    )
    assert entry["created_at"].endswith("Z") and entry["created_at"] == entry["updated_at"]
    assert response.headers["location"] == f"/api/liveblogs/{slug}/entries/{entry['id']}"
    assert (await api.get(f"/api/liveblogs/{slug}/entries/{entry['id']}")).json() == entry


async def test_every_change_takes_the_next_seq(
    api: httpx.AsyncClient, new_liveblog: NewLiveblog
) -> None:
    """Create, edit and delete each take the next seq; the entry records its latest."""
    slug = await new_liveblog()
    first = await post(api, slug)
    second = await post(api, slug)
    edited = (
        await api.patch(f"/api/liveblogs/{slug}/entries/{first['id']}", json={"title": "Fixed"})
    ).json()
    deleted = (await api.delete(f"/api/liveblogs/{slug}/entries/{second['id']}")).json()
    assert [first["seq"], second["seq"], edited["seq"], deleted["seq"]] == [1, 2, 3, 4]
    assert edited["version"] == 2 and edited["title"] == "Fixed"
    assert (await api.get(f"/api/liveblogs/{slug}")).json()["seq"] == 4


async def test_edit_sanitizes_and_keeps_unsent_fields(
    api: httpx.AsyncClient, new_liveblog: NewLiveblog
) -> None:
    """PATCH changes only the fields sent; a body is sanitized like on create."""
    slug = await new_liveblog()
    entry = await post(api, slug, title="Keep me", author="Ana")
    response = await api.patch(
        f"/api/liveblogs/{slug}/entries/{entry['id']}",
        json={"body": "<p onclick='x()'>Corrected</p><script>bad()</script>", "author": None},
    )
    assert response.status_code == 200
    edited = response.json()
    assert edited["body"] == "<p>Corrected</p>"
    assert edited["title"] == "Keep me"
    assert edited["author"] is None
    assert edited["updated_at"] >= entry["updated_at"]


async def test_delete_leaves_a_tombstone(api: httpx.AsyncClient, new_liveblog: NewLiveblog) -> None:
    """DELETE removes the content but keeps the entry as deleted, so readers can drop it."""
    slug = await new_liveblog()
    entry = await post(api, slug, title="Wrong", pinned=True)
    response = await api.delete(f"/api/liveblogs/{slug}/entries/{entry['id']}")
    assert response.status_code == 200
    tomb = response.json()
    assert tomb["deleted"] is True
    assert (tomb["body"], tomb["title"], tomb["pinned"]) == ("", None, False)
    gone = await api.get(f"/api/liveblogs/{slug}/entries/{entry['id']}")
    assert gone.status_code == 410 and gone.headers["content-type"] == "application/problem+json"
    assert gone.json()["entry"] == tomb and gone.headers["etag"].startswith(f'"{tomb["version"]}.')
    page = (await api.get(f"/api/liveblogs/{slug}/entries")).json()
    assert page["entries"] == []

    again = await api.delete(f"/api/liveblogs/{slug}/entries/{entry['id']}")
    assert (
        again.status_code == 200 and again.json()["seq"] == tomb["seq"]
    )  # idempotent, no new change
    edit = await api.patch(f"/api/liveblogs/{slug}/entries/{entry['id']}", json={"title": "x"})
    assert edit.status_code == 409


async def test_pinning_unpins_the_previous_entry(
    api: httpx.AsyncClient, new_liveblog: NewLiveblog
) -> None:
    """At most one entry is pinned; the unpin is its own change, before the pin."""
    slug = await new_liveblog()
    first = await post(api, slug, pinned=True)
    second = await post(api, slug, pinned=True)
    assert second["seq"] == 3  # seq 2 was the unpin of the first
    old = (await api.get(f"/api/liveblogs/{slug}/entries/{first['id']}")).json()
    assert (old["pinned"], old["seq"]) == (False, 2)

    repinned = (
        await api.patch(f"/api/liveblogs/{slug}/entries/{first['id']}", json={"pinned": True})
    ).json()
    assert (repinned["pinned"], repinned["seq"]) == (True, 5)
    assert (await api.get(f"/api/liveblogs/{slug}/entries/{second['id']}")).json()[
        "pinned"
    ] is False


async def test_edit_that_changes_nothing_takes_no_seq(
    api: httpx.AsyncClient, new_liveblog: NewLiveblog
) -> None:
    """Re-sending the current values is not a change."""
    slug = await new_liveblog()
    entry = await post(api, slug, title="Same")
    response = await api.patch(
        f"/api/liveblogs/{slug}/entries/{entry['id']}", json={"title": "Same"}
    )
    assert response.json() == entry
    assert (await api.get(f"/api/liveblogs/{slug}")).json()["seq"] == 1


async def test_pages_newest_first_with_cursor(
    api: httpx.AsyncClient, new_liveblog: NewLiveblog
) -> None:
    """The list is newest first; next_before pages back through older entries to the end."""
    slug = await new_liveblog()
    ids = [(await post(api, slug, title=f"#{n}"))["id"] for n in range(7)]
    await api.delete(f"/api/liveblogs/{slug}/entries/{ids[3]}")
    seen: list[object] = []
    before = None
    while True:
        params = {"limit": 3} | ({"before": before} if before is not None else {})
        page = (await api.get(f"/api/liveblogs/{slug}/entries", params=params)).json()
        assert page["seq"] == 8
        seen += [entry["id"] for entry in page["entries"]]
        before = page["next_before"]
        if before is None:
            break
    assert seen == [ids[6], ids[5], ids[4], ids[2], ids[1], ids[0]]


async def test_since_lists_changes_in_seq_order_with_tombstones(
    api: httpx.AsyncClient, new_liveblog: NewLiveblog
) -> None:
    """?since=N returns every entry changed after N, oldest change first, deletions included."""
    slug = await new_liveblog()
    a = await post(api, slug)  # seq 1
    b = await post(api, slug)  # seq 2
    c = await post(api, slug)  # seq 3
    await api.patch(f"/api/liveblogs/{slug}/entries/{a['id']}", json={"title": "edit"})  # seq 4
    await api.delete(f"/api/liveblogs/{slug}/entries/{b['id']}")  # seq 5

    changed = (await api.get(f"/api/liveblogs/{slug}/entries", params={"since": 1})).json()
    assert [(e["id"], e["seq"]) for e in changed["entries"]] == [
        (c["id"], 3),
        (a["id"], 4),
        (b["id"], 5),
    ]
    assert changed["entries"][2]["deleted"] is True
    assert changed["seq"] == 5 and changed["next_since"] is None

    first = (
        await api.get(f"/api/liveblogs/{slug}/entries", params={"since": 0, "limit": 2})
    ).json()
    assert [e["seq"] for e in first["entries"]] == [3, 4] and first["next_since"] == 4
    rest = (await api.get(f"/api/liveblogs/{slug}/entries", params={"since": 4, "limit": 2})).json()
    assert [e["seq"] for e in rest["entries"]] == [5] and rest["next_since"] is None

    ahead = await api.get(f"/api/liveblogs/{slug}/entries", params={"since": 99})
    assert ahead.status_code == 409
    assert "ahead" in ahead.json()["detail"]


async def test_unknown_entry_is_404(api: httpx.AsyncClient, new_liveblog: NewLiveblog) -> None:
    """An entry id that is not in this liveblog is 404 for reads, edits and deletes."""
    slug = await new_liveblog()
    other = await new_liveblog()
    foreign = await post(api, other)
    for response in [
        await api.get(f"/api/liveblogs/{slug}/entries/999999"),
        await api.patch(f"/api/liveblogs/{slug}/entries/999999", json={"title": "x"}),
        await api.delete(f"/api/liveblogs/{slug}/entries/999999"),
        await api.get(f"/api/liveblogs/{slug}/entries/{foreign['id']}"),
    ]:
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
    assert (await api.get(f"/api/liveblogs/{slug}")).json()["seq"] == 0  # failed writes took no seq
